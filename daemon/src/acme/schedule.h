// When to order, renew and retry ACME certificates: the decisions of the ACME thread, as pure
// functions of the stored certificate, the wanted hosts and the time, so they are unit-tested
// without a CA. Times are unix seconds. Any thread; no state.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/messages.h"

namespace ferry::acme {

// The renewal point of a certificate: when one third of its lifetime remains
// (not_after - (not_after - not_before) / 3). A certificate with an empty or negative
// lifetime is due at once (not_before).
int64_t renewal_time(int64_t not_before, int64_t not_after);

// Back-off after `failures` consecutive failed orders (1 = the first failure): an exponential
// delay base * 2^(failures-1), capped at `cap`, then jittered into [delay/2, delay] by
// `unit_random` in [0, 1) so that many nodes do not retry in step. Never above `cap`, never
// below 1 s. failures <= 0 gives 0.
inline constexpr std::chrono::seconds kBackoffBase{30};
inline constexpr std::chrono::seconds kBackoffCap{24 * 3600};
std::chrono::seconds backoff_delay(int failures, double unit_random, std::chrono::seconds base = kBackoffBase,
                                   std::chrono::seconds cap = kBackoffCap);

// What the ACME thread knows about an app's stored certificate.
struct StoredCertificate {
  std::vector<std::string> hosts;  // the names it covers
  int64_t not_before = 0, not_after = 0;
};

struct CertificatePlan {
  bool serve_stored = false;  // install the stored certificate (valid now)
  bool order_now = false;     // start an order (new hosts, none stored, expired, or renewal due)
  int64_t next_check = 0;     // when to look again if nothing happens (0 = no time-based event)
  std::string reason;         // for the log: "no certificate yet", "renewal due", "new hosts: b.example", ...
};

// The plan for one app wanting `hosts` at `now`, given its stored certificate (if any). A stored
// certificate that is still valid is served even while a replacement is ordered (new hosts, or
// renewal), so renewal failures never take it away before it expires.
CertificatePlan plan_certificate(const std::vector<std::string>& hosts, const std::optional<StoredCertificate>& stored,
                                 int64_t now);

// Retry state of one app: consecutive failures and the earliest next attempt.
struct RetryState {
  int failures = 0;
  int64_t next_attempt = 0;     // unix seconds; 0 = no restriction
  std::vector<std::string> hosts;  // the hosts the failures were for; other hosts reset it
};
// Whether an order the plan wants may start now: false while backing off for the same hosts.
bool may_order(const RetryState& retry, const std::vector<std::string>& hosts, int64_t now);
// Records a failure at `now` and schedules the next attempt with backoff_delay.
void record_failure(RetryState& retry, const std::vector<std::string>& hosts, int64_t now, double unit_random);

// What to do with one authorization of an order (RFC 8555 §7.1.6).
enum class AuthzStep {
  done,     // "valid": nothing to do (e.g. reused from an earlier order)
  respond,  // "pending": serve the challenge of `challenge_type` and answer it
  fail,     // invalid, deactivated, expired, revoked, or no challenge of `challenge_type` offered
};
// `challenge_type`: the configured one, "tls-alpn-01" or "http-01".
AuthzStep authorization_step(const Authorization& authz, std::string_view challenge_type = "tls-alpn-01");

// What to do next with an order, from its status (RFC 8555 §7.1.6).
enum class OrderStep {
  authorize,  // "pending": authorizations outstanding
  finalize,   // "ready": send the CSR
  wait,       // "processing": poll the order
  download,   // "valid": fetch the certificate
  fail,       // "invalid" or unknown
};
OrderStep order_step(const std::string& status);

// Sorted, de-duplicated copy: host lists are compared as sets.
std::vector<std::string> normalized_hosts(std::vector<std::string> hosts);
// True when every host of `wanted` is in `have` (both normalized or not).
bool covers_all(const std::vector<std::string>& have, const std::vector<std::string>& wanted);

}  // namespace ferry::acme
