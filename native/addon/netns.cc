// netnsPin(path): creates a network namespace and keeps it alive by bind-mounting it on path (an
// empty file, created here), as `ip netns add` does, without a helper process: a short-lived
// thread unshares its own network namespace and mounts /proc/thread-self/ns/net. The caller's
// namespaces are untouched. Unpin with umount(path) and unlink.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace

void RegisterNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsPin", Napi::Function::New(env, NetnsPin, "netnsPin"));
}

}  // namespace pocker
