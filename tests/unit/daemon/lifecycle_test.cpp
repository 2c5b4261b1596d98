// lifecycle/lifecycle.h: start and reload walk the steps in order; a failed reload reverts the
// steps before the failure (reverse order) to the configuration in force; quiesce and stop go
// in reverse; a failed start stops what started; stop runs once.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "lifecycle/lifecycle.h"

using namespace ferry::daemon::lifecycle;
using ferry::config::Config;

namespace {

// A step that records every hook call as "<hook> <name>[ <node of the config>]" in `log`.
// `fail_start` / `fail_reload`: that hook fails; `throw_reload`: it throws.
struct Rec {
  std::vector<std::string> log;
  std::string fail_start, fail_reload, throw_reload;

  static std::string tag(const Snapshot& s) { return s ? " " + s->global.node : ""; }

  Step step(const std::string& name) {
    Step s;
    s.name = name;
    s.start = [this, name](const Snapshot& c, std::string& error) {
      log.push_back("start " + name + tag(c));
      if (name != fail_start) return true;
      error = name + " broke";
      return false;
    };
    s.reload = [this, name](const Snapshot& c, std::string& error) {
      log.push_back("reload " + name + tag(c));
      if (name == throw_reload) throw std::runtime_error(name + " threw");
      if (name != fail_reload) return true;
      error = name + " broke";
      return false;
    };
    s.revert = [this, name](const Snapshot& c) { log.push_back("revert " + name + tag(c)); };
    s.quiesce = [this, name] { log.push_back("quiesce " + name); };
    s.stop = [this, name] { log.push_back("stop " + name); };
    return s;
  }
  Lifecycle make(const std::vector<std::string>& names) {
    std::vector<Step> steps;
    for (const auto& n : names) steps.push_back(step(n));
    return Lifecycle(std::move(steps));
  }
};

Snapshot config(const std::string& node) {
  auto c = std::make_shared<Config>();
  c->global.node = node;
  return c;
}

using Log = std::vector<std::string>;

}  // namespace

TEST_CASE("lifecycle: start and reload in order, quiesce and stop in reverse, stop once", "[lifecycle]") {
  Rec r;
  Lifecycle lc = r.make({"logging", "mesh", "engine", "admin"});
  CHECK(lc.names() == Log{"logging", "mesh", "engine", "admin"});
  CHECK_FALSE(lc.running());
  Failure f;
  REQUIRE(lc.start(config("one"), f));
  CHECK(lc.running());
  REQUIRE(lc.reload(config("two"), config("one"), f));
  lc.quiesce();
  lc.stop();
  lc.stop();  // idempotent
  CHECK_FALSE(lc.running());
  CHECK(r.log == Log{"start logging one", "start mesh one", "start engine one", "start admin one",
                     "reload logging two", "reload mesh two", "reload engine two", "reload admin two",
                     "quiesce admin", "quiesce engine", "quiesce mesh", "quiesce logging",
                     "stop admin", "stop engine", "stop mesh", "stop logging"});
}

TEST_CASE("lifecycle: a failed reload reverts the steps before it to the old configuration", "[lifecycle]") {
  Rec r;
  Lifecycle lc = r.make({"logging", "mesh", "engine", "acme"});
  Failure f;
  REQUIRE(lc.start(config("one"), f));
  r.log.clear();
  r.fail_reload = "engine";
  CHECK_FALSE(lc.reload(config("two"), config("one"), f));
  CHECK(f.step == "engine");
  CHECK(f.error == "engine broke");
  // The failing step is not reverted (a failed apply changes nothing); acme never sees "two".
  CHECK(r.log == Log{"reload logging two", "reload mesh two", "reload engine two", "revert mesh one",
                     "revert logging one"});
  CHECK(lc.running());  // the old configuration keeps running

  r.log.clear();
  r.fail_reload.clear();
  r.throw_reload = "mesh";  // an exception is that step's failure
  CHECK_FALSE(lc.reload(config("three"), config("one"), f));
  CHECK(f.step == "mesh");
  CHECK(f.error == "mesh threw");
  CHECK(r.log == Log{"reload logging three", "reload mesh three", "revert logging one"});
}

TEST_CASE("lifecycle: a failed start stops the steps started before it, in reverse", "[lifecycle]") {
  Rec r;
  r.fail_start = "engine";
  Lifecycle lc = r.make({"logging", "mesh", "engine", "admin"});
  Failure f;
  CHECK_FALSE(lc.start(config("one"), f));
  CHECK(f.step == "engine");
  CHECK(f.error == "engine broke");
  CHECK_FALSE(lc.running());
  lc.stop();  // nothing left to stop
  lc.quiesce();
  CHECK(r.log == Log{"start logging one", "start mesh one", "start engine one", "stop mesh", "stop logging"});
}

TEST_CASE("lifecycle: missing hooks are no-ops", "[lifecycle]") {
  std::vector<std::string> log;
  Step bare;
  bare.name = "bare";
  Step stops;
  stops.name = "stops";
  stops.stop = [&] { log.push_back("stop"); };
  Lifecycle lc({bare, stops});
  Failure f;
  REQUIRE(lc.start(config("one"), f));
  REQUIRE(lc.reload(config("two"), config("one"), f));
  lc.quiesce();
  lc.stop();
  CHECK(log == Log{"stop"});
}
