#include "request_guard.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace ferry::web {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Binary form of an IP literal (4 or 16 bytes), empty when `s` is not one.
std::string ip_bytes(const std::string& s) {
  unsigned char buf[16];
  if (::inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(reinterpret_cast<char*>(buf), 4);
  if (::inet_pton(AF_INET6, s.c_str(), buf) == 1) return std::string(reinterpret_cast<char*>(buf), 16);
  return {};
}

bool is_loopback(const std::string& ip) {
  std::string b = ip_bytes(ip);
  if (b.size() == 4) return static_cast<unsigned char>(b[0]) == 127;
  static const char kV6Loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return b.size() == 16 && std::memcmp(b.data(), kV6Loop, 16) == 0;
}

bool is_wildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

// "NAME[:PORT]" / "[IPv6][:PORT]" against the rules. Without a port: any port when `lenient`
// (Host), else only the scheme's default port (Origin).
bool authority_allowed(std::string_view header, const HostRules& rules, bool lenient) {
  if (header.empty()) return false;
  std::string name;
  std::string_view port_text;
  bool has_port = false;
  bool bracketed = false;
  if (header.front() == '[') {
    size_t close = header.find(']');
    if (close == std::string_view::npos) return false;
    name = std::string(header.substr(1, close - 1));
    std::string_view rest = header.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port_text = rest.substr(1);
    }
    bracketed = true;
  } else {
    size_t colon = header.find(':');
    name = std::string(header.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = header.substr(colon + 1);
    }
  }
  if (has_port) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port_text.empty() ||
        port != rules.port)
      return false;
  } else if (!lenient && rules.port != (rules.tls ? 443 : 80)) {
    return false;
  }
  name = lower(name);
  if (name.empty()) return false;
  std::string ip = ip_bytes(name);
  if (bracketed && ip.size() != 16) return false;
  if (!ip.empty()) {
    if (is_wildcard(rules.bound_host)) {
      // Bound to every address: any IP literal of the listener's family names this host.
      bool v6 = rules.bound_host == "::";
      return v6 ? true : ip.size() == 4;
    }
    if (ip == ip_bytes(rules.bound_host)) return true;
    // An `admin-host` written as an IP literal: the address clients use (NAT, a load balancer).
    return std::any_of(rules.names.begin(), rules.names.end(),
                       [&](const std::string& n) { return ip_bytes(n) == ip; });
  }
  if (name == "localhost")
    return is_wildcard(rules.bound_host) || is_loopback(rules.bound_host);
  return std::find(rules.names.begin(), rules.names.end(), name) != rules.names.end();
}

}  // namespace

bool host_allowed(std::string_view header, const HostRules& rules) {
  return authority_allowed(header, rules, /*lenient=*/true);
}

bool origin_allowed(std::string_view origin, const HostRules& rules) {
  std::string_view scheme = rules.tls ? "https://" : "http://";
  if (origin.size() <= scheme.size() || lower(origin.substr(0, scheme.size())) != scheme) return false;
  std::string_view host = origin.substr(scheme.size());
  if (host.find('/') != std::string_view::npos) return false;
  return authority_allowed(host, rules, /*lenient=*/false);
}

bool fetch_site_allowed(std::string_view site) {
  std::string s = lower(site);
  return s != "cross-site" && s != "same-site";
}

}  // namespace ferry::web
