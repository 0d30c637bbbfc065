// File mechanism Node lacks, for the image store: mknod (overlayfs whiteouts are character devices
// 0/0, FIFOs of image layers), extended attributes without following symlinks (overlayfs opaque
// directories), and syncfs. Which nodes and attributes are made is decided in TypeScript.
#include <napi.h>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <vector>

#include "errors.h"
#include "exports.h"

namespace pocker {
namespace {

// mknod(path, mode, major, minor): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO) and permissions.
Napi::Value Mknod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = static_cast<mode_t>(info[1].As<Napi::Number>().Uint32Value());
  unsigned major_ = info[2].As<Napi::Number>().Uint32Value();
  unsigned minor_ = info[3].As<Napi::Number>().Uint32Value();
  if (mknod(path.c_str(), mode, makedev(major_, minor_)) < 0) ThrowErrno(env, errno, "mknod", path);
  return env.Undefined();
}

// lsetxattr(path, name, value): sets an extended attribute on path itself (a symlink is not followed).
Napi::Value Lsetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> value = info[2].As<Napi::Buffer<uint8_t>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) < 0) ThrowErrno(env, errno, "lsetxattr", path);
  return env.Undefined();
}

// lgetxattr(path, name) -> Buffer, or null when path has no such attribute.
Napi::Value Lgetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  for (;;) {
    ssize_t size = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENODATA) return env.Null();
      ThrowErrno(env, errno, "lgetxattr", path);
      return env.Undefined();
    }
    std::vector<uint8_t> buf(static_cast<size_t>(size) + 1);
    ssize_t got = lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0) {
      if (errno == ENODATA) return env.Null();
      ThrowErrno(env, errno, "lgetxattr", path);
      return env.Undefined();
    }
    return Napi::Buffer<uint8_t>::Copy(env, buf.data(), static_cast<size_t>(got));
  }
}

// syncfs(path): writes out every dirty page and inode of the filesystem holding path.
Napi::Value Syncfs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    ThrowErrno(env, errno, "open", path);
    return env.Undefined();
  }
  if (syncfs(fd) < 0) {
    int e = errno;
    close(fd);
    ThrowErrno(env, e, "syncfs", path);
    return env.Undefined();
  }
  close(fd);
  return env.Undefined();
}

}  // namespace

void RegisterFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr, "lsetxattr"));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr, "lgetxattr"));
  exports.Set("syncfs", Napi::Function::New(env, Syncfs, "syncfs"));
}

}  // namespace pocker
