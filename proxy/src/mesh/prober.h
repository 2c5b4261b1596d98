// The mesh prober: measures each peer's round-trip time with HTTP/2 PINGs on the backhaul
// connection (every `ping-interval`), marks a peer unreachable when no PING was answered for
// `peer-timeout` (judged on its 50 ms tick, whatever is in flight; it closes the peer's
// connections so that requests fail over at once), and fetches the peer's load report
// (mesh/load_report.h) after an answered PING when no fetch is in flight, so balancers see the
// load and health of remote instances with at most about one interval of staleness. PINGs and
// report fetches run apart: a hanging report does not hold the next PING back.
//
// Ownership: runs on worker 0's loop for the worker's life (started by Worker::start); writes
// only the shared PeerState / ServerState atomics of the current plan. Never blocks.
#pragma once

#include "net/asio_util.h"

namespace ferry::proxy {

class WorkerContext;

awaitable<void> run_mesh_prober(WorkerContext& w);

}  // namespace ferry::proxy
