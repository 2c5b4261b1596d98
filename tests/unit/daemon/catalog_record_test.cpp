// The catalog's record line format and checks (daemon/src/catalog/record.h).
#include <catch2/catch.hpp>

#include "catalog/record.h"

using namespace ferry::daemon::catalog;

namespace {

Record sample() {
  Record r;
  r.inst.app = "web";
  r.inst.id = "i-1";
  REQUIRE(parse_address("[fd00::1]:8080", r.inst.addr));
  r.inst.region = "dfw";
  r.inst.state = ferry::proxy::InstanceState::stopping;
  r.inst.weight = 7;
  r.inst.soft = 3;
  r.inst.hard = 9;
  r.metadata = {{"release", "v1 (blue) 100%"}, {"git", "abc"}};
  r.version = 42;
  r.changed_ms = 1765000000123;
  return r;
}

}  // namespace

TEST_CASE("a record survives its line, metadata percent-encoded") {
  Record r = sample();
  REQUIRE(check(r).empty());
  CHECK(r.metadata.front().first == "git");  // sorted by check()
  const std::string line = encode(r);
  CHECK(line == "i web i-1 [fd00::1]:8080 stopping dfw 7 3 9 42 1765000000123 git=abc release=v1%20%28blue%29%20100%25\n");
  Record back;
  bool removal = true;
  std::string error;
  REQUIRE(decode(std::string_view(line).substr(0, line.size() - 1), back, removal, error));
  CHECK_FALSE(removal);
  CHECK(back.inst.app == "web");
  CHECK(back.inst.addr.host == "fd00::1");
  CHECK(back.inst.addr.port == 8080);
  CHECK(back.inst.state == ferry::proxy::InstanceState::stopping);
  CHECK(back.inst.weight == 7);
  CHECK(back.inst.soft == 3);
  CHECK(back.inst.hard == 9);
  CHECK(back.version == 42);
  CHECK(back.changed_ms == 1765000000123);
  CHECK(back.metadata == r.metadata);
  CHECK(back.inst.node.empty());  // a line never names a node
}

TEST_CASE("removals and the node's region") {
  Record r = sample();
  r.inst.region.clear();
  CHECK(encode(r).find(" stopping - 7 ") != std::string::npos);
  const std::string rm = encode_removal(r);
  CHECK(rm == "r web i-1 42 1765000000123\n");
  Record back;
  bool removal = false;
  std::string error;
  REQUIRE(decode(std::string_view(rm).substr(0, rm.size() - 1), back, removal, error));
  CHECK(removal);
  CHECK(back.inst.id == "i-1");
}

TEST_CASE("malformed lines and bad records are refused") {
  Record out;
  bool removal = false;
  std::string error;
  for (const char* bad : {"", "x web i 1.2.3.4:80 started - 1 0 0 1 1", "i web i 1.2.3.4:80 started - 1 0 0 1",
                          "i web i host:80 started - 1 0 0 1 1", "i web i 1.2.3.4:0 started - 1 0 0 1 1",
                          "i web i 1.2.3.4:80 up - 1 0 0 1 1", "i web i 1.2.3.4:80 started - 999 0 0 1 1",
                          "i web i 1.2.3.4:80 started - 1 -1 0 1 1", "i web i/x 1.2.3.4:80 started - 1 0 0 1 1",
                          "i web i 1.2.3.4:80 started - 1 0 0 1 1 k=%zz", "i web i 1.2.3.4:80 started - 1 0 0 1 1 k=%4",
                          "i web i 1.2.3.4:80 started - 1 0 0 1 1 k=a k=b", "i web i ::1:80 started - 1 0 0 1 1",
                          "r web i 1", "r web i x 1"}) {
    INFO(bad);
    CHECK_FALSE(decode(bad, out, removal, error));
  }
  Record r = sample();
  r.inst.id = std::string(129, 'a');
  CHECK_FALSE(check(r).empty());
  r = sample();
  r.metadata.assign(kMaxMetadata + 1, {"k", "v"});
  CHECK_FALSE(check(r).empty());
}
