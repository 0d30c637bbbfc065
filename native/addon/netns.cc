// netnsPin(path): creates a network namespace and keeps it alive by bind-mounting it on path (an
// empty file, created here), as `ip netns add` does, without a helper process: a short-lived
// thread unshares its own network namespace and mounts /proc/thread-self/ns/net. The caller's
// namespaces are untouched. Unpin with umount(path) and unlink.
// netnsConnect(nsPath, port, timeoutMs) -> Promise<fd>: a TCP connection to 127.0.0.1:port made
// inside the network namespace nsPath (a container's /proc/PID/ns/net): a short-lived thread joins
// the namespace, creates the socket there (a socket keeps its namespace) and connects, bounded by
// timeoutMs; the connected fd is handed to Node. Health checks of containers without any tool in
// them go through this.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "errors.h"
#include "exports.h"

namespace pocker {
namespace {

struct PinResult {
  int err = 0;
  const char* syscall = "";
};

PinResult PinInThread(const std::string& path) {
  PinResult r;
  if (unshare(CLONE_NEWNET) < 0) {
    r.err = errno;
    r.syscall = "unshare(CLONE_NEWNET)";
    return r;
  }
  if (mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
    r.err = errno;
    r.syscall = "mount(bind netns)";
  }
  return r;
}

Napi::Value NetnsPin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) {
    ThrowErrno(env, errno, "open(O_CREAT|O_EXCL)", path);
    return env.Undefined();
  }
  close(fd);
  PinResult r;
  std::thread t([&]() { r = PinInThread(path); });
  t.join();
  if (r.err) {
    unlink(path.c_str());
    ThrowErrno(env, r.err, r.syscall, path);
  }
  return env.Undefined();
}

struct ConnectResult {
  int fd = -1;
  int err = 0;
  const char* syscall = "";
};

ConnectResult ConnectInThread(const std::string& nsPath, int port, int timeoutMs) {
  ConnectResult r;
  auto fail = [&](const char* syscall) {
    r.err = errno;
    r.syscall = syscall;
    if (r.fd >= 0) close(r.fd);
    r.fd = -1;
    return r;
  };
  int ns = open(nsPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) return fail("open");
  int rc = setns(ns, CLONE_NEWNET);
  int e = errno;
  close(ns);
  errno = e;
  if (rc < 0) return fail("setns(CLONE_NEWNET)");
  r.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (r.fd < 0) return fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(r.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno != EINPROGRESS) return fail("connect");
    pollfd p{r.fd, POLLOUT, 0};
    int n;
    do n = poll(&p, 1, timeoutMs);
    while (n < 0 && errno == EINTR);
    if (n < 0) return fail("poll");
    if (n == 0) {
      errno = ETIMEDOUT;
      return fail("connect");
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(r.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) return fail("getsockopt");
    if (soerr) {
      errno = soerr;
      return fail("connect");
    }
  }
  return r;
}

class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, std::string nsPath, int port, int timeoutMs)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), nsPath_(std::move(nsPath)), port_(port), timeoutMs_(timeoutMs) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    // A thread of its own: the pool thread never changes namespace.
    std::thread t([&]() { result_ = ConnectInThread(nsPath_, port_, timeoutMs_); });
    t.join();
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (result_.fd >= 0) {
      deferred_.Resolve(Napi::Number::New(env, result_.fd));
      return;
    }
    std::string msg = std::string(result_.syscall) + " 127.0.0.1:" + std::to_string(port_) + " in " + nsPath_ + ": " + strerror(result_.err);
    Napi::Error e = Napi::Error::New(env, msg);
    const char* name = strerrorname_np(result_.err);
    e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
    e.Set("errno", Napi::Number::New(env, result_.err));
    e.Set("syscall", Napi::String::New(env, result_.syscall));
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string nsPath_;
  int port_;
  int timeoutMs_;
  ConnectResult result_;
};

Napi::Value NetnsConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string nsPath = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  int timeoutMs = info[2].As<Napi::Number>().Int32Value();
  auto* w = new ConnectWorker(env, nsPath, port, timeoutMs);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void RegisterNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsPin", Napi::Function::New(env, NetnsPin, "netnsPin"));
  exports.Set("netnsConnect", Napi::Function::New(env, NetnsConnect, "netnsConnect"));
}

}  // namespace pocker
