#include <catch2/catch.hpp>

#include <string>

#include "plan/host_router.h"

using ferry::proxy::HostRouter;

TEST_CASE("exact host lookup", "[router]") {
  HostRouter r;
  r.add("a.example.com", 1);
  r.add("example.com", 2);
  CHECK(r.find("a.example.com") == 1);
  CHECK(r.find("example.com") == 2);
  CHECK(r.find("b.example.com") == -1);
  CHECK(r.find("") == -1);
  CHECK(r.size() == 2);
}

TEST_CASE("wildcards match at any depth, most specific first", "[router]") {
  HostRouter r;
  r.add("*.example.com", 1);
  r.add("*.b.example.com", 2);
  r.add("x.b.example.com", 3);
  CHECK(r.find("a.example.com") == 1);
  CHECK(r.find("z.y.a.example.com") == 1);
  CHECK(r.find("a.b.example.com") == 2);
  CHECK(r.find("c.a.b.example.com") == 2);
  CHECK(r.find("x.b.example.com") == 3);  // exact beats wildcard
  CHECK(r.find("b.example.com") == 1);
  CHECK(r.find("example.com") == -1);  // "*.example.com" needs a label before it
  CHECK(r.find(".example.com") == -1);
  CHECK(r.find("notexample.com") == -1);
  r.add("*.com", 4);
  CHECK(r.find("other.com") == 4);
  CHECK(r.find("a.example.com") == 1);
}

TEST_CASE("later adds of the same pattern are ignored", "[router]") {
  HostRouter r;
  r.add("a.example.com", 1);
  r.add("a.example.com", 9);
  r.add("*.example.com", 2);
  r.add("*.example.com", 8);
  CHECK(r.find("a.example.com") == 1);
  CHECK(r.find("q.example.com") == 2);
  CHECK(r.size() == 2);
}

TEST_CASE("ports, case and a trailing dot are normalised", "[router]") {
  HostRouter r;
  r.add("a.example.com", 1);
  r.add("*.wild.org", 2);
  CHECK(r.find("a.example.com:8080") == 1);
  CHECK(r.find("A.Example.COM") == 1);
  CHECK(r.find("a.example.com.") == 1);
  CHECK(r.find("A.EXAMPLE.COM.:443") == 1);
  CHECK(r.find("a.example.com..") == -1);  // only one dot is stripped
  CHECK(r.find("X.Y.Wild.Org.:80") == 2);
  CHECK(r.find(":80") == -1);
}

TEST_CASE("IPv4 and IPv6 literals", "[router]") {
  HostRouter r;
  r.add("10.0.0.1", 1);
  r.add("::1", 2);
  r.add("[2001:db8::a]", 3);  // bracketed patterns are accepted too
  r.add("*.0.0.1", 4);
  CHECK(r.find("10.0.0.1") == 1);
  CHECK(r.find("10.0.0.1:80") == 1);
  CHECK(r.find("[::1]:8443") == 2);
  CHECK(r.find("[::1]") == 2);
  CHECK(r.find("::1") == 2);
  CHECK(r.find("[2001:DB8::A]:80") == 3);
  CHECK(r.find("2001:db8::a") == 3);
  CHECK(r.find("[::2]:80") == -1);
  CHECK(r.find("[::1") == -1);
}

TEST_CASE("very long hosts are handled", "[router]") {
  HostRouter r;
  std::string longname(300, 'a');
  longname += ".example.com";
  r.add("*.example.com", 1);
  r.add(longname, 2);
  CHECK(r.find(longname) == 2);
  std::string other(400, 'B');
  CHECK(r.find(other + ".Example.com:1") == 1);
}

TEST_CASE("100,000 entries", "[router]") {
  HostRouter r;
  for (int i = 0; i < 50000; ++i) r.add("h" + std::to_string(i) + ".example.com", i);
  for (int i = 0; i < 50000; ++i) r.add("*.w" + std::to_string(i) + ".example.net", 100000 + i);
  REQUIRE(r.size() == 100000);
  for (int i = 0; i < 50000; i += 7) {
    REQUIRE(r.find("H" + std::to_string(i) + ".example.com:443") == i);
    REQUIRE(r.find("x.y.w" + std::to_string(i) + ".example.net") == 100000 + i);
  }
  CHECK(r.find("h50000.example.com") == -1);
  CHECK(r.find("w1.example.net") == -1);
}
