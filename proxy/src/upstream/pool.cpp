#include "upstream/pool.h"

#include <sys/socket.h>

#include <cerrno>

namespace ferry::proxy {
namespace {

// True when an idle connection is still usable: nothing to read (EAGAIN). End of stream
// (the server closed it), stray bytes or an error mean it is not.
bool still_idle(tcp::socket& s) {
  char b;
  ssize_t n = ::recv(s.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::unique_ptr<UpstreamConn> UpstreamPool::take(ServerState* server, bool retryable) {
  auto it = idle_.find(server);
  if (it == idle_.end()) return nullptr;
  auto& v = it->second;
  const auto unchecked_since = retryable ? SteadyClock::now() - kUncheckedReuse : SteadyClock::time_point::max();
  while (!v.empty()) {
    auto c = std::move(v.back());
    v.pop_back();
    // TLS: bytes OpenSSL already read ahead (and not yet processed) count as stray too.
    if (c->sock.ssl() && SSL_has_pending(c->sock.ssl())) continue;
    if (c->pooled_at > unchecked_since || still_idle(c->sock.socket())) return c;
    // closed by the server while pooled (or broken): drop it and try the next one
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConn> c, uint32_t max_idle, std::chrono::milliseconds idle_timeout) {
  if (!c->buf.empty() || !c->poolable()) return;  // stray bytes after the response, or a stream: not reusable
  ServerState* key = c->server.get();
  auto& v = idle_[key];
  if (v.size() >= max_idle || idle_timeout.count() <= 0) return;  // dropping `c` closes it
  c->pooled_at = SteadyClock::now();
  c->idle_until = c->pooled_at + idle_timeout;
  c->buf.release_if_empty();  // back to the worker's block pool while idle
  // No readiness wait while pooled: with asio each wait costs an epoll_ctl, and cancelling it
  // at take() a handler dispatch, per request. take() checks the socket instead; one the server
  // closed stays (in CLOSE_WAIT) until taken or swept.
  v.push_back(std::move(c));
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
