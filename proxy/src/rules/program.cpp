#define PCRE2_CODE_UNIT_WIDTH 8
#include "rules/program.h"

#include <algorithm>

#include <pcre2.h>

#include "http/chars.h"
#include "runtime/server_state.h"

namespace ferry::proxy::rules {

namespace {

constexpr std::string_view kVarNames[] = {"client-ip", "host", "path", "request-id", "region", "app", "scheme", "auth-user"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = http::chars::lower(c);
  return out;
}

Regex compile_regex(const std::string& pattern, bool icase) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   icase ? PCRE2_CASELESS : 0, &err, &off, nullptr);
  if (code) pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without JIT (not built in): interpreted
  return Regex(code);
}

// The literal start an anchored pattern's every match has: "^" then plain characters up to
// the first metacharacter (a character made optional by a following ?, * or { is left out).
// None for unanchored patterns, alternations anywhere (a '|' may start another branch) and
// caseless ones (the caller's business).
std::string literal_prefix(std::string_view pattern) {
  if (pattern.size() < 2 || pattern[0] != '^' || pattern.find('|') != std::string_view::npos) return {};
  std::string out;
  for (size_t i = 1; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) {
      if ((c == '?' || c == '*' || c == '{') && !out.empty()) out.pop_back();
      break;
    }
    out += c;
  }
  return out;
}

std::vector<config::Cidr> parse_cidrs(const std::vector<std::string>& texts) {
  std::vector<config::Cidr> out;
  for (const auto& t : texts) {
    const auto slash = t.find('/');
    config::Cidr c;
    c.network = t.substr(0, slash);
    c.prefix = static_cast<uint8_t>(slash == std::string::npos ? (c.is_v6() ? 128 : 32) : std::stoi(t.substr(slash + 1)));
    out.push_back(std::move(c));
  }
  return out;
}

CompiledAcl compile_acl(const config::Acl& a) {
  using C = config::AclCriterion;
  CompiledAcl c;
  c.criterion = a.criterion;
  c.mode = a.criterion == C::path          ? config::MatchMode::exact
           : a.criterion == C::path_prefix ? config::MatchMode::prefix
           : a.criterion == C::path_suffix ? config::MatchMode::suffix
                                           : a.mode;
  const bool plain_path = (a.criterion == C::path || a.criterion == C::path_prefix || a.criterion == C::path_suffix) &&
                          !a.ignore_case;
  c.batch = plain_path ? CompiledAcl::Batch::path
            : a.criterion == C::header ? CompiledAcl::Batch::header
                                       : CompiledAcl::Batch::none;
  c.ignore_case = a.ignore_case || a.criterion == C::host || a.criterion == C::sni;
  c.field = a.field;
  if (a.mode == config::MatchMode::regex) {
    for (const auto& v : a.values) {
      c.regexes.push_back(compile_regex(v, a.ignore_case));
      c.regex_prefixes.push_back(a.ignore_case ? std::string() : literal_prefix(v));
    }
  } else {
    for (const auto& v : a.values) c.values.push_back(c.ignore_case ? lower(v) : v);
  }
  if (a.criterion == C::src) c.cidrs = CidrSet(parse_cidrs(a.cidrs));
  if (a.criterion == C::http_version)
    for (const auto& v : a.values) c.versions |= v == "1.0" ? 1u : v == "1.1" ? 2u : 4u;
  return c;
}

}  // namespace

void RegexDeleter::operator()(pcre2_real_code_8* c) const { pcre2_code_free(c); }

Template compile_template(std::string_view s) {
  Template t;
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) t.parts.push_back({std::move(lit), -1}), lit.clear();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 1 < s.size() && s[i + 1] == '%') {
      lit += '%';
      ++i;
      continue;
    }
    if (s[i] == '%' && i + 1 < s.size() && s[i + 1] == '{') {
      const size_t close = s.find('}', i);
      const std::string_view name = close == std::string_view::npos ? std::string_view() : s.substr(i + 2, close - i - 2);
      int var = -1;
      for (size_t k = 0; k < std::size(kVarNames); ++k)
        if (kVarNames[k] == name) var = static_cast<int>(k);
      if (var >= 0) {
        flush();
        t.parts.push_back({"", var});
        i = close;
        continue;
      }
    }
    lit += s[i];
  }
  flush();
  return t;
}

std::shared_ptr<const RuleProgram> compile_rules(const config::RuleSet& set, const LimiterSource& limiters) {
  using Kind = config::Rule::Kind;
  auto p = std::make_shared<RuleProgram>();
  p->cfg = &set;
  for (const auto& a : set.acls) p->acls.push_back(compile_acl(a));
  for (size_t i = 0; i < p->acls.size(); ++i) {
    const CompiledAcl& a = p->acls[i];
    if (a.batch == CompiledAcl::Batch::path) {
      p->path_batch.push_back(static_cast<uint32_t>(i));
      for (const auto& v : a.values) p->path_values.push_back({v, static_cast<uint32_t>(i), a.criterion});
    } else if (a.batch == CompiledAcl::Batch::header) {
      p->header_batch.push_back(static_cast<uint32_t>(i));
      p->header_lengths |= uint64_t{1} << std::min<size_t>(a.field.size(), 63);
    }
  }
  std::stable_sort(p->path_values.begin(), p->path_values.end(),
                   [](const RuleProgram::PathValue& x, const RuleProgram::PathValue& y) { return x.value.size() < y.value.size(); });
  for (size_t i = 0; i < set.rules.size(); ++i) {
    const config::Rule& r = set.rules[i];
    RuleProgram::Head h;
    if (r.cond.any.size() == 1 && r.cond.any[0].size() == 1) h = {r.cond.any[0][0].acl, r.cond.any[0][0].negate == r.cond.unless};
    else if (!r.cond.any.empty()) h.acl = -2;
    p->heads.push_back(h);
    const bool header = r.kind == Kind::request_header || r.kind == Kind::response_header;
    p->values.push_back(header ? compile_template(r.value) : Template{});
    std::shared_ptr<RateLimiter> limiter;
    if (r.kind == Kind::rate_limit)
      limiter = limiters ? limiters(i, r) : std::make_shared<RateLimiter>(r.per_hour, r.burst, static_cast<uint64_t>(now_ms()));
    p->limiters.push_back(std::move(limiter));
  }
  p->words = (set.rules.size() + 63) / 64;
  p->always.assign(p->words, 0);
  p->by_acl.assign(p->words * p->acls.size(), 0);
  for (size_t i = 0; i < set.rules.size(); ++i) {
    const RuleProgram::Head h = p->heads[i];
    const bool batched = h.acl >= 0 && h.fires_on && p->acls[static_cast<size_t>(h.acl)].batch != CompiledAcl::Batch::none;
    const uint64_t bit = uint64_t{1} << (i % 64);
    if (batched) {
      p->by_acl[static_cast<size_t>(h.acl) * p->words + i / 64] |= bit;
      p->indexed = true;
    } else {
      p->always[i / 64] |= bit;
    }
  }
  p->known_start.assign(p->acls.size(), 0);
  for (size_t i = 0; i < p->acls.size(); ++i)
    if (p->acls[i].batch != CompiledAcl::Batch::none) p->known_start[i] = 1;
  p->users = auth::compile_users(set.users);
  return p;
}

}  // namespace ferry::proxy::rules
