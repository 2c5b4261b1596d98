// history/rollup: deltas between snapshots, percentiles, bucket text, hour rollup, ranges.
#include <catch2/catch.hpp>

#include "history/rollup.h"
#include "history_test_support.h"

using namespace ferry::daemon;
using namespace ferry::daemon::history;
using namespace ferry::daemon::history::test;

TEST_CASE("history: cumulative histogram to per-bucket counts", "[history]") {
  ferry::proxy::Histogram h;
  observe(h, 0.0005, 3);  // bucket 0 (<= 1 ms)
  observe(h, 0.003, 2);   // bucket 2 (2.5..5 ms)
  observe(h, 60, 1);      // +Inf
  Buckets b = to_buckets(h);
  CHECK(b[0] == 3);
  CHECK(b[1] == 0);
  CHECK(b[2] == 2);
  CHECK(b[kBuckets - 1] == 1);
  uint64_t total = 0;
  for (uint64_t c : b) total += c;
  CHECK(total == 6);
}

TEST_CASE("history: percentiles interpolate linearly within the bucket", "[history]") {
  Buckets empty{};
  CHECK(percentile_ms(empty, 0.5) == 0.0);

  // 100 observations in (5 ms, 10 ms]: p50 is half-way, p99 at 99 %.
  Buckets b{};
  b[3] = 100;
  CHECK(percentile_ms(b, 0.50) == Approx(7.5));
  CHECK(percentile_ms(b, 0.99) == Approx(5 + 5 * 0.99));
  CHECK(percentile_ms(b, 1.0) == Approx(10.0));

  // 50 in [0, 1 ms], 50 in (100, 250 ms]: p50 is the top of the first bucket, p95 is
  // 90 % into the second one.
  Buckets two{};
  two[0] = 50;
  two[7] = 50;
  CHECK(percentile_ms(two, 0.50) == Approx(1.0));
  CHECK(percentile_ms(two, 0.25) == Approx(0.5));
  CHECK(percentile_ms(two, 0.95) == Approx(100 + 150 * 0.9));

  // A rank in +Inf answers the last finite bound (30 s).
  Buckets slow{};
  slow[kBuckets - 1] = 10;
  CHECK(percentile_ms(slow, 0.5) == Approx(30000.0));
}

TEST_CASE("history: deltas between two snapshots", "[history]") {
  auto prev = snapshot({{"a", 10, 1, 0, 0, 100, 1000, 0, 0, {{0.002, 11}}},
                        {"gone", 5}});
  auto cur = snapshot({{"a", 25, 3, 1, 2, 150, 4000, 4, 7, {{0.002, 11}, {0.3, 10}}},
                       {"new", 4, 0, 0, 0, 0, 0, 0, 0, {{0.0001, 4}}}});
  std::vector<AppDelta> d = compute_deltas(prev, cur);
  REQUIRE(d.size() == 2);  // "gone" was removed: nothing
  CHECK(d[0].app == "a");
  const Row& a = d[0].delta;
  CHECK(a.by_class[2] == 15);
  CHECK(a.by_class[4] == 2);
  CHECK(a.by_class[5] == 1);
  CHECK(a.by_class[0] == 2);
  CHECK(a.requests() == 20);
  CHECK(a.bytes_in == 50);
  CHECK(a.bytes_out == 3000);
  CHECK(a.rejected == 4);
  CHECK(a.peak_inflight == 7);
  CHECK(a.buckets[2] == 0);  // the 11 earlier observations are not in the delta
  CHECK(a.buckets[8] == 10);
  // A new app counts from zero.
  CHECK(d[1].app == "new");
  CHECK(d[1].delta.requests() == 4);
  CHECK(d[1].delta.buckets[0] == 4);

  // The first sample after start (previous snapshot empty): every app from zero.
  auto first = compute_deltas({}, cur);
  REQUIRE(first.size() == 2);
  CHECK(first[0].delta.requests() == 31);
}

TEST_CASE("history: counters going backwards restart from the new value", "[history]") {
  // The app was removed and added again between the samples: its counters restarted.
  auto prev = snapshot({{"a", 1000, 0, 0, 0, 5000, 9000, 3, 0, {{0.01, 1000}}}});
  auto cur = snapshot({{"a", 6, 0, 0, 0, 60, 90, 0, 1, {{0.01, 6}}}});
  auto d = compute_deltas(prev, cur);
  REQUIRE(d.size() == 1);
  CHECK(d[0].delta.requests() == 6);
  CHECK(d[0].delta.bytes_in == 60);
  CHECK(d[0].delta.bytes_out == 90);
  CHECK(d[0].delta.rejected == 0);
  CHECK(d[0].delta.buckets[3] == 6);
  // One counter alone going backwards (bytes) is enough to detect it.
  auto p2 = snapshot({{"a", 5, 0, 0, 0, 100}});
  auto c2 = snapshot({{"a", 7, 0, 0, 0, 10}});
  auto d2 = compute_deltas(p2, c2);
  CHECK(d2[0].delta.requests() == 7);
  CHECK(d2[0].delta.bytes_in == 10);
}

TEST_CASE("history: bucket text round-trip and malformed text", "[history]") {
  Buckets b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = i * 1000 + 1;
  b[14] = 18446744073709551615ull;
  std::string text = encode_buckets(b);
  auto back = decode_buckets(text);
  REQUIRE(back);
  CHECK(*back == b);
  CHECK(encode_buckets(Buckets{}) == "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0");
  CHECK_FALSE(decode_buckets(""));
  CHECK_FALSE(decode_buckets("0,0,0"));
  CHECK_FALSE(decode_buckets("0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"));
  CHECK_FALSE(decode_buckets("0,0,0,0,0,0,0,0,0,0,0,0,0,0,x"));
  CHECK_FALSE(decode_buckets("0,0,0,0,0,0,0,0,0,0,0,0,0,0,-1"));
}

TEST_CASE("history: minute rows roll into hour rows with merged histograms", "[history]") {
  const int64_t h = 1764316800;  // an hour boundary
  REQUIRE(hour_of(h) == h);
  REQUIRE(hour_of(h + 3599) == h);
  REQUIRE(minute_of(h + 119) == h + 60);
  REQUIRE(minute_of(-1) == -60);

  Row fast;
  fast.by_class[2] = 90;
  fast.buckets[0] = 90;
  fast.bytes_out = 900;
  fast.peak_inflight = 3;
  Row slow;
  slow.by_class[5] = 10;
  slow.buckets[9] = 10;  // (0.5 s, 1 s]
  slow.peak_inflight = 9;
  std::vector<KeyedRow> minutes = {{"a", h, fast}, {"a", h + 60, slow}, {"a", h + 3600, fast}, {"b", h + 120, fast}};
  auto hours = rollup_hours(minutes);
  REQUIRE(hours.size() == 3);
  CHECK(hours[0].app == "a");
  CHECK(hours[0].t == h);
  CHECK(hours[0].row.requests() == 100);
  CHECK(hours[0].row.by_class[5] == 10);
  CHECK(hours[0].row.bytes_out == 900);
  CHECK(hours[0].row.peak_inflight == 9);
  // p95 of the hour is in the slow bucket, which averaging the minutes' p95 would not give.
  HistoryPoint p = to_point(hours[0].t, hours[0].row);
  CHECK(p.p50_ms == Approx(50.0 / 90.0));
  CHECK(p.p95_ms == Approx(500 + 500 * 0.5));
  CHECK(p.s5xx == 10);
  CHECK(hours[1].app == "a");
  CHECK(hours[1].t == h + 3600);
  CHECK(hours[2].app == "b");
  CHECK(hours[2].row.requests() == 90);
}

TEST_CASE("history: API ranges", "[history]") {
  CHECK(parse_history_range("15m")->seconds == 900);
  CHECK(parse_history_range("48h")->resolution == 60);
  CHECK(parse_history_range("7d")->seconds == 7 * 86400);
  CHECK(parse_history_range("30d")->resolution == 3600);
  CHECK_FALSE(parse_history_range("2h"));
  CHECK_FALSE(parse_history_range(""));
  CHECK_FALSE(parse_history_range("1H"));
}
