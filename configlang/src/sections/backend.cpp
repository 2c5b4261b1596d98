// `backend NAME` sections: servers, balancing, health checks, upstream pools; their resolve
// hooks: inheritance, and each server's `node` (a mesh peer).
#include <algorithm>
#include <map>

#include "resolve.h"
#include "sections/common.h"
#include "suggest.h"

namespace ferry::config::detail {

namespace {

using R = DirectiveSpec::Repeat;
BackendDraft& cur(Draft& d) { return d.backends.back(); }

const char* kHealthSyntax =
    "health-check tcp|http [METHOD PATH] [host NAME] [interval D] [timeout D] [rise N] [fall N]";

void health_check(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, -1, kHealthSyntax)) return;
  HealthCheck hc;
  auto kind = ctx.choice(d.args[0], {"tcp", "http"}, "health check kind");
  if (!kind) return;
  hc.kind = *kind == 0 ? HealthCheck::Kind::tcp : HealthCheck::Kind::http;
  const std::vector<std::string> opts = {"host", "interval", "timeout", "rise", "fall"};
  size_t i = 1;
  auto is_opt = [&](const std::string& s) { return std::find(opts.begin(), opts.end(), s) != opts.end(); };
  if (i < d.args.size() && !is_opt(d.args[i].text)) {
    if (hc.kind == HealthCheck::Kind::tcp) {
      ctx.error(d.args[i].loc, "unexpected '" + d.args[i].text + "': a tcp health check takes no METHOD PATH" +
                                   did_you_mean(d.args[i].text, opts));
      return;
    }
    const Arg& m = d.args[i];
    bool ok = !m.text.empty() && m.text.size() <= 16;
    for (char c : m.text) ok = ok && c >= 'A' && c <= 'Z';
    if (!ok && !closest(m.text, opts).empty()) {
      ctx.error(m.loc, "unknown health-check option '" + m.text + "'" + did_you_mean(m.text, opts));
      return;
    }
    if (!ok) {
      ctx.error(m.loc, "invalid HTTP method '" + m.text + "' (upper-case letters, e.g. GET)");
      return;
    }
    if (i + 1 >= d.args.size()) {
      ctx.error(d.end_loc(), "missing PATH after the method: expected '" + std::string(kHealthSyntax) + "'");
      return;
    }
    const Arg& p = d.args[i + 1];
    if (p.text.empty() || p.text[0] != '/') {
      ctx.error(p.loc, "invalid health check path '" + p.text + "': it must start with '/'");
      return;
    }
    hc.method = m.text;
    hc.path = p.text;
    i += 2;
  }
  std::vector<std::string> seen;
  for (; i < d.args.size(); i += 2) {
    const Arg& o = d.args[i];
    if (!is_opt(o.text)) {
      ctx.error(o.loc, "unknown health-check option '" + o.text + "'" + did_you_mean(o.text, opts));
      return;
    }
    if (std::find(seen.begin(), seen.end(), o.text) != seen.end()) {
      ctx.error(o.loc, "health-check option '" + o.text + "' is given twice");
      return;
    }
    seen.push_back(o.text);
    if (i + 1 >= d.args.size()) {
      ctx.error(d.end_loc(), "missing value after '" + o.text + "'");
      return;
    }
    const Arg& v = d.args[i + 1];
    if (o.text == "host") {
      if (hc.kind == HealthCheck::Kind::tcp) {
        ctx.error(o.loc, "'host' applies only to http health checks");
        return;
      }
      hc.host = v.text;
    } else if (o.text == "interval" || o.text == "timeout") {
      auto dur = ctx.duration(v);
      if (!dur) return;
      if (dur->count() == 0) {
        ctx.error(v.loc, "health-check " + o.text + " must be greater than 0");
        return;
      }
      (o.text == "interval" ? hc.interval : hc.timeout) = *dur;
    } else {
      auto n = ctx.integer(v, 1, 100);
      if (!n) return;
      (o.text == "rise" ? hc.rise : hc.fall) = static_cast<int>(*n);
    }
  }
  cur(dr).be.health = hc;
}

const char* kServerSyntax =
    "server NAME ADDR [weight N] [maxconn N] [backup] [disabled] [send-proxy|send-proxy-v2] [node NAME] [region NAME]";

void server(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 2, -1, kServerSyntax)) return;
  Server sv;
  sv.name = d.args[0].text;
  sv.loc = ctx.source_loc(d.args[0].loc);
  if (sv.name.empty()) {
    ctx.error(d.args[0].loc, "empty server name");
    return;
  }
  // A server line with a mistake still defines its name, so a duplicate is reported too.
  auto [first, fresh] = cur(dr).server_index.emplace(sv.name, cur(dr).server_names.size());
  if (!fresh) {
    ctx.error(d.args[0].loc, "duplicate server '" + sv.name + "' in backend '" + cur(dr).be.name + "'");
    ctx.note(cur(dr).server_names[first->second].loc, "first defined here");
    return;
  }
  cur(dr).server_names.push_back(d.args[0]);
  auto a = ctx.address(d.args[1]);
  if (!a) return;
  if (a->port == 0) {
    ctx.error(d.args[1].loc, "server port must be 1..65535");
    return;
  }
  if (a->host.empty()) {
    ctx.error(d.args[1].loc, "server address needs an IP, e.g. 127.0.0.1:" + std::to_string(a->port));
    return;
  }
  sv.addr = *a;
  const std::vector<std::string> opts = {"weight", "maxconn", "backup", "disabled", "send-proxy",
                                         "send-proxy-v2", "node", "region", "proto", "ca-file", "verify", "sni"};
  std::vector<std::string> seen;
  for (size_t i = 2; i < d.args.size(); ++i) {
    const Arg& o = d.args[i];
    if (std::find(opts.begin(), opts.end(), o.text) == opts.end()) {
      static const std::map<std::string, std::string> kHaproxy = {
          {"check", "health checks are set per backend: 'health-check tcp|http ...'"},
          {"inter", "the check interval is 'health-check ... interval D'"},
          {"ssl", "TLS to a server is 'proto h2' (with 'ca-file', 'verify', 'sni')"},
      };
      auto h = kHaproxy.find(o.text);
      ctx.error(o.loc, "unknown server option '" + o.text + "'" +
                           (h != kHaproxy.end() ? " (HAProxy habit: in Ferry " + h->second + ")"
                                                                      : did_you_mean(o.text, opts)));
      return;
    }
    std::string key = o.text.rfind("send-proxy", 0) == 0 ? "send-proxy" : o.text;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      ctx.error(o.loc, "server option '" + o.text + "' is given twice" +
                           (key == "send-proxy" ? std::string(" (send-proxy and send-proxy-v2 exclude each other)") : ""));
      return;
    }
    seen.push_back(key);
    if (o.text == "backup") sv.backup = true;
    else if (o.text == "disabled") sv.disabled = true;
    else if (o.text == "send-proxy") sv.send_proxy = ProxyProtocol::v1;
    else if (o.text == "send-proxy-v2") sv.send_proxy = ProxyProtocol::v2;
    else {
      if (i + 1 >= d.args.size()) {
        ctx.error(d.end_loc(), "missing value after '" + o.text + "'");
        return;
      }
      const Arg& v = d.args[++i];
      if (o.text == "weight") {
        auto n = ctx.integer(v, 0, 256);
        if (!n) return;
        sv.weight = static_cast<int>(*n);
      } else if (o.text == "proto") {
        auto p = ctx.choice(v, {"h1", "h2c", "h2"}, "proto");
        if (!p) return;
        sv.proto = static_cast<UpstreamProto>(*p);
      } else if (o.text == "ca-file") {
        sv.ca_file = input_path(ctx, v);
      } else if (o.text == "verify") {
        auto p = ctx.choice(v, {"none", "required"}, "verify");
        if (!p) return;
        sv.verify = *p == 1;
      } else if (o.text == "sni") {
        sv.sni = v.text;
      } else if (o.text == "maxconn") {
        auto n = ctx.integer(v, 0, 1'000'000);
        if (!n) return;
        sv.maxconn = static_cast<int>(*n);
      } else {
        (o.text == "node" ? sv.node : sv.region) = v.text;
      }
    }
  }
  std::optional<Arg> node_arg;
  for (size_t i = 2; i + 1 < d.args.size(); ++i)
    if (d.args[i].text == "node") node_arg = d.args[i + 1];
  const bool h2 = sv.proto != UpstreamProto::http1;
  if (h2 && sv.send_proxy != ProxyProtocol::none) {
    ctx.error(d.args[0].loc, "server '" + sv.name + "': send-proxy cannot be combined with HTTP/2 ('proto h2c|h2': one "
                             "connection carries requests of many clients)");
    return;
  }
  if (sv.proto != UpstreamProto::h2 && (!sv.ca_file.empty() || !sv.verify || !sv.sni.empty())) {
    ctx.error(d.args[0].loc, "server '" + sv.name + "': ca-file, verify and sni apply to TLS servers ('proto h2') only");
    return;
  }
  cur(dr).be.servers.push_back(sv);
  cur(dr).server_nodes.push_back(node_arg);
}

// Pass names.
void index_backends(Resolution& r) {
  r.cfg.backend_index = index_names(r.ctx, r.dr.backends, "backend");
  r.backend_names = names_of(r.dr.backends);
}

// Pass own: values inherited from defaults.
void resolve_backends(Resolution& r) {
  for (auto& b : r.dr.backends) {
    Backend& be = b.be;
    be.timeouts = inherit(r.dr.defaults.timeouts, b.timeouts);
    be.retries = b.retries.value_or(r.dr.defaults.retries.value_or(be.retries));
    be.balance = b.balance.value_or(r.dr.defaults.balance.value_or(be.balance));
    if (be.servers.empty() && !be.catalog) r.ctx.warning(b.name.loc, "backend '" + be.name + "' has no servers");
  }
}

// Pass links (the mesh's own pass is done): a server on another node names a mesh peer, and
// the hosting node decides its proto and send-proxy. A server hosted here gets this node's
// region; a remote one its peer's.
void resolve_server_nodes(Resolution& r) {
  Config& cfg = r.cfg;
  std::vector<std::string> peer_names;
  if (r.dr.mesh)
    for (const auto& p : r.dr.mesh->mesh.peers) peer_names.push_back(p.name);
  for (auto& b : r.dr.backends)
    for (size_t i = 0; i < b.be.servers.size(); ++i) {
      Server& sv = b.be.servers[i];
      if (sv.node.empty() || sv.node == cfg.global.node) {  // hosted here
        sv.node.clear();
        if (sv.region.empty()) sv.region = cfg.global.region;
        continue;
      }
      const Arg& at = *b.server_nodes[i];  // `node` is set, so its argument is there
      if (!cfg.mesh) {
        r.ctx.error(at.loc, "server '" + sv.name + "': 'node " + sv.node + "' needs a 'mesh' section with 'peer " +
                                sv.node + "' (instances on other nodes are reached over the mesh)");
        continue;
      }
      sv.peer = lookup(r.ctx, at, cfg.mesh->peer_index, peer_names, "mesh peer");
      if (sv.peer < 0) continue;
      if (sv.region.empty()) sv.region = cfg.mesh->peers[sv.peer].region;
      if (sv.proto != UpstreamProto::http1 || sv.send_proxy != ProxyProtocol::none)
        r.ctx.error(at.loc, "server '" + sv.name + "' is on node '" + sv.node + "': proto and send-proxy are the "
                            "hosting node's business (the backhaul carries the request to it)");
    }
}

}  // namespace

void register_section_backend(Registry& r) {
  SectionSpec s;
  s.kind = "backend";
  s.takes_name = true;
  s.begin = [](Ctx& ctx, const Section& sec, const Arg& name, Draft& dr) {
    BackendDraft b;
    b.name = name;
    b.loc = sec.kind.loc;
    b.be.name = name.text;
    b.be.loc = ctx.source_loc(sec.kind.loc);
    dr.backends.push_back(std::move(b));
  };
  s.directives = {
      balance_spec([](Draft& d) -> std::optional<Balance>& { return cur(d).balance; }),
      {"health-check", health_check},
      {"eject-after", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "eject-after N")) return;
         if (auto n = ctx.integer(d.args[0], 0, 1000)) cur(dr).be.passive.consecutive_failures = static_cast<int>(*n);
       }},
      {"eject-time", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "eject-time DURATION")) return;
         if (auto v = ctx.duration(d.args[0])) cur(dr).be.passive.eject_time = *v;
       }},
      {"server", server, R::many},
      timeout_spec([](Draft& d) -> TimeoutSet& { return cur(d).timeouts; },
                   {kClient, kHttpRequest, kHttpKeepAlive, kDrain}, false),
      retries_spec([](Draft& d) -> std::optional<int>& { return cur(d).retries; }),
      {"pool-max-idle", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "pool-max-idle N")) return;
         if (auto n = ctx.integer(d.args[0], 0, 100'000)) cur(dr).be.pool_max_idle = static_cast<uint32_t>(*n);
       }},
      {"pool-idle-timeout", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "pool-idle-timeout DURATION")) return;
         if (auto v = ctx.duration(d.args[0])) cur(dr).be.pool_idle_timeout = *v;
       }},
      {"instances", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "instances static|catalog")) return;
         if (auto k = ctx.choice(d.args[0], {"static", "catalog"}, "instance source"))
           cur(dr).be.catalog = *k == 1;
       }},
  };
  s.resolve = {
      {Pass::names, index_backends},
      {Pass::own, resolve_backends},
      {Pass::links, resolve_server_nodes},
      {Pass::freeze, [](Resolution& r) {
         for (auto& b : r.dr.backends) r.cfg.backends.push_back(std::move(b.be));
       }},
  };
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
