// A downstream HTTP/1.x connection: reads request heads (keep-alive, pipelining), routes
// each request to an app, applies the app's budget, forwards it to an upstream server with
// retries, and streams the response back. WebSocket upgrades become tunnels after the
// upstream's 101.
#pragma once

#include <memory>
#include <string>

#include "net/asio_util.h"

namespace ferry::proxy {

class Worker;
struct WorkerPlan;

// Worker thread coroutine; owns `sock` until it returns.
// `key` names the listener (plan.h listener_key); each new request on the connection
// uses the worker's newest plan, found again by that key.
awaitable<void> run_http1_session(Worker& w, tcp::socket sock, std::shared_ptr<WorkerPlan> wp, std::string key);

}  // namespace ferry::proxy
