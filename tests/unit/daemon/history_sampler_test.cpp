// history/sampler + history_store: samples written to a real ferry.db in a temp dir, the
// current minute, restarts, hour rollup and pruning in batches.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "history/sampler.h"
#include "history_test_support.h"
#include "store_test_support.h"

using namespace ferry::daemon;
using namespace ferry::daemon::history;
using namespace ferry::daemon::history::test;
using ferry::store::test::TempDir;

namespace {

constexpr int64_t kHour = 1764316800;  // an hour boundary (2025-11-28 08:00 UTC)

Settings settings_in(const TempDir& tmp) {
  Settings s;
  s.state_dir = tmp / "state";
  s.minute_retention_s = 48 * 3600;
  s.hour_retention_s = 30 * 86400;
  return s;
}

// A sampler on a fixed clock (`now`), opened but without its thread.
struct Rig {
  explicit Rig(const TempDir& tmp, Settings s = {})
      : sampler([] { return ferry::proxy::EngineStats{}; }, [this](int, const std::string& m) { logs.push_back(m); },
                [this] { return now.load(); }) {
    if (s.state_dir.empty()) s = settings_in(tmp);
    auto st = sampler.open_store(s);
    INFO(st.message);
    REQUIRE(st.ok);
  }
  std::atomic<int64_t> now{kHour};
  std::vector<std::string> logs;
  Sampler sampler;
};

int64_t count_rows(Sampler& s, const char* table) {
  int64_t n = -1;
  REQUIRE(s.store().writer().query_int(std::string("SELECT count(*) FROM ") + table, n).ok);
  return n;
}

}  // namespace

TEST_CASE("history sampler: samples fill the current minute, written and read back", "[history][store]") {
  TempDir tmp;
  Rig rig(tmp);
  Sampler& s = rig.sampler;
  s.sample(snapshot({{"shop", 10, 1, 0, 0, 100, 1000, 0, 2, {{0.004, 11}}}, {"idle"}}), kHour + 5, 5.0);
  s.sample(snapshot({{"shop", 30, 1, 1, 0, 300, 3000, 1, 5, {{0.004, 11}, {0.02, 21}}}, {"idle"}}), kHour + 15,
           10.0);

  auto pts = s.query("shop", kHour - 3600, kHour + 60, 60);
  REQUIRE(pts.size() == 1);
  CHECK(pts[0].t == kHour);
  CHECK(pts[0].requests == 32);
  CHECK(pts[0].s2xx == 30);
  CHECK(pts[0].s4xx == 1);
  CHECK(pts[0].s5xx == 1);
  CHECK(pts[0].bytes_in == 300);
  CHECK(pts[0].bytes_out == 3000);
  CHECK(pts[0].rejected == 1);
  CHECK(pts[0].peak_inflight == 5);
  CHECK(pts[0].p50_ms > 2.5);
  CHECK(pts[0].p99_ms <= 25.0);
  // Apps without traffic have no rows; rates cover every app of the last snapshot.
  CHECK(s.query("idle", kHour - 3600, kHour + 60, 60).empty());
  auto rates = s.rates();
  CHECK(rates.at("shop") == Approx(21.0 / 10.0));
  CHECK(rates.at("idle") == 0.0);
  CHECK(rates.count("unknown") == 0);

  // The row is in the database (not only in memory), read by the reader connection.
  CHECK(count_rows(s, "history_minute") == 2 - 1);
  std::vector<KeyedRow> stored;
  REQUIRE(s.store().query(Table::minute, "shop", kHour, kHour + 60, stored).ok);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].row.requests() == 32);
  CHECK(stored[0].row.buckets[2] == 11);
  CHECK(stored[0].row.buckets[4] == 21);

  // Next minute: a new row; spark shows both minutes, the current one last.
  rig.now = kHour + 70;
  s.sample(snapshot({{"shop", 35, 1, 1, 0, 300, 3000, 1, 0, {{0.004, 16}, {0.02, 21}}}}), kHour + 70, 55.0);
  auto spark = s.spark("shop", 5);
  REQUIRE(spark.size() == 5);
  CHECK(spark == std::vector<uint64_t>{0, 0, 0, 32, 5});
  CHECK(s.query("shop", kHour, kHour + 120, 60).size() == 2);
}

TEST_CASE("history sampler: history survives a restart; the first sample is a delta from zero", "[history][store]") {
  TempDir tmp;
  {
    Rig rig(tmp);
    rig.sampler.sample(snapshot({{"shop", 7}}), kHour + 10, 10);
    rig.sampler.sample(snapshot({{"shop", 12}}), kHour + 65, 10);
  }
  // A new process: counters start at 0 again; the same minute (kHour + 60) keeps its rows.
  Rig again(tmp);
  again.now = kHour + 80;
  again.sampler.sample(snapshot({{"shop", 3}}), kHour + 80, 10);
  auto pts = again.sampler.query("shop", kHour, kHour + 120, 60);
  REQUIRE(pts.size() == 2);
  CHECK(pts[0].t == kHour);
  CHECK(pts[0].requests == 7);
  CHECK(pts[1].t == kHour + 60);
  CHECK(pts[1].requests == 5 + 3);
}

TEST_CASE("history sampler: finished hours roll into hour rows, percentiles from merged buckets", "[history][store]") {
  TempDir tmp;
  Rig rig(tmp);
  Sampler& s = rig.sampler;
  // Hour kHour: 90 fast requests in minute 0, 10 slow ones in minute 30.
  s.sample(snapshot({{"a", 90, 0, 0, 0, 0, 0, 0, 1, {{0.0005, 90}}}}), kHour + 10, 10);
  s.sample(snapshot({{"a", 90, 0, 10, 0, 0, 0, 0, 4, {{0.0005, 90}, {0.7, 10}}}}), kHour + 1800, 10);
  CHECK(count_rows(s, "history_hour") == 0);
  // Not rolled yet, but an hour query shows the hour so far, merged from its minute rows (one
  // written, one still in memory).
  auto so_far = s.query("a", kHour - 86400, kHour + 7200, 3600);
  REQUIRE(so_far.size() == 1);
  CHECK(so_far[0].t == kHour);
  CHECK(so_far[0].requests == 100);
  CHECK(so_far[0].s5xx == 10);
  CHECK(so_far[0].peak_inflight == 4);
  CHECK(so_far[0].p95_ms == Approx(500 + 500 * ((0.95 * 100 - 90) / 10)));
  // Still in the hour: nothing rolled.
  s.sample(snapshot({{"a", 91, 0, 10, 0, 0, 0, 0, 0, {{0.0005, 91}, {0.7, 10}}}}), kHour + 3599, 10);
  CHECK(count_rows(s, "history_hour") == 0);
  // The next hour started: kHour is rolled.
  s.sample(snapshot({{"a", 92, 0, 10, 0, 0, 0, 0, 0, {{0.0005, 92}, {0.7, 10}}}}), kHour + 3605, 10);
  CHECK(count_rows(s, "history_hour") == 1);
  auto hours = s.query("a", kHour - 86400, kHour + 7200, 3600);
  REQUIRE(hours.size() == 2);
  CHECK(hours[0].t == kHour);
  CHECK(hours[0].requests == 101);
  CHECK(hours[0].s5xx == 10);
  CHECK(hours[0].peak_inflight == 4);
  CHECK(hours[0].p95_ms == Approx(500 + 500 * ((0.95 * 101 - 91) / 10)));
  CHECK(hours[1].t == kHour + 3600);  // the current hour, from its minute so far
  CHECK(hours[1].requests == 1);
  CHECK(s.rolled_through() == kHour);

  // A gap of several hours without traffic, then traffic: the gap is skipped, not iterated.
  s.sample(snapshot({{"a", 95, 0, 10}}), kHour + 10 * 3600 + 5, 10);
  CHECK(count_rows(s, "history_hour") == 2);  // kHour + 3600 (the minute at kHour + 3605)
  CHECK(s.rolled_through() == kHour + 9 * 3600);
  s.sample(snapshot({{"a", 95, 0, 10}}), kHour + 11 * 3600 + 5, 10);
  CHECK(count_rows(s, "history_hour") == 3);
  CHECK(s.rolled_through() == kHour + 10 * 3600);
}

TEST_CASE("history sampler: hour rows are rolled after a restart that missed the hour change", "[history][store]") {
  TempDir tmp;
  {
    Rig rig(tmp);
    rig.sampler.sample(snapshot({{"a", 5}}), kHour + 100, 10);
    rig.sampler.sample(snapshot({{"a", 8}}), kHour + 4000, 10);  // rolls kHour
  }
  {
    Rig rig(tmp);  // down from kHour+4000 to kHour+3*3600: hour kHour+3600 not rolled yet
    rig.sampler.sample(snapshot({{"a", 1}}), kHour + 3 * 3600 + 10, 10);
    CHECK(count_rows(rig.sampler, "history_hour") == 2);
    auto hours = rig.sampler.query("a", kHour, kHour + 4 * 3600, 3600);
    REQUIRE(hours.size() == 3);
    CHECK(hours[0].requests == 5);
    CHECK(hours[1].t == kHour + 3600);
    CHECK(hours[1].requests == 3);
    CHECK(hours[2].t == kHour + 3 * 3600);  // the current hour, not rolled yet
    CHECK(hours[2].requests == 1);
  }
}

TEST_CASE("history sampler: retention prunes in batches of at most kPruneBatch rows", "[history][store]") {
  TempDir tmp;
  Settings set = settings_in(tmp);
  set.minute_retention_s = 2 * 3600;
  set.hour_retention_s = 24 * 3600;
  Rig rig(tmp, set);
  Sampler& s = rig.sampler;
  // 2500 old minute rows (50 apps x 50 minutes, 3 days ago), already rolled (hour rows too).
  {
    auto& db = s.store().writer();
    ferry::store::Transaction tx(db);
    REQUIRE(tx.begin().ok);
    const int64_t old = kHour - 3 * 86400;
    for (int a = 0; a < 50; ++a) {
      for (int m = 0; m < 50; ++m) {
        Row r;
        r.by_class[2] = 1;
        REQUIRE(s.store().upsert(Table::minute, {"app" + std::to_string(a), old + m * 60, r}).ok);
      }
      Row h;
      h.by_class[2] = 50;
      REQUIRE(s.store().upsert(Table::hour, {"app" + std::to_string(a), old, h}).ok);
    }
    REQUIRE(tx.commit().ok);
  }
  // A recent minute row that must stay.
  s.sample(snapshot({{"app0", 1}}), kHour + 10, 10);
  CHECK(count_rows(s, "history_minute") == 2501 - kPruneBatch);
  CHECK(count_rows(s, "history_hour") == 50);  // the batch went to minute rows
  s.sample(snapshot({{"app0", 2}}), kHour + 20, 10);
  CHECK(count_rows(s, "history_minute") == 2501 - 2 * kPruneBatch);
  s.sample(snapshot({{"app0", 3}}), kHour + 30, 10);
  CHECK(count_rows(s, "history_minute") == 1);
  CHECK(count_rows(s, "history_hour") == 0);  // the rest of that batch: 500 minute + 50 hour rows
  auto pts = s.query("app0", kHour, kHour + 60, 60);
  REQUIRE(pts.size() == 1);
  CHECK(pts[0].requests == 3);
}

TEST_CASE("history sampler: the thread samples the source and stop() writes the last sample", "[history][store]") {
  TempDir tmp;
  std::atomic<uint64_t> served{0};
  Sampler s([&] { return snapshot({{"shop", served.load()}}); }, {});
  Settings set = settings_in(tmp);
  set.interval = std::chrono::milliseconds(1000);
  std::string error;
  REQUIRE(s.start(set, error));
  served = 4;
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto pts = s.query("shop", now - 120, now + 1, 60);
  uint64_t total = 0;
  for (auto& p : pts) total += p.requests;
  CHECK(total == 4);
  served = 10;
  s.stop();  // the final sample adds the last 6
  s.stop();  // idempotent
  pts = s.query("shop", now - 120, now + 61, 60);
  total = 0;
  for (auto& p : pts) total += p.requests;
  CHECK(total == 10);

  // Disabled: start succeeds and nothing is opened.
  TempDir other;
  Sampler off([] { return ferry::proxy::EngineStats{}; }, {});
  Settings no = settings_in(other);
  no.enabled = false;
  REQUIRE(off.start(no, error));
  CHECK_FALSE(off.store().is_open());
  CHECK(off.query("x", 0, now, 60).empty());
}

TEST_CASE("history sampler: a store that cannot be opened is an error", "[history][store]") {
  TempDir tmp;
  Sampler s([] { return ferry::proxy::EngineStats{}; }, {});
  Settings set = settings_in(tmp);
  set.state_dir = tmp / "file";
  { FILE* f = std::fopen(set.state_dir.c_str(), "w"); REQUIRE(f); std::fclose(f); }
  std::string error;
  CHECK_FALSE(s.start(set, error));
  CHECK_THAT(error, Catch::Contains("history store:"));
}

TEST_CASE("history sampler: queries run while the thread samples; update() changes and disables", "[history][store]") {
  TempDir tmp;
  std::atomic<uint64_t> served{0};
  Sampler s([&] { return snapshot({{"shop", served.fetch_add(3) + 3}}); }, {});
  Settings set = settings_in(tmp);
  set.interval = std::chrono::milliseconds(1000);
  std::string error;
  REQUIRE(s.start(set, error));
  set.interval = std::chrono::milliseconds(200);  // a reload: takes effect at once
  s.update(set);
  std::atomic<bool> done{false};
  std::atomic<int> queries{0};
  std::thread reader([&] {
    while (!done) {
      auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      (void)s.query("shop", now - 3600, now + 1, 60);
      (void)s.rates();
      (void)s.spark("shop", 30);
      ++queries;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  done = true;
  reader.join();
  CHECK(queries > 10);
  // At 200 ms, about 5 samples in 1.1 s (at 1 s it would be 1).
  CHECK(served.load() >= 3 * 4);
  auto spark = s.spark("shop", 2);
  const uint64_t now_served = served.load();  // a sample may have run after spark() read
  CHECK((spark[0] + spark[1] == now_served || spark[0] + spark[1] + 3 == now_served));

  set.enabled = false;  // `history-retention off` on reload: last sample, thread joined
  s.update(set);
  const uint64_t after_off = served.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(served.load() == after_off);
  spark = s.spark("shop", 2);
  CHECK(spark[0] + spark[1] == after_off);
}
