// spawn(path, argv, env, fds) -> pid: posix_spawn (vfork-style, safe from a threaded process) in a
// new session, with exactly the given fds as 0..n-1 and every other fd closed. No shell, no PATH.
// spawnAsync(path, argv, env, fds) -> Promise<pid>: the same on a worker thread.
// waitpid(pid, noHang) -> {exitCode, signal} | null.
// execve(path, argv, env): replaces this process (same pid, stdio kept), or throws.
#include <napi.h>

#include <cerrno>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "errors.h"
#include "exports.h"

namespace pocker {
namespace {

std::vector<std::string> Strings(Napi::Array a) {
  std::vector<std::string> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

std::vector<char*> CPointers(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/** What posix_spawn is given: the strings are owned here, so a worker thread may spawn. */
struct SpawnRequest {
  std::string path;
  std::vector<std::string> argv, envv;
  std::vector<int> fds;
};

SpawnRequest Request(const Napi::CallbackInfo& info) {
  SpawnRequest r{info[0].As<Napi::String>().Utf8Value(), Strings(info[1].As<Napi::Array>()), Strings(info[2].As<Napi::Array>()), {}};
  Napi::Array fdArr = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < fdArr.Length(); i++) r.fds.push_back(fdArr.Get(i).As<Napi::Number>().Int32Value());
  return r;
}

/** posix_spawn of the request; 0 and the pid, or the error number. */
int SpawnNow(SpawnRequest& r, pid_t* pid) {
  std::vector<char*> cargv = CPointers(r.argv), cenv = CPointers(r.envv);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  for (size_t i = 0; i < r.fds.size(); i++) posix_spawn_file_actions_adddup2(&fa, r.fds[i], static_cast<int>(i));
  posix_spawn_file_actions_addclosefrom_np(&fa, static_cast<int>(r.fds.size()));
  int rc = posix_spawn(pid, r.path.c_str(), &fa, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SpawnRequest r = Request(info);
  pid_t pid;
  int rc = SpawnNow(r, &pid);
  if (rc != 0) {
    ThrowErrno(env, rc, "posix_spawn", r.path);
    return env.Undefined();
  }
  return Napi::Number::New(env, pid);
}

/**
 * posix_spawn on a worker thread: the fork waits for the kernel's cgroup threadgroup lock while
 * other processes migrate between cgroups (milliseconds each when many containers start), and
 * the event loop goes on meanwhile. The caller keeps the fds open until the promise settles.
 */
class SpawnWorker : public Napi::AsyncWorker {
 public:
  SpawnWorker(Napi::Env env, SpawnRequest r) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), r_(std::move(r)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { rc_ = SpawnNow(r_, &pid_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (rc_ == 0) {
      deferred_.Resolve(Napi::Number::New(env, pid_));
      return;
    }
    deferred_.Reject(ErrnoError(env, rc_, "posix_spawn", r_.path).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  SpawnRequest r_;
  pid_t pid_ = -1;
  int rc_ = 0;
};

Napi::Value SpawnAsync(const Napi::CallbackInfo& info) {
  auto* w = new SpawnWorker(info.Env(), Request(info));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value WaitPid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  bool noHang = info.Length() > 1 && info[1].ToBoolean();
  int status = 0;
  pid_t r;
  do r = waitpid(pid, &status, noHang ? WNOHANG : 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    ThrowErrno(env, errno, "waitpid", std::to_string(pid));
    return env.Undefined();
  }
  if (r == 0) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  out.Set("exitCode", WIFEXITED(status) ? Napi::Number::New(env, WEXITSTATUS(status)) : env.Null());
  out.Set("signal", WIFSIGNALED(status) ? Napi::Number::New(env, WTERMSIG(status)) : env.Null());
  return out;
}

Napi::Value Execve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> argv = Strings(info[1].As<Napi::Array>());
  std::vector<std::string> envv = Strings(info[2].As<Napi::Array>());
  std::vector<char*> cargv = CPointers(argv), cenv = CPointers(envv);
  // stdin, stdout and stderr go on to the new image whatever flags the runtime set on them.
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  // The new image starts with no signal blocked, as a fresh process would.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(path.c_str(), cargv.data(), cenv.data());
  ThrowErrno(env, errno, "execve", path);
  return env.Undefined();
}

}  // namespace

void RegisterSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  exports.Set("spawnAsync", Napi::Function::New(env, SpawnAsync, "spawnAsync"));
  exports.Set("waitpid", Napi::Function::New(env, WaitPid, "waitpid"));
  exports.Set("execve", Napi::Function::New(env, Execve, "execve"));
}

}  // namespace pocker
