// The embedded catalog's transport on the backhaul (docs/CATALOG.md): each node serves its own
// instances at `GET /.ferry/v1/catalog?epoch=E&since=V&wait=MS` (a long poll: answered at once
// when the node's feed moved past V, else when it does or after MS), and each edge's worker 0
// follows every mesh peer's feed, handing each answer to the engine's CatalogSink.
//
// Answers (text/plain; records are the daemon's lines, opaque here):
//   ferry-catalog 1 EPOCH VERSION full\n<every record>       E differs, V unknown or too old
//   ferry-catalog 1 EPOCH VERSION delta FROM\n<the changes after FROM>
//   ferry-catalog 1 EPOCH VERSION same\n                     nothing new within MS
//
// Thread: worker threads; the feed and its waiters are the worker's (WorkerContext).
#pragma once

#include <string>
#include <string_view>

#include "ferry/proxy/catalog.h"
#include "net/asio_util.h"
#include "net/sockaddr.h"

namespace ferry::proxy {

class WorkerContext;

inline constexpr std::string_view kCatalogPath = "/.ferry/v1/catalog";
inline constexpr int64_t kMaxCatalogWaitMs = 30'000;

// The answer to a reader at (epoch, since) from `feed` (null: an empty feed at epoch 0);
// `same` is set (and the body is the "same" answer) when there is nothing new for it.
std::string feed_answer(const CatalogFeed* feed, uint64_t epoch, uint64_t since, bool& same);

// Serves one long poll whose request-target is `target` (path kCatalogPath with its query):
// waits on the worker's feed for at most the query's `wait` (capped at kMaxCatalogWaitMs; none
// while draining). `from`: the connection's real source, which names the asking mesh peer (its
// allowed-ips) for the CatalogAck. Returns the body.
awaitable<std::string> serve_catalog_poll(WorkerContext& w, std::string_view target, const SockAddr& from);

// Worker 0, for the worker's life: one follower per mesh peer of the current plan, each a
// chain of long polls on the peer's feed; every answer with news goes to the CatalogSink, and
// a failed fetch makes the follower start over (sink told `reset`, then a full snapshot).
// Does nothing without a CatalogSink or while draining.
awaitable<void> run_catalog_followers(WorkerContext& w);

}  // namespace ferry::proxy
