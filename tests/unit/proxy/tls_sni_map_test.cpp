// SNI -> certificate lookup: exact names, one-label wildcards, case, invalid names, scale.
#include <catch2/catch.hpp>

#include <string>

#include "tls/sni_map.h"

using ferry::proxy::tls::SniMap;

namespace {

void add_ok(SniMap& m, const std::string& name, int v) {
  std::string reason;
  INFO(name);
  REQUIRE(m.add(name, v, reason));
  CHECK(reason.empty());
}

std::string rejected(std::string_view name) {
  SniMap m;
  std::string reason;
  return m.add(name, 1, reason) ? std::string("accepted") : reason;
}

}  // namespace

TEST_CASE("sni: exact names", "[tls]") {
  SniMap m;
  add_ok(m, "a.example.com", 1);
  add_ok(m, "example.com", 2);
  CHECK(m.find("a.example.com") == 1);
  CHECK(m.find("example.com") == 2);
  CHECK(m.find("b.example.com") == -1);
  CHECK(m.find("") == -1);
  CHECK(m.size() == 2);
}

TEST_CASE("sni: a wildcard matches exactly one label", "[tls]") {
  SniMap m;
  add_ok(m, "*.example.com", 1);
  CHECK(m.find("a.example.com") == 1);
  CHECK(m.find("xn--bcher-kva.example.com") == 1);
  CHECK(m.find("example.com") == -1);
  CHECK(m.find("a.b.example.com") == -1);
  CHECK(m.find(".example.com") == -1);
  CHECK(m.find("..example.com") == -1);
  CHECK(m.find(".a.example.com") == -1);
  CHECK(m.find("notexample.com") == -1);
  CHECK(m.find("*.example.com") == -1);  // a client cannot ask for the wildcard itself
}

TEST_CASE("sni: exact names win over wildcards", "[tls]") {
  SniMap m;
  add_ok(m, "*.example.com", 1);
  add_ok(m, "www.example.com", 2);
  add_ok(m, "*.b.example.com", 3);
  CHECK(m.find("www.example.com") == 2);
  CHECK(m.find("api.example.com") == 1);
  CHECK(m.find("b.example.com") == 1);
  CHECK(m.find("x.b.example.com") == 3);
}

TEST_CASE("sni: names are case-insensitive and may end in a dot", "[tls]") {
  SniMap m;
  add_ok(m, "WWW.Example.COM", 1);
  add_ok(m, "*.API.example.com.", 2);
  CHECK(m.find("www.example.com") == 1);
  CHECK(m.find("Www.EXAMPLE.com") == 1);
  CHECK(m.find("www.example.com.") == 1);
  CHECK(m.find("V1.Api.Example.Com") == 2);
}

TEST_CASE("sni: duplicates keep the first value", "[tls]") {
  SniMap m;
  add_ok(m, "a.example.com", 1);
  std::string reason;
  CHECK_FALSE(m.add("A.example.com", 2, reason));
  CHECK(reason == "duplicate name");
  CHECK(m.find("a.example.com") == 1);
}

TEST_CASE("sni: invalid names are rejected with a reason", "[tls]") {
  CHECK(rejected("") == "empty name");
  CHECK(rejected(".") == "empty name");
  CHECK(rejected("a..example.com") == "empty label");
  CHECK(rejected(".example.com") == "empty label");
  CHECK(rejected(std::string(64, 'a') + ".com") == "label longer than 63 characters");
  CHECK(rejected(std::string(63, 'a') + ".com") == "accepted");
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  long_name += "info";  // 254 characters
  CHECK(rejected(long_name) == "name longer than 253 characters");
  CHECK(rejected("a.*.example.com") == "wildcard '*' must be the whole leftmost label, followed by a domain");
  CHECK(rejected("f*.example.com") == "wildcard '*' must be the whole leftmost label, followed by a domain");
  CHECK(rejected("*") == "wildcard '*' must be the whole leftmost label, followed by a domain");
  CHECK(rejected("**.example.com") == "wildcard '*' must be the whole leftmost label, followed by a domain");
  CHECK(rejected("a_b.example.com") == "invalid character '_' (allowed: a-z 0-9 - . and a leading *)");
  CHECK(rejected("a b.example.com") == "invalid character ' ' (allowed: a-z 0-9 - . and a leading *)");
  CHECK(rejected("*.example.com") == "accepted");
}

TEST_CASE("sni: 100,000 names stay correct", "[tls]") {
  SniMap m;
  std::string reason;
  for (int i = 0; i < 100000; ++i) REQUIRE(m.add("host" + std::to_string(i) + ".example.com", i, reason));
  REQUIRE(m.add("*.wild.example.net", 100000, reason));
  CHECK(m.size() == 100001);
  CHECK(m.find("host50000.example.com") == 50000);
  CHECK(m.find("HOST99999.example.com") == 99999);
  CHECK(m.find("anything.wild.example.net") == 100000);
  CHECK(m.find("host100000.example.com") == -1);
  CHECK(m.find("a.b.wild.example.net") == -1);
}
