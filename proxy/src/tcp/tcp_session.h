// A downstream connection on a `mode tcp` frontend: optional PROXY header, the app's
// concurrency budget (counting connections), server choice with retries on connect failure,
// optional PROXY header to the server, then a tunnel with `timeout tunnel` as idle limit.
#pragma once

#include <memory>

#include "net/asio_util.h"

namespace ferry::proxy {

class Worker;
struct WorkerPlan;

// Worker thread coroutine; owns `sock` until it returns.
awaitable<void> run_tcp_session(Worker& w, tcp::socket sock, std::shared_ptr<WorkerPlan> wp, int frontend,
                                int bind);

}  // namespace ferry::proxy
