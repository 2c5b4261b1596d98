// Data-plane statistics: per-worker counter slots summed at scrape time, histogram buckets,
// counters kept across rebuilds by name, and collect_stats() over a built plan.
#include <catch2/catch.hpp>

#include <thread>

#include "ferry/configlang/load.h"
#include "ferry/proxy/engine.h"
#include "plan/plan.h"
#include "runtime/counters.h"
#include "stats/collect.h"

using namespace ferry;
using namespace ferry::proxy;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::shared_ptr<const Plan> plan_of(const std::string& text, RuntimeRegistry& reg, uint64_t generation = 1) {
  auto r = config::load_string(text, "t.conf", {});
  INFO(config::format(r.diagnostics));
  REQUIRE(r.ok());
  std::shared_ptr<const config::Config> cfg = r.config;
  TlsPlan tls;
  tls.fronts.resize(cfg->frontends.size());
  return build_plan(cfg, generation, reg, std::move(tls), nullptr);
}

const char* kConfig =
    "defaults\n    timeout client 1s\n"
    "frontend web\n    bind 127.0.0.1:0\n"
    "backend b\n    server s1 127.0.0.1:9001\n    server s2 127.0.0.1:9002 disabled\n"
    "app one\n    hosts one.test\n    backend b\n    concurrency soft 2 hard 4 queue 8\n"
    "app two\n    hosts two.test\n    backend b\n";

int cls(int status_class) { return status_class; }

}  // namespace

TEST_CASE("app counters: each worker's slot is summed, status classes and protocols kept apart", "[stats]") {
  stats::AppCounters c(3);
  c.record_request(0, StatsProtocol::http1, 200, 10, 100, milliseconds(3));
  c.record_request(1, StatsProtocol::http1, 204, 5, 0, milliseconds(3));
  c.record_request(2, StatsProtocol::http2, 503, 0, 50, seconds(2));
  c.record_request(2, StatsProtocol::http1, 0, 7, 0, microseconds(10));      // aborted: "none"
  c.record_request(1, StatsProtocol::tcp, 200, 1000, 2000, seconds(100));    // TCP: always "none"
  c.record_request(0, StatsProtocol::http1, 404, 0, 0, milliseconds(1));
  AppStats a;
  c.sum_into(a);
  stats::finish_histogram(a.duration);
  CHECK(a.requests[0][cls(2)] == 2);
  CHECK(a.requests[0][cls(4)] == 1);
  CHECK(a.requests[0][cls(0)] == 1);
  CHECK(a.requests[1][cls(5)] == 1);
  CHECK(a.requests[2][cls(0)] == 1);
  CHECK(a.requests[2][cls(2)] == 0);
  CHECK(a.bytes_in == 10 + 5 + 7 + 1000);
  CHECK(a.bytes_out == 100 + 50 + 2000);
  // Durations: 3ms x2 (le 0.005), 2s (le 2.5), 10us (le 0.001), 100s (+Inf only), 1ms (le 0.001).
  CHECK(a.duration.count == 6);
  CHECK(a.duration.counts[0] == 2);   // le 0.001 (1 ms is on the bound: included)
  CHECK(a.duration.counts[1] == 2);   // le 0.0025
  CHECK(a.duration.counts[2] == 4);   // le 0.005
  CHECK(a.duration.counts[9] == 4);   // le 1
  CHECK(a.duration.counts[10] == 5);  // le 2.5
  CHECK(a.duration.counts[13] == 5);  // le 30: the 100 s one is in +Inf only
  CHECK(a.duration.sum == Approx(0.006 + 2 + 0.00001 + 100 + 0.001));
}

TEST_CASE("app counters: budget outcomes count rejections and queue waits", "[stats]") {
  stats::AppCounters c(2);
  c.record_budget(BudgetResult::granted, true, milliseconds(20));
  c.record_budget(BudgetResult::queue_full, false, microseconds(1));
  c.record_budget(BudgetResult::timed_out, true, milliseconds(700));
  c.record_budget(BudgetResult::cancelled, true, milliseconds(1));
  AppStats a;
  c.sum_into(a);
  stats::finish_histogram(a.queue_wait);
  CHECK(a.rejected == 2);
  CHECK(a.queue_wait.count == 3);  // only those that queued
  CHECK(a.queue_wait.counts[0] == 1);
  CHECK(a.queue_wait.counts[4] == 2);  // le 0.025
  CHECK(a.queue_wait.counts[8] == 2);  // le 0.5
  CHECK(a.queue_wait.counts[9] == 3);  // le 1
  CHECK(a.queue_wait.sum == Approx(0.721));
}

TEST_CASE("app counters: concurrent writers on their own slots lose nothing", "[stats]") {
  constexpr int kWorkers = 4, kEach = 200000;
  stats::AppCounters c(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w)
    threads.emplace_back([&c, w] {
      for (int i = 0; i < kEach; ++i) c.record_request(w, StatsProtocol::http1, 200, 1, 2, microseconds(5));
    });
  // A reader summing meanwhile sees monotonic, consistent histograms.
  uint64_t last = 0;
  for (int i = 0; i < 50; ++i) {
    AppStats a;
    c.sum_into(a);
    stats::finish_histogram(a.duration);
    CHECK(a.requests[0][2] >= last);
    last = a.requests[0][2];
    CHECK(a.duration.count >= a.duration.counts.back());
  }
  for (auto& t : threads) t.join();
  AppStats a;
  c.sum_into(a);
  CHECK(a.requests[0][2] == uint64_t(kWorkers) * kEach);
  CHECK(a.bytes_out == uint64_t(kWorkers) * kEach * 2);
}

TEST_CASE("frontend counters: accepted, active and TLS outcomes by reason", "[stats]") {
  stats::FrontendCounters f(2);
  f.accepted(0), f.accepted(1), f.accepted(1);
  f.opened(0), f.opened(1), f.opened(1);
  f.closed(1);
  f.tls_ok(0);
  f.tls_failed(1, 0);
  f.tls_failed(1, 2);
  f.tls_failed(0, 2);
  FrontendStats s;
  f.sum_into(s);
  CHECK(s.connections_total == 3);
  CHECK(s.connections_active == 2);
  CHECK(s.tls_handshakes == 1);
  REQUIRE(s.tls_failures.size() == 4);
  CHECK(s.tls_failures[0] == std::pair<std::string, uint64_t>{"no-certificate", 1});
  CHECK(s.tls_failures[1] == std::pair<std::string, uint64_t>{"protocol", 0});
  CHECK(s.tls_failures[2] == std::pair<std::string, uint64_t>{"timeout", 2});
  CHECK(s.tls_failures[3] == std::pair<std::string, uint64_t>{"other", 0});
}

TEST_CASE("collect_stats: apps, servers and frontends of a plan; counters survive a rebuild by name", "[stats]") {
  RuntimeRegistry reg;
  reg.set_workers(2);
  auto p1 = plan_of(kConfig, reg);
  p1->apps[0].stats->record_request(1, StatsProtocol::http1, 200, 1, 1, milliseconds(1));
  p1->apps[1].stats->record_request(0, StatsProtocol::http2, 500, 1, 1, milliseconds(1));
  p1->frontends[0].stats->accepted(1);
  p1->backends[0].servers[0].state->connect_errors = 3;
  p1->backends[0].servers[0].state->ewma_latency_us = 1500;

  EngineStats s;
  collect_stats(*p1, 1000, s);
  REQUIRE(s.apps.size() == 2);
  CHECK(s.apps[0].name == "one");
  CHECK(s.apps[0].mode == "http");
  CHECK(s.apps[0].backend == "b");
  CHECK(s.apps[0].soft == 2);
  CHECK(s.apps[0].hard == 4);
  CHECK(s.apps[0].requests[0][2] == 1);
  CHECK(s.apps[1].requests[1][5] == 1);
  REQUIRE(s.servers.size() == 2);
  CHECK(s.servers[0].name == "s1");
  CHECK(s.servers[0].address == "127.0.0.1:9001");
  CHECK(s.servers[0].connect_errors == 3);
  CHECK(s.servers[0].ewma_latency_us == 1500);
  CHECK(s.servers[0].healthy);
  CHECK_FALSE(s.servers[0].drained);
  CHECK(s.servers[1].disabled);
  REQUIRE(s.frontends.size() == 1);
  CHECK(s.frontends[0].name == "web");
  CHECK(s.frontends[0].connections_total == 1);

  // A reload that keeps app "one", drops "two" and adds "three".
  std::string next = kConfig;
  next.replace(next.find("app two"), 7, "app three");
  auto p2 = plan_of(next, reg, 2);
  CHECK(p2->apps[0].stats == p1->apps[0].stats);
  CHECK(p2->frontends[0].stats == p1->frontends[0].stats);
  EngineStats s2;
  collect_stats(*p2, 1000, s2);
  CHECK(s2.apps[0].requests[0][2] == 1);
  CHECK(s2.apps[1].name == "three");
  CHECK(s2.apps[1].requests[1][5] == 0);
  // "two" comes back: from zero.
  auto p3 = plan_of(kConfig, reg, 3);
  EngineStats s3;
  collect_stats(*p3, 1000, s3);
  CHECK(s3.apps[1].name == "two");
  CHECK(s3.apps[1].requests[1][5] == 0);
}

TEST_CASE("registry: drained servers are flagged at every build, whatever the state object", "[stats][drain]") {
  RuntimeRegistry reg;
  reg.drained().insert({"b", "s1"});
  reg.drained().insert({"b", "gone"});
  auto p1 = plan_of(kConfig, reg);
  CHECK(p1->backends[0].servers[0].state->drained);
  CHECK_FALSE(p1->backends[0].servers[1].state->drained);
  // s1 moves to another address (a new state object): still drained.
  std::string moved = kConfig;
  moved.replace(moved.find("127.0.0.1:9001"), 14, "127.0.0.1:9003");
  auto p2 = plan_of(moved, reg, 2);
  CHECK(p2->backends[0].servers[0].state != p1->backends[0].servers[0].state);
  CHECK(p2->backends[0].servers[0].state->drained);
  EngineStats s;
  collect_stats(*p2, 1000, s);
  CHECK(s.servers[0].drained);
  CHECK_FALSE(s.servers[1].drained);
  reg.drained().erase({"b", "s1"});
  auto p3 = plan_of(moved, reg, 3);
  CHECK_FALSE(p3->backends[0].servers[0].state->drained);
}

TEST_CASE("Engine: stats() and admin drain across reloads", "[stats][drain][engine]") {
  auto load = [](const std::string& text) {
    auto r = config::load_string(text, "t.conf", {});
    INFO(config::format(r.diagnostics));
    REQUIRE(r.ok());
    return std::shared_ptr<const config::Config>(r.config);
  };
  const std::string global = "global\n    workers 2\n    log stderr error\n";
  Engine engine;
  CHECK_FALSE(engine.set_server_drained("b", "s1", true));  // no configuration yet
  CHECK(engine.stats().apps.empty());
  std::string error;
  REQUIRE(engine.apply(load(global + kConfig), error));
  EngineStats s = engine.stats();
  CHECK(s.workers == 2);
  CHECK(s.generation >= 1);
  REQUIRE(s.apps.size() == 2);
  REQUIRE(s.servers.size() == 2);
  CHECK_FALSE(s.servers[0].drained);

  CHECK_FALSE(engine.set_server_drained("b", "nope", true));
  CHECK_FALSE(engine.set_server_drained("nope", "s1", true));
  CHECK(engine.drained_servers().empty());
  REQUIRE(engine.set_server_drained("b", "s1", true));
  CHECK(engine.stats().servers[0].drained);  // at once
  CHECK(engine.drained_servers() == std::vector<std::pair<std::string, std::string>>{{"b", "s1"}});

  // A reload without s1 keeps the drain; one that re-adds it (at another address) applies it.
  std::string without = kConfig;
  without.replace(without.find("    server s1 127.0.0.1:9001\n"), 29, "");
  REQUIRE(engine.apply(load(global + without), error));
  CHECK(engine.drained_servers().size() == 1);
  CHECK_FALSE(engine.stats().servers[0].drained);  // s2
  std::string moved = kConfig;
  moved.replace(moved.find("127.0.0.1:9001"), 14, "127.0.0.1:9005");
  REQUIRE(engine.apply(load(global + moved), error));
  s = engine.stats();
  CHECK(s.servers[0].name == "s1");
  CHECK(s.servers[0].drained);
  CHECK_FALSE(s.servers[1].drained);

  REQUIRE(engine.set_server_drained("b", "s1", false));
  CHECK_FALSE(engine.stats().servers[0].drained);
  CHECK(engine.drained_servers().empty());
  engine.stop();
}
