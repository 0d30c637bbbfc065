// watchReadable(fd, callback) -> stop(): calls callback() on the event loop each time fd becomes
// readable (a pidfd when its process exits, a pipe with data or EOF), without a thread per fd.
// The handle keeps the loop alive until stop() is called.
#include <napi.h>
#include <uv.h>

#include "errors.h"
#include "exports.h"

namespace pocker {
namespace {

struct Watch {
  uv_poll_t poll;
  Napi::FunctionReference callback;
  bool stopped = false;
};

void OnClosed(uv_handle_t* h) { delete static_cast<Watch*>(h->data); }

void OnReadable(uv_poll_t* p, int /*status*/, int /*events*/) {
  Watch* w = static_cast<Watch*>(p->data);
  if (w->stopped) return;
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
  if (rc == 0) rc = uv_poll_start(&w->poll, UV_READABLE | UV_DISCONNECT, OnReadable);
  if (rc != 0) {
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&w->poll)) || rc != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
    }
    ThrowErrno(env, -rc, "uv_poll_start", "fd " + std::to_string(fd));
    return env.Undefined();
  }
  w->callback = Napi::Persistent(info[1].As<Napi::Function>());
  return Napi::Function::New(env, [w](const Napi::CallbackInfo& ci) {
    if (!w->stopped) {
      w->stopped = true;
      uv_poll_stop(&w->poll);
      w->callback.Reset();
      uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
    }
    return ci.Env().Undefined();
  }, "stop");
}

}  // namespace

void RegisterWatch(Napi::Env env, Napi::Object exports) {
  exports.Set("watchReadable", Napi::Function::New(env, WatchReadable, "watchReadable"));
}

}  // namespace pocker
