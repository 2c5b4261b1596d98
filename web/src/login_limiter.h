// Failed-login limit per client: at most `max_failures` failures within `window`; further
// attempts are refused (429) until the oldest failure leaves the window. A client is its IPv4
// address, or its IPv6 /64 (one host usually owns a whole /64 and could rotate through it).
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

  // Starts an attempt from `address`: returns 0 and counts it as a failure against
  // client_key(address), or the number of seconds (>= 1) to wait when that client is over the
  // limit (nothing counted then).
  int begin(const std::string& address, Clock::time_point now);
  // The attempt begun at `now` succeeded: un-counts it.
  void forgive(const std::string& address, Clock::time_point now);

  size_t tracked() const { return clients_.size(); }

  // The budget a client address counts against: an IPv4 address as it is (also when written as
  // ::ffff:a.b.c.d), an IPv6 address as its /64 ("2001:db8:1:2::/64"), anything else as it is.
  static std::string client_key(const std::string& address);

 private:
  void prune(std::deque<Clock::time_point>& q, Clock::time_point now) const;

  int max_;
  Clock::duration window_;
  size_t max_clients_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> clients_;
};

}  // namespace ferry::web
