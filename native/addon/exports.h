// Registration of each concern's functions on the addon's exports.
#pragma once
#include <napi.h>

namespace pocker {
void RegisterSpawn(Napi::Env env, Napi::Object exports);
void RegisterPidfd(Napi::Env env, Napi::Object exports);
void RegisterWatch(Napi::Env env, Napi::Object exports);
void RegisterMount(Napi::Env env, Napi::Object exports);
void RegisterNetns(Napi::Env env, Napi::Object exports);
void RegisterFiles(Napi::Env env, Napi::Object exports);
}  // namespace pocker
