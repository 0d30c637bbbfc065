// The pocker addon: mechanism Node lacks (spawn with exact fds, waitpid, pipes, pidfd, fd watching).
// Policy stays in TypeScript; every function here is a thin, checked wrapper over a syscall.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include "errors.h"
#include "exports.h"

namespace pocker {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path) {
  std::string msg = std::string(syscall) + (path.empty() ? "" : " " + path) + ": " + strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path) {
  ErrnoError(env, err, syscall, path).ThrowAsJavaScriptException();
}

namespace {

// pipe() -> [readFd, writeFd], both close-on-exec.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    ThrowErrno(info.Env(), errno, "pipe2");
    return info.Env().Undefined();
  }
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

// memfd(name, data) -> fd: an anonymous, close-on-exec file holding data (configs passed to children).
Napi::Value Memfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> data = info[1].As<Napi::Buffer<uint8_t>>();
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, errno, "memfd_create", name);
    return env.Undefined();
  }
  size_t off = 0;
  while (off < data.Length()) {
    ssize_t n = write(fd, data.Data() + off, data.Length() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      ThrowErrno(env, e, "write", "memfd " + name);
      return env.Undefined();
    }
    off += static_cast<size_t>(n);
  }
  return Napi::Number::New(env, fd);
}

// flock(fd, nonBlocking) -> true when the exclusive lock is held, false when another holds it.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool nonBlocking = info.Length() > 1 && info[1].ToBoolean();
  int rc;
  do rc = flock(fd, LOCK_EX | (nonBlocking ? LOCK_NB : 0));
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, "flock");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

// mallocTrim() -> whether memory went back: glibc's malloc_trim(0), which hands the free pages
// inside malloc's heaps back to the kernel (free() returns only the top of a heap). false where
// the C library has no malloc_trim.
Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// close(fd)
Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (close(fd) < 0 && errno != EINTR) ThrowErrno(info.Env(), errno, "close");
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("memfd", Napi::Function::New(env, Memfd, "memfd"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim, "mallocTrim"));
  RegisterSpawn(env, exports);
  RegisterPidfd(env, exports);
  RegisterNetns(env, exports);
  RegisterWatch(env, exports);
  RegisterMount(env, exports);
  RegisterFiles(env, exports);
  return exports;
}

}  // namespace pocker

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return pocker::Init(env, exports); }

NODE_API_MODULE(pocker, InitAddon)
