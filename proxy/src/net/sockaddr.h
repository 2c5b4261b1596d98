// SockAddr: an IPv4 or IPv6 socket address in 28 bytes. sockaddr_storage takes 128, and every
// connection keeps two (client and local), so idle connections pay for the difference.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy {

// Trivial (memcpy-able); always declare it value-initialised, `SockAddr a{};`, which zeroes
// all of it (family AF_UNSPEC).
union SockAddr {
  sockaddr sa;
  sockaddr_in in4;
  sockaddr_in6 in6;
  int family() const { return sa.sa_family; }
};

// Strict textual address of `family` (AF_INET: dotted quad without leading zeros; AF_INET6:
// RFC 4291 text, no brackets) into `out` with `port`. False (out zeroed) when it is not one.
bool parse_ip(std::string_view s, int family, uint16_t port, SockAddr& out);

// The port in host order (0 for AF_UNSPEC).
uint16_t port_of(const SockAddr& a);

// Formats "1.2.3.4" / "::1" from a sockaddr; "-" if unknown or null.
std::string format_ip(const SockAddr* addr);

}  // namespace ferry::proxy
