// net/sockaddr: format_ip writes IPv4 addresses itself; it must agree with inet_ntop.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <cstring>
#include <random>

#include "net/sockaddr.h"

using ferry::proxy::format_ip;
using ferry::proxy::parse_ip;
using ferry::proxy::SockAddr;

namespace {
std::string reference(const SockAddr& a) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a.in4.sin_addr, buf, sizeof buf);
}
SockAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  SockAddr s{};
  s.in4.sin_family = AF_INET;
  const uint8_t bytes[4] = {a, b, c, d};
  std::memcpy(&s.in4.sin_addr, bytes, 4);
  return s;
}
}  // namespace

TEST_CASE("format_ip: IPv4 as inet_ntop writes it, at every digit-count boundary") {
  const uint8_t edges[] = {0, 1, 9, 10, 11, 99, 100, 101, 199, 200, 249, 250, 255};
  for (uint8_t a : edges)
    for (uint8_t b : edges)
      for (uint8_t c : edges)
        for (uint8_t d : edges) {
          const SockAddr s = v4(a, b, c, d);
          REQUIRE(format_ip(&s) == reference(s));
        }
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t r = rng();
    const SockAddr s = v4(r >> 24, r >> 16, r >> 8, r);
    REQUIRE(format_ip(&s) == reference(s));
  }
}

TEST_CASE("format_ip: IPv6, none and an unknown family") {
  SockAddr s;
  REQUIRE(parse_ip("2001:db8::1", AF_INET6, 0, s));
  REQUIRE(format_ip(&s) == "2001:db8::1");
  REQUIRE(format_ip(nullptr) == "-");
  SockAddr none{};
  REQUIRE(format_ip(&none) == "-");
}
