// The per-worker context every session, stream and upstream of one worker uses: its event
// loop, the current plan, the upstream pools, the per-request scratch free list, the replay
// budget, the access-log buffer and the registry of live downstream connections. The accept
// and dispatch loop above it is the Worker (worker.h); sessions include only this header.
//
// Ownership: the Worker is-a WorkerContext and the Engine owns the Workers. Thread: the
// worker's own, except the EngineShared facts (atomics, or locked inside).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "acme/http01_tokens.h"
#include "auth/basic.h"
#include "balance/balancer.h"
#include "http/body_tee.h"
#include "net/asio_util.h"
#include "net/buffer.h"
#include "net/connect.h"
#include "net/intrusive_list.h"
#include "net/stream.h"
#include "observe/access_log.h"
#include "observe/slow_log.h"
#include "observe/trace.h"
#include "plan/plan.h"
#include "upstream/h2_upstream.h"
#include "ferry/proxy/catalog.h"
#include "upstream/pool.h"

namespace ferry::proxy {

struct RequestScratch;
namespace auth {
class CredentialVerifier;
}

// The timers of coroutines on one worker waiting for something that worker learns of (a new
// catalog feed, a new plan): each sets its timer to its deadline and waits through wait();
// wake() cancels them all, so each wakes early and looks again. Worker thread only.
class WaitList {
 public:
  // Waits on `t` until its expiry or the next wake(). A frame destroyed while it waits
  // unregisters its timer.
  asio::awaitable<void> wait(asio::steady_timer& t) {
    struct Registered {
      std::unordered_set<asio::steady_timer*>& set;
      asio::steady_timer* t;
      ~Registered() { set.erase(t); }
    } reg{timers_, &t};
    timers_.insert(&t);
    co_await t.async_wait(use_nothrow);
  }
  void wake() {
    for (asio::steady_timer* t : timers_) t->cancel();
  }

 private:
  std::unordered_set<asio::steady_timer*> timers_;
};

// Facts shared by all workers of one Engine.
struct EngineShared {
  std::atomic<size_t> connections{0};  // downstream connections, all workers
  // Downstream connections per worker (index: worker id; sized by the Engine before the
  // workers start), read by every worker to balance new connections (Worker::dispatch).
  std::unique_ptr<std::atomic<uint32_t>[]> worker_connections;
  int nworkers = 0;
  // Serves an accepted connection (fd owned from then on) on worker `to`: its loop runs
  // Worker::serve (set by the Engine before the workers start). Counted in `handoffs`.
  std::function<void(int to, int fd, const PeerInfo& peer, const std::string& key)> hand_off;
  std::atomic<uint64_t> handoffs{0};
  // One downstream connection more (+1) or less (-1) on `worker`, and in the total.
  void count_connection(int worker, int delta) {
    if (delta > 0) connections.fetch_add(static_cast<size_t>(delta), std::memory_order_relaxed);
    else connections.fetch_sub(static_cast<size_t>(-delta), std::memory_order_relaxed);
    if (worker_connections)
      worker_connections[worker].fetch_add(static_cast<uint32_t>(delta), std::memory_order_relaxed);
  }
  std::atomic<uint32_t> max_connections{100000};
  AccessLogWriter* access_log = nullptr;
  // ACME HTTP-01 key authorizations by token (Engine::set_acme_http_tokens); see acme/http01_tokens.h.
  acme::AcmeHttpTokens acme_http;
  // basic-auth's password checks (owned by the Engine, which stops it before the workers).
  auth::CredentialVerifier* verifier = nullptr;
  // Finished spans waiting for the daemon's exporter (tracing; observe/trace.h).
  trace::SpanQueue spans;
  // The newest slow requests for the console (tracing on; observe/slow_log.h).
  SlowLog slow;
  // Where worker 0's catalog followers hand what mesh peers serve (Engine::set_catalog_sink,
  // set before the workers start; empty: no following).
  CatalogSink catalog_sink;
  // The acknowledgement hooks (catalog.h; Engine::set_catalog_acks, before the workers start;
  // empty: none).
  CatalogAck catalog_ack;
  CatalogApplied catalog_applied;
  // Scale-to-zero's start request (Engine::set_autostart, before the workers start; empty:
  // requests are not held).
  AutostartHook autostart;
};

// A plan plus this worker's balancers for it. Sessions hold a shared_ptr so a request that
// started under one plan finishes with it (and its balancers) after a reload.
struct WorkerPlan {
  std::shared_ptr<const Plan> plan;
  std::vector<std::unique_ptr<Balancer>> balancers;  // per plan->backends
  std::vector<std::vector<tcp::endpoint>> endpoints;  // per backend, per server
};

// A downstream connection as the worker sees it, for drain and for trust changes at reload.
struct SessionHandle {
  Stream* stream = nullptr;
  bool idle = false;  // waiting for the next request (safe to close at drain)
  // Called with `owner` at drain instead of cancelling an idle stream (HTTP/2: GOAWAY, then
  // finish). Plain function pointers: every connection holds a handle, also while idle.
  void (*on_drain)(void* owner) = nullptr;
  // Backhaul connections: their real source and listener key (both owned by the session, alive
  // while it is registered). Each new plan must still trust the source (a mesh peer's
  // allowed-ips on the backhaul of that listener); else Worker::install revokes the session:
  // `on_revoke` if set, else its stream is cancelled (closed).
  const SockAddr* backhaul_peer = nullptr;
  const std::string* listener = nullptr;
  void (*on_revoke)(void* owner) = nullptr;
  void* owner = nullptr;  // the session the hooks are called with
  // The worker's list of sessions (net/intrusive_list.h); WorkerContext only.
  SessionHandle* prev = nullptr;
  SessionHandle* next = nullptr;
};

class WorkerContext {
 public:
  WorkerContext(int id, EngineShared& shared);
  ~WorkerContext();
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  int id() const { return id_; }
  asio::io_context& io() { return io_; }
  const std::shared_ptr<WorkerPlan>& plan() const { return plan_; }
  UpstreamPool& pool() { return pool_; }
  H2Upstreams& h2_upstreams() { return h2_upstreams_; }
  BlockPool& blocks() { return blocks_; }
  // Streamed request bodies kept for Ferry-Replay, all of this worker's requests together
  // (limit: global `replay-buffer-budget`, set when a plan is installed).
  http::ReplayBudget& replay_budget() { return replay_budget_; }
  AccessLogBuffer& access_log() { return access_log_; }
  EngineShared& shared() { return shared_; }
  // This worker's basic-auth verdicts (auth/basic.h).
  auth::CredentialCache& auth_cache() { return auth_cache_; }
  // This worker's finished spans, handed to EngineShared::spans on the flush tick.
  trace::SpanBuffer& spans() { return spans_; }
  bool draining() const { return draining_; }
  // One downstream connection more (+1) or less (-1) on this worker, and in the engine's total.
  void count_connection(int delta) { shared_.count_connection(id_, delta); }
  uint64_t random();  // fast per-worker PRNG (request ids, jitter)

  // Per-request working memory (worker/request_scratch.h), recycled per worker.
  std::unique_ptr<RequestScratch> take_scratch();
  void give_scratch(std::unique_ptr<RequestScratch> s);
  // Gives back to the allocator the scratches and buffer blocks that recent load did not
  // need (net/free_list.h), and to the system the free pages once kGiveBackAfter bytes were
  // freed; the worker's tick.
  void trim_free_lists();
  static constexpr size_t kGiveBackAfter = 1 << 20;

  // The catalog feed this node serves to its peers (Engine::set_catalog_feed); null: none yet.
  const std::shared_ptr<const CatalogFeed>& catalog_feed() const { return catalog_feed_; }
  // Replaces it and wakes every long poll waiting on it (mesh/catalog_feed.h).
  void set_catalog_feed(std::shared_ptr<const CatalogFeed> feed);
  // Waiting long polls: woken when the feed changes or the drain begins.
  WaitList& feed_waiters() { return feed_waiters_; }
  // Requests waiting for a new plan (an autostarted instance): woken when a plan is installed
  // or the drain begins.
  WaitList& plan_waiters() { return plan_waiters_; }

  // Registers a session; it must be removed before `h` dies.
  void add_session(SessionHandle* h) { sessions_.push_front(h); }
  void remove_session(SessionHandle* h) { sessions_.remove(h); }
  // Calls f(h) for each session registered now; f may end any session (its own too) right away.
  template <class F>
  void for_each_session(F f) {
    sessions_.for_each(f);
  }

 protected:
  int id_;
  EngineShared& shared_;
  std::shared_ptr<WorkerPlan> plan_;
  IntrusiveList<SessionHandle> sessions_;
  std::shared_ptr<const CatalogFeed> catalog_feed_;
  WaitList feed_waiters_, plan_waiters_;
  FreeList<RequestScratch> scratch_;
  BlockPool blocks_;  // before pool_ and io_: buffers give their blocks back on destruction
  http::ReplayBudget replay_budget_;  // before io_: request frames give their bytes back
  UpstreamPool pool_;
  H2Upstreams h2_upstreams_{io_, blocks_};
  AccessLogBuffer access_log_;
  auth::CredentialCache auth_cache_;
  trace::SpanBuffer spans_;
  bool draining_ = false;
  size_t freed_ = 0;  // bytes trim_free_lists() freed since it last gave pages back
  uint64_t rng_state_;
  // Last member, so destroyed first: pending sessions are destroyed while the members they
  // use (sessions_, pool_, access_log_) still exist.
  // Sockets are only touched by this thread, so the reactor needs no per-descriptor locks;
  // the scheduler keeps its lock because other threads post() to us.
  asio::io_context io_{ASIO_CONCURRENCY_HINT_UNSAFE_IO};
};

}  // namespace ferry::proxy
