// Admin login sessions: random 32-byte tokens (hex), each with its user and CSRF token, expiring
// after an idle time. The token is both the `ferry_session` cookie value and the bearer token.
// Sessions are keyed by SHA-256 of the token, so a lookup's timing says nothing about tokens.
//
// Not thread-safe: the owner (SecurityState) serialises calls with its mutex. Time is passed
// in (`now`), so tests drive expiry without sleeping. No exceptions except std::bad_alloc.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ferry/configlang/config.h"

namespace ferry::web {

class SessionStore {
 public:
  using Clock = std::chrono::steady_clock;

  struct Session {
    std::string user;
    std::string csrf;       // 32 random bytes, hex
    std::string user_hash;  // the user's password hash at login: a changed hash ends the session
    Clock::time_point last_used;
  };
  struct Created {
    std::string token;
    std::string csrf;
  };

  explicit SessionStore(size_t max_sessions = 10000) : max_(max_sessions) {}

  // A new session for `user`; nullopt only when the random generator fails. Over the cap,
  // expired sessions are swept, then the least recently used one is dropped.
  std::optional<Created> create(const std::string& user, const std::string& user_hash,
                                Clock::time_point now, Clock::duration idle);

  // The session of `token` when it exists and was used within `idle`; marks it used at `now`
  // (`touch`). An expired session is removed.
  std::optional<Session> find(const std::string& token, Clock::time_point now,
                              Clock::duration idle, bool touch = true);

  bool remove(const std::string& token);  // true when it existed

  // Drops the sessions whose user is no longer in `users` or whose hash changed; returns
  // the dropped sessions' users (one entry per session).
  std::vector<std::string> retain(const std::vector<config::AdminUser>& users);

  void sweep(Clock::time_point now, Clock::duration idle);  // removes expired sessions
  size_t size() const { return sessions_.size(); }

 private:
  size_t max_;
  std::unordered_map<std::string, Session> sessions_;  // key: sha256(token), raw bytes
};

// Lower-case hex of `bytes`.
std::string to_hex(const std::string& bytes);

}  // namespace ferry::web
