// The request-rule directives of `app` and `frontend` sections (sections/rules.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "sections/rules.h"

#include <pcre2.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "sections/common.h"
#include "suggest.h"
#include "values.h"

namespace ferry::config::detail {

namespace {

using R = DirectiveSpec::Repeat;
using Fn = std::function<RulesDraft&(Draft&)>;

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}
bool is_cond_word(const Arg& a) { return !a.quoted && (a.text == "if" || a.text == "unless"); }
// The index of the `if`/`unless` argument, or args.size() when the rule has no condition.
size_t cond_start(const Directive& d) {
  for (size_t i = 0; i < d.args.size(); ++i)
    if (is_cond_word(d.args[i])) return i;
  return d.args.size();
}

bool valid_acl_name(std::string_view s) {
  if (s.empty() || s == "or" || s == "if" || s == "unless") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

// --- acl ----------------------------------------------------------------------------------

struct CriterionSpec {
  const char* name;
  AclCriterion c;
  enum { values, optional_values, none } arity;
  bool field;      // takes a NAME first (header, query, cookie)
  bool modes;      // `-m MODE` allowed
};
const CriterionSpec kCriteria[] = {
    {"path", AclCriterion::path, CriterionSpec::values, false, false},
    {"path-prefix", AclCriterion::path_prefix, CriterionSpec::values, false, false},
    {"path-suffix", AclCriterion::path_suffix, CriterionSpec::values, false, false},
    {"path-regex", AclCriterion::path_regex, CriterionSpec::values, false, false},
    {"method", AclCriterion::method, CriterionSpec::values, false, false},
    {"host", AclCriterion::host, CriterionSpec::values, false, false},
    {"header", AclCriterion::header, CriterionSpec::optional_values, true, true},
    {"query", AclCriterion::query, CriterionSpec::optional_values, true, true},
    {"cookie", AclCriterion::cookie, CriterionSpec::optional_values, true, true},
    {"src", AclCriterion::src, CriterionSpec::values, false, false},
    {"sni", AclCriterion::sni, CriterionSpec::values, false, false},
    {"tls", AclCriterion::tls, CriterionSpec::none, false, false},
    {"http-version", AclCriterion::http_version, CriterionSpec::values, false, false},
    {"region", AclCriterion::region, CriterionSpec::values, false, false},
};

// HAProxy fetch names an operator may carry over, and what Ferry calls them.
const std::map<std::string, std::string> kHaproxyFetches = {
    {"path_beg", "path-prefix"}, {"path_end", "path-suffix"}, {"path_reg", "path-regex"},
    {"path_sub", "path-regex"},  {"base", "host"},            {"hdr", "header NAME"},
    {"req.hdr", "header NAME"},  {"hdr_beg", "header NAME -m prefix"}, {"hdr_end", "header NAME -m suffix"},
    {"hdr_sub", "header NAME -m substring"}, {"hdr_reg", "header NAME -m regex"},
    {"hdr_cnt", "header NAME"},  {"url_param", "query NAME"}, {"urlp", "query NAME"},
    {"req.cook", "cookie NAME"}, {"cook", "cookie NAME"},     {"ssl_fc", "tls"},
    {"ssl_fc_sni", "sni"},       {"req.ssl_sni", "sni"},      {"req.ver", "http-version"},
    {"src_ip", "src"},           {"path_dir", "path-prefix"}, {"url_beg", "path-prefix"},
};

std::optional<std::string> compile_check(const std::string& pattern, bool icase, std::string& why) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   icase ? PCRE2_CASELESS : 0, &err, &off, nullptr);
  if (code) {
    pcre2_code_free(code);
    return pattern;
  }
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(err, msg, sizeof msg);
  why = "invalid regex: " + std::string(reinterpret_cast<const char*>(msg)) + " at offset " + std::to_string(off);
  return std::nullopt;
}

// `acl NAME CRITERION [-i] [-m MODE] [FIELD] [VALUE...]`
void acl(Ctx& ctx, const Directive& d, RulesDraft& rd) {
  const std::string syntax = "acl NAME CRITERION [-i] [-m MODE] [VALUE...]";
  if (!ctx.arity(d, 2, -1, syntax)) return;
  const Arg& name = d.args[0];
  if (!valid_acl_name(name.text)) {
    ctx.error(name.loc, "invalid acl name '" + name.text + "' (letters, digits, '-', '_', '.'; not 'or', 'if', 'unless')");
    return;
  }
  const Arg& crit = d.args[1];
  const CriterionSpec* spec = nullptr;
  std::vector<std::string> names;
  for (const auto& c : kCriteria) {
    names.push_back(c.name);
    if (crit.text == c.name) spec = &c;
  }
  if (!spec) {
    const std::string base = crit.text.substr(0, crit.text.find('('));
    auto h = kHaproxyFetches.find(base);
    std::string hint = h != kHaproxyFetches.end()
                           ? " (HAProxy's '" + base + "' is written '" + h->second + "' in Ferry)"
                           : did_you_mean(crit.text, names);
    if (crit.text == "hdr(host)" || crit.text == "req.hdr(host)" || crit.text == "hdr_dom(host)")
      hint = " (HAProxy's '" + crit.text + "' is written 'host' in Ferry)";
    ctx.error(crit.loc, "unknown acl criterion '" + crit.text + "'" + hint);
    return;
  }
  Acl a;
  a.name = name.text;
  a.criterion = spec->c;
  size_t i = 2;
  bool mode_set = false;
  // Flags go before the values; header, query and cookie take them before or after the NAME.
  auto flags = [&]() -> bool {
    for (; i < d.args.size() && !d.args[i].quoted && d.args[i].text.size() > 1 && d.args[i].text[0] == '-'; ++i) {
      const Arg& f = d.args[i];
      if (f.text == "-i") {
        a.ignore_case = true;
      } else if (f.text == "-m") {
        if (!spec->modes) {
          ctx.error(f.loc, std::string("'-m' is for header, query and cookie; '") + spec->name + "' has its mode in its name");
          return false;
        }
        if (i + 1 >= d.args.size()) {
          ctx.error(d.end_loc(), "missing mode after '-m' (exact, prefix, suffix, substring, regex or present)");
          return false;
        }
        auto m = ctx.choice(d.args[++i], {"exact", "prefix", "suffix", "substring", "regex", "present"}, "match mode");
        if (!m) return false;
        a.mode = static_cast<MatchMode>(*m);
        mode_set = true;
      } else {
        ctx.error(f.loc, "unknown acl flag '" + f.text + "' (expected -i or -m MODE)");
        return false;
      }
    }
    return true;
  };
  if (!flags()) return;
  if (spec->field) {
    if (i >= d.args.size()) {
      ctx.error(d.end_loc(), std::string("missing ") + spec->name + " name: expected 'acl NAME " + spec->name + " FIELD [VALUE...]'");
      return;
    }
    const Arg& field = d.args[i++];
    if (!is_token(field.text)) {
      ctx.error(field.loc, std::string("invalid ") + spec->name + " name '" + field.text + "'");
      return;
    }
    a.field = spec->c == AclCriterion::header ? lower(field.text) : field.text;
    if (!flags()) return;
  }
  const size_t nvalues = d.args.size() - i;
  if (spec->arity == CriterionSpec::values && nvalues == 0) {
    ctx.error(d.end_loc(), std::string("acl criterion '") + spec->name + "' needs at least one value");
    return;
  }
  if (spec->arity == CriterionSpec::none && nvalues > 0) {
    ctx.error(d.args[i].loc, std::string("acl criterion '") + spec->name + "' takes no value");
    return;
  }
  if (spec->field) {
    if (nvalues == 0 && mode_set && a.mode != MatchMode::present) {
      ctx.error(d.end_loc(), "match mode needs a value to compare with");
      return;
    }
    if (nvalues == 0) a.mode = MatchMode::present;
    else if (a.mode == MatchMode::present) {
      ctx.error(d.args[i].loc, "'-m present' takes no value");
      return;
    }
  }
  if (spec->c == AclCriterion::path_regex) a.mode = MatchMode::regex;
  bool ok = true;
  for (; i < d.args.size(); ++i) {
    const Arg& v = d.args[i];
    std::string why;
    switch (spec->c) {
      case AclCriterion::path:
      case AclCriterion::path_prefix:
        if (v.text.empty() || v.text[0] != '/') ctx.error(v.loc, "a path starts with '/'"), ok = false;
        else a.values.push_back(v.text);
        break;
      case AclCriterion::method:
        if (!is_token(v.text)) ctx.error(v.loc, "invalid method '" + v.text + "'"), ok = false;
        else a.values.push_back(v.text);
        break;
      case AclCriterion::host:
      case AclCriterion::sni:
        if (auto h = parse_host_pattern(v.text, why)) a.values.push_back(*h);
        else ctx.error(v.loc, why), ok = false;
        break;
      case AclCriterion::src:
        if (auto c = parse_cidr(v.text, why)) a.cidrs.push_back(c->to_string());
        else ctx.error(v.loc, why), ok = false;
        break;
      case AclCriterion::http_version:
        if (v.text != "1.0" && v.text != "1.1" && v.text != "2")
          ctx.error(v.loc, "invalid HTTP version '" + v.text + "' (expected 1.0, 1.1 or 2)"), ok = false;
        else a.values.push_back(v.text);
        break;
      default:
        a.values.push_back(v.text);
    }
    if (a.mode == MatchMode::regex && ok && !compile_check(v.text, a.ignore_case, why)) {
      ctx.error(v.loc, why);
      ok = false;
    }
  }
  if (!ok) return;
  rd.set.acls.push_back(std::move(a));
  rd.acl_names.push_back(name);
}

// --- conditions ---------------------------------------------------------------------------

// Parses `if|unless TERM...` from d.args[at] on into `rule.cond`, recording each term's name
// for the resolve pass. False after an error.
bool condition(Ctx& ctx, const Directive& d, size_t at, RulesDraft& rd, Rule& rule) {
  if (at >= d.args.size()) return true;
  rule.cond.unless = d.args[at].text == "unless";
  const size_t rule_index = rd.set.rules.size();
  auto& groups = rule.cond.any;
  groups.emplace_back();
  bool negate_next = false;
  std::vector<RulesDraft::TermRef> refs;
  for (size_t i = at + 1; i < d.args.size(); ++i) {
    const Arg& t = d.args[i];
    if (!t.quoted && (t.text == "or" || t.text == "||")) {
      if (groups.back().empty() || negate_next) {
        ctx.error(t.loc, "'" + t.text + "' needs a condition on each side");
        return false;
      }
      groups.emplace_back();
      continue;
    }
    if (t.text == "{" || t.text == "}") {
      ctx.error(t.loc, "anonymous acls ('{ ... }') are not supported: name the test with an 'acl' line and use its name");
      return false;
    }
    if (is_cond_word(t)) {
      ctx.error(t.loc, "a rule has one '" + t.text + "'; combine conditions with 'or' and '!'");
      return false;
    }
    std::string name = t.text;
    bool negate = false;
    if (!t.quoted && name == "!") {
      negate_next = !negate_next;
      continue;
    }
    while (!name.empty() && name[0] == '!') negate = !negate, name.erase(0, 1);
    negate = negate != negate_next;
    negate_next = false;
    if (!valid_acl_name(name)) {
      ctx.error(t.loc, "invalid acl name '" + t.text + "' in condition");
      return false;
    }
    Arg ref = t;
    ref.text = name;
    groups.back().push_back({-1, negate});
    refs.push_back({ref, rule_index, groups.size() - 1, groups.back().size() - 1});
  }
  if (groups.back().empty() || negate_next) {
    ctx.error(d.end_loc(), "missing condition after '" + d.args.back().text + "'");
    return false;
  }
  rd.terms.insert(rd.terms.end(), refs.begin(), refs.end());
  return true;
}

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
    if (!parse(ctx, d, n, rule, rd)) return;
    if (!condition(ctx, d, n, rd, rule)) return;
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

}  // namespace

const std::vector<std::string>& template_variables() {
  static const std::vector<std::string> kVars = {"client-ip", "host", "path", "request-id", "region", "app", "scheme"};
  return kVars;
}

std::vector<DirectiveSpec> rule_specs(Fn field) {
  using K = Rule::Kind;
  std::vector<DirectiveSpec> v;
  v.push_back({"acl", [field](Ctx& ctx, const Directive& d, Draft& dr) {
                 RulesDraft& rd = field(dr);
                 if (!rd.first_kw) rd.first_kw = d.keyword.loc;
                 acl(ctx, d, rd);
               }, R::many});
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
  return v;
}

void resolve_rules(Resolution& r, RulesDraft& d, RuleSet& out, const std::string& who, bool tcp) {
  if (tcp && d.first_kw) {
    r.ctx.error(*d.first_kw, "request rules apply to HTTP requests; " + who + " is 'mode tcp'");
    return;
  }
  std::map<std::string, int> index;
  for (size_t i = 0; i < d.acl_names.size(); ++i) {
    auto [it, fresh] = index.emplace(d.acl_names[i].text, static_cast<int>(i));
    if (!fresh) {
      r.ctx.error(d.acl_names[i].loc, "acl '" + d.acl_names[i].text + "' is defined twice in " + who +
                                          " (one acl with several values already means 'any of them')");
      r.ctx.note(d.acl_names[it->second].loc, "first defined here");
    }
  }
  std::vector<std::string> names;
  for (const auto& a : d.acl_names) names.push_back(a.text);
  for (const auto& t : d.terms) {
    auto it = index.find(t.name.text);
    if (it == index.end()) {
      r.ctx.error(t.name.loc, "unknown acl '" + t.name.text + "' in " + who + did_you_mean(t.name.text, names));
      continue;
    }
    d.set.rules[t.rule].cond.any[t.group][t.term].acl = it->second;
  }
  for (const auto& [rule, ref] : d.backend_refs)
    d.set.rules[rule].backend = lookup(r.ctx, ref, r.cfg.backend_index, r.backend_names, "backend");
  out = std::move(d.set);
}

}  // namespace ferry::config::detail
