// `frontend NAME` sections: listeners. App references are resolved in resolve.cpp.
#include "sections/common.h"
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
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
