#include "login_limiter.h"

#include <algorithm>

namespace ferry::web {

void LoginLimiter::prune(std::deque<Clock::time_point>& q, Clock::time_point now) const {
  while (!q.empty() && now - q.front() >= window_) q.pop_front();
}

int LoginLimiter::begin(const std::string& client, Clock::time_point now) {
  if (clients_.size() >= max_clients_) {
    for (auto it = clients_.begin(); it != clients_.end();) {
      prune(it->second, now);
      it = it->second.empty() ? clients_.erase(it) : std::next(it);
    }
  }
  auto& q = clients_[client];
  prune(q, now);
  if (static_cast<int>(q.size()) >= max_) {
    auto wait = std::chrono::ceil<std::chrono::seconds>(q.front() + window_ - now).count();
    return static_cast<int>(std::max<int64_t>(1, wait));
  }
  q.push_back(now);
  return 0;
}

void LoginLimiter::forgive(const std::string& client, Clock::time_point now) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  auto& q = it->second;
  auto pos = std::find(q.begin(), q.end(), now);
  if (pos != q.end()) q.erase(pos);
  if (q.empty()) clients_.erase(it);
}

}  // namespace ferry::web
