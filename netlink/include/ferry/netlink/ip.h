// Small IP value types of the netlink module (it does not depend on configlang): an address,
// a prefix ("10.0.0.0/8", "fdaa::/48") and an endpoint ("1.2.3.4:51820", "[fdaa::1]:51820").
// Pure values; any thread. Parsing returns nullopt on bad input (no exceptions).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::netlink {

struct IpAddr {
  int family = 0;                   // AF_INET or AF_INET6; 0 = unset
  std::array<uint8_t, 16> bytes{};  // network order; only the first 4 for AF_INET
  size_t size() const;              // 4, 16, or 0 when unset
  static std::optional<IpAddr> parse(std::string_view text);  // IP literal, no brackets
  std::string to_string() const;
  auto operator<=>(const IpAddr&) const = default;
};

struct IpPrefix {
  IpAddr addr;
  uint8_t prefix = 0;
  // "10.0.0.1/32", "fdaa::/48"; a bare address means a host prefix (/32 or /128).
  static std::optional<IpPrefix> parse(std::string_view text);
  std::string to_string() const;
  IpPrefix masked() const;                     // host bits cleared
  bool contains(const IpPrefix& other) const;  // other lies within this prefix (same family)
  auto operator<=>(const IpPrefix&) const = default;
};

struct IpEndpoint {
  IpAddr addr;
  uint16_t port = 0;
  // "1.2.3.4:51820" or "[fdaa::1]:51820"
  static std::optional<IpEndpoint> parse(std::string_view text);
  std::string to_string() const;
  auto operator<=>(const IpEndpoint&) const = default;
};

}  // namespace ferry::netlink
