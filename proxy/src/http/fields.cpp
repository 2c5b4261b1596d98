#include "http/fields.h"

#include <cstdint>

#include "http/chars.h"

namespace ferry::proxy::http {

using namespace chars;

bool valid_authority(std::string_view a) {
  if (a.empty()) return false;
  std::string_view host = a, port;
  if (a[0] == '[') {  // IP-literal: IPv6address (hex digits, ":" and "." only here)
    const size_t close = a.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : a.substr(1, close - 1))
      if (!is(c, kHexDigit) && c != ':' && c != '.') return false;
    if (a.substr(1, close - 1).find(':') == std::string_view::npos) return false;
    if (close + 1 < a.size()) {
      if (a[close + 1] != ':') return false;
      port = a.substr(close + 2);
      if (port.empty()) return false;
    }
  } else {
    const size_t colon = a.find(':');
    if (colon != std::string_view::npos) {
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty() || !chars_ok(host, kHostChar)) return false;
  }
  if (port.size() > 5) return false;
  uint32_t n = 0;
  for (char c : port) {
    if (!is_digit(c)) return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n <= 65535;
}

const char* check_request_target(std::string_view method, std::string_view target, std::string_view& path,
                                 std::string_view& authority) {
  path = {};
  authority = {};
  if (target.empty()) return "empty request-target";
  if (target[0] == '/') {  // origin-form: absolute-path [ "?" query ]
    if (!chars_ok(target, kPathChar)) return "invalid character in request-target";
    path = target;
    return nullptr;
  }
  if (target == "*") {  // asterisk-form: OPTIONS only (§3.2.4)
    if (method != "OPTIONS") return "asterisk-form request-target is only allowed for OPTIONS";
    path = target;
    return nullptr;
  }
  // absolute-form (§3.2.2): "http" or "https" "://" authority path-abempty [ "?" query ].
  size_t colon = target.find("://");
  if (colon == std::string_view::npos) return "invalid request-target form";
  const std::string_view scheme = target.substr(0, colon);
  if (!ieq_lower(scheme, "http") && !ieq_lower(scheme, "https"))
    return "absolute-form request-target with a scheme other than http or https";
  const size_t a = colon + 3;
  size_t e = a;
  while (e < target.size() && target[e] != '/' && target[e] != '?') ++e;
  authority = target.substr(a, e - a);
  if (!valid_authority(authority)) return "invalid authority in request-target";
  path = target.substr(e);
  if (!chars_ok(path, kPathChar)) return "invalid character in request-target";
  return nullptr;
}

std::string_view host_without_port(std::string_view h) {
  if (!h.empty() && h[0] == '[') {
    const size_t close = h.find(']');
    return close == std::string_view::npos ? h : h.substr(0, close + 1);
  }
  return h.substr(0, h.find(':'));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "upgrade") || iequals(name, "trailer");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16: return iequals(name, "proxy-connection");
    case 17: return iequals(name, "transfer-encoding");
    default: return false;
  }
}

bool listed_in_connection(const std::vector<Header>& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (!iequals(h.name, "connection")) continue;
    std::string_view list = h.value, e;
    while (next_element(list, e))
      if (iequals(e, name)) return true;
  }
  return false;
}

ConnectionTokens::ConnectionTokens(const std::vector<Header>& headers) : headers_(&headers) {
  for (const Header& h : headers) {
    if (h.name.size() != 10 || !iequals(h.name, "connection")) continue;
    std::string_view list = h.value, e;
    bool names_more = false;
    while (!names_more && next_element(list, e)) names_more = !is_hop_by_hop(e);
    if (!names_more) continue;
    if (n_ == values_.size()) {
      overflow_ = true;
      return;
    }
    values_[n_++] = h.value;
  }
}

bool ConnectionTokens::lists(std::string_view name) const {
  if (overflow_) return listed_in_connection(*headers_, name);
  for (size_t i = 0; i < n_; ++i) {
    std::string_view list = values_[i], e;
    while (next_element(list, e))
      if (iequals(e, name)) return true;
  }
  return false;
}

bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" ||
         m == "DELETE";
}

}  // namespace ferry::proxy::http
