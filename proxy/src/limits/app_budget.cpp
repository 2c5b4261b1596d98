// AppBudget: lock-free fast path, FIFO queue with timers on the slow path (see app_budget.h).
//
// Hand-over protocol. A queued waiter owns a steady_timer on its own executor and an atomic
// state (waiting -> granted | abandoned, each transition by CAS, so exactly one side wins):
//   - the granter (grant_waiters, under mu_) takes a unit for the oldest waiter, pops it
//     (queued_--), CASes waiting -> granted and posts a cancel of the waiter's timer to the
//     waiter's executor (timers are not thread-safe, so never cancelled from here). If the
//     waiter was already abandoned, the unit is given back and the next waiter is tried.
//   - the waiter wakes when its timer expires or is cancelled. granted -> it holds the unit.
//     Otherwise it CASes waiting -> abandoned (if that fails it was granted concurrently) and
//     removes itself from the deque if still there (queued_--). queued_ therefore drops
//     exactly once per waiter: by whoever removes it from the deque.
// Lost wake-ups: a waiter is queued and then grant_waiters() runs under the same lock hold;
// release() decrements inflight_ before reading queued_ (both seq_cst), so either release()
// sees the waiter or the waiter's own grant_waiters() sees the freed unit.
#include "limits/app_budget.h"

#include <algorithm>
#include <asio/any_io_executor.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace ferry::proxy {

namespace {
enum : int { kWaiting = 0, kGranted = 1, kAbandoned = 2 };
}

struct AppBudget::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  std::atomic<int> state{kWaiting};
};

void AppBudget::set_limits(const config::Concurrency& c) {
  soft_.store(c.soft, std::memory_order_relaxed);
  queue_max_.store(std::max(c.queue, 0), std::memory_order_relaxed);
  hard_.store(std::max(c.hard, 0));
  // A raised (or removed) hard limit frees units for the waiters already queued.
  std::lock_guard<std::mutex> lock(mu_);
  grant_waiters();
}

bool AppBudget::try_take() {
  const int hard = hard_.load();
  if (hard <= 0) {
    inflight_.fetch_add(1);
    return true;
  }
  int v = inflight_.load();
  while (v < hard) {
    if (inflight_.compare_exchange_weak(v, v + 1)) return true;
  }
  return false;
}

void AppBudget::grant_waiters() {
  while (!waiters_.empty() && try_take()) {
    std::shared_ptr<Waiter> w = std::move(waiters_.front());
    waiters_.pop_front();
    queued_.fetch_sub(1);
    int expected = kWaiting;
    if (w->state.compare_exchange_strong(expected, kGranted)) {
      auto ex = w->timer.get_executor();
      asio::post(ex, [w = std::move(w)] { w->timer.cancel(); });
    } else {
      inflight_.fetch_sub(1);  // abandoned meanwhile: give the unit back, try the next one
    }
  }
}

void AppBudget::release() {
  inflight_.fetch_sub(1);
  if (queued_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    grant_waiters();
  }
}

asio::awaitable<BudgetResult> AppBudget::acquire(std::chrono::milliseconds queue_timeout, bool* queued) {
  if (try_acquire()) co_return BudgetResult::granted;

  auto ex = co_await asio::this_coro::executor;
  auto w = std::make_shared<Waiter>(ex);
  {
    std::unique_lock<std::mutex> lock(mu_);
    // A unit may have been released since the fast path failed.
    if (waiters_.empty() && try_take()) co_return BudgetResult::granted;
    if (queued_.load() >= queue_max_.load(std::memory_order_relaxed)) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      co_return BudgetResult::queue_full;
    }
    if (queue_timeout.count() > 0) {
      w->timer.expires_after(queue_timeout);
    } else {
      w->timer.expires_at(asio::steady_timer::time_point::max());  // 0 = no timeout
    }
    waiters_.push_back(w);
    queued_.fetch_add(1);
    if (queued) *queued = true;
    grant_waiters();
  }
  if (w->state.load() == kGranted) co_return BudgetResult::granted;

  // Lives in this frame. If the frame is destroyed without resuming (the io_context was
  // destroyed with the wait pending), it leaves the queue or gives back a unit granted but
  // never delivered, so the budget stays consistent.
  struct Guard {
    AppBudget* self;
    std::shared_ptr<Waiter> w;
    bool settled = false;
    bool settle() {  // true = we hold a unit
      settled = true;
      int expected = kWaiting;
      if (w->state.compare_exchange_strong(expected, kAbandoned)) {
        std::lock_guard<std::mutex> lock(self->mu_);
        auto it = std::find(self->waiters_.begin(), self->waiters_.end(), w);
        if (it != self->waiters_.end()) {
          self->waiters_.erase(it);
          self->queued_.fetch_sub(1);
        }
        return false;
      }
      return true;
    }
    ~Guard() {
      // Frame destroyed while suspended (io_context destroyed with the wait pending).
      if (!settled && settle()) self->release();
    }
  } guard{this, w};

  auto [ec] = co_await w->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  if (guard.settle()) co_return BudgetResult::granted;
  if (ec == asio::error::operation_aborted) {
    // Not granted, so the wait was cancelled by the coroutine's own cancellation.
    asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return BudgetResult::cancelled;
  }
  co_return BudgetResult::timed_out;
}

}  // namespace ferry::proxy
