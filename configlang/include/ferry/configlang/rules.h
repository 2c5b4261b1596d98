// Request rules of an `app` or `frontend` section: named conditions (`acl`) and the actions
// guarded by them (`deny`, `allow`, `redirect`, `return`, `use-backend`, header edits, path
// rewrites, `rate-limit`, `basic-auth` against the section's `auth-user` list). Part of the immutable Config snapshot (config.h); the proxy compiles them into
// its plan (proxy/src/rules) and evaluates them once per request, in the pipeline's `rules`
// phase, whatever the protocol. docs/CONFIG.md ("Rules") is the operator's description.
//
// Plain values; cross references are indices (into the section's `acls`, Config::backends).
#pragma once

#include <string>
#include <vector>

namespace ferry::config {

// What an `acl` looks at. The `path*` criteria compare the request's path without its query.
enum class AclCriterion {
  path,          // `path VALUE...`: exact
  path_prefix,   // `path-prefix VALUE...`
  path_suffix,   // `path-suffix VALUE...`
  path_regex,    // `path-regex REGEX...`
  method,        // `method GET POST...` (exact, case-sensitive: methods are)
  host,          // `host NAME...`: the routed Host (lower-case, port removed); `*.x` wildcards
  header,        // `header NAME [VALUE...]`: a field's value; without values: present
  query,         // `query NAME [VALUE...]`: a query parameter (undecoded); without values: present
  cookie,        // `cookie NAME [VALUE...]`: a Cookie pair; without values: present
  src,           // `src CIDR...`: the client's address (after PROXY and trust-forwarded)
  sni,           // `sni NAME...`: the TLS server name (lower-case); never for plain connections
  tls,           // `tls`: the connection is TLS
  http_version,  // `http-version 1.0|1.1|2...`
  region,        // `region NAME...`: this edge's region (global `region`)
};

// How string values compare (`-m MODE`; header, query and cookie take any mode, the path and
// host criteria have theirs built in).
enum class MatchMode { exact, prefix, suffix, substring, regex, present };

struct Acl {
  std::string name;
  AclCriterion criterion = AclCriterion::path;
  std::string field;        // header, query or cookie: the name looked up (header: lower-case)
  MatchMode mode = MatchMode::exact;
  bool ignore_case = false;  // `-i`: values compare case-insensitively (ASCII)
  std::vector<std::string> values;  // any one matching makes the acl true (regex: patterns)
  std::vector<std::string> cidrs;   // src: "10.0.0.0/8" (parsed by configlang, kept as text)
};

// `if|unless A B or !C || D`: true when any group has all its terms true (`or`/`||` separate
// groups, terms side by side are and-ed, `!` negates one term); `unless` negates the whole.
struct CondTerm {
  int acl = -1;  // index into the section's `acls`
  bool negate = false;
};
struct Condition {
  bool unless = false;
  std::vector<std::vector<CondTerm>> any;  // empty: no condition (always true)
};

// One action with its condition, in the order written.
struct Rule {
  enum class Kind {
    allow,            // `allow`: ends this section's rules; the request goes on
    deny,             // `deny [STATUS]`: answers STATUS (403)
    redirect,         // `redirect location|prefix|scheme TARGET [code N] [drop-query]`
    return_,          // `return STATUS [content-type T] [body TEXT | file PATH]`
    use_backend,      // `use-backend NAME`: the first one whose condition holds chooses
    request_header,   // `request-header set|add|del NAME [VALUE]`
    response_header,  // `response-header set|add|del NAME [VALUE]`
    strip_prefix,     // `strip-prefix PREFIX`: the path loses a leading PREFIX
    replace_prefix,   // `replace-prefix FROM TO`: a leading FROM becomes TO
    rate_limit,       // `rate-limit RATE [burst N] [key client|app|header NAME]`: 429 past it
    basic_auth,       // `basic-auth REALM`: 401 unless the request's Basic credentials name a user
  };
  enum class RedirectKind { location, prefix, scheme };
  enum class HeaderOp { set, add, del };
  enum class LimitKey { client, app, header };

  Kind kind = Kind::allow;
  Condition cond;
  int status = 0;  // deny, redirect (301/302/303/307/308; default 302), return
  // redirect: kind, target (a URL, a prefix or "https"/"http"), drop_query.
  RedirectKind redirect = RedirectKind::location;
  std::string target;
  bool drop_query = false;
  // return: content type and body (a `file` is read when the configuration is loaded).
  std::string content_type;
  std::string body;
  int backend = -1;  // use-backend: index into Config::backends
  // headers: the operation, the field name, the value (a template: %{client-ip}, %{host},
  // %{path}, %{request-id}, %{region}, %{app}, %{scheme}; %% is a literal '%').
  HeaderOp op = HeaderOp::set;
  std::string name;
  std::string value;
  // strip-prefix / replace-prefix: `target` is the prefix, `value` its replacement.
  // basic-auth: `value` is the realm (printable ASCII without '"' and '\\').
  // rate-limit: tokens per hour (exact for N/s, N/m, N/h), the bucket's size, what a bucket is
  // per (header: `name`).
  uint64_t per_hour = 0;
  uint32_t burst = 0;
  LimitKey key = LimitKey::client;
};

// `auth-user NAME HASH`: a user the section's `basic-auth` rules accept. HASH is the text of
// a password hash (util/password_hash.h, the format of `admin-user`), checked at parse.
struct AuthUser {
  std::string name;
  std::string password_hash;
};

struct RuleSet {
  std::vector<Acl> acls;
  std::vector<Rule> rules;
  std::vector<AuthUser> users;  // `auth-user`, in the order written
  bool empty() const { return rules.empty(); }
};

}  // namespace ferry::config
