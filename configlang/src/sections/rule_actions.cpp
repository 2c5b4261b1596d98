// The action directives of request rules (`allow`, `deny`, `redirect`, `return`, `use-backend`,
// `request-header`, `response-header`, `rate-limit`, `strip-prefix`, `replace-prefix`,
// `basic-auth`) and the `auth-user` list that `basic-auth` checks, for `app` and `frontend`
// sections (sections/rules.h). Each action's arguments up to its `if`/`unless`; the condition
// itself is parsed by rules.cpp.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "ferry/util/password_hash.h"
#include "sections/common.h"
#include "sections/rules.h"
#include "suggest.h"
#include "values.h"

namespace ferry::config::detail {

namespace {

using R = DirectiveSpec::Repeat;
using Fn = std::function<RulesDraft&(Draft&)>;

// An action directive: `parse` reads the arguments before the condition (n of them) into the
// rule; then the condition, and the rule is added.
using ActionParser = std::function<bool(Ctx&, const Directive&, size_t n, Rule&, RulesDraft&)>;
DirectiveSpec action(const char* kw, Rule::Kind kind, Fn field, ActionParser parse) {
  auto h = [kind, field, parse](Ctx& ctx, const Directive& d, Draft& dr) {
    RulesDraft& rd = field(dr);
    if (!rd.first_kw) rd.first_kw = d.keyword.loc;
    const size_t n = cond_start(d);
    Rule rule;
    rule.kind = kind;
    // What `parse` records beside the rule (a use-backend's name, a basic-auth's realm) refers
    // to the rule about to be added: a rule dropped for an error takes it back with it.
    const size_t refs = rd.backend_refs.size(), realms = rd.basic_auth.size();
    if (!parse(ctx, d, n, rule, rd) || !condition(ctx, d, n, rd, rule)) {
      rd.backend_refs.resize(refs);
      rd.basic_auth.resize(realms);
      return;
    }
    rd.set.rules.push_back(std::move(rule));
  };
  return {kw, h, R::many};
}

bool exact_args(Ctx& ctx, const Directive& d, size_t n, size_t min, size_t max, const std::string& syntax) {
  if (n < min) {
    ctx.error(n < d.args.size() ? d.args[n].loc : d.end_loc(), "missing argument: expected '" + syntax + "'");
    return false;
  }
  if (n > max) {
    ctx.error(d.args[max].loc, "unexpected argument '" + d.args[max].text + "': expected '" + syntax + "'");
    return false;
  }
  return true;
}

std::optional<int> status_arg(Ctx& ctx, const Arg& a, int lo, int hi) {
  auto v = ctx.integer(a, lo, hi);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

// Header names Ferry itself states: a rule may not set or delete them.
bool reserved_request_field(const std::string& n) {
  static const char* kNames[] = {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te",
                                 "trailer", "keep-alive", "proxy-connection", "x-forwarded-for", "x-forwarded-proto",
                                 "x-forwarded-port", "via"};
  for (const char* k : kNames)
    if (n == k) return true;
  return n.rfind("ferry-", 0) == 0;
}
bool reserved_response_field(const std::string& n) {
  static const char* kNames[] = {"content-length", "transfer-encoding", "connection", "upgrade", "te",
                                 "trailer",        "keep-alive",        "proxy-connection"};
  for (const char* k : kNames)
    if (n == k) return true;
  return n.rfind("ferry-", 0) == 0;
}

// Checks a header value template: `%{NAME}` with a known NAME, `%%`; other '%' are literal.
bool check_template(Ctx& ctx, const Arg& a) {
  const auto& vars = template_variables();
  const std::string& s = a.text;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') {
      ctx.error(a.loc, "a header value cannot hold CR, LF or NUL");
      return false;
    }
    if (s[i] != '%' || i + 1 >= s.size() || s[i + 1] != '{') continue;
    const size_t close = s.find('}', i);
    if (close == std::string::npos) {
      ctx.error(a.loc, "unterminated '%{' in header value (variables: %{client-ip}, %{host}, ...)");
      return false;
    }
    const std::string name = s.substr(i + 2, close - i - 2);
    if (std::find(vars.begin(), vars.end(), name) == vars.end()) {
      std::string list;
      for (const auto& v : vars) list += (list.empty() ? "" : ", ") + v;
      ctx.error(a.loc, "unknown variable '%{" + name + "}' (known: " + list + ")" + did_you_mean(name, vars));
      return false;
    }
    i = close;
  }
  return true;
}

DirectiveSpec header_action(const char* kw, Rule::Kind kind, Fn field) {
  const bool request = kind == Rule::Kind::request_header;
  return action(kw, kind, field, [kw, request](Ctx& ctx, const Directive& d, size_t n, Rule& r, RulesDraft&) {
    const std::string syntax = std::string(kw) + " set|add|del NAME [VALUE]";
    if (!exact_args(ctx, d, n, 2, 3, syntax)) return false;
    auto op = ctx.choice(d.args[0], {"set", "add", "del"}, "header operation");
    if (!op) return false;
    r.op = static_cast<Rule::HeaderOp>(*op);
    const Arg& name = d.args[1];
    if (!is_token(name.text)) {
      ctx.error(name.loc, "invalid header name '" + name.text + "'");
      return false;
    }
    r.name = name.text;
    const std::string ln = lower(name.text);
    if (request ? reserved_request_field(ln) : reserved_response_field(ln)) {
      ctx.error(name.loc, "'" + name.text + "' is stated by Ferry itself (framing, forwarding or Ferry-* fields); a rule cannot change it");
      return false;
    }
    if (r.op == Rule::HeaderOp::del) {
      if (n == 3) {
        ctx.error(d.args[2].loc, "'del' takes no value: expected '" + std::string(kw) + " del NAME'");
        return false;
      }
      return true;
    }
    if (n < 3) {
      ctx.error(d.end_loc(), "missing value: expected '" + std::string(kw) + " " + d.args[0].text + " NAME VALUE'");
      return false;
    }
    r.value = d.args[2].text;
    return check_template(ctx, d.args[2]);
  });
}

bool path_arg(Ctx& ctx, const Arg& a) {
  if (a.text.empty() || a.text[0] != '/' || a.text.find_first_of("?# \t\r\n") != std::string::npos) {
    ctx.error(a.loc, "expected a path prefix starting with '/' (no query, fragment or blanks)");
    return false;
  }
  return true;
}

std::optional<std::string> read_body_file(Ctx& ctx, const Arg& a) {
  const std::string path = input_path(ctx, a);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ctx.error(a.loc, "cannot read '" + path + "'");
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string body = ss.str();
  if (body.size() > (1u << 20)) {
    ctx.error(a.loc, "'" + path + "' is over 1m: a `return` body is held in memory by every worker");
    return std::nullopt;
  }
  return body;
}

// `auth-user NAME HASH`: a user `basic-auth` accepts (the HASH format of `admin-user`).
void auth_user(Ctx& ctx, const Directive& d, RulesDraft& rd) {
  if (!ctx.arity(d, 2, 2, "auth-user NAME HASH")) return;
  const Arg& name = d.args[0];
  // RFC 7617: the user-id cannot hold a colon; no controls either (they reach logs).
  if (name.text.empty() || name.text.size() > 128 ||
      std::any_of(name.text.begin(), name.text.end(), [](char c) { return c == ':' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    ctx.error(name.loc, "invalid user name '" + name.text + "': 1..128 characters, no ':' or control characters");
    return;
  }
  for (const auto& u : rd.set.users)
    if (u.name == name.text) {
      ctx.error(name.loc, "auth user '" + name.text + "' is already defined in this section");
      return;
    }
  std::string why;
  if (!util::parse_password_hash(d.args[1].text, why)) {
    ctx.error(d.args[1].loc, why);
    return;
  }
  rd.set.users.push_back({name.text, d.args[1].text});
  if (!rd.first_kw) rd.first_kw = d.keyword.loc;
  if (!rd.auth_user) rd.auth_user = d.keyword.loc;
}

}  // namespace

const std::vector<std::string>& template_variables() {
  static const std::vector<std::string> kVars = {"client-ip", "host", "path", "request-id", "region", "app", "scheme", "auth-user"};
  return kVars;
}

std::vector<DirectiveSpec> action_specs(Fn field) {
  using K = Rule::Kind;
  std::vector<DirectiveSpec> v;
  v.push_back(action("allow", K::allow, field, [](Ctx& ctx, const Directive& d, size_t n, Rule&, RulesDraft&) {
    return exact_args(ctx, d, n, 0, 0, "allow [if|unless CONDITION]");
  }));
  v.push_back(action("deny", K::deny, field, [](Ctx& ctx, const Directive& d, size_t n, Rule& r, RulesDraft&) {
    if (!exact_args(ctx, d, n, 0, 1, "deny [STATUS] [if|unless CONDITION]")) return false;
    r.status = 403;
    if (n == 1) {
      auto s = status_arg(ctx, d.args[0], 400, 599);
      if (!s) return false;
      r.status = *s;
    }
    return true;
  }));
  v.push_back(action("redirect", K::redirect, field, [](Ctx& ctx, const Directive& d, size_t n, Rule& r, RulesDraft&) {
    const std::string syntax = "redirect location|prefix|scheme TARGET [code N] [drop-query] [if|unless CONDITION]";
    if (!exact_args(ctx, d, n, 2, 5, syntax)) return false;
    auto k = ctx.choice(d.args[0], {"location", "prefix", "scheme"}, "redirect kind");
    if (!k) return false;
    r.redirect = static_cast<Rule::RedirectKind>(*k);
    r.target = d.args[1].text;
    r.status = 302;
    if (r.redirect == Rule::RedirectKind::scheme && r.target != "https" && r.target != "http") {
      ctx.error(d.args[1].loc, "redirect scheme is 'https' or 'http'");
      return false;
    }
    if (r.target.empty() || r.target.find_first_of(" \t\r\n") != std::string::npos) {
      ctx.error(d.args[1].loc, "invalid redirect target");
      return false;
    }
    if (r.redirect == Rule::RedirectKind::prefix && r.target.back() == '/') r.target.pop_back();
    for (size_t i = 2; i < n; ++i) {
      const Arg& o = d.args[i];
      if (o.text == "drop-query") {
        r.drop_query = true;
      } else if (o.text == "code") {
        if (i + 1 >= n) {
          ctx.error(d.end_loc(), "missing status after 'code' (301, 302, 303, 307 or 308)");
          return false;
        }
        auto c = ctx.choice(d.args[++i], {"301", "302", "303", "307", "308"}, "redirect code");
        if (!c) return false;
        r.status = std::stoi(d.args[i].text);
      } else {
        ctx.error(o.loc, "unknown redirect option '" + o.text + "' (expected code N or drop-query)" +
                             did_you_mean(o.text, {"code", "drop-query"}));
        return false;
      }
    }
    return true;
  }));
  v.push_back(action("return", K::return_, field, [](Ctx& ctx, const Directive& d, size_t n, Rule& r, RulesDraft&) {
    const std::string syntax = "return STATUS [content-type TYPE] [body TEXT | file PATH] [if|unless CONDITION]";
    if (!exact_args(ctx, d, n, 1, 5, syntax)) return false;
    auto s = status_arg(ctx, d.args[0], 200, 599);
    if (!s) return false;
    r.status = *s;
    bool has_body = false;
    for (size_t i = 1; i < n; i += 2) {
      const Arg& o = d.args[i];
      if (o.text != "content-type" && o.text != "body" && o.text != "file") {
        ctx.error(o.loc, "unknown return option '" + o.text + "' (expected content-type, body or file)" +
                             did_you_mean(o.text, {"content-type", "body", "file"}));
        return false;
      }
      if (i + 1 >= n) {
        ctx.error(d.end_loc(), "missing value after '" + o.text + "': expected '" + syntax + "'");
        return false;
      }
      const Arg& val = d.args[i + 1];
      if (o.text == "content-type") {
        if (val.text.find_first_of("\r\n") != std::string::npos || val.text.empty()) {
          ctx.error(val.loc, "invalid content type");
          return false;
        }
        r.content_type = val.text;
        continue;
      }
      if (has_body) {
        ctx.error(o.loc, "a return has one body ('body' or 'file')");
        return false;
      }
      has_body = true;
      if (o.text == "body") {
        r.body = val.text;
      } else if (auto b = read_body_file(ctx, val)) {
        r.body = std::move(*b);
      } else {
        return false;
      }
    }
    if (r.content_type.empty() && has_body) r.content_type = "text/plain; charset=utf-8";
    return true;
  }));
  v.push_back(action("use-backend", K::use_backend, field, [](Ctx& ctx, const Directive& d, size_t n, Rule&, RulesDraft& rd) {
    if (!exact_args(ctx, d, n, 1, 1, "use-backend NAME [if|unless CONDITION]")) return false;
    rd.backend_refs.emplace_back(rd.set.rules.size(), d.args[0]);
    return true;
  }));
  v.push_back(header_action("request-header", K::request_header, field));
  v.push_back(header_action("response-header", K::response_header, field));
  v.push_back(action("rate-limit", K::rate_limit, field, [](Ctx& ctx, const Directive& d, size_t n, Rule& r, RulesDraft&) {
    const std::string syntax = "rate-limit RATE [burst N] [key client|app|header NAME] [if|unless CONDITION]";
    if (!exact_args(ctx, d, n, 1, 6, syntax)) return false;
    // RATE: N/s, N/m or N/h.
    const Arg& ra = d.args[0];
    const size_t slash = ra.text.find('/');
    const std::string unit = slash == std::string::npos ? "" : ra.text.substr(slash + 1);
    std::string why;
    auto count = parse_int(ra.text.substr(0, slash), 1, 1000000, why);
    if (!count || (unit != "s" && unit != "m" && unit != "h")) {
      ctx.error(ra.loc, "invalid rate '" + ra.text + "': expected N/s, N/m or N/h (N 1..1000000), e.g. 100/s");
      return false;
    }
    r.per_hour = static_cast<uint64_t>(*count) * (unit == "s" ? 3600 : unit == "m" ? 60 : 1);
    r.burst = static_cast<uint32_t>(std::max<uint64_t>(1, (r.per_hour + 3599) / 3600));  // a second's worth
    for (size_t i = 1; i < n; ++i) {
      const Arg& o = d.args[i];
      if (o.text == "burst" && i + 1 < n) {
        auto b = ctx.integer(d.args[++i], 1, 100000);
        if (!b) return false;
        r.burst = static_cast<uint32_t>(*b);
      } else if (o.text == "key" && i + 1 < n) {
        auto k = ctx.choice(d.args[++i], {"client", "app", "header"}, "rate-limit key");
        if (!k) return false;
        r.key = static_cast<Rule::LimitKey>(*k);
        if (r.key == Rule::LimitKey::header) {
          if (i + 1 >= n || !is_token(d.args[i + 1].text)) {
            ctx.error(i + 1 < n ? d.args[i + 1].loc : d.end_loc(), "expected a header name after 'key header'");
            return false;
          }
          r.name = d.args[++i].text;
        }
      } else {
        ctx.error(o.loc, o.text == "burst" || o.text == "key" ? "missing value after '" + o.text + "'"
                                                              : "unknown rate-limit option '" + o.text +
                                                                    "' (expected burst N or key client|app|header NAME)" +
                                                                    did_you_mean(o.text, {"burst", "key"}));
        return false;
      }
    }
    r.status = 429;
    return true;
  }));
  v.push_back(action("strip-prefix", K::strip_prefix, field, [](Ctx& ctx, const Directive& d, size_t n, Rule& r, RulesDraft&) {
    if (!exact_args(ctx, d, n, 1, 1, "strip-prefix PREFIX [if|unless CONDITION]") || !path_arg(ctx, d.args[0])) return false;
    r.target = d.args[0].text;
    if (r.target.size() > 1 && r.target.back() == '/') r.target.pop_back();
    return true;
  }));
  v.push_back(action("replace-prefix", K::replace_prefix, field, [](Ctx& ctx, const Directive& d, size_t n, Rule& r, RulesDraft&) {
    if (!exact_args(ctx, d, n, 2, 2, "replace-prefix FROM TO [if|unless CONDITION]")) return false;
    if (!path_arg(ctx, d.args[0]) || !path_arg(ctx, d.args[1])) return false;
    r.target = d.args[0].text;
    r.value = d.args[1].text;
    return true;
  }));
  v.push_back(action("basic-auth", K::basic_auth, field, [](Ctx& ctx, const Directive& d, size_t n, Rule& r, RulesDraft& rd) {
    if (!exact_args(ctx, d, n, 1, 1, "basic-auth REALM [if|unless CONDITION]")) return false;
    const Arg& realm = d.args[0];
    // The realm is sent as a quoted-string (RFC 7235): printable ASCII without '"' and '\\'.
    if (realm.text.empty() || realm.text.size() > 128 ||
        std::any_of(realm.text.begin(), realm.text.end(),
                    [](char c) { return c == '"' || c == '\\' || c < 0x20 || c >= 0x7f; })) {
      ctx.error(realm.loc, "invalid realm: 1..128 printable ASCII characters without '\"' or '\\'");
      return false;
    }
    r.value = realm.text;
    r.status = 401;
    rd.basic_auth.push_back(realm.loc);
    return true;
  }));
  v.push_back({"auth-user", [field](Ctx& ctx, const Directive& d, Draft& dr) { auth_user(ctx, d, field(dr)); }, R::many});
  return v;
}

}  // namespace ferry::config::detail
