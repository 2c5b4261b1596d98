// The live instance catalog, embedded back end (docs/CATALOG.md).
//
// This node is the authority for the instances it hosts: the admin API adds, changes and
// removes them here (put/set_state/remove), each change gets the next version, is written to
// SQLite (catalog_instances; a restart or reload loses nothing) and is served to the mesh
// peers as the engine's CatalogFeed (a full snapshot, or the changes after a peer's version).
// What the peers serve arrives through the engine's CatalogSink (on_feed, worker 0) and is
// kept per node; a peer unreachable for its `peer-timeout` (the mesh prober's verdict) loses
// its instances here until it answers again with a full snapshot. The engine routes to the
// union: set_instances() after every change, coalesced.
//
// Consistency: per-node authority (a peer's feed can only announce instances on that peer),
// versions increase per node, a delta applies only on top of the version it continues from
// (otherwise the follower starts over with a full snapshot).
//
// Ownership: the Daemon owns one Catalog, created before the engine starts and stopped after
// the admin server. Threads: put/set_state/remove/view/metrics from admin threads, on_feed
// from worker 0, configure/start/stop from the main thread; one mutex guards the state (never
// held across an engine call that could wait on a worker). Its own thread applies the peers'
// answers, expires unreachable peers and publishes to the engine.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catalog/autoscale.h"
#include "catalog/etcd_sync.h"
#include "catalog/file_provider.h"
#include "catalog/record.h"
#include "ferry/configlang/config.h"
#include "ferry/proxy/engine.h"
#include "ferry/proxy/stats.h"
#include "store/sqlite.h"

namespace ferry::daemon::catalog {

struct PeerView {
  std::string node;
  uint64_t epoch = 0, version = 0;
  uint64_t routed_version = 0;    // ... of which the plan routes with (embedded; 0 with etcd)
  size_t instances = 0;
  int64_t last_sync_age_ms = -1;  // since the last answer applied; -1: none
  bool stale = false;             // lost its place or unreachable: waiting for a full snapshot
  uint64_t sync_errors = 0;       // failed fetches and refused answers
};

// How far another node routes with this node's instances: with the embedded back end a mesh
// peer (its follower's last poll of our feed), with etcd every node holding a lease (its
// acknowledged revision, as our version).
struct AckView {
  std::string node;
  bool reachable = false;  // the mesh prober's verdict; with etcd always true (a live lease)
  uint64_t version = 0;    // this node's version the peer routes with; 0: none at this epoch
};

struct View {
  std::string node;  // this node's name
  std::string backend;  // "embedded" or "etcd"
  bool stale = false;   // etcd: the picture of the other nodes is not current (etcd unreachable)
  std::string error;    // etcd: the last error while stale
  std::string endpoint; // etcd: the endpoint the watch uses
  int64_t last_sync_age_ms = -1;  // etcd: since the last range or event; -1: none
  uint64_t epoch = 0, version = 0;
  uint64_t routed_version = 0;  // this node's own version the plan routes with
  std::vector<PeerView> peers;
  std::vector<AckView> acks;    // one per mesh peer (embedded), per other live node (etcd)
  std::vector<Record> records;  // inst.node set; this node's first
  std::vector<AutoscaleView> autoscale;  // apps with `autostart` (scale-to-zero)
  proxy::Histogram lag;  // as in Metrics: change at its source -> applied here, since start
  // Changes the catalog holds (these records) that the engine does not route with yet (the
  // catalog thread is about to build, or is building, the plan with them).
  bool pending = false;
};

struct Metrics {
  bool etcd = false;
  bool stale = false;      // etcd: see View
  uint64_t etcd_errors = 0;  // failed etcd calls since the back end started
  uint64_t version = 0;
  uint64_t changes = 0;  // local changes since start
  std::map<std::pair<std::string, bool>, uint64_t> instances;  // (state, local) -> count
  proxy::Histogram lag;  // change at its source -> applied here (deltas from peers), seconds
  std::vector<PeerView> peers;
  std::vector<AutoscaleView> autoscale;  // apps with `autostart`: their hook calls
};

class Catalog final : public EtcdSink {
 public:
  explicit Catalog(proxy::Engine& engine);
  ~Catalog() override;
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // At start: hands the engine its sink and instances and starts the thread; opens the store
  // in the config's state directory and loads this node's instances when a backend has
  // `instances catalog` or the database exists (else at the first reload that adds one), so a
  // node without a catalog creates no file. False with `error` when the store cannot be
  // opened (the daemon runs on without this node's instances then; changes answer 503).
  bool start(std::shared_ptr<const config::Config> cfg, std::string& error);
  // At every reload: the node name and the apps (for checks); opens the store when the new
  // config is the first with `instances catalog`. Returns that opening's error, else "".
  // Main thread.
  std::string configure(std::shared_ptr<const config::Config> cfg);
  void stop();

  enum class Result { ok, invalid, not_found, unavailable };
  // Adds or replaces one of this node's instances (inst.node is ignored). `out`: as stored.
  Result put(Record rec, Record& out, std::string& error);
  Result set_state(const std::string& app, const std::string& id, proxy::InstanceState state, Record& out,
                   std::string& error);
  Result remove(const std::string& app, const std::string& id, Record& out, std::string& error);

  View view(const std::string* app) const;
  std::vector<Record> local_records() const;  // this node's instances (inst.node set)
  // Started instances per app, every node's (this node's picture of the fleet).
  std::map<std::string, int> started_by_app() const;
  std::string node() const;  // this node's name
  Metrics metrics() const;

  // The engine's CatalogSink (worker 0): see ferry/proxy/catalog.h. Ignored with etcd.
  bool on_feed(const std::string& node, std::string body, bool reset);

  // The engine's CatalogAck (any worker) and CatalogApplied (worker 0): ferry/proxy/catalog.h.
  void on_ack(const std::string& node, uint64_t epoch, uint64_t since);
  uint64_t routed_version(const std::string& node, uint64_t epoch) const;

  // EtcdSink (the EtcdSync threads), with `catalog etcd`.
  void etcd_snapshot(std::vector<Entry> entries, std::map<std::string, int64_t> acks, int64_t revision) override;
  void etcd_event(const std::string& node, const std::string& app, const std::string& id,
                  std::optional<std::string> line, int64_t revision) override;
  void etcd_ack(const std::string& node, int64_t revision) override;
  void etcd_health(bool stale, const std::string& error) override;
  std::vector<std::pair<std::string, std::string>> etcd_local(uint64_t& version) override;

 private:
  struct Peer {
    uint64_t epoch = 0, version = 0;        // what the follower continues from (accepted)
    std::map<std::pair<std::string, std::string>, Record> records;  // applied
    int64_t last_sync_ms = 0;
    bool stale = true;
    uint64_t sync_errors = 0;
    uint64_t applied_epoch = 0, applied_version = 0;  // the newest answer applied here
    uint64_t routed_epoch = 0, routed_version = 0;    // ... and handed to the engine
  };
  struct Ack {
    uint64_t epoch = 0, since = 0;
  };
  struct Answer {
    std::string node;
    std::string body;
    proxy::FeedHead head;  // parsed by on_feed
    size_t lines_at = 0;   // where the record lines start in body
  };

  void run();
  // Starts, restarts or stops the etcd back end and the file provider to match `cfg` (its
  // `catalog` section and node name). Main thread, without mu_ held: their threads call back
  // into the catalog.
  void apply_backend(const config::Config& cfg);
  // Opens the store and loads this node's instances (once). False with `error` on failure.
  bool open_locked(std::string& error);
  void publish_feed_locked();
  void apply_answer_locked(const Answer& a, int64_t now_unix_ms);
  std::vector<proxy::Instance> merged_locked() const;
  std::vector<PeerView> peer_views_locked() const;
  std::string check_app_locked(const std::string& app) const;
  Result change_locked(Record rec, bool removal, Record& out, std::string& error);

  proxy::Engine& engine_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const config::Config> cfg_;
  store::Db db_;
  bool open_ = false;
  uint64_t epoch_ = 0, version_ = 0, changes_ = 0;
  std::map<std::pair<std::string, std::string>, Record> local_;
  std::deque<proxy::CatalogFeed::Change> recent_;  // the newest changes, for deltas
  std::map<std::string, Peer> peers_;
  std::map<std::string, Ack> acks_;  // by mesh peer: its follower's last poll of our feed
  std::deque<Answer> inbox_;  // answers from on_feed, applied by the thread
  proxy::Histogram lag_;
  bool dirty_ = false, stop_ = false;
  bool publishing_ = false;  // run() is handing instances to the engine (mu_ released)
  // Pacing: run() hands instances to the engine again no sooner than this (steady ms). Each
  // hand-over rebuilds the plan, O(all servers); waiting 3x the last one's duration after it
  // keeps that work under a quarter of a core however fast changes come, and batches them.
  int64_t next_publish_ms_ = 0;
  uint64_t routed_self_ = 0;  // version_ as of the last plan handed to the engine
  std::thread thread_;
  // The etcd back end, when configured: owned here, replaced by apply_backend() (main thread).
  // `etcd_` itself is read under mu_ (change_locked); etcd_cfg_ only on the main thread.
  std::unique_ptr<EtcdSync> etcd_;
  std::optional<std::pair<config::Catalog, std::string>> etcd_cfg_;  // (section, node) it runs with
  std::unique_ptr<FileProvider> files_;  // main thread only
  // Scale-to-zero's hooks; created in the constructor, stopped first by stop().
  std::unique_ptr<Autoscaler> autoscale_;
  std::string files_dir_;                // the directory it watches
  bool etcd_stale_ = false;
  std::string etcd_error_;
  int64_t etcd_last_sync_ms_ = 0;  // steady ms of the last range or event
  // The etcd revision up to which the other nodes' instance events are applied here (the next
  // plan routes with them), and the other nodes' acknowledged revisions (their @applied keys).
  // Both belong to one etcd: apply_backend() clears them and bumps etcd_generation_.
  int64_t etcd_seen_ = 0;
  std::map<std::string, int64_t> etcd_acks_;
  uint64_t etcd_generation_ = 0;
};

}  // namespace ferry::daemon::catalog
