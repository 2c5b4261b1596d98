// A downstream HTTP/1.x connection: reads request heads (keep-alive, pipelining), routes
// each request to an app, applies the app's budget, forwards it to an upstream server with
// retries, and streams the response back. WebSocket upgrades become tunnels after the
// upstream's 101.
#pragma once

#include <memory>

#include "net/asio_util.h"

namespace ferry::proxy {

class Worker;
struct WorkerPlan;

// Worker thread coroutine; owns `sock` until it returns.
awaitable<void> run_http1_session(Worker& w, tcp::socket sock, std::shared_ptr<WorkerPlan> wp, int frontend,
                                  int bind);

}  // namespace ferry::proxy
