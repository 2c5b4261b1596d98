// The request-rule directives of `app` and `frontend` sections (sections/rules.h): `acl` and
// the conditions of actions; the actions themselves are in rule_actions.cpp.
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
bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
}  // namespace

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}
size_t cond_start(const Directive& d) {
  for (size_t i = 0; i < d.args.size(); ++i)
    if (!d.args[i].quoted && (d.args[i].text == "if" || d.args[i].text == "unless")) return i;
  return d.args.size();
}

namespace {

using R = DirectiveSpec::Repeat;

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

}  // namespace

// --- conditions ---------------------------------------------------------------------------

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
    if (!t.quoted && (t.text == "if" || t.text == "unless")) {
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

std::vector<DirectiveSpec> rule_specs(std::function<RulesDraft&(Draft&)> field) {
  std::vector<DirectiveSpec> v;
  v.push_back({"acl", [field](Ctx& ctx, const Directive& d, Draft& dr) {
                 RulesDraft& rd = field(dr);
                 if (!rd.first_kw) rd.first_kw = d.keyword.loc;
                 acl(ctx, d, rd);
               }, R::many});
  auto actions = action_specs(field);
  v.insert(v.end(), actions.begin(), actions.end());
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
  for (const Loc& realm : d.basic_auth)
    if (d.set.users.empty())
      r.ctx.error(realm, "basic-auth in " + who + " has no user to accept: add 'auth-user NAME HASH' to " + who +
                             " (HASH from 'ferryd --hash-password')");
  if (d.auth_user && d.basic_auth.empty())
    r.ctx.warning(*d.auth_user, "auth-user in " + who + " is unused: no basic-auth rule in " + who + " checks it");
  for (const auto& [rule, ref] : d.backend_refs)
    d.set.rules[rule].backend = lookup(r.ctx, ref, r.cfg.backend_index, r.backend_names, "backend");
  out = std::move(d.set);
}

}  // namespace ferry::config::detail
