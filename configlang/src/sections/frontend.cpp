// `frontend NAME` sections: listeners and request rules (sections/rules.h) for all their apps;
// their resolve hooks: app references, mode rules, bind conflicts.
#include "resolve.h"
#include "sections/common.h"
#include "sections/rules.h"
#include "suggest.h"

namespace ferry::config::detail {

namespace {

using R = DirectiveSpec::Repeat;
FrontendDraft& cur(Draft& d) { return d.frontends.back(); }

void bind(Ctx& ctx, const Directive& d, Draft& dr) {
  const std::string syntax = "bind ADDR [tls] [accept-proxy]";
  if (!ctx.arity(d, 1, 3, syntax)) return;
  auto a = ctx.address(d.args[0]);
  Bind b;
  bool ok = a.has_value();
  for (size_t i = 1; i < d.args.size(); ++i) {
    const Arg& o = d.args[i];
    bool& flag = o.text == "tls" ? b.tls : b.accept_proxy;
    if (o.text != "tls" && o.text != "accept-proxy") {
      ctx.error(o.loc, "unknown bind option '" + o.text + "' (expected tls or accept-proxy)" +
                           did_you_mean(o.text, {"tls", "accept-proxy"}));
      ok = false;
    } else if (flag) {
      ctx.error(o.loc, "bind option '" + o.text + "' is given twice");
      ok = false;
    }
    flag = true;
    if (o.text == "accept-proxy" && !cur(dr).accept_proxy_loc) cur(dr).accept_proxy_loc = o.loc;
  }
  if (!ok) return;
  b.addr = *a;
  b.loc = ctx.source_loc(d.args[0].loc);
  cur(dr).fe.binds.push_back(b);
  cur(dr).bind_args.push_back(d.args[0]);
}

void app_ref(Ctx& ctx, const Directive& d, Draft& dr, bool is_default) {
  if (!ctx.arity(d, 1, 1, is_default ? "default-app NAME" : "app NAME")) return;
  (is_default ? cur(dr).default_app_ref : cur(dr).app_ref) = d.args[0];
}

// Pass own: inheritance, app references, mode consistency. An app's mode decides how it is
// routed: http apps by Host on http frontends, tcp apps by SNI on `route sni` frontends.
void resolve_frontends(Resolution& r) {
  Draft& dr = r.dr;
  Ctx& ctx = r.ctx;
  bool any_tcp_app_host = false;  // some `mode tcp` app has hosts (a `route sni` target)
  for (const auto& a : dr.apps) any_tcp_app_host = any_tcp_app_host || (a.app.mode == Mode::tcp && !a.app.hosts.empty());
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
      if (f.app_ref) fe.app = lookup(ctx, *f.app_ref, r.cfg.app_index, r.app_names, "app");
      else if (!fe.route_sni) ctx.error(f.name.loc, "tcp " + who + " needs 'app NAME' (the app its connections go to) or 'route sni'");
      if (fe.route_sni) {
        if (fe.app >= 0 && dr.apps[fe.app].app.mode != Mode::tcp)
          ctx.error(f.app_ref->loc, "app '" + f.app_ref->text + "' is an http app: the default app of a 'route sni' "
                                    "frontend receives TLS connections unchanged, so it must be 'mode tcp'");
        if (fe.app < 0 && !any_tcp_app_host)
          ctx.warning(f.route_arg->loc, who + " routes by SNI but no 'mode tcp' app has hosts and there is no "
                                        "'app NAME': it refuses every connection");
      }
    } else {
      if (f.route_arg)
        ctx.error(f.route_arg->loc, "'route sni' is for tcp frontends (TLS passthrough, needs 'mode tcp'); an http "
                                    "frontend routes by Host and terminates TLS on 'bind ... tls'");
      if (f.app_ref)
        ctx.error(f.app_ref->loc, "'app' is for tcp frontends; in an http frontend apps are picked by Host, "
                                  "use 'default-app " + f.app_ref->text + "' for requests no app's hosts match");
      if (f.default_app_ref) fe.app = lookup(ctx, *f.default_app_ref, r.cfg.app_index, r.app_names, "app");
      if (fe.app >= 0 && dr.apps[fe.app].app.mode != Mode::http)
        ctx.error(f.default_app_ref->loc, "app '" + f.default_app_ref->text + "' is a tcp app (TLS passthrough): "
                                          "it cannot be the default-app of an http frontend");
    }
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
}

// Pass own, after resolve_frontends: the same address:port (or a wildcard and a specific
// address on one port) bound twice. Only binds on one port can conflict: indexed by port
// (linear in the number of binds).
void check_bind_conflicts(Resolution& r) {
  struct Seen { const Address* addr; const Arg* arg; const std::string* fe; };
  std::unordered_map<uint16_t, std::vector<Seen>> seen_by_port;
  for (auto& f : r.dr.frontends)
    for (size_t i = 0; i < f.fe.binds.size(); ++i) {
      const Address& a = f.fe.binds[i].addr;
      const Arg& arg = f.bind_args[i];
      if (a.port == 0) continue;  // an ephemeral port conflicts with nothing
      std::vector<Seen>& seen = seen_by_port[a.port];
      for (const auto& s : seen)
        if (binds_conflict(a, *s.addr)) {
          r.ctx.error(arg.loc, "bind " + arg.text + " conflicts with bind " + s.arg->text + " of frontend '" + *s.fe + "'");
          r.ctx.note(s.arg->loc, "first bound here");
          break;
        }
      seen.push_back({&a, &arg, &f.fe.name});
    }
}

}  // namespace

void register_section_frontend(Registry& r) {
  SectionSpec s;
  s.kind = "frontend";
  s.takes_name = true;
  s.begin = [](Ctx& ctx, const Section& sec, const Arg& name, Draft& dr) {
    FrontendDraft f;
    f.name = name;
    f.loc = sec.kind.loc;
    f.fe.name = name.text;
    f.fe.loc = ctx.source_loc(sec.kind.loc);
    dr.frontends.push_back(std::move(f));
  };
  s.directives = {
      {"bind", bind, R::many},
      {"mode", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "mode http|tcp")) return;
         if (auto m = ctx.choice(d.args[0], {"http", "tcp"}, "mode")) cur(dr).fe.mode = static_cast<Mode>(*m);
       }},
      {"route", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "route sni")) return;
         if (ctx.choice(d.args[0], {"sni"}, "route")) {
           cur(dr).fe.route_sni = true;
           cur(dr).route_arg = d.keyword;
         }
       }},
      {"app", [](Ctx& ctx, const Directive& d, Draft& dr) { app_ref(ctx, d, dr, false); }},
      {"default-app", [](Ctx& ctx, const Directive& d, Draft& dr) { app_ref(ctx, d, dr, true); }},
      timeout_spec([](Draft& d) -> TimeoutSet& { return cur(d).timeouts; }, {kConnect, kServer, kQueue}, false),
      {"default-certificate", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "default-certificate PATH")) return;
         if (d.args[0].text.empty()) {
           ctx.error(d.args[0].loc, "empty certificate path");
           return;
         }
         cur(dr).fe.default_certificate = input_path(ctx, d.args[0]);
         cur(dr).fe.default_certificate_loc = ctx.source_loc(d.args[0].loc);
         cur(dr).default_certificate_arg = d.args[0];
       }},
      {"trust-forwarded", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, -1, "trust-forwarded CIDR...")) return;
         for (const auto& a : d.args)
           if (auto c = ctx.cidr(a)) cur(dr).fe.trusted.push_back(*c);
       }, R::many},
      {"proxy-senders", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!cur(dr).proxy_senders_kw) cur(dr).proxy_senders_kw = d.keyword.loc;
         if (!ctx.arity(d, 1, -1, "proxy-senders CIDR...")) return;
         for (const auto& a : d.args)
           if (auto c = ctx.cidr(a)) cur(dr).fe.proxy_senders.push_back(*c);
       }, R::many},
  };
  for (auto& l : http_limit_specs([](Draft& d) -> LimitsSet& { return cur(d).limits; }))
    s.directives.push_back(std::move(l));
  for (auto& l : rule_specs([](Draft& d) -> RulesDraft& { return cur(d).rules; })) s.directives.push_back(std::move(l));
  s.resolve = {
      {Pass::names, [](Resolution& r) { r.cfg.frontend_index = index_names(r.ctx, r.dr.frontends, "frontend"); }},
      {Pass::own, resolve_frontends},
      {Pass::own, [](Resolution& r) {
         for (auto& f : r.dr.frontends)
           resolve_rules(r, f.rules, f.fe.rules, "frontend '" + f.fe.name + "'", f.fe.mode == Mode::tcp);
       }},
      {Pass::own, check_bind_conflicts},
      {Pass::freeze, [](Resolution& r) {
         for (auto& f : r.dr.frontends) r.cfg.frontends.push_back(std::move(f.fe));
       }},
  };
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
