// The catalog's etcd back end (docs/CATALOG.md, "etcd back end"): this node's instances are
// written to etcd under PREFIX NODE/APP/ID, bound to a lease the node keeps alive, and every
// node's instances are read back with one range and then a watch of the prefix.
//
//   keeper   grants the lease (TTL `lease-ttl`), writes the node's whole set on every new lease
//            (and deletes its keys that are no longer registered), then each change as it
//            comes (coalesced per key, in transactions), and keeps the lease alive every TTL/3.
//            A lost lease (etcd says TTL 0, or it was down longer than the TTL) is granted
//            again and everything is written again: "re-register when it returns".
//   watcher  ranges over the prefix (a full picture at revision R), then watches from R+1 and
//            hands every event to the sink. A quiet watch is resumed from the last revision; a
//            failed one starts over with a range. While etcd cannot be reached the sink is told
//            the picture is stale (and keeps it).
//
// Acknowledgements (ferryctl --wait): the catalog tells applied(R) once its plan holds every
// other node's instance event up to revision R; the keeper writes R to PREFIX NODE/@applied
// (bound to the lease). It also remembers the revision at which each of this node's versions
// was written, so an edge's acknowledged revision translates into this node's version
// (version_at). The watcher hands the other nodes' acknowledgements to the sink. Only instance
// events advance R, so acknowledging never feeds itself.
//
// Only keys of other nodes are handed to the sink: this node is the authority for its own.
// A key's node is the node in its name; which node may write which keys is etcd's to enforce
// (a role per node limited to PREFIX NODE/, docs/CATALOG.md).
//
// Ownership: the Catalog owns one EtcdSync per etcd configuration. Threads: the two above;
// changed()/stop() from the catalog's callers (the catalog's mutex may be held: EtcdSync's own
// mutex is taken inside it, and the threads never call the sink while holding their own).
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "catalog/etcd_http.h"
#include "ferry/configlang/config.h"

namespace ferry::daemon::catalog {

// What the etcd back end tells the catalog, and asks of it. Called from the EtcdSync threads.
class EtcdSink {
 public:
  virtual ~EtcdSink() = default;
  struct Entry {
    std::string node;
    std::string line;  // the record line, without '\n'
  };
  // The whole picture of the other nodes' instances and acknowledgements (node -> revision)
  // at `revision` (after a range).
  virtual void etcd_snapshot(std::vector<Entry> entries, std::map<std::string, int64_t> acks, int64_t revision) = 0;
  // One change at `revision`: an upsert (line set) or a removal of NODE's APP/ID.
  virtual void etcd_event(const std::string& node, const std::string& app, const std::string& id,
                          std::optional<std::string> line, int64_t revision) = 0;
  // Another node's acknowledged revision; 0 = its key is gone (its lease ended).
  virtual void etcd_ack(const std::string& node, int64_t revision) = 0;
  // Whether the picture is current (false while etcd cannot be reached), with the last error.
  virtual void etcd_health(bool stale, const std::string& error) = 0;
  // This node's instances: (APP/ID, record line without '\n'), and the catalog's version.
  virtual std::vector<std::pair<std::string, std::string>> etcd_local(uint64_t& version) = 0;
};

class EtcdSync {
 public:
  // `node`: this node's name (its keys' second part). Starts both threads.
  EtcdSync(const config::Catalog& cfg, std::string node, EtcdSink& sink);
  ~EtcdSync();  // stop()
  EtcdSync(const EtcdSync&) = delete;
  EtcdSync& operator=(const EtcdSync&) = delete;

  // One of this node's instances changed: `line` = its record line, nullopt = removed;
  // `version` = the catalog's version of the change.
  void changed(const std::string& app, const std::string& id, std::optional<std::string> line, uint64_t version);
  // The catalog routes with every other node's instance event up to `revision`.
  void applied(int64_t revision);
  // The newest version of this node's that was written at or before `revision` (0 = none).
  uint64_t version_at(int64_t revision) const;
  void stop();

  struct Status {
    bool lease = false;     // a lease is held
    std::string endpoint;   // the watcher's
    uint64_t errors = 0;    // failed calls, both threads
  };
  Status status() const;

 private:
  void keeper();
  void watcher();
  bool write_all(EtcdHttp& http, int64_t lease, std::string& error);
  void wrote(uint64_t version, int64_t revision);  // remembers a write for version_at
  bool write_pending(EtcdHttp& http, int64_t lease, std::string& error);
  void failed(const std::string& error);
  bool sleep_for(std::chrono::milliseconds d);  // false when stopping

  const config::Catalog cfg_;
  const std::string node_;
  EtcdSink& sink_;
  std::string password_error_;
  std::unique_ptr<EtcdHttp> keeper_http_, watcher_http_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::optional<std::string>> pending_;  // APP/ID -> line or removal
  uint64_t pending_version_ = 0;    // the newest version among pending_ (and before)
  int64_t applied_ = 0;             // applied(): to write as this node's acknowledgement
  int64_t applied_written_ = 0;     // ... the value written (0: none since the last lease)
  std::deque<std::pair<uint64_t, int64_t>> written_;  // (version, revision), oldest first
  bool stop_ = false;
  bool lease_held_ = false;
  uint64_t errors_ = 0;
  std::thread keeper_thread_, watcher_thread_;
};

}  // namespace ferry::daemon::catalog
