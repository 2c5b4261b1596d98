#include "routing/hints.h"

#include "http/fields.h"
#include "log/log.h"

namespace ferry::proxy {
namespace {

constexpr std::string_view kPrefix = "Ferry-";

}  // namespace

bool valid_hint_value(std::string_view v) {
  if (v.empty() || v.size() > kMaxHintValue) return false;
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

RoutingHints parse_client_hints(const std::vector<http::Header>& headers) {
  RoutingHints h;
  for (const auto& hd : headers) {
    // "Ferry-Force-Region" 18, "Ferry-Prefer-Region" 19, "Ferry-Force-Instance" 20,
    // "Ferry-Prefer-Instance" 21.
    const size_t n = hd.name.size();
    if (n < 18 || n > 21 || !http::iequals(hd.name.substr(0, kPrefix.size()), kPrefix)) continue;
    const std::string_view rest = hd.name.substr(kPrefix.size());
    std::string_view* slot = nullptr;
    if (http::iequals(rest, "Force-Region")) slot = &h.force_region;
    else if (http::iequals(rest, "Prefer-Region")) slot = &h.prefer_region;
    else if (http::iequals(rest, "Force-Instance")) slot = &h.force_instance;
    else if (http::iequals(rest, "Prefer-Instance")) slot = &h.prefer_instance;
    if (slot == nullptr || !slot->empty()) continue;  // not a hint, or a repeat (the first wins)
    if (!valid_hint_value(hd.value)) {
      if (log_enabled(config::LogLevel::debug))
        log(config::LogLevel::debug, "ignoring routing hint " + std::string(hd.name) + " with an invalid value '" +
                                         std::string(hd.value.substr(0, 64)) + "'");
      continue;
    }
    *slot = hd.value;
  }
  return h;
}

void OwnedHints::assign(const RoutingHints& h) {
  prefer_region.assign(h.prefer_region);
  force_region.assign(h.force_region);
  prefer_instance.assign(h.prefer_instance);
  force_instance.assign(h.force_instance);
}

const char* forced_hint_reason(const RoutingHints& h) {
  if (!h.force_instance.empty() && !h.force_region.empty())
    return "no eligible server matches the forced region and instance";
  if (!h.force_instance.empty()) return "no eligible server for the forced instance";
  if (!h.force_region.empty()) return "no eligible server in the forced region";
  return nullptr;
}

}  // namespace ferry::proxy
