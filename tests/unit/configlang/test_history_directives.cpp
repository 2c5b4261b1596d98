// global `history-sample-interval` and `history-retention` (per-app traffic history).
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace cfgtest;
using namespace std::chrono_literals;

namespace {
std::string with(const std::string& extra) { return std::string(kBase) + extra; }  // extra starts at line 11
}  // namespace

TEST_CASE("history directives: defaults and values", "[configlang][global][history]") {
  auto d = load(kBase);
  REQUIRE(d.ok());
  const Global& g0 = d.config->global;
  CHECK(g0.history_enabled);
  CHECK(g0.history_sample_interval == 10s);
  CHECK(g0.history_minute_retention == 48h);
  CHECK(g0.history_hour_retention == 720h);

  auto r = load(with("global\n"
                     "    history-sample-interval 1s\n"
                     "    history-retention 2h 7d\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.config->global.history_enabled);
  CHECK(r.config->global.history_sample_interval == 1s);
  CHECK(r.config->global.history_minute_retention == 2h);
  CHECK(r.config->global.history_hour_retention == 168h);

  auto off = load(with("global\n    history-retention off\n"));
  REQUIRE(off.ok());
  CHECK_FALSE(off.config->global.history_enabled);

  auto days = load(with("global\n    history-retention 2d 30d\n"));
  REQUIRE(days.ok());
  CHECK(days.config->global.history_minute_retention == 48h);
  CHECK(days.config->global.history_hour_retention == 720h);
}

TEST_CASE("history directives: errors with positions", "[configlang][global][history]") {
  auto r = load(with("global\n"
                     "    history-sample-interval 500ms\n"  // 12
                     "    history-retention 48h\n"          // 13
                     "global\n"));
  CHECK(where(r, "history-sample-interval must be at least 1s") == "12:29");
  CHECK(where(r, "missing argument: expected 'history-retention MINUTES HOURS|off'") == "13:26");

  auto e = load(with("global\n"
                     "    history-retention 30m 1h\n"));  // 12
  CHECK(where(e, "minute rows must be kept at least 1h") == "12:23");
  auto f = load(with("global\n"
                     "    history-retention off 1h\n"));  // 12
  CHECK(where(f, "unexpected extra argument '1h' after 'history-retention off'") == "12:27");
  auto g = load(with("global\n"
                     "    history-retention 2h 1w\n"));  // 12
  CHECK(where(g, "unknown unit 'w'") == "12:26");
  auto i = load(with("global\n"
                     "    history-sample-interval 10\n"));  // 12
  CHECK(where(i, "missing unit") == "12:29");
}
