// Resolve-and-validate pass: a small driver that runs every section's resolve hooks (each
// registered beside its keyword table in sections/*.cpp) pass by pass (keywords.h `Pass`):
// cross-section checks (duplicate names, references with did-you-mean, bind conflicts, host
// collisions), inheritance (built-ins <- defaults <- section), configuration-wide warnings;
// then the drafts are frozen into a Config. Reports into ctx.diags. Also the helpers the
// hooks share. Single-threaded: one load() call.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "keywords.h"

namespace ferry::config::detail {

// What the hooks of one resolve share: the draft they read, the Config they fill, and the
// candidate lists for did-you-mean (filled by the `names` pass of the app and backend hooks).
struct Resolution {
  Draft& dr;
  Ctx& ctx;
  Config& cfg;
  const std::string& main_file;
  std::vector<std::string> app_names, backend_names;
};

// Returns the frozen Config (also when errors were reported; the caller drops it then).
std::shared_ptr<Config> resolve(Draft& draft, Ctx& ctx, const std::string& main_file);

// --- helpers for the hooks ---------------------------------------------------------------

Timeouts inherit(const TimeoutSet& defaults, const TimeoutSet& own);
HttpLimits inherit(const LimitsSet& defaults, const LimitsSet& own);

// Registers section names of one kind; reports duplicates with a note at the first one.
template <typename D>
std::unordered_map<std::string, int> index_names(Ctx& ctx, const std::vector<D>& items, const char* kind) {
  std::unordered_map<std::string, int> idx;
  for (size_t i = 0; i < items.size(); ++i) {
    const Arg& n = items[i].name;
    if (n.text.empty()) continue;
    auto [it, fresh] = idx.emplace(n.text, static_cast<int>(i));
    if (!fresh) {
      ctx.error(n.loc, std::string("duplicate ") + kind + " '" + n.text + "'");
      ctx.note(items[it->second].name.loc, "first defined here");
    }
  }
  return idx;
}

template <typename D>
std::vector<std::string> names_of(const std::vector<D>& items) {
  std::vector<std::string> out;
  for (const auto& i : items)
    if (!i.name.text.empty()) out.push_back(i.name.text);
  return out;
}

// The index of `ref` in `idx`, else -1 after "unknown KIND 'x'; did you mean ..." at `ref`.
int lookup(Ctx& ctx, const Arg& ref, const std::unordered_map<std::string, int>& idx,
           const std::vector<std::string>& names, const char* kind);

// Two binds that cannot both be bound (same port; same host, or a wildcard of the family).
bool binds_conflict(const Address& a, const Address& b);

// Whether the IP literal `ip` is inside `c`; false for anything that is not an IP of c's family
// (an empty host, the wildcard, is inside nothing).
bool cidr_contains(const Cidr& c, const std::string& ip);

}  // namespace ferry::config::detail
