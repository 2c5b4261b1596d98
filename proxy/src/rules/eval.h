// Evaluates the request rules of a frontend and of the routed app (rules/program.h), once per
// request, in the pipeline's `rules` phase (request/pipeline.cpp), for HTTP/1, HTTP/2 and
// every protocol alike; then applies their edits to the request head and, later, to the
// response head.
//
// Order: the frontend's rules, then the app's, each in the order written. A rule whose
// condition holds acts: `allow` ends its section's rules, `deny`/`redirect`/`return` answer
// (and end everything), the first `use-backend` chooses the backend, header edits and path
// rewrites are collected, `basic-auth` lets the request on or answers 401 (or stops for a
// verification, see Outcome::verify). Conditions test the request as it arrived (rewrites do not change
// what later acls see); the path criteria test its normalized form (normalize_path).
//
// Thread: the worker's. Allocates nothing once the scratch is warm. Never throws.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/basic.h"
#include "http/message.h"
#include "net/sockaddr.h"
#include "rules/program.h"

struct pcre2_real_match_data_8;

namespace ferry::proxy::rules {

// What the rules may look at, about one request. Views valid for the evaluation.
struct RequestFacts {
  const http::RequestHead* req = nullptr;  // method, path (with its query), headers
  std::string_view host;        // the routed Host (as the router saw it)
  const SockAddr* client = nullptr;  // the client's address (after PROXY / trust-forwarded)
  std::string_view client_ip;   // its text, for %{client-ip}
  SSL* ssl = nullptr;           // null: a plain connection
  int version = 11;             // 10, 11 or 20
  std::string_view region;      // this edge's region
  std::string_view app;         // the routed app's name
  std::string_view request_id;
  uint64_t now_ms = 0;          // the now_ms() clock, for rate limits and verdict lifetimes
  const auth::CredentialCache* auth_cache = nullptr;  // this worker's basic-auth verdicts
};

// Per-request working memory (in RequestScratch; capacities are reused).
struct RuleScratch {
  RuleScratch() = default;
  RuleScratch(const RuleScratch&) = delete;
  RuleScratch& operator=(const RuleScratch&) = delete;
  ~RuleScratch();

  struct Edit {
    const config::Rule* rule;
    uint32_t off, len;  // the expanded value in `arena`
  };
  std::vector<uint8_t> known;     // per acl: 0 not evaluated yet, 1 false, 2 true
  std::string norm_path;          // the normalized path the path criteria test
  std::string host;               // the Host, lower-case, without port
  std::string arena;              // expanded header values
  std::string path;               // the rewritten path (and query), when `rewrote`
  std::vector<Edit> request_edits, response_edits;
  bool rewrote = false;
  pcre2_real_match_data_8* match = nullptr;  // created on first regex match, kept
  auth::BasicScratch auth;     // the Basic credentials of the request (basic-auth rules)
  std::string_view auth_user;  // the user a basic-auth rule accepted (%{auth-user}); else empty
  uint32_t resume_program = 0, resume_rule = 0;  // where resume() continues
  std::vector<uint64_t> visit;  // the rules this request visits (RuleProgram::always, by_acl)
  void clear();
};

struct Outcome {
  // deny / redirect / return / rate-limit / basic-auth (401): Ferry answers with it.
  const config::Rule* answer = nullptr;
  int backend = -1;                       // use-backend: the backend; -1: the app's
  uint64_t retry_after_ms = 0;            // rate-limit: until the bucket has a token again
  // basic-auth: credentials (s.auth) this worker has no verdict on. The caller has the
  // CredentialVerifier check them, puts the verdict in its cache, then calls resume().
  const config::Rule* verify = nullptr;
  bool auth_missing = false;  // a basic-auth answer: no valid credentials at all (else wrong ones)
};

// Runs `programs` (null entries are skipped) in order against `f`.
Outcome evaluate(const RuleProgram* const* programs, size_t n, const RequestFacts& f, RuleScratch& s);
// Goes on after an Outcome with `verify`: the basic-auth rule runs again (its verdict is now
// in f.auth_cache) and the rules after it follow. `prev` is that Outcome.
Outcome resume(const RuleProgram* const* programs, size_t n, const RequestFacts& f, RuleScratch& s, Outcome prev);

// The request's head after the rules: header edits (set/add/del) and the rewritten path.
// Its new views point into `s`, which must outlive the head's use.
void apply_request_edits(const RuleScratch& s, http::RequestHead& req);
// The response's head after the rules' response-header edits.
void apply_response_edits(const RuleScratch& s, http::ResponseHead& resp);
// Replaces every field `name` of `resp` with one `name: value` (views kept: both must outlive
// the head's use).
void set_response_field(http::ResponseHead& resp, std::string_view name, std::string_view value);

// The Location of a `redirect` rule for the request (scheme redirects use `host`, without a
// port, and keep the path; `drop-query` drops the query).
std::string redirect_location(const config::Rule& r, const RequestFacts& f);

// RFC 3986 §5.2.4 on the path (query excluded), after decoding every %XX escape and merging
// repeated slashes: "/a/./b//../%63" -> "/a/c". What a backend may make of the path, so that
// `/%61dmin` or `//admin/` cannot pass a rule written for `/admin`.
void normalize_path(std::string_view path, std::string& out);

}  // namespace ferry::proxy::rules
