// Parsed CIDR matcher (`trust-forwarded`, `proxy-senders`, `acl ... src`). Built on the control
// thread, immutable after; any thread reads it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <vector>

#include "ferry/configlang/config.h"
#include "net/sockaddr.h"

namespace ferry::proxy {

class CidrSet {
 public:
  // Entries that do not parse are skipped (configlang validated them already).
  explicit CidrSet(const std::vector<config::Cidr>& cidrs = {});
  bool contains(const SockAddr& addr) const;
  bool empty() const { return nets_.empty(); }

 private:
  struct Net {
    int family;                  // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes;
    uint8_t prefix;
  };
  std::vector<Net> nets_;
};

}  // namespace ferry::proxy
