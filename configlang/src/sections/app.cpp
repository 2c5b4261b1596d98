// `app NAME` sections: host names, the backend serving them, per-app limits, request rules
// (sections/rules.h); their resolve hooks: backend and replay-to references, hosts unique
// across apps, dedicated anycast ips, apps no frontend reaches.
#include <algorithm>
#include <map>

#include "resolve.h"
#include "sections/common.h"
#include "sections/rules.h"
#include "suggest.h"
#include "values.h"

namespace ferry::config::detail {

namespace {

using R = DirectiveSpec::Repeat;
AppDraft& cur(Draft& d) { return d.apps.back(); }

const char* kConcurrencySyntax = "concurrency [soft N] [hard M] [queue Q]";

void concurrency(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 2, 6, kConcurrencySyntax)) return;
  const std::vector<std::string> opts = {"soft", "hard", "queue"};
  std::optional<int> vals[3];
  Loc locs[3];
  for (size_t i = 0; i < d.args.size(); i += 2) {
    const Arg& o = d.args[i];
    auto it = std::find(opts.begin(), opts.end(), o.text);
    if (it == opts.end()) {
      ctx.error(o.loc, "unknown concurrency option '" + o.text + "' (expected soft, hard or queue)" +
                           did_you_mean(o.text, opts));
      return;
    }
    size_t k = static_cast<size_t>(it - opts.begin());
    if (vals[k]) {
      ctx.error(o.loc, "concurrency option '" + o.text + "' is given twice");
      return;
    }
    if (i + 1 >= d.args.size()) {
      ctx.error(d.end_loc(), "missing value after '" + o.text + "': expected '" + kConcurrencySyntax + "'");
      return;
    }
    auto n = ctx.integer(d.args[i + 1], 0, 1'000'000);
    if (!n) return;
    vals[k] = static_cast<int>(*n);
    locs[k] = d.args[i + 1].loc;
  }
  if (vals[0] && vals[1] && *vals[0] > *vals[1]) {
    ctx.error(locs[0], "concurrency soft " + std::to_string(*vals[0]) + " is above hard " + std::to_string(*vals[1]));
    return;
  }
  if (vals[2] && !vals[1]) {
    ctx.error(locs[2], "concurrency queue needs a hard limit: requests queue only above 'hard M'");
    return;
  }
  Concurrency& c = cur(dr).app.concurrency;
  c.soft = vals[0].value_or(0);
  c.hard = vals[1].value_or(0);
  c.queue = vals[2].value_or(0);
}

// `autostart URL|COMMAND [ARG...]`: a webhook (http:// or https://) or a command.
void autostart(Ctx& ctx, const Directive& d, Draft& dr) {
  cur(dr).autostart_kw = d.keyword.loc;
  if (!ctx.arity(d, 1, -1, "autostart URL|COMMAND [ARG...]")) return;
  App& app = cur(dr).app;
  const std::string& first = d.args[0].text;
  if (first.rfind("http://", 0) == 0 || first.rfind("https://", 0) == 0) {
    const size_t host_at = first.find("://") + 3;
    const size_t host_end = first.find_first_of("/?#", host_at);
    if (d.args.size() > 1) {
      ctx.error(d.args[1].loc, "a webhook takes no arguments (the request's JSON body names the app)");
      return;
    }
    if (host_end == host_at || first.size() == host_at || first.find_first_of(" \t\"<>") != std::string::npos) {
      ctx.error(d.args[0].loc, "invalid autostart URL '" + first + "': expected http[s]://HOST[:PORT]/PATH");
      return;
    }
    app.autostart_url = first;
    return;
  }
  if (first.empty()) {
    ctx.error(d.args[0].loc, "empty autostart command");
    return;
  }
  for (const auto& a : d.args) app.autostart_command.push_back(a.text);
  // A bare program name is looked up on PATH when it runs (as execvp does); a path is the
  // config's, like certificate paths.
  if (first.find('/') != std::string::npos) app.autostart_command[0] = resolve_path(ctx, d.args[0]);
}

// `autostop IDLE [keep N]`.
void autostop(Ctx& ctx, const Directive& d, Draft& dr) {
  cur(dr).autostop_kw = d.keyword.loc;
  if (!ctx.arity(d, 1, 3, "autostop IDLE [keep N]")) return;
  auto idle = ctx.duration(d.args[0]);
  if (!idle) return;
  if (*idle < std::chrono::seconds(1)) {
    ctx.error(d.args[0].loc, "autostop IDLE must be at least 1s");
    return;
  }
  int keep = 0;
  if (d.args.size() > 1) {
    if (d.args[1].text != "keep") {
      ctx.error(d.args[1].loc, "unknown autostop option '" + d.args[1].text + "' (expected 'keep N')");
      return;
    }
    if (d.args.size() < 3) {
      ctx.error(d.end_loc(), "missing value after 'keep': expected 'autostop IDLE [keep N]'");
      return;
    }
    auto n = ctx.integer(d.args[2], 0, 1'000'000);
    if (!n) return;
    keep = static_cast<int>(*n);
  }
  cur(dr).app.autostop_idle = *idle;
  cur(dr).app.autostop_keep = keep;
}

// Pass links, after resolve_apps: scale-to-zero needs an http app whose backend takes the
// catalog's instances (a started instance is what a held request waits for), and autostop
// the autostart hook (the same hook stops instances).
void check_autoscale(Resolution& r) {
  for (const AppDraft& a : r.dr.apps) {
    const App& app = a.app;
    if (a.autostop_kw && !app.autostart())
      r.ctx.error(*a.autostop_kw, "'autostop' needs 'autostart URL|COMMAND' in app '" + app.name +
                                      "': the same hook is asked to stop idle instances");
    if (a.autostart_timeout_kw && !a.autostart_kw)
      r.ctx.warning(*a.autostart_timeout_kw, "'autostart-timeout' has no effect without 'autostart'");
    if (!a.autostart_kw || !app.autostart()) continue;
    if (app.mode == Mode::tcp) {
      r.ctx.error(*a.autostart_kw, "'autostart' applies to http apps (a tcp app's connections are not held)");
      continue;
    }
    if (app.backend >= 0 && !r.dr.backends[static_cast<size_t>(app.backend)].be.catalog)
      r.ctx.error(*a.autostart_kw, "'autostart' in app '" + app.name + "' needs 'instances catalog' in backend '" +
                                       r.dr.backends[static_cast<size_t>(app.backend)].be.name +
                                       "': the hook's instance registers in the live catalog");
  }
}

// Pass names.
void index_apps(Resolution& r) {
  r.cfg.app_index = index_names(r.ctx, r.dr.apps, "app");
  r.app_names = names_of(r.dr.apps);
}

// Pass links: `app ... ip` must name a dedicated (not shared) anycast address; one app per IP.
void check_dedicated_ips(Resolution& r) {
  const Draft& dr = r.dr;
  std::map<std::string, const Arg*> app_ips;
  for (auto& a : dr.apps) {
    if (!a.ip_arg) continue;
    auto [it, fresh] = app_ips.emplace(a.app.ip, &*a.ip_arg);
    if (!fresh) {
      r.ctx.error(a.ip_arg->loc, "ip " + a.app.ip + " is already dedicated to another app");
      r.ctx.note(it->second->loc, "first dedicated here");
      continue;
    }
    for (size_t i = 0; i < dr.anycast.size(); ++i)
      if (dr.anycast[i].cidr.network == a.app.ip && dr.anycast[i].shared) {
        r.ctx.error(a.ip_arg->loc, "app '" + a.app.name + "': ip " + a.app.ip + " is a 'shared' anycast address (routed by "
                                   "Host/SNI among many apps); a dedicated ip needs an anycast address without 'shared'");
        r.ctx.note(dr.anycast_args[i].loc, "declared shared here");
      }
  }
}

// Pass links, after check_dedicated_ips: backend reference, mode rules, replay-to, hosts
// unique across apps.
void resolve_apps(Resolution& r) {
  Draft& dr = r.dr;
  Ctx& ctx = r.ctx;
  std::map<std::string, std::pair<size_t, const Arg*>> hosts;
  for (size_t ai = 0; ai < dr.apps.size(); ++ai) {
    AppDraft& a = dr.apps[ai];
    App& app = a.app;
    app.max_body_size = a.max_body_size.value_or(dr.defaults.max_body_size.value_or(0));
    if (a.backend_ref) app.backend = lookup(ctx, *a.backend_ref, r.cfg.backend_index, r.backend_names, "backend");
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
      int idx = lookup(ctx, t, r.cfg.app_index, r.app_names, "app");
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
}

// Pass links: `frontends` names (and the frontends whose `app`/`default-app` an app's scope
// leaves out), `hsts` only where TLS can reach, and automatic HTTPS: the port plain requests
// are redirected to (a `tls` bind of an http frontend that reaches the app, 443 preferred).
void resolve_app_frontends(Resolution& r) {
  Draft& dr = r.dr;
  Ctx& ctx = r.ctx;
  std::vector<std::string> fe_names;
  for (const auto& f : dr.frontends) fe_names.push_back(f.fe.name);
  for (size_t ai = 0; ai < dr.apps.size(); ++ai) {
    AppDraft& a = dr.apps[ai];
    App& app = a.app;
    for (const Arg& n : a.frontend_args) {
      const int fi = lookup(ctx, n, r.cfg.frontend_index, fe_names, "frontend");
      if (fi >= 0 && std::find(app.frontends.begin(), app.frontends.end(), fi) == app.frontends.end())
        app.frontends.push_back(fi);
    }
    auto reaches = [&](size_t fi) {
      return app.frontends.empty() || std::find(app.frontends.begin(), app.frontends.end(), int(fi)) != app.frontends.end();
    };
    for (size_t fi = 0; fi < dr.frontends.size(); ++fi) {
      const FrontendDraft& f = dr.frontends[fi];
      const std::optional<Arg>& ref = f.fe.mode == Mode::tcp ? f.app_ref : f.default_app_ref;
      if (f.fe.app == static_cast<int>(ai) && ref && !reaches(fi)) {
        ctx.error(ref->loc, "app '" + app.name + "' is not reached through frontend '" + f.fe.name +
                                "': its 'frontends' leaves this frontend out");
        ctx.note(a.frontend_args.front().loc, "scoped here");
      }
    }
    // The port of a `tls` bind through which the app is reached (443 if there is one; a
    // port-0 bind has none to name yet).
    uint16_t tls_port = 0;
    for (size_t fi = 0; fi < dr.frontends.size(); ++fi) {
      const Frontend& fe = dr.frontends[fi].fe;
      if (fe.mode != Mode::http || !reaches(fi)) continue;
      for (const Bind& b : fe.binds)
        if (b.tls && b.addr.port != 0 && (tls_port == 0 || b.addr.port == 443)) tls_port = b.addr.port;
    }
    if (app.mode == Mode::tcp) {
      if (a.https_redirect_arg) ctx.error(a.https_redirect_arg->loc, "'https-redirect' is for http apps");
      if (a.hsts_kw) ctx.error(*a.hsts_kw, "'hsts' is for http apps (a tcp app's TLS passes through)");
      continue;
    }
    if (a.hsts_kw && tls_port == 0)
      ctx.warning(*a.hsts_kw, "'hsts' has no effect: no http frontend reaching app '" + app.name + "' has a 'tls' bind");
    if (a.https_redirect.value_or(false) && tls_port == 0) {
      ctx.error(a.https_redirect_arg->loc, "https-redirect on: no http frontend reaching app '" + app.name +
                                               "' has a 'tls' bind to redirect to");
      continue;
    }
    // Default: on for an app with a certificate (the HTTPS side is really there for it).
    if (a.https_redirect.value_or(!app.certificate.empty())) app.https_port = tls_port;
  }
}

// Pass post: an app no frontend reaches (with a mesh, edges reach every app through the
// backhaul).
void warn_unreachable_apps(Resolution& r) {
  const Draft& dr = r.dr;
  std::vector<bool> app_used(dr.apps.size(), false);
  bool any_http_frontend = false, any_sni_frontend = false;
  for (const auto& f : dr.frontends) {
    if (f.fe.app >= 0) app_used[f.fe.app] = true;
    if (f.fe.mode != Mode::tcp) any_http_frontend = true;
    else if (f.fe.route_sni) any_sni_frontend = true;
  }
  for (size_t ai = 0; ai < dr.apps.size(); ++ai) {
    const App& app = dr.apps[ai].app;
    const bool tcp = app.mode == Mode::tcp;
    bool reachable = app_used[ai] || dr.mesh || (!app.hosts.empty() && (tcp ? any_sni_frontend : any_http_frontend));
    if (!reachable)
      r.ctx.warning(dr.apps[ai].name.loc, "app '" + app.name + "' is not used by any frontend " +
                                          (tcp ? "(no tcp frontend's 'app', and no hosts routed by a 'route sni' frontend)"
                                               : "(no tcp frontend's 'app', no 'default-app', and no hosts served by an http frontend)"));
  }
}

}  // namespace

void register_section_app(Registry& r) {
  SectionSpec s;
  s.kind = "app";
  s.takes_name = true;
  s.begin = [](Ctx& ctx, const Section& sec, const Arg& name, Draft& dr) {
    AppDraft a;
    a.name = name;
    a.loc = sec.kind.loc;
    a.app.name = name.text;
    a.app.loc = ctx.source_loc(sec.kind.loc);
    dr.apps.push_back(std::move(a));
  };
  s.directives = {
      {"hosts", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, -1, "hosts HOST...")) return;
         for (const auto& a : d.args) {
           std::string why;
           auto h = parse_host_pattern(a.text, why);
           if (!h) {
             ctx.error(a.loc, why);
             continue;
           }
           cur(dr).app.hosts.push_back(*h);
           cur(dr).host_args.push_back(a);
         }
       }, R::many},
      {"backend", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "backend NAME")) return;
         cur(dr).backend_ref = d.args[0];
       }},
      {"mode", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "mode http|tcp")) return;
         if (auto m = ctx.choice(d.args[0], {"http", "tcp"}, "mode")) cur(dr).app.mode = static_cast<Mode>(*m);
       }},
      {"concurrency", concurrency},
      max_body_size_spec([](Draft& d) -> std::optional<uint64_t>& { return cur(d).max_body_size; }),
      {"certificate", [](Ctx& ctx, const Directive& d, Draft& dr) {
         cur(dr).certificate_kw = d.keyword.loc;
         if (!ctx.arity(d, 1, 1, "certificate acme|PATH")) return;
         if (d.args[0].text.empty()) {
           ctx.error(d.args[0].loc, "empty certificate path");
           return;
         }
         const Arg& arg = d.args[0];
         cur(dr).app.certificate = arg.text == "acme" ? arg.text : input_path(ctx, arg);
         cur(dr).app.certificate_loc = ctx.source_loc(arg.loc);
         cur(dr).certificate_arg = arg;
       }},
      {"ip", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "ip ADDR")) return;
         std::string why;
         auto c = parse_cidr(d.args[0].text, why);
         if (!c || d.args[0].text.find('/') != std::string::npos) {
           ctx.error(d.args[0].loc, "invalid app ip '" + d.args[0].text + "': expected an IPv4 or IPv6 address");
           return;
         }
         cur(dr).app.ip = c->network;
         cur(dr).ip_arg = d.args[0];
       }},
      {"allow-routing-hints", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 0, 0, "allow-routing-hints")) return;
         cur(dr).app.allow_routing_hints = true;
       }},
      {"replay-max-body", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "replay-max-body SIZE")) return;
         if (auto v = ctx.size(d.args[0])) {
           if (*v > (uint64_t{64} << 20)) ctx.error(d.args[0].loc, "replay-max-body is at most 64m (it is held in memory per request)");
           else cur(dr).app.replay_max_body = *v;
         }
       }},
      {"replay-to", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, -1, "replay-to APP...")) return;
         for (const auto& a : d.args) cur(dr).replay_to_args.push_back(a);
       }, R::many},
      {"frontends", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, -1, "frontends NAME...")) return;
         for (const auto& a : d.args) cur(dr).frontend_args.push_back(a);
       }, R::many},
      {"https-redirect", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "https-redirect on|off")) return;
         if (auto v = ctx.choice(d.args[0], {"on", "off"}, "https-redirect")) {
           cur(dr).https_redirect = *v == 0;
           cur(dr).https_redirect_arg = d.args[0];
         }
       }},
      {"hsts", [](Ctx& ctx, const Directive& d, Draft& dr) {
         cur(dr).hsts_kw = d.keyword.loc;
         if (!ctx.arity(d, 1, 3, "hsts MAX-AGE [include-subdomains] [preload]")) return;
         auto age = ctx.duration(d.args[0]);
         if (!age) return;
         std::string v = "max-age=" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*age).count());
         bool sub = false, preload = false;
         for (size_t i = 1; i < d.args.size(); ++i) {
           auto o = ctx.choice(d.args[i], {"include-subdomains", "preload"}, "hsts option");
           if (!o) return;
           (*o == 0 ? sub : preload) = true;
         }
         if (sub) v += "; includeSubDomains";
         if (preload) {
           v += "; preload";
           if (!sub || *age < std::chrono::hours(24 * 365))
             ctx.warning(d.args[0].loc, "browsers' preload lists require 'include-subdomains' and a max-age of at least 365d");
         }
         cur(dr).app.hsts = v;
       }},
      {"autostart", autostart},
      {"autostart-timeout", [](Ctx& ctx, const Directive& d, Draft& dr) {
         cur(dr).autostart_timeout_kw = d.keyword.loc;
         if (!ctx.arity(d, 1, 1, "autostart-timeout DURATION")) return;
         auto t = ctx.duration(d.args[0]);
         if (!t) return;
         if (*t < std::chrono::seconds(1) || *t > std::chrono::minutes(10))
           ctx.error(d.args[0].loc, "autostart-timeout must be between 1s and 10m");
         else cur(dr).app.autostart_timeout = *t;
       }},
      {"autostop", autostop},
      {"tls-min", [](Ctx& ctx, const Directive& d, Draft& dr) {
         cur(dr).tls_min_kw = d.keyword.loc;
         if (!ctx.arity(d, 1, 1, "tls-min 1.2|1.3")) return;
         if (auto v = ctx.choice(d.args[0], {"1.2", "1.3"}, "TLS version"))
           cur(dr).app.tls_min = *v == 0 ? TlsVersion::v1_2 : TlsVersion::v1_3;
       }},
  };
  for (auto& l : rule_specs([](Draft& d) -> RulesDraft& { return cur(d).rules; })) s.directives.push_back(std::move(l));
  // Remember where max-body-size was written (a tcp app cannot use it).
  for (auto& spec : s.directives)
    if (spec.keyword == "max-body-size")
      spec.handler = [inner = spec.handler](Ctx& ctx, const Directive& d, Draft& dr) {
        cur(dr).max_body_size_kw = d.keyword.loc;
        inner(ctx, d, dr);
      };
  s.resolve = {
      {Pass::names, index_apps},
      {Pass::own, [](Resolution& r) {
         for (auto& a : r.dr.apps) resolve_rules(r, a.rules, a.app.rules, "app '" + a.app.name + "'", a.app.mode == Mode::tcp);
       }},
      {Pass::links, check_dedicated_ips},
      {Pass::links, resolve_apps},
      {Pass::links, resolve_app_frontends},
      {Pass::links, check_autoscale},
      {Pass::post, warn_unreachable_apps},
      {Pass::freeze, [](Resolution& r) {
         for (auto& a : r.dr.apps) r.cfg.apps.push_back(std::move(a.app));
       }},
  };
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
