#include "acme/status.h"

namespace ferry::acme {

AppStatus app_status(const std::string& app, const AppFacts& f, int64_t now) {
  AppStatus s;
  s.app = app;
  s.hosts = f.hosts;
  s.last_error = f.last_error;
  s.failed_orders = f.failed_orders;
  const bool valid = f.stored && f.stored->not_before <= now && now < f.stored->not_after;
  if (f.stored) {
    s.cert_hosts = f.stored->hosts;
    s.issuer = f.issuer;
    s.not_before = f.stored->not_before;
    s.not_after = f.stored->not_after;
  }
  if (f.ordering)
    s.state = "pending";
  else if (f.retry.failures > 0)
    s.state = "failed";
  else if (valid)
    s.state = "valid";
  else
    s.state = "none";
  if (f.ordering) {
    s.next_renewal = now;
  } else if (f.retry.failures > 0 && normalized_hosts(f.hosts) == f.retry.hosts) {
    s.next_renewal = f.retry.next_attempt;
  } else {
    CertificatePlan plan = plan_certificate(f.hosts, f.stored, now);
    s.next_renewal = plan.order_now ? now : plan.next_check;
  }
  return s;
}

void StatusCell::set(std::map<std::string, AppStatus> all) {
  std::lock_guard lk(mu_);
  all_ = std::move(all);
}

bool StatusCell::mark_pending(const std::string& app) {
  std::lock_guard lk(mu_);
  auto it = all_.find(app);
  if (it == all_.end()) return false;
  it->second.state = "pending";
  return true;
}

std::map<std::string, AppStatus> StatusCell::get() const {
  std::lock_guard lk(mu_);
  return all_;
}

}  // namespace ferry::acme
