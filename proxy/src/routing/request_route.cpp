#include "routing/request_route.h"

#include <arpa/inet.h>

#include "http/fields.h"
#include "http/message.h"
#include "tls/sni_select.h"

namespace ferry::proxy {

std::string_view header_value(const std::vector<http::Header>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (h.name.size() == name.size() && http::iequals(h.name, name)) return h.value;
  return {};
}

int app_for_local_address(const Plan& plan, const PeerInfo& peer) {
  if (plan.app_by_ip.empty()) return -1;
  char text[INET6_ADDRSTRLEN] = {};
  const sockaddr* sa = &peer.local.sa;
  if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &peer.local.in4.sin_addr, text, sizeof text);
  else if (sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &peer.local.in6.sin6_addr, text, sizeof text);
  else return -1;
  auto it = plan.app_by_ip.find(text);
  return it == plan.app_by_ip.end() ? -1 : it->second;
}

RequestRoute route_request(const Plan& plan, const PlanFrontend& fe, const PeerInfo& peer, std::string_view host,
                           const std::vector<http::Header>& headers, config::Mode mode, TlsOrigin tls) {
  RequestRoute r;
  const config::Config& cfg = *plan.config;
  if (fe.cfg->backhaul) {
    const std::string_view app = header_value(headers, "Ferry-App");
    if (app.empty()) {
      r.status = 421, r.reason = "backhaul request without Ferry-App";
      return r;
    }
    auto it = cfg.app_index.find(std::string(app));
    if (it == cfg.app_index.end()) {
      r.status = 421, r.reason = "app '" + std::string(app.substr(0, 100)) + "' is not configured on this node";
      return r;
    }
    const config::App& a = cfg.apps[it->second];
    if (a.mode != mode) {
      r.status = 421, r.reason = "app '" + a.name + "' is a " + (a.mode == config::Mode::tcp ? "tcp" : "http") +
                                 " app on this node";
      return r;
    }
    int backend = a.backend;
    if (const std::string_view b = header_value(headers, "Ferry-Backend"); !b.empty()) {
      auto bi = cfg.backend_index.find(std::string(b));
      if (bi == cfg.backend_index.end()) {
        r.status = 421, r.reason = "backend '" + std::string(b.substr(0, 100)) + "' is not configured on this node";
        return r;
      }
      backend = r.backend = bi->second;
    }
    // Exactly one instance hosted here: a worker is never a relay to a third node.
    r.instance = header_value(headers, "Ferry-Instance");
    const config::Server* found = nullptr;
    for (const ServerRef& s : plan.backends[backend].servers)  // its server lines and catalog instances
      if (!r.instance.empty() && s.cfg->name == r.instance) found = s.cfg;
    if (found == nullptr || found->peer >= 0) {
      r.status = 421, r.reason = "instance '" + std::string(r.instance.substr(0, 100)) + "' of app '" + a.name +
                                 "' is not hosted on this node";
      r.instance = {};
      return r;
    }
    r.app = it->second;
    return r;
  }
  r.app = app_for_local_address(plan, peer);
  if (r.app < 0) {
    r.app = plan.router.find(host);
    if (r.app >= 0 && tls.ssl != nullptr && tls.front != nullptr &&
        !tls::host_matches_handshake(tls.front, tls.ssl, host)) {
      r.app = -1;
      r.status = 421;
      r.reason = "host '" + std::string(host.substr(0, 200)) +
                 "' is not served by this connection's certificate and TLS settings (misdirected request)";
      return r;
    }
  }
  if (r.app < 0) r.app = fe.cfg->app;  // default-app
  if (r.app < 0) r.status = 404, r.reason = "no app is configured for host '" + std::string(host.substr(0, 200)) + "'";
  return r;
}

}  // namespace ferry::proxy
