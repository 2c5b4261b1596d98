// A downstream connection on a `mode tcp` frontend: optional PROXY header; with `route sni`
// (TLS passthrough) the ClientHello is read (both within `timeout client`) and its server
// name picks the app (else the frontend's `app`; else an unrecognized_name alert and close);
// the app's concurrency budget (counting connections), server choice with retries on connect
// failure, optional PROXY header to the server, then a tunnel with `timeout tunnel` as idle
// limit that forwards the bytes already read (the ClientHello) first.
#pragma once

#include <memory>
#include <string>

#include "net/connect.h"
#include "net/stream.h"

#include "net/asio_util.h"

namespace ferry::proxy {

class WorkerContext;
struct WorkerPlan;

// Worker thread coroutine; owns `sock` until it returns. `peer`: its addresses, from accept.
awaitable<void> run_tcp_session(WorkerContext& w, tcp::socket sock, PeerInfo peer, std::shared_ptr<WorkerPlan> wp,
                                int frontend, int bind);

// A raw TCP connection that arrived over the mesh backhaul for `app` (index) and its hosted
// server named `instance` (from the PROXY v2 Ferry TLV); `pending` = bytes already read after
// the header. `peer` carries the original client (and the backhaul peer in peer.socket);
// `key` is the backhaul's listener key: a reload whose plan no longer trusts peer.socket there
// closes the connection. Worker thread; owns `sock` until it returns.
awaitable<void> run_backhaul_tcp(WorkerContext& w, Stream sock, std::string pending, std::shared_ptr<WorkerPlan> wp,
                                 int frontend, std::string key, PeerInfo peer, int app, std::string instance);

}  // namespace ferry::proxy
