// The request-origin rules of the admin listener, as pure functions (any thread):
//
// Host (every request; DNS-rebinding defence): "NAME[:PORT]" or "[IPv6][:PORT]". The name must
// be the bound IP (any IP literal when bound to the wildcard), `localhost` when bound to
// loopback or the wildcard, or one of the `admin-host` names (case-insensitive). A port, when
// given, must be the listener's; a Host without port is accepted (the name is what defeats
// rebinding; clients and reverse proxies often omit it).
// Origin (requests other than GET/HEAD, when present): "SCHEME://NAME[:PORT]" with the
// listener's scheme, a NAME as above and exactly the listener's port (absent = the scheme's
// default, 80 / 443): another service on the same host is another origin. "null" is refused.
// Sec-Fetch-Site: "cross-site" and "same-site" are refused; "same-origin", "none" or absent pass.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::web {

struct HostRules {
  std::string bound_host;  // IP literal without brackets; "", "0.0.0.0" or "::" = wildcard
  uint16_t port = 0;       // the bound port
  bool tls = false;
  std::vector<std::string> names;  // `admin-host`, lower-case
};

bool host_allowed(std::string_view host_header, const HostRules& rules);
bool origin_allowed(std::string_view origin, const HostRules& rules);
bool fetch_site_allowed(std::string_view sec_fetch_site);

}  // namespace ferry::web
