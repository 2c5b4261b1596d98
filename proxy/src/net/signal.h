// Wakes one waiting coroutine: a timer used as an event. notify() before the wait is
// remembered, and a notify never resumes the waiter inline (the timer's cancellation posts
// its handler), so it is safe inside library callbacks (nghttp2). Worker thread only.
#pragma once

#include "net/asio_util.h"
#include "runtime/server_state.h"  // SteadyClock

namespace ferry::proxy {

class Signal {
 public:
  explicit Signal(asio::any_io_executor ex) : timer_(std::move(ex)) {}
  awaitable<void> wait() {
    if (!pending_) {
      timer_.expires_at(SteadyClock::time_point::max());
      co_await timer_.async_wait(use_nothrow);
    }
    pending_ = false;
  }
  void notify() {
    pending_ = true;
    timer_.cancel();
  }
  // Forgets a notification nobody waited for (no wait may be pending).
  void reset() { pending_ = false; }

 private:
  asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace ferry::proxy
