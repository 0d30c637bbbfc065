// pidfdOpen(pid) -> fd and pidfdSendSignal(fd, signal): signal a process by a handle that cannot
// be confused with a later process reusing the pid.
#include <napi.h>

#include <cerrno>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>

#include "errors.h"
#include "exports.h"

namespace pocker {
namespace {

Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = info[0].As<Napi::Number>().Int32Value();
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "pidfd_open", std::to_string(pid));
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(fd));
}

Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) < 0) {
    if (errno == ESRCH) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, "pidfd_send_signal");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace

void RegisterPidfd(Napi::Env env, Napi::Object exports) {
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal, "pidfdSendSignal"));
}

}  // namespace pocker
