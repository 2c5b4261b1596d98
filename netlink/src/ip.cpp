#include "ferry/netlink/ip.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>

namespace ferry::netlink {

size_t IpAddr::size() const { return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0; }

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  std::string s(text);
  IpAddr a;
  if (s.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    a.family = AF_INET6;
  } else {
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    a.family = AF_INET;
  }
  return a;
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 0 || !inet_ntop(family, bytes.data(), buf, sizeof buf)) return {};
  return buf;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  IpPrefix p{*addr, static_cast<uint8_t>(addr->size() * 8)};
  if (slash != std::string_view::npos) {
    std::string_view n = text.substr(slash + 1);
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
    if (n.empty() || ec != std::errc() || ptr != n.data() + n.size() || v > addr->size() * 8)
      return std::nullopt;
    p.prefix = static_cast<uint8_t>(v);
  }
  return p;
}

std::string IpPrefix::to_string() const { return addr.to_string() + "/" + std::to_string(prefix); }

IpPrefix IpPrefix::masked() const {
  IpPrefix m = *this;
  for (size_t i = 0; i < m.addr.bytes.size(); ++i) {
    int bits = static_cast<int>(prefix) - static_cast<int>(i) * 8;
    if (i >= addr.size() || bits <= 0)
      m.addr.bytes[i] = 0;
    else if (bits < 8)
      m.addr.bytes[i] &= static_cast<uint8_t>(0xff << (8 - bits));
  }
  return m;
}

bool IpPrefix::contains(const IpPrefix& other) const {
  if (addr.family != other.addr.family || other.prefix < prefix) return false;
  IpPrefix o = other;
  o.prefix = prefix;
  return o.masked().addr == masked().addr;
}

std::optional<IpEndpoint> IpEndpoint::parse(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
  }
  auto addr = IpAddr::parse(host);
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (!addr || port.empty() || ec != std::errc() || ptr != port.data() + port.size() || v > 65535)
    return std::nullopt;
  return IpEndpoint{*addr, static_cast<uint16_t>(v)};
}

std::string IpEndpoint::to_string() const {
  std::string h = addr.to_string();
  if (addr.family == AF_INET6) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

}  // namespace ferry::netlink
