// Failed-login back-off: see front/login_limiter.h.
#include "front/login_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace ferry::web {

namespace {

constexpr size_t kMaxUserKey = 128;

std::string user_key(const std::string& user) { return user.substr(0, kMaxUserKey); }

}  // namespace

std::string LoginLimiter::client_key(const std::string& address) {
  in6_addr a6{};
  if (inet_pton(AF_INET6, address.c_str(), &a6) != 1) return address;  // IPv4 or not an address
  static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[INET6_ADDRSTRLEN];
  if (std::memcmp(a6.s6_addr, v4_mapped, sizeof v4_mapped) == 0) {
    in_addr a4{};
    std::memcpy(&a4, a6.s6_addr + 12, 4);
    return inet_ntop(AF_INET, &a4, text, sizeof text) ? text : address;
  }
  std::memset(a6.s6_addr + 8, 0, 8);
  if (!inet_ntop(AF_INET6, &a6, text, sizeof text)) return address;
  return std::string(text) + "/64";
}

LoginLimiter::Clock::duration LoginLimiter::remaining(const Record& r, const Budget& b, Clock::time_point now) const {
  if (r.failures < b.free) return Clock::duration::zero();
  Clock::duration delay = b.base;
  for (int i = b.free; i < r.failures && delay < b.max; ++i) delay *= 2;
  return r.last + std::min(delay, b.max) - now;
}

LoginLimiter::Record& LoginLimiter::get(Map& m, const std::string& key, Clock::time_point now) {
  auto it = m.find(key);
  if (it == m.end() && m.size() >= p_.max_entries) {
    for (auto i = m.begin(); i != m.end();) i = now - i->second.last >= p_.forget ? m.erase(i) : std::next(i);
    while (m.size() >= p_.max_entries) {
      auto oldest = std::min_element(m.begin(), m.end(),
                                     [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
      m.erase(oldest);
    }
  }
  Record& r = m[key];
  if (r.failures > 0 && now - r.last >= p_.forget) r = Record{};
  return r;
}

LoginLimiter::Attempt LoginLimiter::begin(const std::string& user, const std::string& address,
                                          Clock::time_point now) {
  Attempt a;
  a.user = user_key(user);
  a.client = client_key(address);
  a.at = now;
  const std::string pair_key = a.user + '\0' + a.client;
  Record& pair = get(pairs_, pair_key, now);
  Record& usr = get(users_, a.user, now);
  Record& cli = get(clients_, a.client, now);
  struct Gate {
    const char* by;
    Clock::duration left;
  };
  // The user's budget holds only clients that have failed for this user.
  Gate gates[3] = {{"pair", remaining(pair, p_.pair, now)},
                   {"user", pair.failures > 0 ? remaining(usr, p_.user, now) : Clock::duration::zero()},
                   {"client", remaining(cli, p_.client, now)}};
  const Gate* worst = std::max_element(gates, gates + 3, [](const Gate& x, const Gate& y) { return x.left < y.left; });
  if (worst->left > Clock::duration::zero()) {
    a.wait = static_cast<int>(std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(worst->left).count()));
    a.by = worst->by;
    // Nothing was counted: records that hold no failure are not kept.
    if (pair.failures == 0) pairs_.erase(pair_key);
    if (usr.failures == 0) users_.erase(a.user);
    if (cli.failures == 0) clients_.erase(a.client);
    return a;
  }
  Record* recs[3] = {&pair, &usr, &cli};
  for (int i = 0; i < 3; ++i) {
    a.prev_last[i] = recs[i]->last;
    ++recs[i]->failures;
    recs[i]->last = now;
  }
  return a;
}

void LoginLimiter::undo(Map& m, const std::string& key, const Attempt& a, Clock::time_point prev_last,
                        bool forget_all) {
  auto it = m.find(key);
  if (it == m.end()) return;
  Record& r = it->second;
  if (!forget_all && r.failures > 0) {
    --r.failures;
    if (r.last == a.at) r.last = prev_last;  // no other failure since: as before the attempt
  }
  if (forget_all || r.failures == 0) m.erase(it);
}

void LoginLimiter::succeeded(const Attempt& a) {
  if (a.wait > 0) return;
  undo(pairs_, a.user + '\0' + a.client, a, a.prev_last[0], true);
  undo(users_, a.user, a, a.prev_last[1], false);
  undo(clients_, a.client, a, a.prev_last[2], false);
}

void LoginLimiter::failed(const Attempt& a, Clock::time_point now) {
  if (a.wait > 0) return;
  for (auto [m, key] : {std::pair<Map*, std::string>{&pairs_, a.user + '\0' + a.client}, {&users_, a.user},
                        {&clients_, a.client}}) {
    auto it = m->find(key);
    if (it != m->end() && it->second.failures > 0) it->second.last = std::max(it->second.last, now);
  }
}

void LoginLimiter::cancel(const Attempt& a) {
  if (a.wait > 0) return;
  undo(pairs_, a.user + '\0' + a.client, a, a.prev_last[0], false);
  undo(users_, a.user, a, a.prev_last[1], false);
  undo(clients_, a.client, a, a.prev_last[2], false);
}

}  // namespace ferry::web
