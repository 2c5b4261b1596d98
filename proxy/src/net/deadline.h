// A connection's phase deadline (the watchdog pattern): one timer per connection; when the
// current deadline passes, `on_expire` runs (it cancels the connection's pending socket
// operations, which then complete with operation_aborted and the owner sees expired()).
//
// Ownership: owned by one connection (session), used only on that connection's worker
// thread. Re-arming is cheap: a later deadline only updates a time point; the timer re-arms
// itself when it fires early. Destruction detaches pending timer callbacks safely.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "net/asio_util.h"

namespace ferry::proxy {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  Deadline(asio::any_io_executor ex, std::function<void()> on_expire);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Deadline = now + d; d == 0 means none. Clears expired().
  void arm(std::chrono::milliseconds d);
  void disarm();
  bool expired() const;
  // Idle-style use (tunnels): push the deadline forward without touching the timer.
  void touch(std::chrono::milliseconds d);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace ferry::proxy
