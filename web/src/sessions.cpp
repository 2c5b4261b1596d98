#include "sessions.h"

#include <openssl/evp.h>

#include <algorithm>

#include "ferry/util/password.h"

namespace ferry::web {

namespace {

constexpr size_t kTokenBytes = 32;

std::string sha256(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<char*>(md), len);
}

bool expired(const SessionStore::Session& s, SessionStore::Clock::time_point now,
             SessionStore::Clock::duration idle) {
  return now - s.last_used > idle;
}

}  // namespace

std::string to_hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<SessionStore::Created> SessionStore::create(const std::string& user,
                                                          const std::string& user_hash,
                                                          Clock::time_point now,
                                                          Clock::duration idle) {
  auto token = util::random_bytes(kTokenBytes);
  auto csrf = util::random_bytes(kTokenBytes);
  if (!token || !csrf) return std::nullopt;
  Created c{to_hex(*token), to_hex(*csrf)};
  std::string key = sha256(c.token);
  if (key.empty()) return std::nullopt;
  if (sessions_.size() >= max_) sweep(now, idle);
  while (!sessions_.empty() && sessions_.size() >= max_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used < b.second.last_used;
    });
    sessions_.erase(oldest);
  }
  sessions_[key] = Session{user, c.csrf, user_hash, now};
  return c;
}

std::optional<SessionStore::Session> SessionStore::find(const std::string& token,
                                                        Clock::time_point now,
                                                        Clock::duration idle, bool touch) {
  if (token.empty()) return std::nullopt;
  auto it = sessions_.find(sha256(token));
  if (it == sessions_.end()) return std::nullopt;
  if (expired(it->second, now, idle)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  if (touch) it->second.last_used = now;
  return it->second;
}

bool SessionStore::remove(const std::string& token) {
  if (token.empty()) return false;
  return sessions_.erase(sha256(token)) > 0;
}

std::vector<std::string> SessionStore::retain(const std::vector<config::AdminUser>& users) {
  std::vector<std::string> dropped;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    bool keep = std::any_of(users.begin(), users.end(), [&](const config::AdminUser& u) {
      return u.name == it->second.user && u.password_hash == it->second.user_hash;
    });
    if (keep) {
      ++it;
    } else {
      dropped.push_back(it->second.user);
      it = sessions_.erase(it);
    }
  }
  return dropped;
}

void SessionStore::sweep(Clock::time_point now, Clock::duration idle) {
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = expired(it->second, now, idle) ? sessions_.erase(it) : std::next(it);
}

}  // namespace ferry::web
