// Value parsers: durations, sizes, integers, addresses, CIDRs, host patterns.
#include <catch2/catch.hpp>

#include "values.h"

using namespace ferry::config;
using namespace ferry::config::detail;
using namespace std::chrono_literals;

TEST_CASE("durations need a unit, except bare 0", "[configlang][values]") {
  std::string why;
  CHECK(parse_duration("250ms", why) == Duration(250));
  CHECK(parse_duration("5s", why) == Duration(5000));
  CHECK(parse_duration("2m", why) == Duration(120000));
  CHECK(parse_duration("1h", why) == Duration(3600000));
  CHECK(parse_duration("0", why) == Duration(0));
  CHECK(parse_duration("0s", why) == Duration(0));
  CHECK_FALSE(parse_duration("5", why));
  CHECK(why.find("missing unit, e.g. 5s") != std::string::npos);
  CHECK(parse_duration("1d", why) == Duration(86400000));
  CHECK(parse_duration("30d", why) == Duration(30LL * 86400000));
  CHECK(parse_duration("365d", why) == Duration(365LL * 86400000));
  CHECK_FALSE(parse_duration("366d", why));
  CHECK(why.find("at most 365 days") != std::string::npos);
  CHECK_FALSE(parse_duration("999999999999d", why));  // 12 digits times a day: no overflow
  CHECK(why.find("too large") != std::string::npos);
  CHECK_FALSE(parse_duration("1w", why));
  CHECK(why.find("unknown unit 'w' (use ms, s, m, h or d)") != std::string::npos);
  CHECK_FALSE(parse_duration("s", why));
  CHECK_FALSE(parse_duration("", why));
  CHECK_FALSE(parse_duration("-5s", why));
  CHECK_FALSE(parse_duration("99999999999999999999999s", why));
  CHECK(why.find("too large") != std::string::npos);
  CHECK_FALSE(parse_duration("9000h", why));
}

TEST_CASE("sizes use k/m/g = 1024 multiples", "[configlang][values]") {
  std::string why;
  CHECK(parse_size("512", why) == 512u);
  CHECK(parse_size("16k", why) == 16384u);
  CHECK(parse_size("1m", why) == 1048576u);
  CHECK(parse_size("1g", why) == 1073741824u);
  CHECK(parse_size("2K", why) == 2048u);
  CHECK_FALSE(parse_size("1t", why));
  CHECK(why.find("unknown suffix") != std::string::npos);
  CHECK_FALSE(parse_size("k", why));
  CHECK_FALSE(parse_size("99999999999999g", why));
}

TEST_CASE("integers with ranges", "[configlang][values]") {
  std::string why;
  CHECK(parse_int("0", 0, 10, why) == 0);
  CHECK(parse_int("10", 0, 10, why) == 10);
  CHECK_FALSE(parse_int("11", 0, 10, why));
  CHECK(why.find("out of range (0..10)") != std::string::npos);
  CHECK_FALSE(parse_int("-1", 0, 10, why));
  CHECK_FALSE(parse_int("1x", 0, 10, why));
  CHECK(why.find("expected an integer") != std::string::npos);
  CHECK_FALSE(parse_int("99999999999999999999999", 0, 10, why));
}

TEST_CASE("addresses are IP literals with a port", "[configlang][values]") {
  std::string why;
  auto a = parse_address("1.2.3.4:80", why);
  REQUIRE(a);
  CHECK(a->host == "1.2.3.4");
  CHECK(a->port == 80);
  CHECK(a->to_string() == "1.2.3.4:80");
  auto b = parse_address("[::1]:8080", why);
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->is_v6());
  CHECK(b->to_string() == "[::1]:8080");
  auto c = parse_address(":80", why);
  REQUIRE(c);
  CHECK(c->host.empty());
  CHECK(c->to_string() == "0.0.0.0:80");
  CHECK(parse_address("0.0.0.0:80", why)->host.empty());
  CHECK(parse_address("127.0.0.1:0", why)->port == 0);

  CHECK_FALSE(parse_address("localhost:80", why));
  CHECK(why.find("must be an IP address (DNS names are not resolved)") != std::string::npos);
  CHECK_FALSE(parse_address("1.2.3.4", why));
  CHECK(why.find("missing port") != std::string::npos);
  CHECK_FALSE(parse_address("1.2.3.4:65536", why));
  CHECK(why.find("0..65535") != std::string::npos);
  CHECK_FALSE(parse_address("::1:80", why));
  CHECK(why.find("needs brackets") != std::string::npos);
  CHECK_FALSE(parse_address("[::1]", why));
  CHECK_FALSE(parse_address("[::1:80", why));
  CHECK_FALSE(parse_address("[nope]:80", why));
  CHECK_FALSE(parse_address("1.2.3.256:80", why));
  CHECK(why.find("not a valid IPv4") != std::string::npos);
  CHECK_FALSE(parse_address("1.2.3.4:", why));
  CHECK_FALSE(parse_address("", why));
}

TEST_CASE("CIDRs", "[configlang][values]") {
  std::string why;
  auto c = parse_cidr("10.0.0.0/8", why);
  REQUIRE(c);
  CHECK(c->network == "10.0.0.0");
  CHECK(c->prefix == 8);
  CHECK(parse_cidr("::1/128", why)->prefix == 128);
  CHECK(parse_cidr("192.168.1.1", why)->prefix == 32);
  CHECK(parse_cidr("fd00::", why)->prefix == 128);
  CHECK_FALSE(parse_cidr("10.0.0.0/33", why));
  CHECK_FALSE(parse_cidr("10.0.0.0/", why));
  CHECK_FALSE(parse_cidr("example.com/8", why));
}

TEST_CASE("host patterns", "[configlang][values]") {
  std::string why;
  CHECK(parse_host_pattern("Hello.Example.COM", why) == "hello.example.com");
  CHECK(parse_host_pattern("*.example.com", why) == "*.example.com");
  CHECK(parse_host_pattern("localhost", why) == "localhost");
  CHECK_FALSE(parse_host_pattern("example.com:80", why));
  CHECK(why.find("hosts take no port") != std::string::npos);
  CHECK_FALSE(parse_host_pattern("a.*.com", why));
  CHECK(why.find("leading '*.'") != std::string::npos);
  CHECK_FALSE(parse_host_pattern("*", why));
  CHECK_FALSE(parse_host_pattern("*.*.com", why));
  CHECK_FALSE(parse_host_pattern("a..b", why));
  CHECK(why.find("empty label") != std::string::npos);
  CHECK_FALSE(parse_host_pattern(".a.b", why));
  CHECK_FALSE(parse_host_pattern("a.b.", why));
  CHECK_FALSE(parse_host_pattern("-a.b", why));
  CHECK_FALSE(parse_host_pattern("a/b", why));
  CHECK_FALSE(parse_host_pattern(std::string(64, 'a') + ".com", why));
}

TEST_CASE("duration_to_string", "[configlang][values]") {
  CHECK(duration_to_string(Duration(0)) == "0");
  CHECK(duration_to_string(Duration(250)) == "250ms");
  CHECK(duration_to_string(Duration(5000)) == "5s");
  CHECK(duration_to_string(Duration(120000)) == "2m");
  CHECK(duration_to_string(Duration(60000)) == "60s");
  CHECK(duration_to_string(Duration(3600000)) == "1h");
}
