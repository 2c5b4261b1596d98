// Handlers shared by several sections (`timeout`, `retries`, HTTP limits, `balance`,
// `max-body-size`). Each takes an accessor to the draft field it writes, so the section file
// decides where the value lands.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "keywords.h"

namespace ferry::config::detail {

// `timeout KIND DURATION`. Kinds in `ignored` are accepted with the warning "has no effect in
// a <section>". `warn_zero`: warn that 0 disables the timeout everywhere (defaults).
DirectiveSpec timeout_spec(std::function<TimeoutSet&(Draft&)> field, std::vector<TimeoutKind> ignored,
                           bool warn_zero);
DirectiveSpec retries_spec(std::function<std::optional<int>&(Draft&)> field);
DirectiveSpec balance_spec(std::function<std::optional<Balance>&(Draft&)> field);
DirectiveSpec max_body_size_spec(std::function<std::optional<uint64_t>&(Draft&)> field);
// A file path argument: relative paths resolve against the directory of the file naming
// them, so a config and its certificates can move together.
std::string resolve_path(const Ctx& ctx, const Arg& arg);
// resolve_path() for a file that is read when the configuration is checked (certificates, CA
// files, admin-tls, the mesh key): for untrusted text it must pass ctx.access (FileAccess),
// else it is refused (an error; the path is still returned, the config will not be built).
std::string input_path(Ctx& ctx, const Arg& arg);
// http-max-request-line, http-max-header-size, http-max-headers.
std::vector<DirectiveSpec> http_limit_specs(std::function<LimitsSet&(Draft&)> field);

}  // namespace ferry::config::detail
