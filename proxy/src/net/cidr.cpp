#include "net/cidr.h"

#include <arpa/inet.h>

#include <cstring>

namespace ferry::proxy {

CidrSet::CidrSet(const std::vector<config::Cidr>& cidrs) {
  for (const auto& c : cidrs) {
    Net n{};
    n.prefix = c.prefix;
    if (inet_pton(AF_INET, c.network.c_str(), n.bytes.data()) == 1) {
      n.family = AF_INET;
      if (n.prefix > 32) n.prefix = 32;
    } else if (inet_pton(AF_INET6, c.network.c_str(), n.bytes.data()) == 1) {
      n.family = AF_INET6;
      if (n.prefix > 128) n.prefix = 128;
    } else {
      continue;
    }
    nets_.push_back(n);
  }
}

static bool prefix_match(const uint8_t* a, const uint8_t* b, unsigned prefix) {
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, b, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

bool CidrSet::contains(const SockAddr& addr) const {
  const uint8_t* v4 = nullptr;
  const uint8_t* v6 = nullptr;
  if (addr.family() == AF_INET) {
    v4 = reinterpret_cast<const uint8_t*>(&addr.in4.sin_addr);
  } else if (addr.family() == AF_INET6) {
    v6 = addr.in6.sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6, mapped, 12) == 0) v4 = v6 + 12;  // ::ffff:a.b.c.d
  }
  for (const auto& n : nets_) {
    if (n.family == AF_INET && v4 && prefix_match(v4, n.bytes.data(), n.prefix)) return true;
    if (n.family == AF_INET6 && v6 && prefix_match(v6, n.bytes.data(), n.prefix)) return true;
  }
  return false;
}

}  // namespace ferry::proxy
