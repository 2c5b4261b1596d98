// A section's request rules (config::RuleSet, configlang/rules.h) compiled for matching: acl
// values prepared (lower-cased for -i, regexes compiled with PCRE2's JIT, CIDRs parsed) and
// header-value templates split into literal and variable parts.
//
// Ownership: built by build_plan() on the control thread for each frontend and app; then
// immutable, shared by every worker with the plan, and kept alive by it (the config::Rule
// pointers point into the plan's Config). Matching (rules/eval.h) only reads it; PCRE2
// matches use the worker's own match data, so sharing the compiled code is safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/users.h"
#include "ferry/configlang/config.h"
#include "net/cidr.h"
#include "rules/rate_limiter.h"

struct pcre2_real_code_8;

namespace ferry::proxy::rules {

// The variables of header-value templates, in configlang's order (template_variables()).
enum class Var { client_ip, host, path, request_id, region, app, scheme, auth_user };

// A header value: literal text and variables, in order.
struct Template {
  struct Part {
    std::string text;  // literal (when var < 0)
    int var = -1;      // a Var, or -1
  };
  std::vector<Part> parts;
  bool constant() const { return parts.size() <= 1 && (parts.empty() || parts[0].var < 0); }
};

struct RegexDeleter {
  void operator()(pcre2_real_code_8* c) const;
};
using Regex = std::unique_ptr<pcre2_real_code_8, RegexDeleter>;

struct CompiledAcl {
  config::AclCriterion criterion = config::AclCriterion::path;
  // How values compare; for the path criteria their own (exact, prefix, suffix, regex).
  config::MatchMode mode = config::MatchMode::exact;
  bool ignore_case = false;
  enum class Batch : uint8_t { none, path, header };
  Batch batch = Batch::none;  // tested with others of its kind on first need (RuleProgram)
  std::string field;                 // header (lower-case), query or cookie name
  std::vector<std::string> values;   // lower-cased when ignore_case (and for host/sni)
  std::vector<Regex> regexes;        // mode regex: one per value
  // Parallel to regexes: the literal text an anchored pattern requires at the start of the
  // value ("^/legacy/[0-9]+" -> "/legacy/"), tested before PCRE2 runs; empty: none known.
  std::vector<std::string> regex_prefixes;
  CidrSet cidrs;                     // src
  unsigned versions = 0;             // http-version: bit 0 = 1.0, 1 = 1.1, 2 = 2
};

struct RuleProgram {
  const config::RuleSet* cfg = nullptr;  // null or no rules: nothing to do
  std::vector<CompiledAcl> acls;
  // Acls tested together, in one pass, the first time one of them is needed: the plain path
  // ones (path, path-prefix, path-suffix without -i: byte compares of the normalized path)
  // and the header ones (one walk over the request's fields). Indices into `acls`.
  std::vector<uint32_t> path_batch, header_batch;
  // The path batch's values, flat: one loop of length checks and byte compares.
  struct PathValue {
    std::string_view value;  // into acls[acl].values
    uint32_t acl;
    config::AclCriterion criterion;  // path, path_prefix or path_suffix
  };
  std::vector<PathValue> path_values;  // shortest first: a path stops at the first longer one
  // Bit n: some header acl names a field of n characters (n < 64); bit 63 also stands for
  // every longer name. The header batch skips request fields of other lengths unread.
  uint64_t header_lengths = 0;
  // Per rule (parallel to cfg->rules), compact: a condition of one term (most are) is the
  // acl and the result that makes the rule act, tested without walking the condition.
  struct Head {
    int32_t acl = -1;   // -1: no condition (-2: several terms, see cfg->rules[i].cond)
    bool fires_on = true;
  };
  std::vector<Head> heads;
  // Which rules a request need not look at. Most rules test one batched acl, and most such
  // acls are false for a given request: after the batches, a request visits only the rules in
  // `always` (no condition, several terms, a negated or unbatched acl) and those of its true
  // batched acls (`by_acl`, row `acl`), in rule order. Bitmaps over rule indices, `words`
  // 64-bit words per row. `indexed`: some rule is in by_acl (else rules are visited in turn).
  size_t words = 0;
  std::vector<uint64_t> always, by_acl;
  bool indexed = false;
  // indexed: what a request's acl results start as: 1 (false; the batches run first and mark
  // the true ones) for batched acls, 0 (not tested yet) for the rest.
  std::vector<uint8_t> known_start;
  std::vector<Template> values;  // parallel to cfg->rules: header templates (empty otherwise)
  // Parallel to cfg->rules: a rate-limit rule's buckets (shared by all workers), else null.
  std::vector<std::shared_ptr<RateLimiter>> limiters;
  auth::UserList users;  // `auth-user`: whom this section's basic-auth rules accept
  bool empty() const { return cfg == nullptr || cfg->rules.empty(); }
};

// The buckets of rate-limit rule `index` of the set being compiled (the RuntimeRegistry's,
// to keep them across reloads); unset: fresh ones.
using LimiterSource = std::function<std::shared_ptr<RateLimiter>(size_t index, const config::Rule& rule)>;

// Compiles `set` (which must outlive the program). Never fails: configlang checked every
// value; a regex that does not compile here (it did there) matches nothing.
std::shared_ptr<const RuleProgram> compile_rules(const config::RuleSet& set, const LimiterSource& limiters = {});

// "%{host}-x" -> [var host, "-x"]; %% -> %.
Template compile_template(std::string_view text);

}  // namespace ferry::proxy::rules
