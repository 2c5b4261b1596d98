#define PCRE2_CODE_UNIT_WIDTH 8
#include "rules/eval.h"

#include <pcre2.h>

#include <algorithm>

#include "http/chars.h"
#include "http/fields.h"

namespace ferry::proxy::rules {

namespace {

using C = config::AclCriterion;
using M = config::MatchMode;
using Kind = config::Rule::Kind;

using http::iequals;
bool eq(std::string_view a, std::string_view b, bool icase) { return icase ? iequals(a, b) : a == b; }

bool regex_match(const Regex& re, std::string_view v, RuleScratch& s) {
  if (!re) return false;
  if (!s.match) s.match = pcre2_match_data_create(1, nullptr);
  if (!s.match) return false;
  return pcre2_match(re.get(), reinterpret_cast<PCRE2_SPTR>(v.data()), v.size(), 0, 0, s.match, nullptr) >= 0;
}

// `v` against the acl's values by its mode.
bool match_value(const CompiledAcl& a, std::string_view v, RuleScratch& s) {
  if (a.mode == M::present) return true;
  if (a.mode == M::regex) {
    for (size_t i = 0; i < a.regexes.size(); ++i) {
      const std::string& pre = a.regex_prefixes[i];
      if (v.substr(0, pre.size()) != pre) continue;  // cannot match: PCRE2 not needed
      if (regex_match(a.regexes[i], v, s)) return true;
    }
    return false;
  }
  for (const auto& want : a.values) {
    if (want.size() > v.size()) continue;
    switch (a.mode) {
      case M::exact:
        if (eq(v, want, a.ignore_case)) return true;
        break;
      case M::prefix:
        if (eq(v.substr(0, want.size()), want, a.ignore_case)) return true;
        break;
      case M::suffix:
        if (eq(v.substr(v.size() - want.size()), want, a.ignore_case)) return true;
        break;
      case M::substring:
        for (size_t i = 0; i + want.size() <= v.size(); ++i)
          if (eq(v.substr(i, want.size()), want, a.ignore_case)) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

// A host name against `host`-style patterns (lower-case; "*.x" matches any name under x).
bool match_host(const CompiledAcl& a, std::string_view host) {
  for (const auto& want : a.values) {
    if (want.size() > 2 && want[0] == '*' && want[1] == '.') {
      const std::string_view suffix = std::string_view(want).substr(1);  // ".x"
      if (host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix) return true;
    } else if (host == want) {
      return true;
    }
  }
  return false;
}

// Calls `each(name, value)` for every `name=value` of a `sep`-separated list (blanks around
// pairs skipped); stops when it returns true.
template <typename F>
bool any_pair(std::string_view list, char sep, F each) {
  while (!list.empty()) {
    const size_t end = list.find(sep);
    std::string_view pair = list.substr(0, end);
    list = end == std::string_view::npos ? std::string_view() : list.substr(end + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    if (pair.empty()) continue;
    const size_t eqp = pair.find('=');
    const std::string_view name = pair.substr(0, eqp);
    const std::string_view value = eqp == std::string_view::npos ? std::string_view() : pair.substr(eqp + 1);
    if (each(name, value)) return true;
  }
  return false;
}

std::string_view query_of(std::string_view path) {
  const size_t q = path.find('?');
  return q == std::string_view::npos ? std::string_view() : path.substr(q + 1);
}

bool test_acl(const CompiledAcl& a, const RequestFacts& f, RuleScratch& s) {
  const http::RequestHead& req = *f.req;
  switch (a.criterion) {
    case C::path:
    case C::path_prefix:
    case C::path_suffix:
    case C::path_regex: {
      // Regexes and -i ones (the rest are batched); the mode is compiled from the criterion.
      if (s.norm_path.empty()) normalize_path(req.path, s.norm_path);
      return match_value(a, s.norm_path, s);
    }
    case C::method:
      for (const auto& want : a.values)
        if (eq(req.method, want, a.ignore_case)) return true;
      return false;
    case C::host:
      if (s.host.empty() && !f.host.empty()) {
        const std::string_view h = http::host_without_port(f.host);
        s.host.assign(h);
        for (char& c : s.host) c = http::chars::lower(c);
        // As the router reads it (plan/host_router): one trailing dot is not a different name.
        if (!s.host.empty() && s.host.back() == '.') s.host.pop_back();
      }
      return match_host(a, s.host);
    case C::header:
      for (const auto& h : req.headers)
        if (iequals(h.name, a.field) && match_value(a, h.value, s)) return true;
      return false;
    case C::query:
      return any_pair(query_of(req.path), '&', [&](std::string_view n, std::string_view v) {
        return n == a.field && match_value(a, v, s);
      });
    case C::cookie:
      for (const auto& h : req.headers)
        if (iequals(h.name, "cookie") && any_pair(h.value, ';', [&](std::string_view n, std::string_view v) {
              return n == a.field && match_value(a, v, s);
            }))
          return true;
      return false;
    case C::src:
      return f.client != nullptr && a.cidrs.contains(*f.client);
    case C::sni: {
      const char* name = f.ssl ? SSL_get_servername(f.ssl, TLSEXT_NAMETYPE_host_name) : nullptr;
      if (name == nullptr) return false;
      std::string_view n(name);
      if (!n.empty() && n.back() == '.') n.remove_suffix(1);  // as the SNI router reads it
      char buf[256];
      if (n.size() >= sizeof buf) return false;
      for (size_t i = 0; i < n.size(); ++i) buf[i] = http::chars::lower(n[i]);
      return match_host(a, std::string_view(buf, n.size()));
    }
    case C::tls:
      return f.ssl != nullptr;
    case C::http_version:
      return (a.versions & (f.version == 10 ? 1u : f.version == 11 ? 2u : 4u)) != 0;
    case C::region:
      for (const auto& want : a.values)
        if (f.region == want) return true;
      return false;
  }
  return false;
}

// Acl `i` of a batch holds: known, and when `select` (RuleProgram::indexed, select_rules) the
// rules testing it join the request's visit set.
inline void batch_true(const RuleProgram& p, uint32_t i, RuleScratch& s, bool select) {
  if (s.known[i] == 2) return;
  s.known[i] = 2;
  if (!select) return;
  const uint64_t* row = &p.by_acl[i * p.words];
  for (size_t w = 0; w < p.words; ++w) s.visit[w] |= row[w];
}

// The path batch (RuleProgram::path_batch): every plain path acl in one loop of byte compares.
// Marks the true ones; the caller marked them all false (1) before.
void test_path_batch(const RuleProgram& p, const RequestFacts& f, RuleScratch& s, bool select) {
  if (s.norm_path.empty()) normalize_path(f.req->path, s.norm_path);
  const std::string_view v = s.norm_path;
  for (const auto& pv : p.path_values) {
    const std::string_view want = pv.value;
    if (want.size() > v.size()) break;  // shortest first: the rest are longer still
    if (pv.criterion == C::path && want.size() != v.size()) continue;
    if (v.compare(pv.criterion == C::path_suffix ? v.size() - want.size() : 0, want.size(), want) == 0)
      batch_true(p, pv.acl, s, select);
  }
}

// The header batch: one walk over the request's fields; each header acl whose field name a
// field has tests that field's value. Marks the true ones, as above.
void test_header_batch(const RuleProgram& p, const RequestFacts& f, RuleScratch& s, bool select) {
  for (const auto& h : f.req->headers) {
    if ((p.header_lengths >> std::min<size_t>(h.name.size(), 63) & 1) == 0) continue;  // no acl names this length
    for (const uint32_t i : p.header_batch) {
      const CompiledAcl& a = p.acls[i];
      if (s.known[i] == 1 && h.name.size() == a.field.size() && iequals(h.name, a.field) && match_value(a, h.value, s))
        batch_true(p, i, s, select);
    }
  }
}

// The first test of acl `i` this request (with its batch, if it has one): 2 true, 1 false.
[[gnu::noinline]] uint8_t first_test(const RuleProgram& p, uint32_t i, const RequestFacts& f, RuleScratch& s) {
  switch (p.acls[i].batch) {
    case CompiledAcl::Batch::header:
      for (const uint32_t k : p.header_batch) s.known[k] = 1;
      test_header_batch(p, f, s, false);
      break;
    case CompiledAcl::Batch::path:
      for (const uint32_t k : p.path_batch) s.known[k] = 1;
      test_path_batch(p, f, s, false);
      break;
    case CompiledAcl::Batch::none: s.known[i] = test_acl(p.acls[i], f, s) ? 2 : 1; break;
  }
  return s.known[i];
}

// Whether acl `i` holds, tested at most once per request. Inline: after the first test (and
// its batch) it is one load.
inline bool acl_holds(const RuleProgram& p, uint32_t i, const RequestFacts& f, RuleScratch& s) {
  const uint8_t k = s.known[i];
  return (k != 0 ? k : first_test(p, i, f, s)) == 2;
}

bool holds(const RuleProgram& p, const config::Condition& c, const RequestFacts& f, RuleScratch& s) {
  if (c.any.empty()) return true;
  bool any = false;
  for (const auto& group : c.any) {
    bool all = true;
    for (const auto& t : group) {
      if (acl_holds(p, static_cast<uint32_t>(t.acl), f, s) == t.negate) {
        all = false;
        break;
      }
    }
    if (all) {
      any = true;
      break;
    }
  }
  return any != c.unless;
}

std::string_view var_value(int var, const RequestFacts& f, const RuleScratch& s) {
  switch (static_cast<Var>(var)) {
    case Var::client_ip: return f.client_ip;
    case Var::host: return f.host;
    case Var::path: return f.req->path;
    case Var::request_id: return f.request_id;
    case Var::region: return f.region;
    case Var::app: return f.app;
    case Var::scheme: return f.ssl ? "https" : "http";
    case Var::auth_user: return s.auth_user;
  }
  return {};
}

RuleScratch::Edit expand(const config::Rule& r, const Template& t, const RequestFacts& f, RuleScratch& s) {
  const auto off = static_cast<uint32_t>(s.arena.size());
  for (const auto& part : t.parts) {
    if (part.var < 0) s.arena += part.text;
    else s.arena += var_value(part.var, f, s);
  }
  return {&r, off, static_cast<uint32_t>(s.arena.size() - off)};
}

// One token of a rate-limit rule's bucket for the request's key; 0, or the wait in ms.
uint64_t take_token(RateLimiter& limiter, const config::Rule& r, const RequestFacts& f) {
  uint64_t key = 0;  // the app: one bucket
  if (r.key == config::Rule::LimitKey::client && f.client != nullptr) {
    const SockAddr& a = *f.client;
    key = a.family() == AF_INET6
              ? RateLimiter::hash({reinterpret_cast<const char*>(&a.in6.sin6_addr), sizeof a.in6.sin6_addr})
              : RateLimiter::hash({reinterpret_cast<const char*>(&a.in4.sin_addr), sizeof a.in4.sin_addr});
  } else if (r.key == config::Rule::LimitKey::header) {
    std::string_view v;
    for (const auto& h : f.req->headers)
      if (iequals(h.name, r.name)) v = h.value;
    key = RateLimiter::hash(v);
  }
  return limiter.take(key, f.now_ms);
}

// A leading `prefix` of the path (before its query), on a segment boundary, replaced by `to`.
void rewrite_prefix(std::string& path, std::string_view prefix, std::string_view to) {
  const std::string_view p = path;
  if (p.substr(0, prefix.size()) != prefix) return;
  const char next = p.size() > prefix.size() ? p[prefix.size()] : '\0';
  if (prefix.back() != '/' && next != '\0' && next != '/' && next != '?') return;
  path.replace(0, prefix.size(), to);
  if (path.empty() || path[0] != '/') path.insert(0, 1, '/');
}

// A basic-auth rule: true when the request goes on (its credentials name a user and a
// password this worker verified); false when `out` says what happens instead (a 401, or a
// verification first).
bool basic_auth(const RuleProgram& p, const config::Rule& r, const RequestFacts& f, RuleScratch& s, Outcome& out) {
  if (p.users.empty() || f.auth_cache == nullptr) {  // nothing to check against: refused
    out.answer = &r;
    return false;
  }
  switch (auth::check_basic(p.users, *f.req, *f.auth_cache, f.now_ms, s.auth)) {
    case auth::BasicCheck::ok:
      s.auth_user = s.auth.user;
      return true;
    case auth::BasicCheck::verify:
      out.verify = &r;
      return false;
    case auth::BasicCheck::missing:
      out.auth_missing = true;
      [[fallthrough]];
    case auth::BasicCheck::wrong:
      out.answer = &r;
      return false;
  }
  return false;
}

}  // namespace

RuleScratch::~RuleScratch() {
  if (match) pcre2_match_data_free(match);
}

void RuleScratch::clear() {
  norm_path.clear();
  host.clear();
  arena.clear();
  path.clear();
  request_edits.clear();
  response_edits.clear();
  rewrote = false;
  auth_user = {};
  resume_program = resume_rule = 0;
}

namespace {

enum class Step { next, end_section, done };

// Rule `ri` of program `pi`: tests its condition and, when it holds, acts. `done`: `out` is
// final (an answer, or a verification first); `end_section`: an allow.
Step apply_rule(const RuleProgram& p, size_t pi, size_t ri, const RequestFacts& f, RuleScratch& s, Outcome& out) {
  const config::Rule& r = p.cfg->rules[ri];
  const RuleProgram::Head h = p.heads[ri];
  if (h.acl >= 0 ? acl_holds(p, static_cast<uint32_t>(h.acl), f, s) != h.fires_on
                 : h.acl == -2 && !holds(p, r.cond, f, s))
    return Step::next;
  switch (r.kind) {
    case Kind::allow:
      return Step::end_section;
    case Kind::deny:
    case Kind::redirect:
    case Kind::return_:
      out.answer = &r;
      return Step::done;
    case Kind::use_backend:
      if (out.backend < 0) out.backend = r.backend;
      break;
    case Kind::rate_limit:
      if (const uint64_t wait = take_token(*p.limiters[ri], r, f); wait != 0) {
        out.answer = &r;
        out.retry_after_ms = wait;
        return Step::done;
      }
      break;
    case Kind::request_header:
      s.request_edits.push_back(expand(r, p.values[ri], f, s));
      break;
    case Kind::response_header:
      s.response_edits.push_back(expand(r, p.values[ri], f, s));
      break;
    case Kind::basic_auth:
      if (!basic_auth(p, r, f, s, out)) {
        s.resume_program = static_cast<uint32_t>(pi);
        s.resume_rule = static_cast<uint32_t>(ri);
        return Step::done;
      }
      break;
    case Kind::strip_prefix:
    case Kind::replace_prefix:
      if (!s.rewrote) s.path.assign(f.req->path.empty() ? std::string_view("/") : f.req->path);
      s.rewrote = true;
      rewrite_prefix(s.path, r.target, r.kind == Kind::strip_prefix ? std::string_view() : std::string_view(r.value));
      break;
  }
  return Step::next;
}

// The rules of an indexed program that this request visits (RuleProgram::always, by_acl).
// `fresh`: s.known is the program's known_start (every batched acl false, 1): both batches
// run now and add the rows of the acls they find true. Else (a resume) the batches ran: the
// rows of the true ones are added again.
void select_rules(const RuleProgram& p, const RequestFacts& f, RuleScratch& s, bool fresh) {
  s.visit.assign(p.always.begin(), p.always.end());
  if (fresh) {
    if (!p.path_batch.empty()) test_path_batch(p, f, s, true);
    if (!p.header_batch.empty()) test_header_batch(p, f, s, true);
    return;
  }
  for (size_t i = 0; i < p.acls.size(); ++i)
    if (p.acls[i].batch != CompiledAcl::Batch::none && s.known[i] == 2)
      for (size_t w = 0; w < p.words; ++w) s.visit[w] |= p.by_acl[i * p.words + w];
}

// The rules from program `pi0`, rule `ri0` on (`fresh`: the start of program pi0, whose acl
// results are not known yet).
Outcome run(const RuleProgram* const* programs, size_t n, const RequestFacts& f, RuleScratch& s, Outcome out,
            size_t pi0, size_t ri0, bool fresh) {
  for (size_t pi = pi0; pi < n; ++pi) {
    const RuleProgram* p = programs[pi];
    if (p == nullptr || p->empty()) continue;
    const bool start = pi != pi0 || fresh;
    if (start && p->indexed) s.known.assign(p->known_start.begin(), p->known_start.end());
    else if (start) s.known.assign(p->acls.size(), 0);
    const size_t from = pi == pi0 ? ri0 : 0;
    if (!p->indexed) {
      for (size_t ri = from; ri < p->cfg->rules.size(); ++ri) {
        const Step st = apply_rule(*p, pi, ri, f, s, out);
        if (st == Step::done) return out;
        if (st == Step::end_section) break;
      }
      continue;
    }
    select_rules(*p, f, s, start);
    bool ended = false;
    for (size_t w = from / 64; w < p->words && !ended; ++w) {
      uint64_t bits = s.visit[w];
      if (w == from / 64) bits &= ~uint64_t{0} << (from % 64);
      while (bits != 0) {
        const size_t ri = w * 64 + static_cast<size_t>(__builtin_ctzll(bits));
        bits &= bits - 1;
        const Step st = apply_rule(*p, pi, ri, f, s, out);
        if (st == Step::done) return out;
        if (st == Step::end_section) {
          ended = true;
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace

Outcome evaluate(const RuleProgram* const* programs, size_t n, const RequestFacts& f, RuleScratch& s) {
  s.clear();
  return run(programs, n, f, s, Outcome{}, 0, 0, true);
}

Outcome resume(const RuleProgram* const* programs, size_t n, const RequestFacts& f, RuleScratch& s, Outcome prev) {
  prev.verify = nullptr;
  return run(programs, n, f, s, prev, s.resume_program, s.resume_rule, false);
}

namespace {

void remove_fields(std::vector<http::Header>& hs, std::string_view name) {
  hs.erase(std::remove_if(hs.begin(), hs.end(), [&](const http::Header& h) { return iequals(h.name, name); }), hs.end());
}

template <typename Head>
void apply(const RuleScratch& s, const std::vector<RuleScratch::Edit>& edits, Head& head) {
  for (const auto& e : edits) {
    const config::Rule& r = *e.rule;
    if (r.op != config::Rule::HeaderOp::add) remove_fields(head.headers, r.name);
    if (r.op != config::Rule::HeaderOp::del)
      head.headers.push_back({r.name, std::string_view(s.arena).substr(e.off, e.len)});
  }
}

}  // namespace

void apply_request_edits(const RuleScratch& s, http::RequestHead& req) {
  apply(s, s.request_edits, req);
  if (s.rewrote) req.path = s.path;
}

void apply_response_edits(const RuleScratch& s, http::ResponseHead& resp) { apply(s, s.response_edits, resp); }

void set_response_field(http::ResponseHead& resp, std::string_view name, std::string_view value) {
  remove_fields(resp.headers, name);
  resp.headers.push_back({name, value});
}

std::string redirect_location(const config::Rule& r, const RequestFacts& f) {
  using RK = config::Rule::RedirectKind;
  if (r.redirect == RK::location) return r.target;
  std::string_view path = f.req->path.empty() ? std::string_view("/") : f.req->path;
  if (r.drop_query) path = path.substr(0, path.find('?'));
  if (r.redirect == RK::prefix) return r.target + std::string(path);
  return r.target + "://" + std::string(http::host_without_port(f.host)) + std::string(path);
}

void normalize_path(std::string_view path, std::string& out) {
  using http::chars::hex_value;
  auto hex = [](char c) { return http::chars::is(c, http::chars::kHexDigit); };
  path = path.substr(0, path.find('?'));
  out.clear();
  out.reserve(path.size() + 1);
  if (path.empty() || path[0] != '/') out += '/';  // each segment follows a slash (see below)
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && hex(path[i + 1]) && hex(path[i + 2])) {
      out += static_cast<char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2]));
      i += 2;
    } else {
      out += path[i];
    }
  }
  // Segments, in place (what is written never overtakes what is read): empty ones (repeated
  // slashes) and "." dropped, ".." removes the segment before it.
  const bool trailing = !out.empty() && out.back() == '/';
  size_t r = 0, w = 0;
  while (r < out.size()) {
    while (r < out.size() && out[r] == '/') ++r;
    const size_t end = std::min(out.find('/', r), out.size());
    const size_t len = end - r;
    if (len == 0 || (len == 1 && out[r] == '.')) {
      r = end;
      continue;
    }
    if (len == 2 && out[r] == '.' && out[r + 1] == '.') {
      while (w > 0 && out[w - 1] != '/') --w;
      if (w > 0) --w;
      r = end;
      continue;
    }
    out[w++] = '/';
    for (size_t k = 0; k < len; ++k) out[w++] = out[r + k];
    r = end;
  }
  out.resize(w);
  // A trailing slash stays ("/admin/" is not "/admin"), as does the root.
  if (out.empty() || trailing) out += '/';
}

}  // namespace ferry::proxy::rules
