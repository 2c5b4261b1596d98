#include <catch2/catch.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "limits/app_budget.h"

using namespace ferry;
using namespace ferry::proxy;
using namespace std::chrono_literals;

namespace {

config::Concurrency limits(int hard, int queue, int soft = 0) {
  config::Concurrency c;
  c.soft = soft;
  c.hard = hard;
  c.queue = queue;
  return c;
}

// Starts acquire() on `io`; the result lands in `out`.
void start(asio::io_context& io, AppBudget& b, std::chrono::milliseconds timeout, std::optional<BudgetResult>& out) {
  asio::co_spawn(io, b.acquire(timeout), [&out](std::exception_ptr e, BudgetResult r) {
    REQUIRE(!e);
    out = r;
  });
}

BudgetResult acquire_now(asio::io_context& io, AppBudget& b, std::chrono::milliseconds timeout = 1000ms) {
  std::optional<BudgetResult> r;
  start(io, b, timeout, r);
  io.restart();
  while (!r) io.run_one_for(2s);
  return *r;
}

template <class Pred>
bool spin_until(asio::io_context& io, Pred pred, std::chrono::milliseconds limit = 2000ms) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    io.restart();
    io.run_for(1ms);
  }
  return true;
}

}  // namespace

TEST_CASE("fast path grants below hard; unlimited when hard is 0", "[budget]") {
  asio::io_context io;
  AppBudget b;
  b.set_limits(limits(2, 0));
  CHECK(acquire_now(io, b) == BudgetResult::granted);
  CHECK(acquire_now(io, b) == BudgetResult::granted);
  CHECK(b.inflight() == 2);
  CHECK(acquire_now(io, b) == BudgetResult::queue_full);  // queue 0: reject at once
  CHECK(b.rejected_total() == 1);
  b.release();
  CHECK(acquire_now(io, b) == BudgetResult::granted);

  AppBudget u;
  u.set_limits(limits(0, 0));
  for (int i = 0; i < 100; ++i) CHECK(acquire_now(io, u) == BudgetResult::granted);
  CHECK(u.inflight() == 100);
  CHECK(u.rejected_total() == 0);
}

TEST_CASE("waiters are granted in FIFO order", "[budget]") {
  asio::io_context io;
  AppBudget b;
  b.set_limits(limits(1, 10));
  REQUIRE(acquire_now(io, b) == BudgetResult::granted);
  std::vector<int> order;
  std::vector<std::optional<BudgetResult>> res(4);
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(io, b.acquire(5s), [&, i](std::exception_ptr, BudgetResult r) {
      res[i] = r;
      order.push_back(i);
    });
  }
  REQUIRE(spin_until(io, [&] { return b.queued() == 4; }));
  CHECK(order.empty());
  for (int k = 1; k <= 4; ++k) {
    b.release();
    REQUIRE(spin_until(io, [&] { return order.size() == static_cast<size_t>(k); }));
    CHECK(order.back() == k - 1);
    CHECK(res[k - 1] == BudgetResult::granted);
    CHECK(b.inflight() == 1);
    CHECK(b.queued() == 4 - k);
  }
}

TEST_CASE("a full queue rejects and counts", "[budget]") {
  asio::io_context io;
  AppBudget b;
  b.set_limits(limits(1, 2));
  REQUIRE(acquire_now(io, b) == BudgetResult::granted);
  std::optional<BudgetResult> w1, w2;
  start(io, b, 5s, w1);
  start(io, b, 5s, w2);
  REQUIRE(spin_until(io, [&] { return b.queued() == 2; }));
  CHECK(acquire_now(io, b) == BudgetResult::queue_full);
  CHECK(acquire_now(io, b) == BudgetResult::queue_full);
  CHECK(b.rejected_total() == 2);
  b.release();
  b.release();  // each release hands the unit to the next waiter
  REQUIRE(spin_until(io, [&] { return w1 && w2; }));
  CHECK(*w1 == BudgetResult::granted);
  CHECK(*w2 == BudgetResult::granted);
  CHECK(b.queued() == 0);
  CHECK(b.inflight() == 1);  // held by w2
}

TEST_CASE("queue timeout", "[budget]") {
  asio::io_context io;
  AppBudget b;
  b.set_limits(limits(1, 5));
  REQUIRE(acquire_now(io, b) == BudgetResult::granted);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(acquire_now(io, b, 50ms) == BudgetResult::timed_out);
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  CHECK(b.queued() == 0);
  CHECK(b.inflight() == 1);
  b.release();
  CHECK(b.inflight() == 0);
  CHECK(acquire_now(io, b, 50ms) == BudgetResult::granted);
}

TEST_CASE("release from another thread hands the unit over", "[budget]") {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread t([&] { io.run(); });
  AppBudget b;
  b.set_limits(limits(1, 5));
  std::atomic<int> result{-1};
  std::atomic<bool> first{false};
  asio::co_spawn(io, b.acquire(5s), [&](std::exception_ptr, BudgetResult r) { first = r == BudgetResult::granted; });
  while (!first) std::this_thread::yield();
  asio::co_spawn(io, b.acquire(5s), [&](std::exception_ptr, BudgetResult r) { result = static_cast<int>(r); });
  while (b.queued() != 1) std::this_thread::yield();
  b.release();  // from the main thread
  auto end = std::chrono::steady_clock::now() + 2s;
  while (result < 0 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
  CHECK(result == static_cast<int>(BudgetResult::granted));
  CHECK(b.inflight() == 1);
  CHECK(b.queued() == 0);
  work.reset();
  t.join();
}

TEST_CASE("no lost wake-ups under cross-thread stress", "[budget]") {
  AppBudget b;
  b.set_limits(limits(3, 100));
  constexpr int kThreads = 2, kPerThread = 3, kCycles = 2000;
  std::atomic<int> granted{0}, other{0}, max_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      asio::io_context io;
      for (int c = 0; c < kPerThread; ++c) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
              for (int i = 0; i < kCycles; ++i) {
                BudgetResult r = co_await b.acquire(10s);
                if (r != BudgetResult::granted) {
                  other++;
                  continue;
                }
                granted++;
                int now = b.inflight();
                int m = max_seen.load();
                while (now > m && !max_seen.compare_exchange_weak(m, now)) {
                }
                if (i % 3 == 0) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
                b.release();
              }
            },
            [&](std::exception_ptr e) {
              if (e) other++;  // Catch assertions are not thread-safe
            });
      }
      io.run();
    });
  }
  for (auto& t : threads) t.join();
  CHECK(granted == kThreads * kPerThread * kCycles);
  CHECK(other == 0);
  CHECK(max_seen <= 3);
  CHECK(b.inflight() == 0);
  CHECK(b.queued() == 0);
}

TEST_CASE("raising the hard limit wakes waiters", "[budget]") {
  asio::io_context io;
  AppBudget b;
  b.set_limits(limits(1, 5));
  REQUIRE(acquire_now(io, b) == BudgetResult::granted);
  std::optional<BudgetResult> w1, w2;
  start(io, b, 5s, w1);
  start(io, b, 5s, w2);
  REQUIRE(spin_until(io, [&] { return b.queued() == 2; }));
  b.set_limits(limits(0, 5));  // unlimited
  REQUIRE(spin_until(io, [&] { return w1 && w2; }));
  CHECK(*w1 == BudgetResult::granted);
  CHECK(*w2 == BudgetResult::granted);
  CHECK(b.inflight() == 3);
}

TEST_CASE("a cancelled waiter reports cancelled and leaves the queue", "[budget]") {
  asio::io_context io;
  AppBudget b;
  b.set_limits(limits(1, 5));
  REQUIRE(acquire_now(io, b) == BudgetResult::granted);
  asio::cancellation_signal sig;
  std::optional<BudgetResult> r;
  asio::co_spawn(io, b.acquire(5s),
                 asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr, BudgetResult v) { r = v; }));
  REQUIRE(spin_until(io, [&] { return b.queued() == 1; }));
  sig.emit(asio::cancellation_type::terminal);
  REQUIRE(spin_until(io, [&] { return r.has_value(); }));
  CHECK(*r == BudgetResult::cancelled);
  CHECK(b.queued() == 0);
  b.release();
  CHECK(b.inflight() == 0);
}

TEST_CASE("destroying the io_context with a pending waiter keeps the budget consistent", "[budget]") {
  AppBudget b;
  b.set_limits(limits(1, 5));
  {
    asio::io_context io;
    REQUIRE(acquire_now(io, b) == BudgetResult::granted);
    std::optional<BudgetResult> r;
    start(io, b, 5s, r);
    REQUIRE(spin_until(io, [&] { return b.queued() == 1; }));
    io.stop();
  }
  CHECK(b.queued() == 0);
  CHECK(b.inflight() == 1);
  b.release();
  CHECK(b.inflight() == 0);
}

TEST_CASE("acquire reports whether the request had to queue (for the queue-wait statistics)", "[budget][stats]") {
  asio::io_context io;
  AppBudget b;
  b.set_limits(limits(1, 1));
  auto run = [&](bool& queued, std::optional<BudgetResult>& out, std::chrono::milliseconds timeout) {
    asio::co_spawn(io, b.acquire(timeout, &queued), [&out](std::exception_ptr e, BudgetResult r) {
      REQUIRE(!e);
      out = r;
    });
  };
  bool q1 = false, q2 = false, q3 = false;
  std::optional<BudgetResult> r1, r2, r3;
  run(q1, r1, 1000ms);
  REQUIRE(spin_until(io, [&] { return r1.has_value(); }));
  CHECK(*r1 == BudgetResult::granted);
  CHECK_FALSE(q1);  // the fast path
  run(q2, r2, 1000ms);
  REQUIRE(spin_until(io, [&] { return b.queued() == 1; }));
  CHECK(q2);
  run(q3, r3, 1000ms);  // the queue (1) is full: refused without queueing
  REQUIRE(spin_until(io, [&] { return r3.has_value(); }));
  CHECK(*r3 == BudgetResult::queue_full);
  CHECK_FALSE(q3);
  b.release();
  REQUIRE(spin_until(io, [&] { return r2.has_value(); }));
  CHECK(*r2 == BudgetResult::granted);
  b.release();
}

TEST_CASE("try_acquire: the fast path without a coroutine, never ahead of a queued request", "[budget]") {
  asio::io_context io;
  AppBudget b;
  b.set_limits(limits(1, 10));
  CHECK(b.try_acquire());
  CHECK(b.inflight() == 1);
  CHECK_FALSE(b.try_acquire());  // full: the caller queues with acquire()
  std::optional<BudgetResult> waiter;
  start(io, b, 5000ms, waiter);
  REQUIRE(spin_until(io, [&] { return b.queued() == 1; }));
  b.release();  // the unit goes to the queued request, not to a later try_acquire
  CHECK_FALSE(b.try_acquire());
  REQUIRE(spin_until(io, [&] { return waiter.has_value(); }));
  CHECK(*waiter == BudgetResult::granted);
  CHECK(b.inflight() == 1);
  b.release();
  CHECK(b.try_acquire());
  b.release();
  CHECK(b.inflight() == 0);

  AppBudget unlimited;
  unlimited.set_limits(limits(0, 0));
  for (int i = 0; i < 100; ++i) CHECK(unlimited.try_acquire());
}
