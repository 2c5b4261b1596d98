// ferryctl's `instance` command line and request body (ctl/src/instance_spec.h), and the
// age formatting of `ferryctl instances` (ctl/src/table.h).
#include <catch2/catch.hpp>

#include "instance_spec.h"
#include "table.h"

using namespace ferryctl;

namespace {
std::string parse(std::vector<std::string> words, InstanceCommand& out) { return parse_instance_command(words, out); }
}  // namespace

TEST_CASE("instance add: positionals and every option", "[ctl]") {
  InstanceCommand c;
  REQUIRE(parse({"add", "web", "i1", "127.0.0.1:9001", "--region", "dfw", "--state", "stopped", "--weight", "0",
                 "--soft", "10", "--hard", "20", "--meta", "k=v", "--meta", "url=a=b"},
                c) == "");
  CHECK(c.verb == "add");
  CHECK(c.app == "web");
  CHECK(c.id == "i1");
  CHECK(*c.changes.address == "127.0.0.1:9001");
  CHECK(*c.changes.region == "dfw");
  CHECK(*c.changes.state == "stopped");
  CHECK(*c.changes.weight == 0);
  CHECK(*c.changes.soft == 10);
  CHECK(*c.changes.hard == 20);
  CHECK(c.changes.metadata == std::map<std::string, std::string>{{"k", "v"}, {"url", "a=b"}});
}

TEST_CASE("instance options may precede the positionals", "[ctl]") {
  InstanceCommand c;
  REQUIRE(parse({"add", "--weight", "3", "web", "i1", "[::1]:80"}, c) == "");
  CHECK(*c.changes.weight == 3);
  CHECK(*c.changes.address == "[::1]:80");
}

TEST_CASE("instance add with defaults gives the API's defaults", "[ctl]") {
  InstanceCommand c;
  REQUIRE(parse({"add", "web", "i1", "127.0.0.1:9001"}, c) == "");
  InstanceRecord base;
  base.app = c.app;
  base.id = c.id;
  CHECK(instance_body(apply_changes(base, c.changes)) ==
        R"({"app":"web","id":"i1","address":"127.0.0.1:9001","state":"started","weight":1,"soft":0,"hard":0,)"
        R"("metadata":{}})");
}

TEST_CASE("instance update keeps what it does not change and merges metadata", "[ctl]") {
  InstanceRecord r;
  r.app = "web";
  r.id = "i1";
  r.address = "127.0.0.1:9001";
  r.region = "dfw";
  r.state = "stopped";
  r.weight = 5;
  r.soft = 7;
  r.hard = 9;
  r.metadata = {{"a", "1"}, {"b", "2"}};
  InstanceCommand c;
  REQUIRE(parse({"update", "web", "i1", "--weight", "2", "--meta", "b=3", "--meta", "c=", "--region", ""}, c) == "");
  CHECK_FALSE(c.changes.address);
  auto out = apply_changes(r, c.changes);
  CHECK(out.address == "127.0.0.1:9001");
  CHECK(out.state == "stopped");
  CHECK(out.weight == 2);
  CHECK(out.soft == 7);
  CHECK(out.hard == 9);
  CHECK(out.region.empty());
  CHECK(out.metadata == std::map<std::string, std::string>{{"a", "1"}, {"b", "3"}, {"c", ""}});
  CHECK(instance_body(out) ==
        R"({"app":"web","id":"i1","address":"127.0.0.1:9001","state":"stopped","weight":2,"soft":7,"hard":9,)"
        R"("metadata":{"a":"1","b":"3","c":""}})");

  REQUIRE(parse({"update", "web", "i1", "10.0.0.1:80"}, c) == "");
  CHECK(apply_changes(r, c.changes).address == "10.0.0.1:80");
}

TEST_CASE("instance remove, start and stop take APP ID only", "[ctl]") {
  InstanceCommand c;
  for (std::string verb : {"remove", "start", "stop"}) {
    REQUIRE(parse({verb, "web", "i1"}, c) == "");
    CHECK(c.verb == verb);
    CHECK(c.app == "web");
    CHECK(c.id == "i1");
    CHECK(c.changes.empty());
    CHECK(parse({verb, "web"}, c) == "wrong number of arguments for instance " + verb + " (APP ID)");
    CHECK(parse({verb, "web", "i1", "x"}, c) == "wrong number of arguments for instance " + verb + " (APP ID)");
    CHECK(parse({verb, "web", "i1", "--weight", "2"}, c) == "instance " + verb + " takes no options but --wait and --timeout (--weight)");
  }
}

TEST_CASE("instance command line errors", "[ctl]") {
  InstanceCommand c;
  CHECK(parse({}, c) == "instance needs add, update, remove, start or stop");
  CHECK(parse({"list"}, c) == "unknown instance command list (add, update, remove, start, stop)");
  CHECK(parse({"add", "web", "i1"}, c) == "wrong number of arguments for instance add (APP ID ADDRESS)");
  CHECK(parse({"add", "web", "i1", "a:1", "b"}, c) == "wrong number of arguments for instance add (APP ID ADDRESS)");
  CHECK(parse({"update", "web"}, c) == "wrong number of arguments for instance update (APP ID [ADDRESS])");
  CHECK(parse({"update", "web", "i1"}, c) == "instance update needs ADDRESS or an option to change");
  CHECK(parse({"add", "", "i1", "a:1"}, c) == "APP and ID must not be empty");
  CHECK(parse({"add", "web", "i1", ""}, c) == "ADDRESS must not be empty");
  CHECK(parse({"add", "web", "i1", "a:1", "--bogus", "1"}, c) == "unknown option --bogus");
  CHECK(parse({"add", "web", "i1", "a:1", "--weight"}, c) == "--weight needs a value");
  CHECK(parse({"add", "web", "i1", "a:1", "--weight", "257"}, c) ==
        "--weight must be an integer from 0 to 256, not '257'");
  CHECK(parse({"add", "web", "i1", "a:1", "--weight", "-1"}, c) ==
        "--weight must be an integer from 0 to 256, not '-1'");
  CHECK(parse({"add", "web", "i1", "a:1", "--weight", "2x"}, c) ==
        "--weight must be an integer from 0 to 256, not '2x'");
  CHECK(parse({"add", "web", "i1", "a:1", "--soft", "-3"}, c) == "--soft must be an integer >= 0, not '-3'");
  CHECK(parse({"add", "web", "i1", "a:1", "--hard", ""}, c) == "--hard must be an integer >= 0, not ''");
  CHECK(parse({"add", "web", "i1", "a:1", "--state", "up"}, c) ==
        "--state must be starting, started, stopping or stopped, not 'up'");
  CHECK(parse({"add", "web", "i1", "a:1", "--meta", "novalue"}, c) == "--meta needs KEY=VALUE, not 'novalue'");
  CHECK(parse({"add", "web", "i1", "a:1", "--meta", "=v"}, c) == "--meta needs KEY=VALUE, not '=v'");
}

TEST_CASE("instance body escapes strings", "[ctl]") {
  InstanceRecord r;
  r.app = "we\"b";
  r.id = "i\\1";
  r.address = "h:1";
  r.metadata = {{"k\n", "v\t"}};
  CHECK(instance_body(r) ==
        R"({"app":"we\"b","id":"i\\1","address":"h:1","state":"started","weight":1,"soft":0,"hard":0,)"
        R"("metadata":{"k\n":"v\t"}})");
}

TEST_CASE("human_age_ms", "[ctl]") {
  CHECK(human_age_ms(-1) == "never");
  CHECK(human_age_ms(0) == "0ms");
  CHECK(human_age_ms(120) == "120ms");
  CHECK(human_age_ms(999) == "999ms");
  CHECK(human_age_ms(1500) == "1s");
  CHECK(human_age_ms(250000) == "4m10s");
}

TEST_CASE("instance --wait and --timeout", "[ctl][instance]") {
  InstanceCommand c;
  REQUIRE(parse_instance_command({"add", "web", "i1", "127.0.0.1:1", "--wait"}, c) == "");
  CHECK(c.wait);
  CHECK(c.timeout_s == 10);
  REQUIRE(parse_instance_command({"remove", "web", "i1", "--wait", "--timeout", "30"}, c) == "");
  CHECK(c.wait);
  CHECK(c.timeout_s == 30);
  CHECK(parse_instance_command({"stop", "web", "i1", "--timeout", "0"}, c).find("--timeout must be") == 0);
  CHECK(parse_instance_command({"stop", "web", "i1", "--timeout"}, c) == "--timeout needs a value (seconds)");
  CHECK(parse_instance_command({"stop", "web", "i1", "--weight", "2"}, c).find("takes no options but --wait") !=
        std::string::npos);
}
