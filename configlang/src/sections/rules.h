// The request-rule directives (`acl`, `allow`, `deny`, `redirect`, `return`, `use-backend`,
// `request-header`, `response-header`, `rate-limit`, `strip-prefix`, `replace-prefix`,
// `basic-auth`, `auth-user`; the types are in
// include/ferry/configlang/rules.h), shared by the `app` and `frontend` sections: each passes
// an accessor to its RulesDraft, and calls resolve_rules() from its `own` pass.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "keywords.h"
#include "resolve.h"

namespace ferry::config::detail {

std::vector<DirectiveSpec> rule_specs(std::function<RulesDraft&(Draft&)> field);

// The pieces rules.cpp (acl, conditions) and rule_actions.cpp (actions, auth-user) share.
// The action directives and `auth-user` (rule_actions.cpp).
std::vector<DirectiveSpec> action_specs(std::function<RulesDraft&(Draft&)> field);
// Parses `if|unless TERM...` from d.args[at] on into `rule.cond`, recording each term's name
// for the resolve pass. False after an error.
bool condition(Ctx& ctx, const Directive& d, size_t at, RulesDraft& rd, Rule& rule);
// The index of the `if`/`unless` argument, or args.size() when the rule has no condition.
size_t cond_start(const Directive& d);
bool is_token(std::string_view s);  // an RFC 9110 token (a field name)
std::string lower(std::string s);   // ASCII lower-case

// Acl names unique within the section, condition terms and use-backend names resolved (with
// did-you-mean); then the RuleSet moves into `out`. `who`: "app 'x'" / "frontend 'x'"; `tcp`:
// the section is `mode tcp`, where rules are an error.
void resolve_rules(Resolution& r, RulesDraft& d, RuleSet& out, const std::string& who, bool tcp);

// The template variables of header values ("client-ip", "host", ...), in the order of
// their index (the proxy compiles templates against the same list).
const std::vector<std::string>& template_variables();

}  // namespace ferry::config::detail
