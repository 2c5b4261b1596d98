// A downstream HTTP/1.x connection: reads request heads (keep-alive, pipelining), routes
// each request to an app, applies the app's budget, forwards it to an upstream server with
// retries, and streams the response back. WebSocket upgrades become tunnels after the
// upstream's 101.
#pragma once

#include <memory>
#include <string>

#include "net/asio_util.h"
#include "net/connect.h"

namespace ferry::proxy {

class WorkerContext;
struct WorkerPlan;

// Worker thread. Takes `sock` (whose addresses are `peer`, from accept) and serves it until the connection ends (the session owns
// itself: its coroutine, or its idle wait while parked). `key` names the listener (plan.h
// listener_key); each new request on the connection uses the worker's newest plan, found
// again by that key. The connection is counted out of WorkerShared::connections at its end.
void start_http1_session(WorkerContext& w, tcp::socket sock, const PeerInfo& peer, std::shared_ptr<WorkerPlan> wp,
                         std::string key);

}  // namespace ferry::proxy
