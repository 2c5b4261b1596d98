// Client routing hints: the request headers Ferry-Prefer-Region, Ferry-Force-Region,
// Ferry-Prefer-Instance and Ferry-Force-Instance, honoured for apps with
// `allow-routing-hints` (else ignored; rewrite.cpp never forwards Ferry-* from untrusted
// clients). Pure functions plus a small owning holder; any thread, no exceptions.
//
// Values: a region or instance name, 1..kMaxHintValue bytes of [A-Za-z0-9._-]. A malformed
// value is ignored (logged at debug: clients control it). A repeated header: the first wins.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "balance/balancer.h"
#include "http/message.h"

namespace ferry::proxy {

inline constexpr size_t kMaxHintValue = 128;

// Whether `v` is a valid region / instance / app name for a hint or a replay target.
bool valid_hint_value(std::string_view v);

// Reads the four hint headers. The result's views point into `headers`' values (valid as
// long as the request buffer is). Cost: one length switch per header; a request without
// Ferry-* headers does no comparison beyond that.
RoutingHints parse_client_hints(const std::vector<http::Header>& headers);

// Owned copy of a RoutingHints, for a request whose head buffer moves on (HTTP/1: the
// session buffer is compacted while the body streams). Short names stay in the strings'
// inline storage (no allocation).
struct OwnedHints {
  std::string prefer_region, force_region, prefer_instance, force_instance;
  void assign(const RoutingHints& h);
  RoutingHints view() const { return {prefer_region, force_region, prefer_instance, force_instance}; }
  bool empty() const { return view().empty(); }
};

// The reason for a 503 when a forced target left no eligible server; null if `h` forces nothing.
const char* forced_hint_reason(const RoutingHints& h);

}  // namespace ferry::proxy
