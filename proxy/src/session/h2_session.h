// A downstream HTTP/2 connection (RFC 9113) served with nghttp2: h2 over TLS (ALPN) and h2c
// with prior knowledge. Each stream is one request that takes the same path as an HTTP/1
// request: routing, the app's budget, balancing, retries, pooled HTTP/1.1 upstream
// connections; bodies stream both ways with HTTP/2 flow control tied to upstream
// backpressure.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "net/connect.h"
#include "net/stream.h"

namespace ferry::proxy {

class WorkerContext;
struct WorkerPlan;

// Worker thread. Takes over `sock` from the HTTP/1 session that accepted it (after the TLS
// handshake chose "h2", or after it saw the h2c connection preface). `received`: bytes already
// read from the connection that belong to HTTP/2 (the preface, maybe more). The connection is
// counted in EngineShared::connections while it lives.
void start_http2_session(WorkerContext& w, Stream sock, std::shared_ptr<WorkerPlan> wp, std::string key,
                         const PeerInfo& peer, std::string_view received);

// The client connection preface (RFC 9113 §3.4) that starts h2c with prior knowledge.
inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace ferry::proxy
