#include "upstream/pool.h"

#include <sys/socket.h>

#include <cerrno>

namespace ferry::proxy {

static bool looks_alive(tcp::socket& s) {
  char c;
  ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;                 // upstream closed it
  if (n > 0) return false;                  // unsolicited bytes: not a clean idle connection
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

std::unique_ptr<UpstreamConn> UpstreamPool::take(ServerState* server) {
  auto it = idle_.find(server);
  if (it == idle_.end()) return nullptr;
  auto& v = it->second;
  while (!v.empty()) {
    auto c = std::move(v.back());
    v.pop_back();
    if (c->buf.empty() && looks_alive(c->sock)) return c;
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConn> c, uint32_t max_idle, std::chrono::milliseconds idle_timeout) {
  auto& v = idle_[c->server.get()];
  if (v.size() >= max_idle || idle_timeout.count() <= 0) return;  // dropping `c` closes it
  c->idle_until = SteadyClock::now() + idle_timeout;
  c->buf.release_if_empty();
  v.push_back(std::move(c));
}

void UpstreamPool::sweep() {
  auto now = SteadyClock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& v = it->second;
    std::erase_if(v, [&](const std::unique_ptr<UpstreamConn>& c) { return c->idle_until < now || !looks_alive(c->sock); });
    it = v.empty() ? idle_.erase(it) : std::next(it);
  }
}

size_t UpstreamPool::idle_count() const {
  size_t n = 0;
  for (const auto& [k, v] : idle_) n += v.size();
  return n;
}

}  // namespace ferry::proxy
