// lifecycle/follower.h: the thread shared by ACME, the mesh manager and the history sampler.
// Wake on a post, timed ticks, pokes, stop joins promptly (finish runs with the newest
// snapshot), coalesced posts lose nothing, wait_applied(), restart after stop.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "lifecycle/follower.h"

using ferry::daemon::Follower;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using F = Follower<int>;

namespace {

// What the steps saw: (snapshot, fresh), in order.
struct Seen {
  std::mutex mu;
  std::vector<std::pair<int, bool>> steps;
  void add(int s, bool fresh) {
    std::lock_guard lock(mu);
    steps.emplace_back(s, fresh);
  }
  std::vector<std::pair<int, bool>> get() {
    std::lock_guard lock(mu);
    return steps;
  }
  size_t ticks() {
    std::lock_guard lock(mu);
    size_t n = 0;
    for (auto& s : steps) n += s.second ? 0 : 1;
    return n;
  }
};

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds bound = 2000ms) {
  const auto end = Clock::now() + bound;
  while (Clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return p();
}

}  // namespace

TEST_CASE("follower: a post wakes the thread at once; nothing runs before the first post", "[follower]") {
  Seen seen;
  F f;
  f.start([&](int s, bool fresh) {
    seen.add(s, fresh);
    return F::kNever;
  });
  CHECK(f.running());
  CHECK_FALSE(f.latest());
  std::this_thread::sleep_for(50ms);
  CHECK(seen.get().empty());

  const auto t0 = Clock::now();
  uint64_t t = f.post(7);
  REQUIRE(f.wait_applied(t, 2000ms));
  CHECK(Clock::now() - t0 < 1000ms);
  CHECK(seen.get() == std::vector<std::pair<int, bool>>{{7, true}});
  CHECK(f.latest() == 7);

  t = f.post(8);
  REQUIRE(f.wait_applied(t, 2000ms));
  CHECK(seen.get().back() == std::pair<int, bool>{8, true});
  f.stop();
  CHECK_FALSE(f.running());
}

TEST_CASE("follower: the step's delay sets timed ticks with the newest snapshot", "[follower]") {
  Seen seen;
  F f;
  f.post(1);  // before start(): the first step sees it
  f.start([&](int s, bool fresh) {
    seen.add(s, fresh);
    return 10ms;
  });
  REQUIRE(eventually([&] { return seen.ticks() >= 5; }));
  auto steps = seen.get();
  CHECK(steps.front() == std::pair<int, bool>{1, true});
  for (size_t i = 1; i < steps.size(); ++i) CHECK(steps[i] == std::pair<int, bool>{1, false});

  // A kNever answer stops the ticks until the next post.
  std::atomic<bool> quiet{true};
  F g;
  Seen gseen;
  g.start([&](int s, bool fresh) {
    gseen.add(s, fresh);
    return quiet ? F::kNever : 5ms;
  });
  REQUIRE(g.wait_applied(g.post(1), 2000ms));
  std::this_thread::sleep_for(60ms);
  CHECK(gseen.get().size() == 1);
  quiet = false;
  REQUIRE(g.wait_applied(g.post(2), 2000ms));
  CHECK(eventually([&] { return gseen.ticks() >= 3; }));
}

TEST_CASE("follower: poke() runs one step at once without a new snapshot", "[follower]") {
  Seen seen;
  F f;
  f.poke();  // before any snapshot: nothing to step with
  f.start([&](int s, bool fresh) {
    seen.add(s, fresh);
    return F::kNever;
  });
  std::this_thread::sleep_for(30ms);
  CHECK(seen.get().empty());
  REQUIRE(f.wait_applied(f.post(3), 2000ms));
  f.poke();
  REQUIRE(eventually([&] { return seen.get().size() == 2; }));
  CHECK(seen.get()[1] == std::pair<int, bool>{3, false});
}

TEST_CASE("follower: stop() joins promptly, interrupts sleep_for and runs finish with the newest snapshot",
          "[follower]") {
  std::atomic<int> finished{-1};
  std::atomic<bool> slept_through{true};
  std::atomic<bool> sleeping{false};
  F f;
  f.start(
      [&](int, bool) {
        sleeping = true;
        slept_through = f.sleep_for(3600s);  // posts do not cut it short; stop does
        return std::chrono::milliseconds(3600s);
      },
      [&](int s) { finished = s; });
  f.post(1);
  REQUIRE(eventually([&] { return sleeping.load(); }));
  f.post(2);  // coalesced, never stepped: finish still gets it
  std::this_thread::sleep_for(20ms);
  const auto t0 = Clock::now();
  f.stop();
  CHECK(Clock::now() - t0 < 500ms);
  CHECK_FALSE(slept_through);
  CHECK(finished == 2);
  CHECK_FALSE(f.running());
  CHECK(f.stopping());
  f.stop();  // idempotent

  // A step that only waits for its timer: stop cuts the wait short.
  F g;
  g.start([](int, bool) { return std::chrono::milliseconds(3600s); });
  REQUIRE(g.wait_applied(g.post(1), 2000ms));
  const auto t1 = Clock::now();
  g.stop();
  CHECK(Clock::now() - t1 < 500ms);

  // Stop before any post: finish does not run.
  std::atomic<bool> ran{false};
  F h;
  h.start([](int, bool) { return F::kNever; }, [&](int) { ran = true; });
  h.stop();
  CHECK_FALSE(ran);
}

TEST_CASE("follower: posts made while a step runs are coalesced; the newest is never lost", "[follower]") {
  std::mutex gate;
  Seen seen;
  F f;
  f.start([&](int s, bool fresh) {
    std::lock_guard hold(gate);  // the test holds the step here while it posts
    seen.add(s, fresh);
    return F::kNever;
  });
  uint64_t last = 0;
  {
    std::unique_lock hold(gate);
    f.post(1);
    std::this_thread::sleep_for(20ms);  // the step for 1 waits on the gate
    f.post(2);
    f.post(3);
    last = f.post(4);
    CHECK_FALSE(f.wait_applied(last, 20ms));
  }
  REQUIRE(f.wait_applied(last, 2000ms));
  auto steps = seen.get();
  REQUIRE(steps.size() == 2);
  CHECK(steps[0] == std::pair<int, bool>{1, true});
  CHECK(steps[1] == std::pair<int, bool>{4, true});

  // Many posters against a busy thread: the last step sees the last value posted.
  std::atomic<int> value{0};
  std::atomic<int> newest_seen{0};
  F g;
  g.start([&](int s, bool) {
    newest_seen = s;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return 1ms;
  });
  std::mutex order;  // value and post() in the same order
  std::vector<std::thread> posters;
  for (int p = 0; p < 4; ++p)
    posters.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        std::lock_guard lock(order);
        g.post(++value);
      }
    });
  for (auto& t : posters) t.join();
  uint64_t ticket;
  {
    std::lock_guard lock(order);
    ticket = g.post(++value);
  }
  REQUIRE(g.wait_applied(ticket, 2000ms));
  CHECK(newest_seen == 2001);
}

TEST_CASE("follower: wait_applied is bounded and false when not running; restart after stop", "[follower]") {
  F f;
  const uint64_t before = f.post(1);
  auto t0 = Clock::now();
  CHECK_FALSE(f.wait_applied(before, 2000ms));  // not started: false at once
  CHECK(Clock::now() - t0 < 500ms);

  std::atomic<bool> block{true};
  std::atomic<int> steps{0};
  f.start([&](int, bool) {
    ++steps;
    while (block) std::this_thread::sleep_for(1ms);
    return F::kNever;
  });
  t0 = Clock::now();
  CHECK_FALSE(f.wait_applied(before, 50ms));  // the step is still running: the bound holds
  CHECK(Clock::now() - t0 < 1000ms);
  block = false;
  CHECK(f.wait_applied(before, 2000ms));
  f.stop();

  // Started again: posts are followed again.
  f.start([&](int, bool) {
    ++steps;
    return F::kNever;
  });
  CHECK(f.running());
  CHECK_FALSE(f.stopping());
  CHECK(f.wait_applied(f.post(2), 2000ms));
  CHECK(steps == 2);
}
