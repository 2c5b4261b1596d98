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
  // As the thread decides (acme_manager.cpp's Pass): an order when the plan wants one, not
  // before the back-off after failures for the same hosts allows it.
  CertificatePlan plan = plan_certificate(f.hosts, f.stored, now);
  if (f.ordering)
    s.next_renewal = now;
  else if (!plan.order_now)
    s.next_renewal = plan.next_check;
  else if (!may_order(f.retry, f.hosts, now))
    s.next_renewal = f.retry.next_attempt;
  else
    s.next_renewal = now;
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
