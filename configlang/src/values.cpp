// Value parsers: see values.h.
#include "values.h"

#include <arpa/inet.h>

#include <cctype>
#include <limits>

namespace ferry::config::detail {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Parses a run of digits at the start of s; returns digits consumed (0 = none), false on overflow.
bool leading_number(std::string_view s, uint64_t& value, size_t& used) {
  value = 0;
  used = 0;
  while (used < s.size() && is_digit(s[used])) {
    uint64_t d = static_cast<uint64_t>(s[used] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    value = value * 10 + d;
    ++used;
  }
  return true;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

std::optional<Duration> parse_duration(std::string_view s, std::string& why) {
  uint64_t n;
  size_t used;
  if (!leading_number(s, n, used) || used > 12) {
    why = "duration " + quoted(s) + " is too large";
    return std::nullopt;
  }
  if (used == 0) {
    why = "invalid duration " + quoted(s) + ": expected a number with a unit, e.g. 5s, 250ms, 2m, 1h, 30d";
    return std::nullopt;
  }
  std::string_view unit = s.substr(used);
  if (unit.empty()) {
    if (n == 0) return Duration{0};
    why = "invalid duration " + quoted(s) + ": missing unit, e.g. 5s";
    return std::nullopt;
  }
  uint64_t mult;
  if (unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m") mult = 60'000;
  else if (unit == "h") mult = 3'600'000;
  else if (unit == "d") mult = 86'400'000;
  else {
    why = "invalid duration " + quoted(s) + ": unknown unit " + quoted(unit) + " (use ms, s, m, h or d)";
    return std::nullopt;
  }
  constexpr uint64_t kMaxMs = 365ull * 24 * 3'600'000;
  // n < 10^12 and mult <= 8.64*10^7 could overflow: compare before multiplying.
  if (n > kMaxMs / mult) {
    why = "duration " + quoted(s) + " is too large (at most 365 days)";
    return std::nullopt;
  }
  return Duration{static_cast<int64_t>(n * mult)};
}

std::optional<uint64_t> parse_size(std::string_view s, std::string& why) {
  uint64_t n;
  size_t used;
  if (!leading_number(s, n, used) || used > 15) {
    why = "size " + quoted(s) + " is too large";
    return std::nullopt;
  }
  if (used == 0) {
    why = "invalid size " + quoted(s) + ": expected a number of bytes with an optional k, m or g suffix, e.g. 16k";
    return std::nullopt;
  }
  std::string_view unit = s.substr(used);
  uint64_t mult = 1;
  if (unit.empty()) mult = 1;
  else if (unit.size() == 1 && (unit[0] == 'k' || unit[0] == 'K')) mult = 1ull << 10;
  else if (unit.size() == 1 && (unit[0] == 'm' || unit[0] == 'M')) mult = 1ull << 20;
  else if (unit.size() == 1 && (unit[0] == 'g' || unit[0] == 'G')) mult = 1ull << 30;
  else {
    why = "invalid size " + quoted(s) + ": unknown suffix " + quoted(unit) + " (use k, m or g)";
    return std::nullopt;
  }
  if (n > (1ull << 50) / mult) {
    why = "size " + quoted(s) + " is too large";
    return std::nullopt;
  }
  return n * mult;
}

std::optional<int64_t> parse_int(std::string_view s, int64_t lo, int64_t hi, std::string& why) {
  bool neg = !s.empty() && s[0] == '-';
  std::string_view digits = neg ? s.substr(1) : s;
  uint64_t n;
  size_t used;
  bool fits = leading_number(digits, n, used);
  if (used == 0 || used != digits.size()) {
    why = "invalid number " + quoted(s) + ": expected an integer";
    return std::nullopt;
  }
  if (!fits || used > 18) {
    why = "number " + quoted(s) + " is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")";
    return std::nullopt;
  }
  int64_t v = neg ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
  if (v < lo || v > hi) {
    why = "number " + quoted(s) + " is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")";
    return std::nullopt;
  }
  return v;
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return s.find('%') == std::string::npos && ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

std::optional<Address> parse_address(std::string_view s, std::string& why) {
  std::string host;
  std::string_view port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) {
      why = "invalid address " + quoted(s) + ": missing ']' after an IPv6 address";
      return std::nullopt;
    }
    host = std::string(s.substr(1, close - 1));
    if (!is_ipv6(host)) {
      why = "invalid address " + quoted(s) + ": '" + host + "' is not an IPv6 address";
      return std::nullopt;
    }
    if (close + 1 >= s.size() || s[close + 1] != ':') {
      why = "invalid address " + quoted(s) + ": missing port, e.g. [::1]:80";
      return std::nullopt;
    }
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      std::string h(s);
      if (is_ipv4(h) || is_ipv6(h))
        why = "invalid address " + quoted(s) + ": missing port, e.g. " + (is_ipv6(h) ? "[" + h + "]" : h) + ":80";
      else
        why = "invalid address " + quoted(s) + ": expected IP:PORT, e.g. 127.0.0.1:80, [::1]:80 or :80";
      return std::nullopt;
    }
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      why = "invalid address " + quoted(s) + ": an IPv6 address needs brackets, e.g. [::1]:80";
      return std::nullopt;
    }
    if (host == "*") {  // HAProxy's spelling
      why = "invalid address " + quoted(s) + ": write ':" + std::string(port) + "' for every IPv4 address ('*' is HAProxy's spelling)";
      return std::nullopt;
    }
    if (!host.empty() && !is_ipv4(host)) {
      bool numeric = true;
      for (char c : host) numeric = numeric && (is_digit(c) || c == '.');
      if (numeric)
        why = "invalid address " + quoted(s) + ": '" + host + "' is not a valid IPv4 address";
      else
        why = "invalid address " + quoted(s) + ": '" + host + "' must be an IP address (DNS names are not resolved)";
      return std::nullopt;
    }
  }
  std::string pwhy;
  auto p = parse_int(port, 0, 65535, pwhy);
  if (!p || (!port.empty() && port[0] == '-')) {
    why = "invalid address " + quoted(s) + ": port " + quoted(port) + " must be a number 0..65535";
    return std::nullopt;
  }
  Address a;
  a.host = host == "0.0.0.0" ? std::string() : host;
  a.port = static_cast<uint16_t>(*p);
  return a;
}

std::optional<Cidr> parse_cidr(std::string_view s, std::string& why) {
  size_t slash = s.find('/');
  std::string ip(s.substr(0, slash));
  bool v4 = is_ipv4(ip), v6 = is_ipv6(ip);
  if (!v4 && !v6) {
    why = "invalid CIDR " + quoted(s) + ": '" + ip + "' is not an IP address";
    return std::nullopt;
  }
  int max = v4 ? 32 : 128;
  Cidr c;
  c.network = ip;
  c.prefix = static_cast<uint8_t>(max);
  if (slash != std::string_view::npos) {
    std::string pwhy;
    std::string_view pre = s.substr(slash + 1);
    auto p = parse_int(pre, 0, max, pwhy);
    if (!p || pre.empty() || pre[0] == '-') {
      why = "invalid CIDR " + quoted(s) + ": prefix length must be 0.." + std::to_string(max);
      return std::nullopt;
    }
    c.prefix = static_cast<uint8_t>(*p);
  }
  return c;
}

std::optional<std::string> parse_host_pattern(std::string_view s, std::string& why) {
  std::string h;
  for (char c : s) h += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h.empty()) {
    why = "empty host name";
    return std::nullopt;
  }
  if (h.find(':') != std::string::npos) {
    why = "invalid host " + quoted(s) + ": hosts take no port";
    return std::nullopt;
  }
  std::string_view rest = h;
  if (rest.size() >= 2 && rest[0] == '*' && rest[1] == '.') rest.remove_prefix(2);
  if (rest.find('*') != std::string_view::npos) {
    why = "invalid host " + quoted(s) + ": '*' is only allowed as a leading '*.' label";
    return std::nullopt;
  }
  if (h.size() > 253) {
    why = "invalid host " + quoted(s) + ": longer than 253 characters";
    return std::nullopt;
  }
  size_t pos = 0;
  while (true) {
    size_t dot = rest.find('.', pos);
    std::string_view label = rest.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (label.empty()) {
      why = "invalid host " + quoted(s) + ": empty label";
      return std::nullopt;
    }
    if (label.size() > 63) {
      why = "invalid host " + quoted(s) + ": label longer than 63 characters";
      return std::nullopt;
    }
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_';
      if (!ok) {
        why = "invalid host " + quoted(s) + ": character " + quoted(std::string_view(&c, 1)) + " is not allowed";
        return std::nullopt;
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      why = "invalid host " + quoted(s) + ": a label cannot start or end with '-'";
      return std::nullopt;
    }
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return h;
}

std::string duration_to_string(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms >= 120'000) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace ferry::config::detail
