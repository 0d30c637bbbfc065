// watchReadable(fd, callback) -> id: calls callback() on the event loop each time fd becomes
// readable (a pidfd when its process exits, a pipe with data or EOF), without a thread per fd.
// unwatchReadable(id) stops it (an id already stopped is ignored). The handle keeps the loop
// alive until it is stopped. The id is a plain number, not a function: each native function costs
// V8 a function template, some 1 KiB for every running container's exit watch.
#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <string>
#include <unordered_map>

#include "errors.h"
#include "exports.h"

namespace pocker {
namespace {

struct Watch {
  uv_poll_t poll;
  Napi::FunctionReference callback;
};

/** The live watches of one Node environment (each worker thread has its own). */
struct WatchTable {
  std::unordered_map<uint32_t, Watch*> live;
  uint32_t next = 1;
};

void OnClosed(uv_handle_t* h) { delete static_cast<Watch*>(h->data); }

void OnReadable(uv_poll_t* p, int /*status*/, int /*events*/) {
  Watch* w = static_cast<Watch*>(p->data);
  if (w->callback.IsEmpty()) return;
  Napi::Env env = w->callback.Env();
  Napi::HandleScope scope(env);
  w->callback.MakeCallback(env.Global(), {});
}

Napi::Value WatchReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  Watch* w = new Watch();
  w->poll.data = w;
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc != 0) {
    delete w;
    ThrowErrno(env, -rc, "uv_poll_init", "fd " + std::to_string(fd));
    return env.Undefined();
  }
  rc = uv_poll_start(&w->poll, UV_READABLE | UV_DISCONNECT, OnReadable);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
    ThrowErrno(env, -rc, "uv_poll_start", "fd " + std::to_string(fd));
    return env.Undefined();
  }
  w->callback = Napi::Persistent(info[1].As<Napi::Function>());
  WatchTable* table = env.GetInstanceData<WatchTable>();
  uint32_t id = table->next++;
  if (table->next == 0 || table->next > 0x3fffffff) table->next = 1;
  table->live[id] = w;
  return Napi::Number::New(env, id);
}

Napi::Value UnwatchReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WatchTable* table = env.GetInstanceData<WatchTable>();
  auto it = table->live.find(info[0].As<Napi::Number>().Uint32Value());
  if (it == table->live.end()) return env.Undefined();
  Watch* w = it->second;
  table->live.erase(it);
  uv_poll_stop(&w->poll);
  w->callback.Reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
  return env.Undefined();
}

}  // namespace

void RegisterWatch(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<WatchTable>(new WatchTable());
  exports.Set("watchReadable", Napi::Function::New(env, WatchReadable, "watchReadable"));
  exports.Set("unwatchReadable", Napi::Function::New(env, UnwatchReadable, "unwatchReadable"));
}

}  // namespace pocker
