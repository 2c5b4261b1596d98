// Per-app concurrency budget: `concurrency soft N hard M queue Q`, counted across workers.
//
// Ownership: one AppBudget per app name, shared_ptr-held by the RuntimeRegistry and plans;
// survives reloads (limits are updated in place with set_limits). Thread: acquire() runs on
// a worker's event loop (a coroutine on that loop's executor); release() may be called from
// any worker. Fast path (below `hard`, nobody queued) is one CAS; only requests that must
// wait take the queue mutex (slow path, never held across I/O).
#pragma once

#include <asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "ferry/configlang/config.h"

namespace ferry::proxy {

enum class BudgetResult {
  granted,      // caller holds one unit and must call release() exactly once
  queue_full,   // answer 503 + Retry-After
  timed_out,    // waited `timeout queue` without a slot: 503 + Retry-After
  cancelled,    // the waiting coroutine was cancelled (connection closing)
};

class AppBudget {
 public:
  AppBudget() = default;
  // Control thread; takes effect for later acquire() calls. hard == 0 means unlimited.
  void set_limits(const config::Concurrency& c);

  // Worker coroutine. Returns immediately when a unit is free and nobody is queued; else
  // waits in FIFO order up to `queue_timeout`. A zero `queue_timeout` waits without a deadline
  // (config: zero = no timeout). `cancelled` is returned when the coroutine's cancellation
  // slot fired while waiting. The AppBudget must outlive the executors of its waiters.
  // `queued` (optional, owned by the caller's frame): set to true when the request had to
  // enter the queue (for the queue-wait statistics), left untouched otherwise.
  asio::awaitable<BudgetResult> acquire(std::chrono::milliseconds queue_timeout, bool* queued = nullptr);
  // Worker thread. acquire()'s fast path without a coroutine: takes a unit when one is free
  // and nobody is queued (the caller then holds it and must release() it once). False: the
  // caller queues with acquire().
  bool try_acquire() { return queued_.load() == 0 && try_take(); }
  // Any thread. Hands the unit to the oldest waiter if one is queued.
  void release();

  int inflight() const { return inflight_.load(std::memory_order_relaxed); }
  int queued() const { return queued_.load(std::memory_order_relaxed); }
  int hard() const { return hard_.load(std::memory_order_relaxed); }
  int soft() const { return soft_.load(std::memory_order_relaxed); }
  uint64_t rejected_total() const { return rejected_.load(std::memory_order_relaxed); }

  struct Waiter;  // private to the implementation

 private:
  bool try_take();     // CAS inflight_ < hard_ (or unlimited)
  void grant_waiters();  // under mu_: hand free units to queued waiters

  std::atomic<int> inflight_{0};
  std::atomic<int> queued_{0};
  std::atomic<int> soft_{0}, hard_{0}, queue_max_{0};
  std::atomic<uint64_t> rejected_{0};
  std::mutex mu_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace ferry::proxy
