// The data plane's side of the live instance catalog (docs/CATALOG.md): the instances the
// daemon's catalog hands to the engine, the feed this node serves to its mesh peers over the
// backhaul, and the sink that receives what the peers serve.
//
// The catalog itself (registrations, persistence, merging, expiry) lives in the daemon; the
// engine only turns instances into plan servers and carries feed text both ways, so this
// module knows nothing of the record format beyond the feed's first line.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/configlang/config.h"

namespace ferry::proxy {

enum class InstanceState { starting, started, stopping, stopped };

// One instance as the engine routes to it. Only `started` instances receive traffic.
struct Instance {
  std::string app;  // the app it serves (its backend must have `instances catalog`)
  std::string id;   // unique within the app; the server name in stats, logs and Ferry-Instance
  config::Address addr;  // on its node
  std::string node;      // the hosting node: this node's name, or a mesh peer's
  std::string region;    // empty: the node's region
  InstanceState state = InstanceState::started;
  int weight = 1;  // 0..256
  int soft = 0;    // concurrency soft limit for this instance; 0 = the app's
  int hard = 0;    // concurrency hard limit (maxconn); 0 = none
};

// What this node serves at GET /.ferry/v1/catalog on its backhaul: its own instances as text
// records (one per line, the daemon's format) at `version`, plus the newest changes for
// deltas. `epoch` changes whenever versions could restart (a new database), so a reader at
// another epoch always gets the full snapshot.
struct CatalogFeed {
  uint64_t epoch = 0;
  uint64_t version = 0;
  std::string snapshot;  // every record at `version`, each line ending in '\n'
  struct Change {
    uint64_t version;  // the version this change produced
    std::string line;  // its record line (an upsert or a removal), ending in '\n'
  };
  std::vector<Change> changes;  // ascending by version, the last one at `version`; may be empty
};

// Receives each answer with news fetched from a peer's feed: the peer's node name and the body
// (first line "ferry-catalog 1 EPOCH VERSION full|delta FROM"). Returns false when it cannot
// use it (a delta that does not continue from what it holds): the follower then starts over
// with a full snapshot. `reset` = true (body empty, result ignored) when the follower lost its
// place (a failed fetch). Called on worker 0's thread; must not block (a short lock, a queue).
using CatalogSink = std::function<bool(const std::string& node, std::string body, bool reset)>;

// Acknowledgements, for `ferryctl instance ... --wait` (docs/CATALOG.md): a follower asks for
// news after (epoch, since) only once its own engine routes with everything up to `since`
// (CatalogApplied), so each poll a node serves tells it how far that peer has applied its feed.
// CatalogAck: mesh peer `node` (identified by its allowed-ips, not by anything it sends) asked
// after (epoch, since). Called on any worker thread; must not block (a short lock).
using CatalogAck = std::function<void(const std::string& node, uint64_t epoch, uint64_t since)>;
// The version of mesh peer `node`'s feed at `epoch` that this node's engine routes with (0:
// none). Called on worker 0; must not block.
using CatalogApplied = std::function<uint64_t(const std::string& node, uint64_t epoch)>;

// Scale-to-zero (`autostart`, docs/CATALOG.md): a request for app `app` found no started
// instance and waits for one. Called on a worker thread for every such request; must not
// block. The daemon calls the app's hook (once while a start is pending) off the worker.
using AutostartHook = std::function<void(const std::string& app)>;

// The feed's first line: parsed by the follower (to continue from it) and by the daemon.
struct FeedHead {
  uint64_t epoch = 0, version = 0, from = 0;
  enum class Kind { full, delta, same } kind = Kind::same;
};
// Parses "ferry-catalog 1 E V full|delta FROM|same" at the start of `body`; on success sets
// `rest` to the lines after it. False when it is not such a line.
bool parse_feed_head(std::string_view body, FeedHead& head, std::string_view& rest);

}  // namespace ferry::proxy
