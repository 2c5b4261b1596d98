// Resolve-and-validate pass: cross-section checks (duplicate names, references with
// did-you-mean, bind conflicts, host collisions), inheritance (built-ins <- defaults <- section),
// configuration-wide warnings; then freezes the draft into a Config. Reports into ctx.diags.
#pragma once

#include <memory>

#include "keywords.h"

namespace ferry::config::detail {

// Returns the frozen Config (also when errors were reported; the caller drops it then).
std::shared_ptr<Config> resolve(Draft& draft, Ctx& ctx, const std::string& main_file);

}  // namespace ferry::config::detail
