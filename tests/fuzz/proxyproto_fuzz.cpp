// libFuzzer target for the PROXY protocol v1/v2 codec on its own (target "proxyproto",
// scripts/fuzz.sh; seeds in tests/fuzz/corpus/proxyproto/, dictionary proxyproto.dict).
// Every input is used twice:
//   1. as received bytes: pp::parse must not crash and its result must be consistent: a
//      complete header is complete at exactly `consumed` bytes (v1: one CRLF-ended line of at
//      most 107 bytes; v2: 16 + its length field), every strict prefix is incomplete, more bytes
//      after it change nothing, an error stays an error whatever follows; what it yields
//      survives build_v1 / build_v2 -> parse with the same addresses, ports and Ferry TLV, and
//      a TCP4 v1 line is rebuilt byte for byte (the parser accepts only canonical text);
//   2. as addresses: family, source and destination (address, port) and a Ferry TLV taken
//      from the bytes go through build_v1 and build_v2 (mixed families: UNKNOWN / LOCAL), and
//      parse must give them back exactly.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "net/proxy_protocol.h"

using namespace ferry::proxy;

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "proxyproto invariant failed: %s\n", what);
  std::abort();
}

bool same_endpoint(const SockAddr& a, const SockAddr& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET)
    return a.in4.sin_port == b.in4.sin_port && std::memcmp(&a.in4.sin_addr, &b.in4.sin_addr, 4) == 0;
  if (a.family() == AF_INET6)
    return a.in6.sin6_port == b.in6.sin6_port && std::memcmp(&a.in6.sin6_addr, &b.in6.sin6_addr, 16) == 0;
  return true;
}

bool inet(const SockAddr& a) { return a.family() == AF_INET || a.family() == AF_INET6; }

// build -> parse gives back exactly `src`, `dst` (and the TLV for v2).
void round_trip(const SockAddr& src, const SockAddr& dst, std::string_view tlv) {
  const bool mixed = !(inet(src) && src.family() == dst.family());
  for (int v = 1; v <= 2; ++v) {
    const std::string hdr = v == 1 ? pp::build_v1(src, dst) : pp::build_v2(src, dst, tlv);
    pp::Endpoints e;
    const std::string received = hdr + "GET / HTTP/1.1\r\n";  // e.ferry views into it
    const auto r = pp::parse(received, e);
    check(r.status == pp::Status::complete && r.consumed == hdr.size(), "built header does not parse");
    if (v == 1) check(hdr.size() <= 107, "v1 line longer than 107 bytes");
    check(e.local == mixed, "LOCAL / UNKNOWN differs");
    if (mixed) continue;
    check(same_endpoint(e.src, src) && same_endpoint(e.dst, dst), "addresses differ after build -> parse");
    if (v == 2) {
      const bool carried = !tlv.empty() && tlv.size() <= 0xffff - 64;
      check(e.ferry == (carried ? tlv : std::string_view()), "Ferry TLV differs after build_v2 -> parse");
    }
  }
}

void parse_invariants(std::string_view in) {
  pp::Endpoints ep;
  const auto r = pp::parse(in, ep);
  if (r.status == pp::Status::error) {
    check(r.reason && *r.reason, "error without a reason");
    pp::Endpoints e2;
    const std::string more = std::string(in) + "\r\n\r\nPROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
    check(pp::parse(more, e2).status == pp::Status::error, "an error became something else with more bytes");
    return;
  }
  if (r.status == pp::Status::incomplete) {
    check(in.size() < 16 + 65535, "incomplete with a whole maximal header buffered");
    if (!in.empty() && in[0] == 'P') check(in.size() < 107, "v1 incomplete beyond 107 bytes");
    return;
  }
  check(r.consumed > 0 && r.consumed <= in.size(), "consumed out of range");
  const std::string_view hdr = in.substr(0, r.consumed);
  if (in[0] == 'P') {
    check(r.consumed <= 107 && hdr.ends_with("\r\n") && hdr.find('\n') == hdr.size() - 1, "v1: not one line of <= 107 bytes");
  } else {
    check(r.consumed >= 16 && r.consumed == 16 + ((static_cast<unsigned char>(in[14]) << 8) | static_cast<unsigned char>(in[15])),
          "v2: consumed is not 16 + length");
  }
  check(ep.local || (inet(ep.src) && ep.src.family() == ep.dst.family()), "PROXY command without two inet addresses");
  if (ep.local) check(ep.src.family() == AF_UNSPEC && ep.dst.family() == AF_UNSPEC, "LOCAL with addresses");
  if (!ep.ferry.empty())
    check(ep.ferry.data() >= hdr.data() && ep.ferry.data() + ep.ferry.size() <= hdr.data() + hdr.size(), "TLV view outside the header");
  // Exactly the header is needed: every strict prefix is incomplete, more bytes change nothing.
  pp::Endpoints e2;
  for (size_t k = 0; k < r.consumed; k += (r.consumed > 200 ? r.consumed / 97 + 1 : 1))
    check(pp::parse(hdr.substr(0, k), e2).status == pp::Status::incomplete, "a strict prefix is not incomplete");
  const std::string longer = std::string(hdr) + "\x16\x03\x01junk";
  const auto again = pp::parse(longer, e2);
  check(again.status == pp::Status::complete && again.consumed == r.consumed && e2.local == ep.local &&
            same_endpoint(e2.src, ep.src) && same_endpoint(e2.dst, ep.dst) && e2.ferry == ep.ferry,
        "the result changed with bytes after the header");
  if (ep.local) return;
  round_trip(ep.src, ep.dst, ep.ferry);
  // Only canonical text parses (inet_pton, ports without leading zeros): a TCP4 line is
  // rebuilt byte for byte. (TCP6 text has several spellings, e.g. "::FFFF:1.2.3.4".)
  if (in[0] == 'P' && ep.src.family() == AF_INET) check(pp::build_v1(ep.src, ep.dst) == hdr, "TCP4 line not canonical");
}

// Reads family, addresses and ports from the input (zero-filled when short).
void structured(std::string_view in) {
  unsigned char b[40] = {};
  std::memcpy(b, in.data(), in.size() < sizeof b ? in.size() : sizeof b);
  const std::string_view tlv = in.size() > sizeof b ? in.substr(sizeof b) : std::string_view();
  SockAddr src{}, dst{};
  auto fill = [&](SockAddr& a, int fam, const unsigned char* addr, const unsigned char* port) {
    if (fam == AF_INET) {
      a.in4.sin_family = AF_INET;
      std::memcpy(&a.in4.sin_addr, addr, 4);
      std::memcpy(&a.in4.sin_port, port, 2);
    } else if (fam == AF_INET6) {
      a.in6.sin6_family = AF_INET6;
      std::memcpy(&a.in6.sin6_addr, addr, 16);
      std::memcpy(&a.in6.sin6_port, port, 2);
    }
  };
  static const int kFam[4] = {AF_INET, AF_INET6, AF_UNSPEC, AF_INET};
  fill(src, kFam[b[0] & 3], b + 2, b + 34);
  fill(dst, kFam[(b[0] >> 2) & 3], b + 18, b + 36);
  round_trip(src, dst, tlv);
  // A TLV at the size limit is carried, one byte more is not (build_v2 leaves it out).
  if (b[1] == 0xE0 && src.family() == AF_INET && dst.family() == AF_INET) {
    const std::string big(0xffff - 64, 'x');
    round_trip(src, dst, big);
    round_trip(src, dst, big + "y");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  parse_invariants(in);
  structured(in);
  return 0;
}
