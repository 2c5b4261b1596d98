// The ACME thread: automatic certificates for every app with `certificate acme`.
//
// What it does, per app: a stored certificate (state-dir/ferry.db) that is valid is installed
// into the Engine at once (no new order); an order is started when there is none, it expired,
// the app has hosts it does not cover (e.g. added by a reload), or one third of its lifetime
// is left. An order is newOrder -> tls-alpn-01 or http-01 challenges (the acme section's
// `challenge`) served by the Engine -> finalize ->
// download -> store -> install live. One order at a time; failures retry with jittered
// exponential back-off (at most a day apart) while the old certificate keeps being served.
// Every order is recorded in the order history table.
//
// Ownership: the Daemon owns one AcmeManager and the Engine it borrows (the Engine must outlive
// it). The manager owns its thread (a Follower of the configuration, lifecycle/follower.h), the
// store connection and the ACME account key.
// Threads: load(), start(), update(), request_stop() and stop() are called on the main thread; everything else runs on
// the manager's own thread, which does blocking HTTPS and SQLite I/O (never on a worker). The
// thread talks to the data plane only through Engine::set_dynamic_certificates and
// Engine::set_acme_challenges / Engine::set_acme_http_tokens (immutable snapshots; a
// challenge is published before the CA is told to validate and withdrawn when the order ends,
// successful, failed or stopped). A reload (update) during an order does not
// interrupt it: the order completes for the hosts it started with, and the new configuration
// is looked at right after (a host added meanwhile gets its own order then), so an order is
// never duplicated nor lost. stop() sets a flag checked between steps, wakes every wait and
// shuts down the socket of an HTTPS exchange in progress (which also has a 10 s timeout), so it
// returns promptly even when the CA hangs.
// Errors are logged (info for progress, warning for failures, naming the app and hosts).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "acme/status.h"
#include "ferry/configlang/config.h"
#include "ferry/proxy/engine.h"
#include "lifecycle/follower.h"

namespace ferry::daemon {

class TransportCancel;  // acme_https.h

class AcmeManager {
 public:
  explicit AcmeManager(proxy::Engine& engine);
  ~AcmeManager();  // stop()s
  AcmeManager(const AcmeManager&) = delete;
  AcmeManager& operator=(const AcmeManager&) = delete;

  // Start-up, before the engine's first apply(): when `cfg` has an acme section, opens the
  // store (state-dir/ferry.db, created 0600 in a 0700 directory), so a bad state-dir fails
  // start-up, and installs the stored certificates that are valid into the engine, so the
  // first plan already serves them (no handshake is refused after a restart). Returns false
  // with `error` on a store failure. Without an acme section nothing is opened until a reload
  // adds one.
  bool load(const config::Config& cfg, std::string& error);
  // After the engine's first apply() (listeners bound, so challenges can be answered): starts
  // the thread, which orders what is missing.
  void start(std::shared_ptr<const config::Config> cfg);
  // A new configuration is live (reload): the thread re-plans with it as soon as it is not in
  // the middle of an order.
  void update(std::shared_ptr<const config::Config> cfg);
  // The status of every app with `certificate acme` as the thread last published it (state,
  // last error, next renewal, failed orders, the installed certificate). Any thread; empty
  // before start() and when no acme section exists.
  std::map<std::string, acme::AppStatus> status() const { return cell_->get(); }
  // Asks the thread to order a certificate for `app` now, even if its certificate is valid
  // and even while it backs off after failures (an order in progress for another app finishes
  // first). False (nothing requested) when the configuration in force has no acme section or
  // `app` is not an app with `certificate acme` and hosts. Any thread; never blocks on I/O.
  bool renew_now(const std::string& app);
  // Asks the thread to stop (it gives up at the next step or wait) without waiting for it.
  void request_stop();
  // request_stop(), then joins the thread. Idempotent.
  void stop();

  struct State;  // the thread's own state (acme_manager.cpp)

 private:
  using Snapshot = std::shared_ptr<const config::Config>;
  // The follower's step: one pass with the newest configuration; returns when to run again.
  std::chrono::milliseconds step(const Snapshot& cfg);
  // The follower's finish: withdraws the challenges still published.
  void finish();

  proxy::Engine& engine_;
  std::mutex renew_mu_;
  std::set<std::string> renew_requested_;       // guarded by renew_mu_: renew_now() not seen by the thread yet
  std::shared_ptr<acme::StatusCell> cell_;      // published by the thread, read by any
  std::unique_ptr<State> state_;                // the thread's (set up by start())
  // Interrupts the thread's HTTPS I/O on stop; shared with its transport. Set at construction.
  std::shared_ptr<TransportCancel> cancel_;
  Follower<Snapshot> follower_;  // last: its thread uses everything above
};

}  // namespace ferry::daemon
