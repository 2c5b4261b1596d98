#include "login_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace ferry::web {

void LoginLimiter::prune(std::deque<Clock::time_point>& q, Clock::time_point now) const {
  while (!q.empty() && now - q.front() >= window_) q.pop_front();
}

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

int LoginLimiter::begin(const std::string& address, Clock::time_point now) {
  const std::string client = client_key(address);
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

void LoginLimiter::forgive(const std::string& address, Clock::time_point now) {
  auto it = clients_.find(client_key(address));
  if (it == clients_.end()) return;
  auto& q = it->second;
  auto pos = std::find(q.begin(), q.end(), now);
  if (pos != q.end()) q.erase(pos);
  if (q.empty()) clients_.erase(it);
}

}  // namespace ferry::web
