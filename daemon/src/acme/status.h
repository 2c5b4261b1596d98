// The ACME thread's per-app status as the admin API shows it (GET /api/v1/certificates, the
// app detail, the certificate metrics): a pure function computing one app's status from what
// the thread knows, and a small thread-safe cell the thread publishes into and API threads
// read from.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "acme/schedule.h"

namespace ferry::acme {

struct AppStatus {
  std::string app;
  std::vector<std::string> hosts;  // the app's hosts (the configuration's)
  // "valid": a certificate is served and the last order (if any) succeeded; "pending": an
  // order is running or requested; "failed": the last order failed (an older certificate,
  // if any, is still served); "none": never issued (or expired) and no order yet.
  std::string state = "none";
  std::string last_error;       // of the last failed order; empty after a success
  int64_t next_renewal = 0;     // unix seconds of the next planned order; 0 = none planned
  uint64_t failed_orders = 0;   // failed orders since the process started
  // The installed (stored) certificate; zero/empty when none.
  std::vector<std::string> cert_hosts;
  std::string issuer;
  int64_t not_before = 0, not_after = 0;
};

// What the ACME thread knows about one app, and the status it shows. `ordering`: an order for
// this app is running now or was requested (renew_now). Pure.
struct AppFacts {
  std::vector<std::string> hosts;
  std::optional<StoredCertificate> stored;
  std::string issuer;  // of the stored certificate
  RetryState retry;
  bool ordering = false;
  std::string last_error;
  uint64_t failed_orders = 0;
};
AppStatus app_status(const std::string& app, const AppFacts& f, int64_t now);

// Thread-safe holder of every acme app's status (one mutex, held only to copy).
class StatusCell {
 public:
  void set(std::map<std::string, AppStatus> all);
  // Marks `app` pending (renew requested) if it is known; false otherwise.
  bool mark_pending(const std::string& app);
  std::map<std::string, AppStatus> get() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, AppStatus> all_;
};

}  // namespace ferry::acme
