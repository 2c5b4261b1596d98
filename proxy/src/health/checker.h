// Active health checks (`health-check tcp|http ...`), run on their own thread and event loop
// so checks never share a loop with client traffic.
//
// Ownership: one HealthChecker per Engine. Thread: start/update/stop from the control thread;
// results are written into ServerState::healthy (atomic) and logged on transitions.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ferry/configlang/config.h"
#include "runtime/server_state.h"

namespace ferry::proxy {

struct CheckTarget {
  std::string backend;  // for logs
  std::string server;
  config::Address addr;
  config::HealthCheck check;  // kind != none
  config::ProxyProtocol send_proxy = config::ProxyProtocol::none;
  std::shared_ptr<ServerState> state;
};

class HealthChecker {
 public:
  HealthChecker();
  ~HealthChecker();  // stops and joins
  // Replaces the checked set. A target whose `state` pointer and check settings are unchanged
  // keeps its rise/fall counters; new targets start as healthy=true and are checked at once;
  // dropped targets stop being checked and are set healthy=true again (unchecked servers are
  // healthy). A target whose state pointer is kept but whose settings changed restarts its
  // counters and keeps its current result. Servers without checks are not passed in.
  void update(std::vector<CheckTarget> targets);
  void stop();

  struct Impl;
 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::proxy
