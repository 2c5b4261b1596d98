// Failed-login back-off: no hard lock, three budgets with exponential delays.
//
//   pair   (user, client)  3 failures free, then 1 s, 2 s, 4 s, ... at most 5 min between tries
//   user   (any client)   10 failures free, then 1 s doubling, at most 60 s
//   client (any user)     20 failures free, then 1 s doubling, at most 60 s
//
// An attempt waits until every budget that applies allows it: delay(n) after a budget's last
// failure, where n is its failure count. The user budget only holds clients that have failed
// for that user (a pair with failures): a guesser spread over many addresses gets one try per
// new address and is then held by the user's back-off too, while the real user at an address
// that has not failed logs in at once, however hard the user is attacked from elsewhere. The
// client budget is large so that a NAT or a reverse proxy in front of several admins holds
// them back only when someone there sprays many user names; guessing one user's password from
// that address is held by its pair after 3 failures, and the other users are not held at all.
// Unknown user names count exactly like known ones (no enumeration through the limiter).
// A budget forgets its failures `forget` (15 min) after the last one.
//
// An attempt is counted as a failure *before* the password is verified (begin()) and un-counted
// when it succeeds (succeeded()), so concurrent attempts cannot get past a budget; a failure's
// delay runs from when it is answered (failed()). A success also
// forgets the pair's failures (a typo does not linger), not the user's or the client's.
//
// A client is its IPv4 address, or its IPv6 /64 (one host usually owns a whole /64). User names
// count by their first 128 bytes. Not thread-safe (SecurityState's mutex). Time is passed in.
// Memory: at most `max_entries` records per budget kind; past that, forgotten ones are pruned,
// then the ones whose last failure is oldest.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

namespace ferry::web {

class LoginLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Budget {
    int free;                  // failures without a delay
    Clock::duration base;      // the delay after the first failure past `free`; doubles after each
    Clock::duration max;       // the longest delay
  };
  struct Policy {
    Budget pair{3, std::chrono::seconds(1), std::chrono::minutes(5)};
    Budget user{10, std::chrono::seconds(1), std::chrono::seconds(60)};
    Budget client{20, std::chrono::seconds(1), std::chrono::seconds(60)};
    Clock::duration forget = std::chrono::minutes(15);
    size_t max_entries = 10000;
  };

  // What begin() decided. wait == 0: go ahead (counted as a failure until succeeded()).
  struct Attempt {
    int wait = 0;             // seconds to wait (>= 1) when refused
    const char* by = "";      // the budget that refused: "pair", "user" or "client"
    std::string user, client;
    Clock::time_point at;
    Clock::time_point prev_last[3];  // pair, user, client: their last failure before this one
  };

  LoginLimiter() : LoginLimiter(Policy{}) {}
  explicit LoginLimiter(Policy p) : p_(p) {}

  Attempt begin(const std::string& user, const std::string& address, Clock::time_point now);
  // The attempt (begin() returned wait 0) succeeded: un-counted, and the pair's failures forgotten.
  void succeeded(const Attempt& a);
  // The attempt failed (the password was verified and wrong) at `now`: its budgets' delays
  // run from now, when the failure is known, not from begin() (verifying takes a while).
  void failed(const Attempt& a, Clock::time_point now);
  // The attempt was not verified (the server was busy): un-counted only.
  void cancel(const Attempt& a);

  size_t tracked() const { return pairs_.size() + users_.size() + clients_.size(); }

  // The budget a client address counts against: an IPv4 address as it is (also when written as
  // ::ffff:a.b.c.d), an IPv6 address as its /64 ("2001:db8:1:2::/64"), anything else as it is.
  static std::string client_key(const std::string& address);

 private:
  struct Record {
    int failures = 0;
    Clock::time_point last{};
  };
  using Map = std::unordered_map<std::string, Record>;

  // Time before `r` allows another attempt (zero or negative: now).
  Clock::duration remaining(const Record& r, const Budget& b, Clock::time_point now) const;
  // The record for `key`, failures forgotten if it has been quiet for `forget`; bounded map.
  Record& get(Map& m, const std::string& key, Clock::time_point now);
  void undo(Map& m, const std::string& key, const Attempt& a, Clock::time_point prev_last, bool forget_all);

  Policy p_;
  Map pairs_, users_, clients_;
};

}  // namespace ferry::web
