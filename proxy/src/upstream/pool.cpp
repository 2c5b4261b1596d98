#include "upstream/pool.h"

#include <algorithm>

namespace ferry::proxy {

std::unique_ptr<UpstreamConn> UpstreamPool::take(ServerState* server) {
  auto it = idle_.find(server);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  auto c = std::move(it->second.back());
  it->second.pop_back();
  std::error_code ignored;
  c->sock.cancel(ignored);  // ends the idle watch; its handler sees operation_aborted
  return c;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConn> c, uint32_t max_idle, std::chrono::milliseconds idle_timeout) {
  if (!c->buf.empty()) return;  // stray bytes after the response: not reusable
  ServerState* key = c->server.get();
  auto& v = idle_[key];
  if (v.size() >= max_idle || idle_timeout.count() <= 0) return;  // dropping `c` closes it
  c->idle_until = SteadyClock::now() + idle_timeout;
  c->buf.release_if_empty();  // back to the worker's block pool while idle
  UpstreamConn* raw = c.get();
  const uint64_t gen = ++raw->pool_generation;
  v.push_back(std::move(c));
  // Watch the idle connection: readable while idle means the server closed it (or sent
  // bytes nobody asked for), so it leaves the pool at once. No syscall is needed at take().
  raw->sock.async_wait(tcp::socket::wait_read, [this, key, raw, gen](std::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // taken (cancelled) or pool cleared
    remove(key, raw, gen);
  });
}

void UpstreamPool::remove(ServerState* key, UpstreamConn* raw, uint64_t gen) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return;
  auto& v = it->second;
  // Only if it is still pooled in the same generation (not taken, not a new object).
  auto pos = std::find_if(v.begin(), v.end(), [&](const auto& c) { return c.get() == raw; });
  if (pos == v.end() || (*pos)->pool_generation != gen) return;
  v.erase(pos);
}

void UpstreamPool::sweep() {
  auto now = SteadyClock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& v = it->second;
    std::erase_if(v, [&](const std::unique_ptr<UpstreamConn>& c) { return c->idle_until < now; });
    it = v.empty() ? idle_.erase(it) : std::next(it);
  }
}

}  // namespace ferry::proxy
