// PROXY protocol v1/v2: round trips (build then parse), incremental input, malformed headers.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "net/proxy_protocol.h"

using namespace std::literals;
using namespace ferry::proxy::pp;
using ferry::proxy::SockAddr;

namespace {

SockAddr v4(const char* ip, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  REQUIRE(inet_pton(AF_INET, ip, &s.sin_addr) == 1);
  SockAddr ss{};
  std::memcpy(&ss, &s, sizeof(s));
  return ss;
}

SockAddr v6(const char* ip, uint16_t port) {
  sockaddr_in6 s{};
  s.sin6_family = AF_INET6;
  s.sin6_port = htons(port);
  REQUIRE(inet_pton(AF_INET6, ip, &s.sin6_addr) == 1);
  SockAddr ss{};
  std::memcpy(&ss, &s, sizeof(s));
  return ss;
}

bool same(const SockAddr& a, const SockAddr& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) return a.in4.sin_port == b.in4.sin_port && a.in4.sin_addr.s_addr == b.in4.sin_addr.s_addr;
  return a.in6.sin6_port == b.in6.sin6_port && std::memcmp(&a.in6.sin6_addr, &b.in6.sin6_addr, 16) == 0;
}

Status status_of(std::string_view s) {
  Endpoints e;
  return parse(s, e).status;
}

// Every strict prefix of a valid header is incomplete.
void check_prefixes_incomplete(const std::string& h) {
  for (size_t i = 0; i < h.size(); ++i) {
    INFO("prefix " << i);
    CHECK(status_of(h.substr(0, i)) == Status::incomplete);
  }
}

}  // namespace

TEST_CASE("PROXY v1 round trip IPv4", "[pp][v1]") {
  const auto src = v4("192.0.2.1", 56324), dst = v4("198.51.100.7", 443);
  const std::string h = build_v1(src, dst);
  CHECK(h == "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n");
  Endpoints e;
  const auto r = parse(h + "GET / HTTP/1.1\r\n", e);
  REQUIRE(r.status == Status::complete);
  CHECK(r.consumed == h.size());
  CHECK_FALSE(e.local);
  CHECK(same(e.src, src));
  CHECK(same(e.dst, dst));
  check_prefixes_incomplete(h);
}

TEST_CASE("PROXY v1 round trip IPv6", "[pp][v1]") {
  const auto src = v6("2001:db8::1", 0), dst = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
  const std::string h = build_v1(src, dst);
  CHECK(h == "PROXY TCP6 2001:db8::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 0 65535\r\n");
  Endpoints e;
  const auto r = parse(h, e);
  REQUIRE(r.status == Status::complete);
  CHECK(r.consumed == h.size());
  CHECK(same(e.src, src));
  CHECK(same(e.dst, dst));
  check_prefixes_incomplete(h);
}

TEST_CASE("PROXY v1 UNKNOWN and mixed families", "[pp][v1]") {
  const std::string h = build_v1(v4("10.0.0.1", 1), v6("::1", 2));
  CHECK(h == "PROXY UNKNOWN\r\n");
  Endpoints e;
  auto r = parse(h, e);
  REQUIRE(r.status == Status::complete);
  CHECK(e.local);
  CHECK(r.consumed == h.size());
  const std::string h2 = "PROXY UNKNOWN ffff:: ffff:: 1 2\r\n";
  r = parse(h2, e);
  REQUIRE(r.status == Status::complete);
  CHECK(e.local);
  CHECK(r.consumed == h2.size());
  SockAddr unix_addr{};
  unix_addr.sa.sa_family = AF_UNIX;
  CHECK(build_v1(unix_addr, unix_addr) == "PROXY UNKNOWN\r\n");
}

TEST_CASE("PROXY v1 maximum length", "[pp][v1]") {
  // The longest valid line is exactly 107 bytes.
  const std::string longest =
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "65535 65535\r\n";
  REQUIRE(longest.size() == 104);
  CHECK(status_of(longest) == Status::complete);
  const std::string unk = "PROXY UNKNOWN " + std::string(107 - 16, 'x') + "\r\n";
  REQUIRE(unk.size() == 107);
  CHECK(status_of(unk) == Status::complete);
  const std::string unk2 = "PROXY UNKNOWN " + std::string(107 - 15, 'x') + "\r\n";
  CHECK(status_of(unk2) == Status::error);
  CHECK(status_of(unk2.substr(0, 106)) == Status::error);  // detected before the CRLF
  CHECK(status_of(std::string("PROXY ") + std::string(200, 'x')) == Status::error);
}

TEST_CASE("PROXY v1 malformed", "[pp][v1][malformed]") {
  const char* bad[] = {
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",             // bare LF
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",            // CR without LF
      "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",           // unknown protocol
      "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",           // case sensitive
      "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",             // missing port
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",         // extra field
      "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",          // double space
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",          // trailing space
      "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",         // octet out of range
      "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",             // short address
      "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",          // leading zero
      "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",               // v6 address for TCP4
      "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",               // v4 address for TCP6
      "PROXY TCP6 ::g ::1 1 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",       // port out of range
      "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",          // port with leading zero
      "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n",            // empty port
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n",
      "PROXY \r\n",
      "PROXY UNKNOWNX\r\n",
      "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",          // HTAB
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xff\r\n",      // non-ASCII
      "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
      "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
      "GET / HTTP/1.1\r\n",                           // not a PROXY header
      "PRI * HTTP/2.0\r\n",
  };
  for (const char* b : bad) {
    INFO(b);
    CHECK(status_of(b) == Status::error);
  }
  // Wrong signatures fail as soon as it is known.
  CHECK(status_of("G") == Status::error);
  CHECK(status_of("PR") == Status::incomplete);
  CHECK(status_of("PX") == Status::error);
  CHECK(status_of("\r\n\r\n\0\r\nQUIX"sv) == Status::error);
  CHECK(status_of("") == Status::incomplete);
}

TEST_CASE("PROXY v2 round trip IPv4", "[pp][v2]") {
  const auto src = v4("203.0.113.9", 40000), dst = v4("10.1.2.3", 8443);
  const std::string h = build_v2(src, dst);
  REQUIRE(h.size() == 16 + 12);
  CHECK(static_cast<unsigned char>(h[12]) == 0x21);
  CHECK(static_cast<unsigned char>(h[13]) == 0x11);
  Endpoints e;
  const auto r = parse(h + "payload", e);
  REQUIRE(r.status == Status::complete);
  CHECK(r.consumed == h.size());
  CHECK_FALSE(e.local);
  CHECK(same(e.src, src));
  CHECK(same(e.dst, dst));
  check_prefixes_incomplete(h);
}

TEST_CASE("PROXY v2 round trip IPv6", "[pp][v2]") {
  const auto src = v6("2001:db8::42", 1), dst = v6("fe80::1", 65535);
  const std::string h = build_v2(src, dst);
  REQUIRE(h.size() == 16 + 36);
  Endpoints e;
  const auto r = parse(h, e);
  REQUIRE(r.status == Status::complete);
  CHECK(r.consumed == h.size());
  CHECK(same(e.src, src));
  CHECK(same(e.dst, dst));
  check_prefixes_incomplete(h);
}

TEST_CASE("PROXY v2 LOCAL, mixed families, UNIX, UNSPEC", "[pp][v2]") {
  const std::string h = build_v2(v6("::1", 1), v4("127.0.0.1", 2));
  REQUIRE(h.size() == 16);
  CHECK(static_cast<unsigned char>(h[12]) == 0x20);
  Endpoints e;
  auto r = parse(h, e);
  REQUIRE(r.status == Status::complete);
  CHECK(e.local);
  CHECK(r.consumed == 16);

  const std::string sig = h.substr(0, 12);
  // PROXY command with AF_UNIX stream, 216-byte address block: treated as local.
  std::string unix_h = sig + std::string("\x21\x31\x00\xd8"sv) + std::string(216, 'u');
  r = parse(unix_h, e);
  REQUIRE(r.status == Status::complete);
  CHECK(e.local);
  CHECK(r.consumed == unix_h.size());
  // PROXY command with UNSPEC family.
  r = parse(sig + std::string("\x21\x00\x00\x00"sv), e);
  REQUIRE(r.status == Status::complete);
  CHECK(e.local);
  // LOCAL with an (ignored) address block.
  r = parse(sig + std::string("\x20\x11\x00\x0c"sv) + std::string(12, '\x01'), e);
  REQUIRE(r.status == Status::complete);
  CHECK(e.local);
  CHECK(r.consumed == 28);
}

TEST_CASE("PROXY v2 TLVs are skipped", "[pp][v2]") {
  const auto src = v4("1.2.3.4", 5), dst = v4("6.7.8.9", 10);
  std::string h = build_v2(src, dst);
  const std::string tlvs = std::string("\x04\x00\x05hello"sv) + std::string("\x03\x00\x04\x01\x02\x03\x04"sv);
  h += tlvs;
  h[15] = static_cast<char>(12 + tlvs.size());
  Endpoints e;
  const auto r = parse(h + "after", e);
  REQUIRE(r.status == Status::complete);
  CHECK(r.consumed == h.size());
  CHECK(same(e.src, src));
  check_prefixes_incomplete(h);

  // A 65535-byte block is allowed.
  std::string big = build_v2(src, dst);
  big[14] = '\xff';
  big[15] = '\xff';
  big += std::string(65535 - 12, '\0');
  REQUIRE(big.size() == 16 + 65535);
  CHECK(parse(big, e).status == Status::complete);
  CHECK(parse(std::string_view(big).substr(0, big.size() - 1), e).status == Status::incomplete);
}

TEST_CASE("PROXY v2 malformed", "[pp][v2][malformed]") {
  const std::string good = build_v2(v4("1.2.3.4", 5), v4("6.7.8.9", 10));
  auto mutate = [&](size_t i, unsigned char v) {
    std::string s = good;
    s[i] = static_cast<char>(v);
    return s;
  };
  CHECK(status_of(mutate(12, 0x11)) == Status::error);  // version 1
  CHECK(status_of(mutate(12, 0x31)) == Status::error);  // version 3
  CHECK(status_of(mutate(12, 0x22)) == Status::error);  // command 2
  CHECK(status_of(mutate(13, 0x41)) == Status::error);  // family 4
  CHECK(status_of(mutate(13, 0x13)) == Status::error);  // transport 3
  CHECK(status_of(mutate(13, 0x12)) == Status::error);  // UDP on a stream listener
  CHECK(status_of(mutate(15, 11)) == Status::error);    // IPv4 block too short
  CHECK(status_of(mutate(13, 0x21)) == Status::error);  // IPv6 with a 12-byte block
  CHECK(status_of(mutate(7, 'X')) == Status::error);    // signature
  // Header errors are reported on partial input too.
  CHECK(status_of(mutate(12, 0x11).substr(0, 13)) == Status::error);
  CHECK(status_of(mutate(13, 0x41).substr(0, 14)) == Status::error);
}

TEST_CASE("PROXY v2 with Ferry's TLV (mesh backhaul)", "[pp][v2]") {
  const auto src = v4("203.0.113.9", 40000), dst = v4("10.1.2.3", 5432);
  const std::string tlv = ferry_tlv("db", "pg-1");
  CHECK(tlv == "ferry/1 app=db instance=pg-1");
  const std::string h = build_v2(src, dst, tlv);
  REQUIRE(h.size() == 16 + 12 + 3 + tlv.size());
  Endpoints e;
  const std::string in = h + "payload";  // e.ferry is a view into it
  const auto r = parse(in, e);
  REQUIRE(r.status == Status::complete);
  CHECK(r.consumed == h.size());
  CHECK(same(e.src, src));
  CHECK(e.ferry == tlv);
  std::string app, inst;
  REQUIRE(parse_ferry_tlv(e.ferry, app, inst));
  CHECK(app == "db");
  CHECK(inst == "pg-1");
  check_prefixes_incomplete(h);
  // IPv6, and a foreign TLV before ours is skipped.
  const auto s6 = v6("2001:db8::42", 1), d6 = v6("fe80::1", 2);
  std::string h6 = build_v2(s6, d6, tlv);
  h6.insert(16 + 36, std::string("\x04\x00\x02zz", 5));  // PP2_TYPE_NOOP
  h6[15] = static_cast<char>(static_cast<unsigned char>(h6[15]) + 5);
  Endpoints e6;
  REQUIRE(parse(h6, e6).status == Status::complete);
  CHECK(e6.ferry == tlv);
  // A TLV that overruns the header is an error; bad TLV values are refused.
  std::string bad = h;
  bad[16 + 12 + 2] = static_cast<char>(tlv.size() + 1);
  Endpoints eb;
  CHECK(parse(bad, eb).status == Status::error);
  CHECK_FALSE(parse_ferry_tlv("ferry/2 app=a instance=b", app, inst));
  CHECK_FALSE(parse_ferry_tlv("ferry/1 app=a", app, inst));
  CHECK_FALSE(parse_ferry_tlv("ferry/1 app= instance=b", app, inst));
}
