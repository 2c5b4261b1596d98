// The request-rule directives (`acl`, `allow`, `deny`, `redirect`, `return`, `use-backend`,
// `request-header`, `response-header`, `strip-prefix`, `replace-prefix`; the types are in
// include/ferry/configlang/rules.h), shared by the `app` and `frontend` sections: each passes
// an accessor to its RulesDraft, and calls resolve_rules() from its `own` pass.
#pragma once

#include <functional>
#include <vector>

#include "keywords.h"
#include "resolve.h"

namespace ferry::config::detail {

std::vector<DirectiveSpec> rule_specs(std::function<RulesDraft&(Draft&)> field);

// Acl names unique within the section, condition terms and use-backend names resolved (with
// did-you-mean); then the RuleSet moves into `out`. `who`: "app 'x'" / "frontend 'x'"; `tcp`:
// the section is `mode tcp`, where rules are an error.
void resolve_rules(Resolution& r, RulesDraft& d, RuleSet& out, const std::string& who, bool tcp);

// The template variables of header values ("client-ip", "host", ...), in the order of
// their index (the proxy compiles templates against the same list).
const std::vector<std::string>& template_variables();

}  // namespace ferry::config::detail
