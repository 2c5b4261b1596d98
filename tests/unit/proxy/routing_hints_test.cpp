#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ferry/proxy/engine.h"
#include "routing/hints.h"

using ferry::proxy::forced_hint_reason;
using ferry::proxy::OwnedHints;
using ferry::proxy::parse_client_hints;
using ferry::proxy::RoutingHints;
using ferry::proxy::valid_hint_value;
using ferry::proxy::http::Header;

TEST_CASE("routing hints are read from the four Ferry-* request headers", "[hints]") {
  std::vector<Header> hs{{"Host", "a.example"},
                         {"ferry-prefer-region", "r1"},
                         {"Ferry-Force-Region", "r2"},
                         {"FERRY-PREFER-INSTANCE", "a"},
                         {"Ferry-Force-Instance", "web-3.x_y"},
                         {"Ferry-Region", "zz"}};
  RoutingHints h = parse_client_hints(hs);
  CHECK(h.prefer_region == "r1");
  CHECK(h.force_region == "r2");
  CHECK(h.prefer_instance == "a");
  CHECK(h.force_instance == "web-3.x_y");
  CHECK_FALSE(h.empty());
}

TEST_CASE("no hint headers: empty hints", "[hints]") {
  std::vector<Header> hs{{"Host", "a"}, {"Ferry-Request-Id", "x"}, {"Ferry-Forced-Region", "r1"}, {"X", "y"}};
  CHECK(parse_client_hints(hs).empty());
  CHECK(parse_client_hints({}).empty());
}

TEST_CASE("a repeated hint header: the first wins", "[hints]") {
  std::vector<Header> hs{{"Ferry-Force-Instance", "a"}, {"Ferry-Force-Instance", "b"}};
  CHECK(parse_client_hints(hs).force_instance == "a");
}

TEST_CASE("malformed hint values are ignored with a log line", "[hints]") {
  std::vector<std::string> lines;
  ferry::proxy::set_log_sink([&](ferry::config::LogLevel, std::string_view m) { lines.emplace_back(m); },
                             ferry::config::LogLevel::debug);
  std::string long_name(200, 'a');
  std::vector<Header> hs{{"Ferry-Force-Region", ""},
                         {"Ferry-Force-Instance", "a b"},
                         {"Ferry-Prefer-Region", long_name},
                         {"Ferry-Prefer-Instance", "x/y"}};
  RoutingHints h = parse_client_hints(hs);
  ferry::proxy::set_log_sink(nullptr, ferry::config::LogLevel::info);
  CHECK(h.empty());
  REQUIRE(lines.size() == 4);
  CHECK(lines[1].find("Ferry-Force-Instance") != std::string::npos);
  CHECK(lines[1].find("invalid value") != std::string::npos);
}

TEST_CASE("hint value syntax", "[hints]") {
  CHECK(valid_hint_value("r1"));
  CHECK(valid_hint_value("fra-2.node_a"));
  CHECK(valid_hint_value(std::string(128, 'x')));
  CHECK_FALSE(valid_hint_value(std::string(129, 'x')));
  CHECK_FALSE(valid_hint_value(""));
  CHECK_FALSE(valid_hint_value("a;b"));
  CHECK_FALSE(valid_hint_value("a=b"));
  CHECK_FALSE(valid_hint_value("é"));
}

TEST_CASE("owned hints keep copies and view them", "[hints]") {
  OwnedHints o;
  {
    std::string region = "r2", inst = "b";
    o.assign(RoutingHints{{}, region, {}, inst});
  }
  RoutingHints v = o.view();
  CHECK(v.force_region == "r2");
  CHECK(v.force_instance == "b");
  CHECK(v.prefer_region.empty());
  CHECK_FALSE(o.empty());
  CHECK(OwnedHints{}.empty());
}

TEST_CASE("forced hints name the reason of a 503", "[hints]") {
  CHECK(forced_hint_reason(RoutingHints{}) == nullptr);
  CHECK(forced_hint_reason(RoutingHints{"r1", {}, "a", {}}) == nullptr);  // prefer only
  CHECK(std::string(forced_hint_reason(RoutingHints{{}, "r1", {}, {}})).find("region") != std::string::npos);
  CHECK(std::string(forced_hint_reason(RoutingHints{{}, {}, {}, "a"})).find("instance") != std::string::npos);
}
