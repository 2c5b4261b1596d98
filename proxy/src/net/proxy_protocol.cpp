// PROXY protocol v1 / v2 codec. See proxy_protocol.h for the contract.
#include "net/proxy_protocol.h"

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>

namespace ferry::proxy::pp {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV1MaxLine = 107;  // including CRLF
constexpr char kV2SigBytes[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
constexpr std::string_view kV2Sig(kV2SigBytes, sizeof(kV2SigBytes));

constexpr Result error(const char* reason) { return Result{Status::error, 0, reason}; }
constexpr Result kIncomplete{Status::incomplete, 0, ""};

// Decimal port without leading zeros, 0..65535.
bool parse_port(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// Splits off the next field up to a single SP. False if there is no SP.
bool next_field(std::string_view& rest, std::string_view& field) {
  const size_t sp = rest.find(' ');
  if (sp == std::string_view::npos) return false;
  field = rest.substr(0, sp);
  rest = rest.substr(sp + 1);
  return true;
}

Result parse_v1(std::string_view buf, Endpoints& out) {
  // The CR must be at index <= 105 so that the line incl. CRLF fits in 107 bytes.
  const size_t window = buf.size() < kV1MaxLine - 1 ? buf.size() : kV1MaxLine - 1;
  size_t cr = std::string_view::npos;
  for (size_t i = 0; i < window; ++i) {
    const char c = buf[i];
    if (c == '\r') {
      cr = i;
      break;
    }
    // Only printable ASCII may appear in the line.
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
      return error("invalid character in PROXY v1 header");
  }
  if (cr == std::string_view::npos) {
    if (buf.size() >= kV1MaxLine - 1) return error("PROXY v1 header too long");
    return kIncomplete;
  }
  if (cr + 1 >= buf.size()) return kIncomplete;
  if (buf[cr + 1] != '\n') return error("PROXY v1 header: CR not followed by LF");
  const size_t consumed = cr + 2;
  std::string_view rest = buf.substr(kV1Prefix.size(), cr - kV1Prefix.size());

  if (rest == "UNKNOWN" || rest.substr(0, 8) == "UNKNOWN ") {
    out = Endpoints{};
    out.local = true;
    return Result{Status::complete, consumed, ""};
  }
  std::string_view proto, src, dst, sport;
  if (!next_field(rest, proto)) return error("malformed PROXY v1 header");
  int family;
  if (proto == "TCP4")
    family = AF_INET;
  else if (proto == "TCP6")
    family = AF_INET6;
  else
    return error("unknown PROXY v1 protocol");
  if (!next_field(rest, src) || !next_field(rest, dst) || !next_field(rest, sport))
    return error("malformed PROXY v1 header");
  const std::string_view dport = rest;  // the remainder must be exactly the port
  uint16_t sp = 0, dp = 0;
  if (!parse_port(sport, sp) || !parse_port(dport, dp)) return error("invalid PROXY v1 port");
  Endpoints e;
  if (!parse_ip(src, family, sp, e.src) || !parse_ip(dst, family, dp, e.dst))
    return error("invalid PROXY v1 address");
  out = e;
  return Result{Status::complete, consumed, ""};
}

Result parse_v2(std::string_view buf, Endpoints& out) {
  if (buf.size() < 16) {
    if (buf.size() > 12) {
      const auto ver_cmd = static_cast<unsigned char>(buf[12]);
      if ((ver_cmd >> 4) != 2) return error("unsupported PROXY v2 version");
      if ((ver_cmd & 0xf) > 1) return error("invalid PROXY v2 command");
    }
    if (buf.size() > 13) {
      const auto fam = static_cast<unsigned char>(buf[13]);
      if ((fam >> 4) > 3 || (fam & 0xf) > 2) return error("invalid PROXY v2 family/protocol");
    }
    return kIncomplete;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
  const unsigned ver = p[12] >> 4, cmd = p[12] & 0xf;
  const unsigned fam = p[13] >> 4, proto = p[13] & 0xf;
  if (ver != 2) return error("unsupported PROXY v2 version");
  if (cmd > 1) return error("invalid PROXY v2 command");
  if (fam > 3 || proto > 2) return error("invalid PROXY v2 family/protocol");
  const size_t len = (static_cast<size_t>(p[14]) << 8) | p[15];
  const size_t total = 16 + len;
  if (buf.size() < total) return kIncomplete;

  Endpoints e;
  if (cmd == 0) {  // LOCAL: addresses (if any) are ignored
    e.local = true;
  } else if (p[13] == 0x11) {  // TCP over IPv4
    if (len < 12) return error("PROXY v2 address block too short");
    sockaddr_in s{}, d{};
    s.sin_family = d.sin_family = AF_INET;
    std::memcpy(&s.sin_addr, p + 16, 4);
    std::memcpy(&d.sin_addr, p + 20, 4);
    std::memcpy(&s.sin_port, p + 24, 2);  // both network order
    std::memcpy(&d.sin_port, p + 26, 2);
    std::memcpy(&e.src, &s, sizeof(s));
    std::memcpy(&e.dst, &d, sizeof(d));
  } else if (p[13] == 0x21) {  // TCP over IPv6
    if (len < 36) return error("PROXY v2 address block too short");
    sockaddr_in6 s{}, d{};
    s.sin6_family = d.sin6_family = AF_INET6;
    std::memcpy(&s.sin6_addr, p + 16, 16);
    std::memcpy(&d.sin6_addr, p + 32, 16);
    std::memcpy(&s.sin6_port, p + 48, 2);
    std::memcpy(&d.sin6_port, p + 50, 2);
    std::memcpy(&e.src, &s, sizeof(s));
    std::memcpy(&e.dst, &d, sizeof(d));
  } else if ((proto == 2) && (fam == 1 || fam == 2)) {
    return error("PROXY v2 datagram transport on a stream listener");
  } else {
    e.local = true;  // UNSPEC / AF_UNIX: keep the real peer addresses
  }
  // TLVs after the addresses: Ferry's is kept, the others skipped.
  const size_t addr_len = p[13] == 0x11 ? 12 : p[13] == 0x21 ? 36 : len;
  for (size_t off = 16 + addr_len; cmd == 1 && off + 3 <= total;) {
    const size_t tlen = (static_cast<size_t>(p[off + 1]) << 8) | p[off + 2];
    if (off + 3 + tlen > total) return error("PROXY v2 TLV overruns the header");
    if (p[off] == kFerryTlv) e.ferry = buf.substr(off + 3, tlen);
    off += 3 + tlen;
  }
  out = e;
  return Result{Status::complete, total, ""};
}

}  // namespace

Result parse(std::string_view buf, Endpoints& out) {
  if (buf.empty()) return kIncomplete;
  if (buf[0] == 'P') {
    const size_t k = buf.size() < kV1Prefix.size() ? buf.size() : kV1Prefix.size();
    if (buf.substr(0, k) != kV1Prefix.substr(0, k)) return error("not a PROXY protocol header");
    if (k < kV1Prefix.size()) return kIncomplete;
    return parse_v1(buf, out);
  }
  const size_t k = buf.size() < kV2Sig.size() ? buf.size() : kV2Sig.size();
  if (buf.substr(0, k) != kV2Sig.substr(0, k)) return error("not a PROXY protocol header");
  if (k < kV2Sig.size()) return kIncomplete;
  return parse_v2(buf, out);
}

namespace {

bool same_family_inet(const SockAddr& a, const SockAddr& b) {
  return a.family() == b.family() && (a.family() == AF_INET || a.family() == AF_INET6);
}

}  // namespace

std::string build_v1(const SockAddr& src, const SockAddr& dst) {
  if (!same_family_inet(src, dst)) return "PROXY UNKNOWN\r\n";
  char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
  unsigned sp, dp;
  const char* proto;
  if (src.family() == AF_INET) {
    const sockaddr_in &s = src.in4, &d = dst.in4;
    inet_ntop(AF_INET, &s.sin_addr, sa, sizeof(sa));
    inet_ntop(AF_INET, &d.sin_addr, da, sizeof(da));
    sp = ntohs(s.sin_port);
    dp = ntohs(d.sin_port);
    proto = "TCP4";
  } else {
    const sockaddr_in6 &s = src.in6, &d = dst.in6;
    inet_ntop(AF_INET6, &s.sin6_addr, sa, sizeof(sa));
    inet_ntop(AF_INET6, &d.sin6_addr, da, sizeof(da));
    sp = ntohs(s.sin6_port);
    dp = ntohs(d.sin6_port);
    proto = "TCP6";
  }
  std::string out;
  out.reserve(kV1MaxLine);
  out += "PROXY ";
  out += proto;
  out += ' ';
  out += sa;
  out += ' ';
  out += da;
  out += ' ';
  out += std::to_string(sp);
  out += ' ';
  out += std::to_string(dp);
  out += "\r\n";
  return out;
}

std::string ferry_tlv(std::string_view app, std::string_view instance) {
  std::string v = "ferry/1 app=";
  v.append(app).append(" instance=").append(instance);
  return v;
}

bool parse_ferry_tlv(std::string_view v, std::string& app, std::string& instance) {
  constexpr std::string_view kPrefix = "ferry/1 app=";
  if (v.substr(0, kPrefix.size()) != kPrefix) return false;
  v.remove_prefix(kPrefix.size());
  const size_t sp = v.find(" instance=");
  if (sp == std::string_view::npos || sp == 0) return false;
  app.assign(v.substr(0, sp));
  v.remove_prefix(sp + 10);
  instance.assign(v.substr(0, v.find(' ')));
  return !instance.empty();
}

std::string build_v2(const SockAddr& src, const SockAddr& dst, std::string_view tlv) {
  std::string out(kV2Sig);
  if (!same_family_inet(src, dst)) {
    out += static_cast<char>(0x20);  // v2, LOCAL
    out += static_cast<char>(0x00);  // UNSPEC
    out += '\0';
    out += '\0';
    return out;
  }
  out += static_cast<char>(0x21);  // v2, PROXY
  if (src.family() == AF_INET) {
    const sockaddr_in &s = src.in4, &d = dst.in4;
    out += static_cast<char>(0x11);
    out += '\0';
    out += '\0';  // length, set below
    out.append(reinterpret_cast<const char*>(&s.sin_addr), 4);
    out.append(reinterpret_cast<const char*>(&d.sin_addr), 4);
    out.append(reinterpret_cast<const char*>(&s.sin_port), 2);
    out.append(reinterpret_cast<const char*>(&d.sin_port), 2);
  } else {
    const sockaddr_in6 &s = src.in6, &d = dst.in6;
    out += static_cast<char>(0x21);
    out += '\0';
    out += '\0';  // length, set below
    out.append(reinterpret_cast<const char*>(&s.sin6_addr), 16);
    out.append(reinterpret_cast<const char*>(&d.sin6_addr), 16);
    out.append(reinterpret_cast<const char*>(&s.sin6_port), 2);
    out.append(reinterpret_cast<const char*>(&d.sin6_port), 2);
  }
  if (!tlv.empty() && tlv.size() <= 0xffff - 64) {
    out += static_cast<char>(kFerryTlv);
    out += static_cast<char>(tlv.size() >> 8);
    out += static_cast<char>(tlv.size() & 0xff);
    out.append(tlv);
  }
  const size_t len = out.size() - 16;
  out[14] = static_cast<char>(len >> 8);
  out[15] = static_cast<char>(len & 0xff);
  return out;
}

}  // namespace ferry::proxy::pp
