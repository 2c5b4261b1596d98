#include <catch2/catch.hpp>

#include "runtime/server_state.h"

using namespace ferry;
using namespace ferry::proxy;

TEST_CASE("EWMA latency: first sample sets it, then alpha 1/8", "[server_state]") {
  ServerState s;
  s.record_success(800);
  CHECK(s.ewma_latency_us == 800);
  s.record_success(1600);  // 800 + 800/8
  CHECK(s.ewma_latency_us == 900);
  s.record_success(100);  // 900 - 800/8
  CHECK(s.ewma_latency_us == 800);
  for (int i = 0; i < 200; ++i) s.record_success(5000);
  CHECK(s.ewma_latency_us >= 4990);
  CHECK(s.ewma_latency_us <= 5000);
}

TEST_CASE("passive ejection after consecutive failures, with back-off", "[server_state]") {
  ServerState s;
  config::PassiveHealth p;
  p.consecutive_failures = 3;
  p.eject_time = std::chrono::milliseconds(1000);
  int64_t now = 10000;
  CHECK_FALSE(s.record_failure(p, now));
  CHECK_FALSE(s.record_failure(p, now));
  CHECK(s.record_failure(p, now));
  CHECK(s.ejected(now));
  CHECK(s.ejected_until_ms == now + 1000);
  CHECK(s.consecutive_failures == 0);
  CHECK(s.ejections == 1);
  CHECK_FALSE(s.ejected(now + 1000));

  // Keeps failing: 2x, 4x, 8x, then capped at 8x.
  const int64_t expect[] = {2000, 4000, 8000, 8000, 8000};
  for (int64_t e : expect) {
    now += 100000;
    CHECK_FALSE(s.record_failure(p, now));
    CHECK_FALSE(s.record_failure(p, now));
    CHECK(s.record_failure(p, now));
    CHECK(s.ejected_until_ms == now + e);
  }

  // A success resets the run and the back-off.
  s.record_failure(p, now);
  s.record_success(10);
  CHECK(s.consecutive_failures == 0);
  CHECK(s.ejections == 0);
  now += 100000;
  s.record_failure(p, now);
  s.record_failure(p, now);
  CHECK(s.record_failure(p, now));
  CHECK(s.ejected_until_ms == now + 1000);
}

TEST_CASE("a success in the middle of a run resets it", "[server_state]") {
  ServerState s;
  config::PassiveHealth p;
  p.consecutive_failures = 2;
  CHECK_FALSE(s.record_failure(p, 0));
  s.record_success(5);
  CHECK_FALSE(s.record_failure(p, 0));
  CHECK(s.record_failure(p, 0));
}

TEST_CASE("consecutive_failures 0 disables passive ejection", "[server_state]") {
  ServerState s;
  config::PassiveHealth p;
  p.consecutive_failures = 0;
  for (int i = 0; i < 100; ++i) CHECK_FALSE(s.record_failure(p, 1000));
  CHECK_FALSE(s.ejected(1000));
  CHECK(s.ejections == 0);
}
