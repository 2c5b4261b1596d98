#include "acme/schedule.h"

#include <algorithm>
#include <cmath>

namespace ferry::acme {

int64_t renewal_time(int64_t not_before, int64_t not_after) {
  if (not_after <= not_before) return not_before;
  return not_after - (not_after - not_before) / 3;
}

std::chrono::seconds backoff_delay(int failures, double unit_random, std::chrono::seconds base,
                                   std::chrono::seconds cap) {
  if (failures <= 0) return std::chrono::seconds(0);
  double delay = static_cast<double>(base.count());
  for (int i = 1; i < failures && delay < static_cast<double>(cap.count()); ++i) delay *= 2;
  delay = std::min(delay, static_cast<double>(cap.count()));
  double u = std::clamp(unit_random, 0.0, 1.0);
  double jittered = delay * (0.5 + 0.5 * u);
  return std::chrono::seconds(std::max<int64_t>(1, static_cast<int64_t>(std::floor(jittered))));
}

std::vector<std::string> normalized_hosts(std::vector<std::string> hosts) {
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  return hosts;
}

bool covers_all(const std::vector<std::string>& have, const std::vector<std::string>& wanted) {
  for (const auto& h : wanted)
    if (std::find(have.begin(), have.end(), h) == have.end()) return false;
  return true;
}

CertificatePlan plan_certificate(const std::vector<std::string>& hosts, const std::optional<StoredCertificate>& stored,
                                 int64_t now) {
  CertificatePlan p;
  if (!stored) {
    p.order_now = true;
    p.reason = "no certificate yet";
    return p;
  }
  const bool valid = stored->not_before <= now && now < stored->not_after;
  p.serve_stored = valid;
  if (!valid) {
    p.order_now = true;
    p.reason = now >= stored->not_after ? "the stored certificate has expired" : "the stored certificate is not valid yet";
    return p;
  }
  std::vector<std::string> missing;
  for (const auto& h : hosts)
    if (std::find(stored->hosts.begin(), stored->hosts.end(), h) == stored->hosts.end()) missing.push_back(h);
  if (!missing.empty()) {
    p.order_now = true;
    p.reason = "new hosts:";
    for (const auto& h : missing) p.reason += " " + h;
    return p;
  }
  const int64_t renew = renewal_time(stored->not_before, stored->not_after);
  if (now >= renew) {
    p.order_now = true;
    p.reason = "renewal due (one third of the lifetime left)";
    return p;
  }
  p.next_check = renew;
  p.reason = "certificate valid";
  return p;
}

bool may_order(const RetryState& retry, const std::vector<std::string>& hosts, int64_t now) {
  if (retry.failures == 0 || normalized_hosts(hosts) != retry.hosts) return true;
  return now >= retry.next_attempt;
}

void record_failure(RetryState& retry, const std::vector<std::string>& hosts, int64_t now, double unit_random) {
  auto h = normalized_hosts(hosts);
  if (h != retry.hosts) retry.failures = 0;
  retry.hosts = std::move(h);
  ++retry.failures;
  retry.next_attempt = now + backoff_delay(retry.failures, unit_random).count();
}

AuthzStep authorization_step(const Authorization& authz, std::string_view challenge_type) {
  if (authz.status == "valid") return AuthzStep::done;
  if (authz.status != "pending") return AuthzStep::fail;
  return authz.find_challenge(challenge_type) ? AuthzStep::respond : AuthzStep::fail;
}

OrderStep order_step(const std::string& status) {
  if (status == "pending") return OrderStep::authorize;
  if (status == "ready") return OrderStep::finalize;
  if (status == "processing") return OrderStep::wait;
  if (status == "valid") return OrderStep::download;
  return OrderStep::fail;
}

}  // namespace ferry::acme
