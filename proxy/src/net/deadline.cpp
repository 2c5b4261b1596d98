#include "net/deadline.h"

namespace ferry::proxy {

struct Deadline::State : std::enable_shared_from_this<Deadline::State> {
  // Every connection has one, also while idle: the io_context's own executor type (one
  // pointer) rather than any_io_executor keeps the timer and its pending wait ~80 bytes
  // smaller. Every executor here is an io_context's (a worker's or the control thread's).
  explicit State(const asio::any_io_executor& ex)
      : timer(static_cast<asio::io_context&>(asio::query(ex, asio::execution::context)).get_executor()) {}
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type> timer;
  Clock::time_point deadline = Clock::time_point::max();
  std::function<void()> on_expire;
  bool waiting = false;  // an async_wait is pending on `timer`
  bool expired = false;
  bool detached = false;  // owner gone: callbacks do nothing

  void start() {
    timer.expires_at(deadline);  // cancels a pending wait (its callback sees aborted)
    waiting = true;
    timer.async_wait([self = shared_from_this()](std::error_code ec) {
      if (ec == asio::error::operation_aborted || self->detached) return;  // superseded
      self->waiting = false;
      if (self->deadline == Clock::time_point::max()) return;
      if (Clock::now() >= self->deadline) {
        self->expired = true;
        self->deadline = Clock::time_point::max();
        if (self->on_expire) self->on_expire();
      } else {
        self->start();  // pushed forward since we armed: wait for the new time
      }
    });
  }
};

Deadline::Deadline(asio::any_io_executor ex, std::function<void()> on_expire)
    : state_(std::make_shared<State>(std::move(ex))) {
  state_->on_expire = std::move(on_expire);
}

Deadline::~Deadline() {
  state_->detached = true;
  state_->on_expire = nullptr;
  state_->timer.cancel();
}

void Deadline::arm(std::chrono::milliseconds d) {
  state_->expired = false;
  if (d.count() <= 0) {
    state_->deadline = Clock::time_point::max();
    return;  // a pending wait fires harmlessly later (deadline max = nothing to do)
  }
  state_->deadline = Clock::now() + d;
  if (!state_->waiting || state_->deadline < state_->timer.expiry()) state_->start();
}

void Deadline::disarm() {
  state_->expired = false;
  state_->deadline = Clock::time_point::max();
}

bool Deadline::expired() const { return state_->expired; }

void Deadline::touch(std::chrono::milliseconds d) {
  if (state_->deadline != Clock::time_point::max()) state_->deadline = Clock::now() + d;
}

}  // namespace ferry::proxy
