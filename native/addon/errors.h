// Error helpers: every failure becomes a JS Error carrying code (errno name), errno, syscall and path.
#pragma once
#include <napi.h>
#include <string>

namespace pocker {

// An Error for errno err from syscall on path (to reject a promise with).
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path = "");

// Throws (as a pending JS exception) an Error for errno err from syscall on path.
void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path = "");

}  // namespace pocker
