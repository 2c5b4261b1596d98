#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "http1/body.h"
#include "request/replay.h"

using ferry::proxy::append_replay_src;
using ferry::proxy::find_replay;
using ferry::proxy::parse_replay;
using ferry::proxy::ReplayKind;
using ferry::proxy::ReplayTarget;
using ferry::proxy::http::BodyTee;
using ferry::proxy::http::Header;

TEST_CASE("Ferry-Replay targets", "[replay]") {
  ReplayTarget t;
  REQUIRE(parse_replay("region=r1", t) == nullptr);
  CHECK(t.kind == ReplayKind::region);
  CHECK(t.name == "r1");
  CHECK(t.state.empty());
  REQUIRE(parse_replay("instance=web-2", t) == nullptr);
  CHECK(t.kind == ReplayKind::instance);
  CHECK(t.name == "web-2");
  REQUIRE(parse_replay(" App = billing ", t) == nullptr);
  CHECK(t.kind == ReplayKind::app);
  CHECK(t.name == "billing");
}

TEST_CASE("Ferry-Replay state runs to the end of the value", "[replay]") {
  ReplayTarget t;
  REQUIRE(parse_replay("region=r1;state=abc", t) == nullptr);
  CHECK(t.state == "abc");
  REQUIRE(parse_replay("app=a; state=x=1;y=2 z", t) == nullptr);
  CHECK(t.state == "x=1;y=2 z");
  REQUIRE(parse_replay("app=a;elsewhere=1;state=s", t) == nullptr);  // unknown parameter skipped
  CHECK(t.state == "s");
  REQUIRE(parse_replay("app=a;foo", t) == nullptr);
  CHECK(t.state.empty());
}

TEST_CASE("bad Ferry-Replay values are rejected with a reason", "[replay]") {
  ReplayTarget t;
  CHECK(parse_replay("", t) != nullptr);
  CHECK(parse_replay("r1", t) != nullptr);
  CHECK(parse_replay("zone=r1", t) != nullptr);
  CHECK(parse_replay("region=", t) != nullptr);
  CHECK(parse_replay("region=a b", t) != nullptr);
  CHECK(parse_replay("instance=" + std::string(200, 'x'), t) != nullptr);
  CHECK(parse_replay("region=r1;state=" + std::string(1025, 's'), t) != nullptr);
  CHECK(parse_replay("region=r1;state=a\x01", t) != nullptr);
  CHECK(parse_replay("region=r1;state=" + std::string(1024, 's'), t) == nullptr);
}

TEST_CASE("find_replay finds the header case-insensitively and nothing else", "[replay]") {
  std::vector<Header> hs{{"Content-Type", "text/plain"}, {"Ferry-Replay-Src", "x"}, {"ferry-replay", "app=a"}};
  CHECK(find_replay(hs) == 2);
  CHECK(find_replay({{"Content-Length", "1"}, {"Ferry-Replays", "x"}}) == -1);
  CHECK(find_replay({}) == -1);
}

TEST_CASE("Ferry-Replay-Src format", "[replay]") {
  std::string out;
  append_replay_src(out, "web", "a", "r1", "");
  CHECK(out == "app=web;instance=a;region=r1");
  out.clear();
  append_replay_src(out, "web", "a", "", "s=1");
  CHECK(out == "app=web;instance=a;state=s=1");
}

TEST_CASE("the body tee keeps the raw payload up to its cap", "[replay]") {
  BodyTee t;
  t.max = 10;
  t.add("hello");
  CHECK(t.data == "hello");
  t.add("world");
  CHECK(t.data == "helloworld");
  CHECK_FALSE(t.overflow);
  t.add("!");
  CHECK(t.overflow);
  CHECK(t.data.empty());
  t.add("more");
  CHECK(t.data.empty());
}

TEST_CASE("body tees share the worker's replay budget", "[replay]") {
  ferry::proxy::http::ReplayBudget budget{100, 0};
  {
    BodyTee a, b;
    a.max = b.max = 1000;
    a.budget = b.budget = &budget;
    a.add(std::string(60, 'a'));
    CHECK(budget.used == 60);
    b.add(std::string(30, 'b'));
    CHECK(budget.used == 90);
    b.add(std::string(20, 'b'));  // 110 > 100: b keeps nothing, its bytes go back
    CHECK(b.overflow);
    CHECK(b.over_budget);
    CHECK(b.data.empty());
    CHECK(budget.used == 60);
    b.add("x");  // stays dropped
    CHECK(budget.used == 60);
    a.add(std::string(40, 'a'));  // exactly the limit
    CHECK_FALSE(a.overflow);
    CHECK(budget.used == 100);
    a.release();
    CHECK(budget.used == 0);
    CHECK(a.data.empty());
    a.add("y");  // a released tee counts again from zero
    CHECK(budget.used == 1);
  }
  CHECK(budget.used == 0);  // destructors give everything back
  BodyTee c;
  c.max = 5;
  c.budget = &budget;
  c.add("123456");
  CHECK(c.overflow);
  CHECK_FALSE(c.over_budget);  // over max, not over the budget
  CHECK(budget.used == 0);
}
