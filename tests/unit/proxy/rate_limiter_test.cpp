// rules/rate_limiter.h: token buckets shared by threads, without locks.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "rules/rate_limiter.h"

using ferry::proxy::rules::RateLimiter;

TEST_CASE("rate limiter: a burst, then one token per 1/rate, and the wait told", "[rules][rate]") {
  RateLimiter l(36000, 3, 1000);  // 10/s, burst 3
  const uint64_t k = RateLimiter::hash("client-a");
  CHECK(l.take(k, 1000) == 0);
  CHECK(l.take(k, 1000) == 0);
  CHECK(l.take(k, 1000) == 0);
  CHECK(l.take(k, 1000) == 100);  // empty: a token comes in 100 ms
  CHECK(l.take(k, 1050) == 50);   // half of one has come back
  CHECK(l.take(k, 1100) == 0);
  CHECK(l.take(k, 1100) == 100);
  // Refills stop at the burst.
  CHECK(l.take(k, 60000) == 0);
  CHECK(l.take(k, 60000) == 0);
  CHECK(l.take(k, 60000) == 0);
  CHECK(l.take(k, 60000) > 0);
  // Another key has its own bucket.
  CHECK(l.take(RateLimiter::hash("client-b"), 60000) == 0);
}

TEST_CASE("rate limiter: slow rates wait whole seconds", "[rules][rate]") {
  RateLimiter l(60, 1, 0);  // 1/m
  CHECK(l.take(7, 5) == 0);
  CHECK(l.take(7, 5) == 60000);
  CHECK(l.take(7, 30005) == 30000);
  CHECK(l.take(7, 60005) == 0);
}

TEST_CASE("rate limiter: threads together never take more than burst + refill", "[rules][rate]") {
  RateLimiter l(3600000, 500, 0);  // 1000/s; the clock is frozen at 10 ms
  std::atomic<int> taken{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (l.take(42, 10) == 0) taken.fetch_add(1);
    });
  for (auto& t : ts) t.join();
  // At time 10 (ms after the epoch) 10 tokens refilled on top of the burst at most.
  CHECK(taken.load() >= 500);
  CHECK(taken.load() <= 510);
}
