// `acme` section: the ACME CA that issues the certificates of apps with `certificate acme`
// (at most one section). Cross-section checks (an acme app needs this section, hosts, no
// wildcard) are in resolve.cpp.
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
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
