// One data-plane worker: the accept and dispatch loop over its WorkerContext
// (worker/context.h): its own listening sockets (SO_REUSEPORT), plan installs, drain, the
// periodic tick. A connection lives and dies on one worker (the accepting one, or the one it
// was handed to at once when that one serves clearly fewer); nothing here is locked.
//
// Ownership: the Engine owns the Workers. Thread: methods marked [any] post to the loop;
// everything else runs on the worker's own thread.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/accept.h"
#include "net/asio_util.h"
#include "plan/plan.h"
#include "worker/context.h"

namespace ferry::proxy {

class Worker : public WorkerContext {
 public:
  Worker(int id, EngineShared& shared);
  ~Worker();
  void start();  // spawns the thread

  // [any] Installs a new plan; opens acceptors for `add` (listener key -> fd, ownership
  // moves to the worker) and closes those named in `remove`.
  void install(std::shared_ptr<const Plan> plan, std::vector<std::pair<std::string, int>> add,
               std::vector<std::string> remove);
  // [any] Serves `feed` to the mesh peers from now on (mesh/catalog_feed.h).
  void post_catalog_feed(std::shared_ptr<const CatalogFeed> feed);
  // [any] Stop accepting, close idle connections, mark draining.
  void begin_drain();
  // [any] Stops the loop and joins the thread. Remaining connections are aborted.
  void stop();
  // [any] Serves a connection another worker accepted (`fd` owned from now on, already
  // counted on this worker): EngineShared::hand_off.
  void post_serve(int fd, const PeerInfo& peer, std::string key);

 private:
  void open_acceptor(const std::string& key, int fd);
  // Accepts with accept4 (net/accept.h), waiting on the acceptor only when none is pending.
  awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acc, ListenerAddr local, std::string key);
  awaitable<void> tick_loop();
  // Worker 0 only: a new session ticket key every kTicketKeyLifetime (tls/ticket_keys.h).
  void rotate_ticket_keys(SteadyClock::time_point now);
  // Closes this worker's backhaul connections to each mesh peer that became unreachable
  // since the last tick (worker 0's prober does it for worker 0): streams waiting on a dead
  // node fail now, and their idempotent requests are retried elsewhere, instead of waiting
  // for `timeout server`.
  void close_unreachable_backhauls();
  SteadyClock::time_point tickets_rotated_ = SteadyClock::now();
  std::unordered_map<const PeerState*, bool> peer_down_;  // as seen at the last tick
  // The worker a new connection goes to: this one, unless another serves clearly fewer
  // connections (SO_REUSEPORT spreads connections by a hash of their addresses, which leaves
  // a few long connections unevenly spread).
  int pick_worker() const;
  // Counts the accepted socket `fd` (owned from now on) on pick_worker()'s worker and serves
  // it there.
  void dispatch(int fd, const PeerInfo& peer, const std::string& key);
  // Hands `fd` (counted on this worker) to the session of its frontend's mode.
  void serve(int fd, const PeerInfo& peer, const std::string& key);
  // After a new plan: revokes backhaul sessions whose source it no longer trusts.
  void revoke_untrusted_backhaul();

  std::thread thread_;
  std::unordered_map<std::string, std::shared_ptr<tcp::acceptor>> acceptors_;
  bool stopped_ = false;
};

}  // namespace ferry::proxy
