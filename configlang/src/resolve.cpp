// Resolve-and-validate pass: see resolve.h.
#include "resolve.h"

#include <cctype>

#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <climits>
#include <map>

#include "suggest.h"
#include "values.h"

namespace ferry::config::detail {

namespace {

Timeouts inherit(const TimeoutSet& defaults, const TimeoutSet& own) {
  Timeouts t;
  Duration* f[kTimeoutCount] = {&t.connect, &t.client, &t.server, &t.http_request,
                                &t.http_keep_alive, &t.tunnel, &t.queue, &t.drain};
  for (int k = 0; k < kTimeoutCount; ++k) {
    if (defaults[k]) *f[k] = *defaults[k];
    if (own[k]) *f[k] = *own[k];
  }
  return t;
}

HttpLimits inherit(const LimitsSet& defaults, const LimitsSet& own) {
  HttpLimits l;
  l.max_request_line = own.max_request_line.value_or(defaults.max_request_line.value_or(l.max_request_line));
  l.max_header_size = own.max_header_size.value_or(defaults.max_header_size.value_or(l.max_header_size));
  l.max_headers = own.max_headers.value_or(defaults.max_headers.value_or(l.max_headers));
  l.h2_max_streams = own.h2_max_streams.value_or(defaults.h2_max_streams.value_or(l.h2_max_streams));
  return l;
}

// Registers section names of one kind; reports duplicates with a note at the first one.
template <typename D>
std::unordered_map<std::string, int> index_names(Ctx& ctx, const std::vector<D>& items, const char* kind) {
  std::unordered_map<std::string, int> idx;
  for (size_t i = 0; i < items.size(); ++i) {
    const Arg& n = items[i].name;
    if (n.text.empty()) continue;
    auto [it, fresh] = idx.emplace(n.text, static_cast<int>(i));
    if (!fresh) {
      ctx.error(n.loc, std::string("duplicate ") + kind + " '" + n.text + "'");
      ctx.note(items[it->second].name.loc, "first defined here");
    }
  }
  return idx;
}

template <typename D>
std::vector<std::string> names_of(const std::vector<D>& items) {
  std::vector<std::string> out;
  for (const auto& i : items)
    if (!i.name.text.empty()) out.push_back(i.name.text);
  return out;
}

int lookup(Ctx& ctx, const Arg& ref, const std::unordered_map<std::string, int>& idx,
           const std::vector<std::string>& names, const char* kind) {
  if (ref.bad) return -1;
  auto it = idx.find(ref.text);
  if (it != idx.end()) return it->second;
  // Past the diagnostics cap only the count matters: skip the suggestion's cost.
  if (ctx.diags.full()) {
    ctx.error(ref.loc, {});
    return -1;
  }
  ctx.error(ref.loc, std::string("unknown ") + kind + " '" + ref.text + "'" + did_you_mean(ref.text, names));
  return -1;
}

bool binds_conflict(const Address& a, const Address& b) {
  if (a.port == 0 || a.port != b.port) return false;
  if (a.host == b.host) return true;
  if (a.host == "::" || b.host == "::") return true;  // dual-stack wildcard
  if (a.host.empty()) return !b.is_v6();
  if (b.host.empty()) return !a.is_v6();
  return false;
}

std::string defaults_list() {
  Timeouts t;
  const Duration* f[kTimeoutCount] = {&t.connect, &t.client, &t.server, &t.http_request,
                                      &t.http_keep_alive, &t.tunnel, &t.queue, &t.drain};
  std::string s;
  for (int k = 0; k < kTimeoutCount; ++k)
    s += (s.empty() ? "" : ", ") + std::string(kTimeoutNames[k]) + " " + duration_to_string(*f[k]);
  return s;
}

// Whether the IP literal `ip` is inside `c`; false for anything that is not an IP of c's family
// (an empty host, the wildcard, is inside nothing).
bool cidr_contains(const Cidr& c, const std::string& ip) {
  const bool v6 = c.is_v6();
  unsigned char net[16] = {}, addr[16] = {};
  const int af = v6 ? AF_INET6 : AF_INET;
  if (ip.empty() || inet_pton(af, c.network.c_str(), net) != 1 || inet_pton(af, ip.c_str(), addr) != 1) return false;
  const int bits = c.prefix, len = v6 ? 16 : 4;
  for (int i = 0; i < len; ++i) {
    const int keep = std::clamp(bits - 8 * i, 0, 8);
    const unsigned char mask = static_cast<unsigned char>(keep == 0 ? 0 : 0xFF << (8 - keep));
    if ((net[i] & mask) != (addr[i] & mask)) return false;
  }
  return true;
}

bool is_loopback(const std::string& host) {
  if (host == "::1") return true;
  if (host.rfind("::ffff:127.", 0) == 0) return true;
  return is_ipv4(host) && host.rfind("127.", 0) == 0;
}

// A non-loopback admin listener needs TLS and at least one user: it would otherwise hand the
// console to anyone on the network, or send passwords and cookies in clear.
void check_admin(const Draft& dr, Ctx& ctx) {
  const Global& g = dr.global;
  if (!g.admin || is_loopback(g.admin->host) || !dr.admin_arg) return;
  std::string missing;
  if (g.admin_tls_cert.empty()) missing = "'admin-tls CERT_PEM [KEY_PEM]'";
  if (g.admin_users.empty())
    missing += std::string(missing.empty() ? "" : " and ") + "at least one 'admin-user NAME HASH'";
  if (missing.empty()) return;
  ctx.error(dr.admin_arg->loc, "admin address " + g.admin->to_string() +
                                   " is not loopback: it needs " + missing +
                                   " (or use 'admin 127.0.0.1:PORT')");
}

}  // namespace

std::shared_ptr<Config> resolve(Draft& dr, Ctx& ctx, const std::string& main_file) {
  auto cfg = std::make_shared<Config>();
  for (const auto& f : ctx.src.files) cfg->files.push_back(f.name);
  cfg->global = dr.global;
  check_admin(dr, ctx);
  if (!dr.node_set) {
    char host[HOST_NAME_MAX + 1] = {};
    if (::gethostname(host, sizeof host - 1) == 0) cfg->global.node = host;
  }
  cfg->default_timeouts = inherit(dr.defaults.timeouts, TimeoutSet{});

  cfg->frontend_index = index_names(ctx, dr.frontends, "frontend");
  cfg->backend_index = index_names(ctx, dr.backends, "backend");
  cfg->app_index = index_names(ctx, dr.apps, "app");
  auto app_names = names_of(dr.apps);
  auto backend_names = names_of(dr.backends);
  std::vector<bool> app_used(dr.apps.size(), false);
  bool any_http_frontend = false, any_sni_frontend = false;
  bool any_tcp_app_host = false;  // some `mode tcp` app has hosts (a `route sni` target)
  for (const auto& a : dr.apps) any_tcp_app_host = any_tcp_app_host || (a.app.mode == Mode::tcp && !a.app.hosts.empty());

  // Frontends: inheritance, app references, mode consistency. An app's mode decides how it is
  // routed: http apps by Host on http frontends, tcp apps by SNI on `route sni` frontends.
  for (auto& f : dr.frontends) {
    Frontend& fe = f.fe;
    fe.timeouts = inherit(dr.defaults.timeouts, f.timeouts);
    fe.limits = inherit(dr.defaults.limits, f.limits);
    const std::string who = "frontend '" + fe.name + "'";
    if (fe.mode == Mode::tcp) {
      if (f.default_app_ref)
        ctx.error(f.default_app_ref->loc, fe.route_sni ? "'default-app' is for http frontends; with 'route sni', "
                                                         "'app NAME' names the app for unknown or missing SNI"
                                                       : "'default-app' is for http frontends; a tcp frontend uses 'app NAME'");
      if (f.app_ref) fe.app = lookup(ctx, *f.app_ref, cfg->app_index, app_names, "app");
      else if (!fe.route_sni) ctx.error(f.name.loc, "tcp " + who + " needs 'app NAME' (the app its connections go to) or 'route sni'");
      if (fe.route_sni) {
        any_sni_frontend = true;
        if (fe.app >= 0 && dr.apps[fe.app].app.mode != Mode::tcp)
          ctx.error(f.app_ref->loc, "app '" + f.app_ref->text + "' is an http app: the default app of a 'route sni' "
                                    "frontend receives TLS connections unchanged, so it must be 'mode tcp'");
        if (fe.app < 0 && !any_tcp_app_host)
          ctx.warning(f.route_arg->loc, who + " routes by SNI but no 'mode tcp' app has hosts and there is no "
                                        "'app NAME': it refuses every connection");
      }
    } else {
      any_http_frontend = true;
      if (f.route_arg)
        ctx.error(f.route_arg->loc, "'route sni' is for tcp frontends (TLS passthrough, needs 'mode tcp'); an http "
                                    "frontend routes by Host and terminates TLS on 'bind ... tls'");
      if (f.app_ref)
        ctx.error(f.app_ref->loc, "'app' is for tcp frontends; in an http frontend apps are picked by Host, "
                                  "use 'default-app " + f.app_ref->text + "' for requests no app's hosts match");
      if (f.default_app_ref) fe.app = lookup(ctx, *f.default_app_ref, cfg->app_index, app_names, "app");
      if (fe.app >= 0 && dr.apps[fe.app].app.mode != Mode::http)
        ctx.error(f.default_app_ref->loc, "app '" + f.default_app_ref->text + "' is a tcp app (TLS passthrough): "
                                          "it cannot be the default-app of an http frontend");
    }
    if (fe.app >= 0) app_used[fe.app] = true;
    bool any_tls = false;
    for (size_t i = 0; i < fe.binds.size(); ++i) {
      any_tls = any_tls || fe.binds[i].tls;
      if (fe.binds[i].tls && fe.mode == Mode::tcp)
        ctx.error(f.bind_args[i].loc, fe.route_sni
            ? "'tls' on a 'route sni' " + who + ": TLS passthrough forwards the client's TLS connection unchanged "
              "to the app's servers and does not terminate it; remove 'tls'"
            : "'tls' on a tcp " + who + ": terminating TLS for raw TCP is not supported; "
              "TLS connections pass through a tcp frontend unchanged without it");
    }
    // PROXY headers are believed only from listed senders; there is no implicit "anyone".
    if (f.accept_proxy_loc && fe.proxy_senders.empty())
      ctx.error(*f.accept_proxy_loc, "'accept-proxy' needs 'proxy-senders CIDR...' in " + who +
                                         ": the load balancers allowed to send a PROXY header (any other peer could "
                                         "claim any client address); 'proxy-senders 0.0.0.0/0 ::/0' accepts every peer");
    if (f.proxy_senders_kw && !f.accept_proxy_loc)
      ctx.warning(*f.proxy_senders_kw, "'proxy-senders' has no effect: " + who + " has no 'bind ... accept-proxy'");
    if (f.default_certificate_arg && !any_tls)
      ctx.warning(f.default_certificate_arg->loc, "'default-certificate' has no effect: " + who + " has no 'bind ... tls'");
    if (fe.binds.empty()) ctx.warning(f.name.loc, who + " has no 'bind' lines: it accepts nothing");
  }

  // Binds: the same address:port (or a wildcard and a specific address on one port) twice.
  // Only binds on one port can conflict: indexed by port (linear in the number of binds).
  struct Seen { const Address* addr; const Arg* arg; const std::string* fe; };
  std::unordered_map<uint16_t, std::vector<Seen>> seen_by_port;
  for (auto& f : dr.frontends)
    for (size_t i = 0; i < f.fe.binds.size(); ++i) {
      const Address& a = f.fe.binds[i].addr;
      const Arg& arg = f.bind_args[i];
      if (a.port == 0) continue;  // an ephemeral port conflicts with nothing
      std::vector<Seen>& seen = seen_by_port[a.port];
      for (const auto& s : seen)
        if (binds_conflict(a, *s.addr)) {
          ctx.error(arg.loc, "bind " + arg.text + " conflicts with bind " + s.arg->text + " of frontend '" + *s.fe + "'");
          ctx.note(s.arg->loc, "first bound here");
          break;
        }
      seen.push_back({&a, &arg, &f.fe.name});
    }

  // Backends.
  for (auto& b : dr.backends) {
    Backend& be = b.be;
    be.timeouts = inherit(dr.defaults.timeouts, b.timeouts);
    be.retries = b.retries.value_or(dr.defaults.retries.value_or(be.retries));
    be.balance = b.balance.value_or(dr.defaults.balance.value_or(be.balance));
    if (be.servers.empty()) ctx.warning(b.name.loc, "backend '" + be.name + "' has no servers");
  }

  // Mesh: required directives; peers' backhaul addresses; servers' `node` names a peer.
  if (dr.mesh) {
    MeshDraft& m = *dr.mesh;
    Mesh& mesh = m.mesh;
    if (!m.private_key_arg) ctx.error(m.loc, "the 'mesh' section needs 'private-key PATH' (a WireGuard key as 'wg genkey' prints it)");
    if (!m.address_arg) ctx.error(m.loc, "the 'mesh' section needs 'address CIDR' (this node's address inside the mesh)");
    if (!m.backhaul_arg) ctx.error(m.loc, "the 'mesh' section needs 'backhaul IP:PORT' (where peers reach this node's backhaul)");
    if (!mesh.userspace_command.empty()) {
      if (mesh.driver == WgDriver::kernel && m.driver_arg)
        ctx.error(m.driver_arg->loc, "'driver kernel' with 'userspace PROGRAM': a userspace program is for 'driver userspace'");
      mesh.driver = WgDriver::userspace;
    }
    if (mesh.peer_timeout < 2 * mesh.ping_interval)
      ctx.error(m.peer_timeout_arg ? m.peer_timeout_arg->loc : m.loc, "peer-timeout " + duration_to_string(mesh.peer_timeout) +
                                             " is shorter than two ping intervals (" +
                                             duration_to_string(mesh.ping_interval) + " each)");
    for (size_t i = 0; i < mesh.peers.size(); ++i) {
      const MeshPeer& p = mesh.peers[i];
      mesh.peer_index.emplace(p.name, static_cast<int>(i));
      if (p.name == dr.global.node)
        ctx.error(m.peer_args[i].loc, "peer '" + p.name + "' has this node's own name (global 'node')");
    }
    // The backhaul trusts its peers by source address (allowed-ips), which only WireGuard
    // vouches for: it listens on this node's mesh address, and each peer's backhaul is inside
    // that peer's allowed-ips (else requests with Ferry-* metadata would leave the tunnel).
    const Cidr own{mesh.address.network, static_cast<uint8_t>(mesh.address.is_v6() ? 128 : 32)};
    if (m.backhaul_arg && m.address_arg && !cidr_contains(own, mesh.backhaul.host))
      ctx.error(m.backhaul_arg->loc, "mesh backhaul " + m.backhaul_arg->text + " is not this node's mesh address (" +
                                         mesh.address.network + "): the backhaul must listen inside the mesh, "
                                         "where WireGuard vouches for each peer's source address");
    for (size_t i = 0; i < mesh.peers.size(); ++i) {
      const MeshPeer& p = mesh.peers[i];
      if (!m.peer_backhaul_locs[i]) continue;  // missing or invalid: reported by the parser
      bool inside = false;
      for (const auto& c : p.allowed_ips) inside = inside || cidr_contains(c, p.backhaul.host);
      if (!inside)
        ctx.error(*m.peer_backhaul_locs[i], "peer '" + p.name + "': its backhaul " + p.backhaul.to_string() +
                                          " is not inside its allowed-ips: backhaul traffic to it would not go "
                                          "through WireGuard");
    }
    // App and server names travel in backhaul metadata (headers, a PROXY TLV, load reports).
    auto plain = [](const std::string& n) {
      if (n.empty() || n.size() > 128) return false;
      for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
      return true;
    };
    const std::string why = ": with a mesh, app and server names must be 1..128 characters of A-Z a-z 0-9 . _ - "
                            "(they travel in backhaul metadata)";
    for (const auto& a : dr.apps)
      if (!plain(a.app.name)) ctx.error(a.name.loc, "app name '" + a.app.name + "'" + why);
    for (const auto& b : dr.backends)
      for (const auto& n : b.server_names)
        if (!plain(n.text)) ctx.error(n.loc, "server name '" + n.text + "'" + why);
    cfg->mesh = mesh;
  }
  std::vector<std::string> peer_names;
  if (dr.mesh)
    for (const auto& p : dr.mesh->mesh.peers) peer_names.push_back(p.name);
  for (auto& b : dr.backends)
    for (size_t i = 0; i < b.be.servers.size(); ++i) {
      Server& sv = b.be.servers[i];
      if (sv.node.empty() || sv.node == cfg->global.node) {  // hosted here
        sv.node.clear();
        if (sv.region.empty()) sv.region = cfg->global.region;
        continue;
      }
      const Arg& at = *b.server_nodes[i];  // `node` is set, so its argument is there
      if (!cfg->mesh) {
        ctx.error(at.loc, "server '" + sv.name + "': 'node " + sv.node + "' needs a 'mesh' section with 'peer " +
                              sv.node + "' (instances on other nodes are reached over the mesh)");
        continue;
      }
      sv.peer = lookup(ctx, at, cfg->mesh->peer_index, peer_names, "mesh peer");
      if (sv.peer < 0) continue;
      if (sv.region.empty()) sv.region = cfg->mesh->peers[sv.peer].region;
      if (sv.proto != UpstreamProto::http1 || sv.send_proxy != ProxyProtocol::none)
        ctx.error(at.loc, "server '" + sv.name + "' is on node '" + sv.node + "': proto and send-proxy are the hosting "
                          "node's business (the backhaul carries the request to it)");
    }

  // Anycast: `app ... ip` must name a dedicated (not shared) anycast address; one app per IP.
  cfg->anycast = dr.anycast;
  std::map<std::string, const Arg*> app_ips;
  for (auto& a : dr.apps) {
    if (!a.ip_arg) continue;
    auto [it, fresh] = app_ips.emplace(a.app.ip, &*a.ip_arg);
    if (!fresh) {
      ctx.error(a.ip_arg->loc, "ip " + a.app.ip + " is already dedicated to another app");
      ctx.note(it->second->loc, "first dedicated here");
      continue;
    }
    for (size_t i = 0; i < dr.anycast.size(); ++i)
      if (dr.anycast[i].cidr.network == a.app.ip && dr.anycast[i].shared) {
        ctx.error(a.ip_arg->loc, "app '" + a.app.name + "': ip " + a.app.ip + " is a 'shared' anycast address (routed by "
                                 "Host/SNI among many apps); a dedicated ip needs an anycast address without 'shared'");
        ctx.note(dr.anycast_args[i].loc, "declared shared here");
      }
  }

  // Apps: backend reference, hosts unique across apps.
  std::map<std::string, std::pair<size_t, const Arg*>> hosts;
  for (size_t ai = 0; ai < dr.apps.size(); ++ai) {
    AppDraft& a = dr.apps[ai];
    App& app = a.app;
    app.max_body_size = a.max_body_size.value_or(dr.defaults.max_body_size.value_or(0));
    if (a.backend_ref) app.backend = lookup(ctx, *a.backend_ref, cfg->backend_index, backend_names, "backend");
    else ctx.error(a.name.loc, "app '" + app.name + "' needs 'backend NAME'");
    if (app.mode == Mode::tcp) {
      const std::string why = " on a tcp app: its TLS connections pass through Ferry unchanged, its servers "
                              "terminate TLS with their own certificate";
      if (a.certificate_kw) ctx.error(*a.certificate_kw, "'certificate' has no effect" + why);
      if (a.tls_min_kw) ctx.error(*a.tls_min_kw, "'tls-min' has no effect" + why);
      if (a.max_body_size_kw)
        ctx.warning(*a.max_body_size_kw, "'max-body-size' has no effect on a tcp app (bytes are forwarded, not requests)");
    }
    for (const Arg& t : a.replay_to_args) {
      int idx = lookup(ctx, t, cfg->app_index, app_names, "app");
      if (idx < 0) continue;
      if (app.mode == Mode::tcp) {
        ctx.error(t.loc, "'replay-to' has no effect on a tcp app (Ferry-Replay is an HTTP response header)");
        break;
      }
      if (dr.apps[idx].app.mode != Mode::http) {
        ctx.error(t.loc, "replay-to app '" + t.text + "' is a tcp app: a request cannot be replayed to it");
        continue;
      }
      if (std::find(app.replay_to.begin(), app.replay_to.end(), idx) == app.replay_to.end()) app.replay_to.push_back(idx);
    }
    for (size_t i = 0; i < app.hosts.size(); ++i) {
      auto [it, fresh] = hosts.emplace(app.hosts[i], std::make_pair(ai, &a.host_args[i]));
      if (!fresh) {
        const std::string& other = dr.apps[it->second.first].app.name;
        ctx.error(a.host_args[i].loc, it->second.first == ai
                                          ? "host '" + app.hosts[i] + "' is listed twice in app '" + other + "'"
                                          : "host '" + app.hosts[i] + "' is already served by app '" + other + "'");
        ctx.note(it->second.second->loc, "first listed here");
      }
    }
  }
  // ACME: the section needs a directory; an app with `certificate acme` needs the section,
  // at least one host, and no wildcard (TLS-ALPN-01 cannot validate one, RFC 8737 §3).
  if (dr.acme) {
    if (!dr.acme->directory_arg)
      ctx.error(dr.acme->loc, "the 'acme' section needs 'directory URL' (the ACME server's directory, e.g. "
                              "https://acme-v02.api.letsencrypt.org/directory)");
    cfg->acme = dr.acme->acme;
  }
  bool any_tls_bind = false, any_plain_http_bind = false;
  for (const auto& f : dr.frontends)
    for (const auto& b : f.fe.binds) {
      any_tls_bind = any_tls_bind || b.tls;
      any_plain_http_bind = any_plain_http_bind || (!b.tls && f.fe.mode == Mode::http);
    }
  const bool http01 = dr.acme && dr.acme->acme.challenge == AcmeChallenge::http_01;
  // http-01 is answered by the http frontends' plain binds (the CA fetches port 80).
  if (http01 && !any_plain_http_bind && dr.acme->challenge_arg)
    ctx.warning(dr.acme->challenge_arg->loc, "challenge 'http-01': no http frontend has a plain (non-tls) 'bind': the "
                                             "challenge cannot be answered (the CA fetches "
                                             "http://NAME/.well-known/acme-challenge/TOKEN on port 80)");
  const char* challenge_name = http01 ? "http-01" : "tls-alpn-01";
  bool warned_no_tls = false;
  for (auto& a : dr.apps) {
    if (a.app.certificate != "acme" || !a.certificate_arg) continue;
    const std::string who = "app '" + a.app.name + "'";
    if (dr.acme && !any_tls_bind && !warned_no_tls) {
      warned_no_tls = true;
      ctx.warning(a.certificate_arg->loc,
                  who + (http01 ? ": no frontend has a 'bind ... tls': the certificate cannot be served"
                                : ": no frontend has a 'bind ... tls': the certificate cannot be "
                                  "validated (tls-alpn-01 connects to port 443 of a tls bind) nor served"));
    }
    if (!dr.acme) {
      ctx.error(a.certificate_arg->loc, who + ": 'certificate acme' needs an 'acme' section (with 'directory URL') "
                                        "saying which ACME server issues the certificate");
      continue;
    }
    if (a.app.hosts.empty())
      ctx.error(a.certificate_arg->loc, who + ": 'certificate acme' needs at least one name in 'hosts' to certify");
    for (size_t i = 0; i < a.app.hosts.size(); ++i)
      if (a.app.hosts[i].rfind("*.", 0) == 0)
        ctx.error(a.host_args[i].loc, who + ": wildcard host '" + a.app.hosts[i] + "' cannot get an automatic "
                                      "certificate (the " + challenge_name + " challenge cannot validate wildcards); use "
                                      "'certificate PATH' or list the names");
  }

  for (size_t ai = 0; ai < dr.apps.size(); ++ai) {
    const App& app = dr.apps[ai].app;
    const bool tcp = app.mode == Mode::tcp;
    // With a mesh, edges reach every app through the backhaul.
    bool reachable = app_used[ai] || dr.mesh || (!app.hosts.empty() && (tcp ? any_sni_frontend : any_http_frontend));
    if (!reachable)
      ctx.warning(dr.apps[ai].name.loc, "app '" + app.name + "' is not used by any frontend " +
                                        (tcp ? "(no tcp frontend's 'app', and no hosts routed by a 'route sni' frontend)"
                                             : "(no tcp frontend's 'app', no 'default-app', and no hosts served by an http frontend)"));
  }

  if (!dr.any_timeout) ctx.diags.warning_nopos(main_file, "no timeouts configured; using the built-in defaults (" + defaults_list() + ")");

  for (auto& f : dr.frontends) cfg->frontends.push_back(std::move(f.fe));
  if (cfg->mesh && dr.mesh->backhaul_arg) {
    Frontend bh;
    bh.name = "(backhaul)";
    bh.backhaul = true;
    bh.mode = Mode::http;
    bh.binds.push_back(Bind{cfg->mesh->backhaul, false, false, cfg->mesh->loc});
    bh.timeouts = cfg->default_timeouts;
    bh.limits = inherit(dr.defaults.limits, LimitsSet{});
    bh.limits.h2_max_streams = 1000;  // one connection per peer carries all its edge's requests
    for (const auto& p : cfg->mesh->peers)
      for (const auto& c : p.allowed_ips) bh.trusted.push_back(c);
    bh.loc = cfg->mesh->loc;
    for (const auto& f : cfg->frontends)
      for (size_t i = 0; i < f.binds.size(); ++i)
        if (binds_conflict(f.binds[i].addr, bh.binds[0].addr)) {
          ctx.error(dr.mesh->backhaul_arg->loc, "mesh backhaul " + dr.mesh->backhaul_arg->text +
                                                    " conflicts with a bind of frontend '" + f.name + "'");
          break;
        }
    cfg->frontends.push_back(std::move(bh));
  }
  for (auto& b : dr.backends) cfg->backends.push_back(std::move(b.be));
  for (auto& a : dr.apps) cfg->apps.push_back(std::move(a.app));
  return cfg;
}

}  // namespace ferry::config::detail
