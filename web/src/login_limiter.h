// Failed-login limit per client address: at most `max_failures` failures within `window`;
// further attempts are refused (429) until the oldest failure leaves the window.
//
// A login attempt is counted *before* the password is verified (begin()) and forgiven when it
// succeeds (forgive()), so concurrent attempts cannot exceed the limit.
// Not thread-safe (SecurityState's mutex). Time is passed in. Memory: bounded by pruning
// clients without failures in the window once more than `max_clients` are tracked.
#pragma once

#include <chrono>
#include <deque>
#include <string>
#include <unordered_map>

namespace ferry::web {

class LoginLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginLimiter(int max_failures = 5, Clock::duration window = std::chrono::minutes(1),
                        size_t max_clients = 4096)
      : max_(max_failures), window_(window), max_clients_(max_clients) {}

  // Starts an attempt from `client`: returns 0 and counts it as a failure, or the number of
  // seconds (>= 1) to wait when the client is over the limit (nothing counted then).
  int begin(const std::string& client, Clock::time_point now);
  // The attempt begun at `now` succeeded: un-counts it.
  void forgive(const std::string& client, Clock::time_point now);

  size_t tracked() const { return clients_.size(); }

 private:
  void prune(std::deque<Clock::time_point>& q, Clock::time_point now) const;

  int max_;
  Clock::duration window_;
  size_t max_clients_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> clients_;
};

}  // namespace ferry::web
