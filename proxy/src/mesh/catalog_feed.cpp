#include "mesh/catalog_feed.h"

#include <map>

#include "log/log.h"
#include "mesh/fetch.h"
#include "net/cidr.h"
#include "worker/context.h"
#include "ferry/util/number.h"

namespace ferry::proxy {

namespace {

std::string head_line(uint64_t epoch, uint64_t version, std::string_view kind) {
  std::string s = "ferry-catalog 1 ";
  s += std::to_string(epoch);
  s += ' ';
  s += std::to_string(version);
  s += ' ';
  s += kind;
  s += '\n';
  return s;
}

// The value of `name` in the query of `target` ("" when absent).
std::string_view query_value(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == name) return kv.substr(eq + 1);
  }
  return {};
}

}  // namespace

bool parse_feed_head(std::string_view body, FeedHead& head, std::string_view& rest) {
  const size_t nl = body.find('\n');
  if (nl == std::string_view::npos) return false;
  std::string_view line = body.substr(0, nl);
  rest = body.substr(nl + 1);
  std::string_view f[6];
  size_t n = 0;
  while (!line.empty() && n < 6) {
    const size_t sp = line.find(' ');
    f[n++] = line.substr(0, sp);
    line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  }
  if (!line.empty() || n < 5 || f[0] != "ferry-catalog" || f[1] != "1") return false;
  if (!util::parse_whole(f[2], head.epoch) || !util::parse_whole(f[3], head.version)) return false;
  if (f[4] == "full" && n == 5) head.kind = FeedHead::Kind::full;
  else if (f[4] == "same" && n == 5) head.kind = FeedHead::Kind::same;
  else if (f[4] == "delta" && n == 6 && util::parse_whole(f[5], head.from) && head.from < head.version) head.kind = FeedHead::Kind::delta;
  else return false;
  return true;
}

std::string feed_answer(const CatalogFeed* feed, uint64_t epoch, uint64_t since, bool& same) {
  same = false;
  if (feed == nullptr) {
    same = epoch == 0 && since == 0;
    return head_line(0, 0, same ? "same" : "full");
  }
  const CatalogFeed& f = *feed;
  if (epoch == f.epoch && since == f.version) {
    same = true;
    return head_line(f.epoch, f.version, "same");
  }
  // A delta needs every change after `since`: the oldest kept one must be since + 1.
  if (epoch == f.epoch && since < f.version && !f.changes.empty() && f.changes.front().version <= since + 1) {
    std::string out = head_line(f.epoch, f.version, "delta " + std::to_string(since));
    for (const auto& c : f.changes)
      if (c.version > since) out += c.line;
    return out;
  }
  std::string out = head_line(f.epoch, f.version, "full");
  out += f.snapshot;
  return out;
}

awaitable<std::string> serve_catalog_poll(WorkerContext& w, std::string_view target, const SockAddr& from) {
  uint64_t epoch = 0, since = 0, wait_ms = 0;
  // Missing or malformed values read as 0: a full answer at once.
  if (!util::parse_whole(query_value(target, "epoch"), epoch) || !util::parse_whole(query_value(target, "since"), since)) epoch = since = 0;
  if (const CatalogAck& ack = w.shared().catalog_ack; ack && epoch != 0) {
    auto wp = w.plan();
    if (wp && wp->plan->config->mesh)
      for (const auto& p : wp->plan->config->mesh->peers)
        if (CidrSet(p.allowed_ips).contains(from)) {
          ack(p.name, epoch, since);
          break;
        }
  }
  if (!util::parse_whole(query_value(target, "wait"), wait_ms)) wait_ms = 0;
  wait_ms = std::min<uint64_t>(wait_ms, kMaxCatalogWaitMs);
  const auto until = SteadyClock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    bool same = false;
    std::string body = feed_answer(w.catalog_feed().get(), epoch, since, same);
    if (!same || w.draining() || SteadyClock::now() >= until) co_return body;
    asio::steady_timer t(w.io());
    t.expires_at(until);
    co_await w.feed_waiters().wait(t);  // expiry, or woken by a new feed or the drain
  }
}

namespace {

struct FollowState {
  bool busy = false;
  uint64_t epoch = 0, version = 0;  // where this follower stands in the peer's feed
  int64_t next_at = 0;              // now_ms() of the next fetch (back-off after a failure)
};

// Long polls on the peer's feed, one after the other, while the peer is in the newest plan and
// the fetches succeed; after a failure the loop below starts it again (`next_at`).
awaitable<void> follow_peer(WorkerContext& w, std::shared_ptr<PeerState> peer, std::shared_ptr<FollowState> fs) {
  for (;;) {
    auto wp = w.plan();
    int idx = -1;
    for (size_t i = 0; wp && i < wp->plan->peers.size(); ++i)
      if (wp->plan->peers[i] == peer) idx = static_cast<int>(i);
    if (idx < 0 || !wp->plan->config->mesh || w.draining()) break;
    const config::Mesh& mesh = *wp->plan->config->mesh;
    const config::MeshPeer& p = mesh.peers[idx];
    const std::string node = p.name;
    const auto peer_timeout = mesh.peer_timeout;
    const int64_t retry_ms = std::max<int64_t>(200, mesh.ping_interval.count());
    std::error_code ec;
    tcp::endpoint ep(asio::ip::make_address(p.backhaul.host, ec), p.backhaul.port);
    H2Upstreams::Target t{peer->backhaul, ep, nullptr, p.backhaul.host, false};
    wp.reset();  // a long poll must not keep an old plan alive
    // While the peer is unreachable, ask without waiting (the answer tells it is back).
    const int64_t wait_ms = peer->reachable.load(std::memory_order_relaxed) ? 15'000 : 0;
    const std::string path = std::string(kCatalogPath) + "?epoch=" + std::to_string(fs->epoch) +
                             "&since=" + std::to_string(fs->version) + "&wait=" + std::to_string(wait_ms);
    FetchResult r = co_await fetch_from_peer(w, t, path, peer_timeout, std::chrono::milliseconds(wait_ms) + peer_timeout,
                                             64u << 20);
    FeedHead head;
    std::string_view rest;
    const CatalogSink& sink = w.shared().catalog_sink;
    if (r.status != 200 || !parse_feed_head(r.body, head, rest)) {
      if (fs->epoch != 0 || fs->version != 0) sink(node, std::string(), true);
      fs->epoch = fs->version = 0;
      // A peer without a feed (an older ferryd: 404) is asked again later; a failed fetch soon.
      fs->next_at = now_ms() + (r.status != 0 ? 5'000 : retry_ms);
      if (r.status != 0)
        log(config::LogLevel::debug, "catalog: peer " + node + " answered " + std::to_string(r.status) + " to its feed");
      break;
    }
    if (head.kind == FeedHead::Kind::same && head.epoch == fs->epoch && head.version == fs->version) {
      // nothing new
    } else if (head.kind != FeedHead::Kind::same && sink(node, std::move(r.body), false)) {
      fs->epoch = head.epoch;
      fs->version = head.version;
      // The next poll acknowledges `version` (catalog.h): first, until this node's engine routes
      // with it (the catalog thread applies it within milliseconds), at most a second.
      if (const CatalogApplied& applied = w.shared().catalog_applied; applied) {
        asio::steady_timer t(w.io());
        for (int i = 0; i < 1000 && !w.draining() && applied(node, fs->epoch) < fs->version; ++i) {
          t.expires_after(std::chrono::milliseconds(1));
          co_await t.async_wait(use_nothrow);
        }
      }
    } else {
      fs->epoch = fs->version = 0;  // start over: a full snapshot next
    }
    if (wait_ms == 0) {  // unreachable: not in a tight loop
      fs->next_at = now_ms() + retry_ms;
      break;
    }
  }
  fs->busy = false;
}

}  // namespace

awaitable<void> run_catalog_followers(WorkerContext& w) {
  asio::steady_timer t(w.io());
  std::map<std::shared_ptr<PeerState>, std::shared_ptr<FollowState>> state;
  for (;;) {
    t.expires_after(std::chrono::milliseconds(50));
    auto [ec] = co_await t.async_wait(use_nothrow);
    if (ec) co_return;
    if (!w.shared().catalog_sink || w.draining()) continue;
    auto wp = w.plan();
    if (!wp) continue;
    const Plan& plan = *wp->plan;
    if (plan.config->catalog.etcd_backend()) continue;  // the peers' instances come from etcd
    for (auto it = state.begin(); it != state.end();) {  // peers a reload removed
      if (!it->second->busy && std::find(plan.peers.begin(), plan.peers.end(), it->first) == plan.peers.end())
        it = state.erase(it);
      else
        ++it;
    }
    const int64_t now = now_ms();
    for (const auto& peer : plan.peers) {
      auto& fs = state[peer];
      if (!fs) fs = std::make_shared<FollowState>();
      if (fs->busy || now < fs->next_at) continue;
      fs->busy = true;
      asio::co_spawn(w.io(), follow_peer(w, peer, fs), asio::detached);
    }
  }
}

}  // namespace ferry::proxy
