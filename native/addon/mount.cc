// mount(source, target, fstype, flags, data) and umount(path, detach): mount(2)/umount2(2), no
// helper process. The controller uses umount for leftovers in the host's mount table.
#include <napi.h>

#include <cerrno>
#include <string>
#include <sys/mount.h>

#include "errors.h"
#include "exports.h"

namespace pocker {
namespace {

Napi::Value Umount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  bool detach = info.Length() > 1 && info[1].ToBoolean();
  if (umount2(path.c_str(), (detach ? MNT_DETACH : 0) | UMOUNT_NOFOLLOW) < 0) {
    ThrowErrno(env, errno, "umount2", path);
  }
  return env.Undefined();
}

Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = info[0].As<Napi::String>().Utf8Value();
  std::string target = info[1].As<Napi::String>().Utf8Value();
  std::string fstype = info[2].As<Napi::String>().Utf8Value();
  unsigned long flags = static_cast<unsigned long>(info[3].As<Napi::Number>().Int64Value());
  std::string data = info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
  if (mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
            data.empty() ? nullptr : data.c_str()) < 0) {
    ThrowErrno(env, errno, "mount", target);
  }
  return env.Undefined();
}

}  // namespace

void RegisterMount(Napi::Env env, Napi::Object exports) {
  exports.Set("umount", Napi::Function::New(env, Umount, "umount"));
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
}

}  // namespace pocker
