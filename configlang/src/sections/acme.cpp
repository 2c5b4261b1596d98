// `acme` section: the ACME CA that issues the certificates of apps with `certificate acme`
// (at most one section), and its resolve hook: an acme app needs this section, hosts, no
// wildcard; the challenge needs the right kind of bind.
#include "resolve.h"
#include "sections/common.h"

namespace ferry::config::detail {

namespace {

AcmeDraft& cur(Draft& d) { return *d.acme; }

// The CA's directory URL: RFC 8555 §6.1 requires HTTPS.
void directory(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "directory URL")) return;
  const Arg& a = d.args[0];
  if (a.text.rfind("https://", 0) != 0 || a.text.size() <= 8) {
    ctx.error(a.loc, "invalid ACME directory '" + a.text + "': expected an https:// URL (RFC 8555 requires HTTPS)");
    return;
  }
  if (a.text.find_first_of(" \t\"<>") != std::string::npos) {
    ctx.error(a.loc, "invalid ACME directory '" + a.text + "': the URL contains a blank or one of \"<>");
    return;
  }
  cur(dr).acme.directory = a.text;
  cur(dr).directory_arg = a;
}

void email(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "email ADDR")) return;
  const Arg& a = d.args[0];
  std::string addr = a.text.rfind("mailto:", 0) == 0 ? a.text.substr(7) : a.text;
  size_t at = addr.find('@');
  bool ok = at != std::string::npos && at > 0 && at + 1 < addr.size() && addr.find('@', at + 1) == std::string::npos;
  for (char c : addr) ok = ok && c > ' ' && c < 0x7f && c != ',' && c != '<' && c != '>' && c != '"';
  if (!ok) {
    ctx.error(a.loc, "invalid email address '" + a.text + "' (expected local@domain)");
    return;
  }
  cur(dr).acme.email = addr;
}

void challenge(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "challenge tls-alpn-01|http-01")) return;
  auto c = ctx.choice(d.args[0], {"tls-alpn-01", "http-01"}, "ACME challenge");
  if (!c) return;
  cur(dr).acme.challenge = *c == 1 ? AcmeChallenge::http_01 : AcmeChallenge::tls_alpn_01;
  cur(dr).challenge_arg = d.args[0];
}

void ca_bundle(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "ca-bundle PATH")) return;
  if (d.args[0].text.empty()) {
    ctx.error(d.args[0].loc, "empty ca-bundle path");
    return;
  }
  cur(dr).acme.ca_bundle = input_path(ctx, d.args[0]);
}

// Pass links: the section needs a directory; an app with `certificate acme` needs the section,
// at least one host, and no wildcard (TLS-ALPN-01 cannot validate one, RFC 8737 §3).
void resolve_acme(Resolution& r) {
  Draft& dr = r.dr;
  Ctx& ctx = r.ctx;
  if (dr.acme) {
    if (!dr.acme->directory_arg)
      ctx.error(dr.acme->loc, "the 'acme' section needs 'directory URL' (the ACME server's directory, e.g. "
                              "https://acme-v02.api.letsencrypt.org/directory)");
    r.cfg.acme = dr.acme->acme;
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
}

}  // namespace

void register_section_acme(Registry& r) {
  SectionSpec s;
  s.kind = "acme";
  s.begin = [](Ctx& ctx, const Section& sec, const Arg&, Draft& draft) {
    if (draft.acme) {
      ctx.error(sec.kind.loc, "duplicate 'acme' section (only one is allowed)");
      ctx.note(draft.acme->loc, "first defined here");
      return;  // the directives below fill the first section; its errors still show
    }
    draft.acme.emplace();
    draft.acme->loc = sec.kind.loc;
    draft.acme->acme.loc = ctx.source_loc(sec.kind.loc);
  };
  s.directives = {
      {"directory", directory},
      {"email", email},
      {"challenge", challenge},
      {"ca-bundle", ca_bundle},
  };
  s.resolve = {{Pass::links, resolve_acme}};
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
