// One request's trip to a backend, independent of both protocols: choose a server
// (balancer), take a pooled HTTP/1 connection, connect one, or open a stream on a shared
// HTTP/2 connection (upstream/conn.h is the one interface over them), send the request head
// (and a body that is already complete), stream the rest of the body through the
// downstream's hook, and read the response head — retrying on another server where RFC 9110
// allows it. The request pipeline (request/pipeline.h) calls run_exchange(), then the
// downstream relays the response its own way.
//
// Ownership: the caller owns every object an Exchange refers to, for the whole call and for
// the response that follows. Thread: the worker's; a coroutine that never throws.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "http/body.h"
#include "http/message.h"
#include "http/outbound.h"
#include "net/asio_util.h"
#include "net/connect.h"
#include "net/deadline.h"
#include "upstream/pool.h"
#include "worker/context.h"

namespace ferry::proxy {

// Holds one unit of a server's in-flight count for the current attempt and then for the
// response (released when the response is done or the exchange fails).
struct Inflight {
  ServerState* st = nullptr;
  Inflight() = default;
  Inflight(const Inflight&) = delete;
  Inflight& operator=(const Inflight&) = delete;
  void take(ServerState* s) {
    drop();
    st = s;
    st->inflight.fetch_add(1, std::memory_order_relaxed);
    st->started.fetch_add(1, std::memory_order_relaxed);
  }
  void drop() {
    if (st) st->inflight.fetch_sub(1, std::memory_order_relaxed);
    st = nullptr;
  }
  ~Inflight() { drop(); }
};

struct UpstreamRequest {
  const http::OutboundRequest& head;
  std::string_view body;   // body bytes sent right after the head, raw
  bool replayable = true;  // head + body is the whole request: it may go to another server
  bool idempotent = false;
  std::string_view method;  // decides the response framing of HEAD and CONNECT
  bool upgrade = false;     // an HTTP/1.1 Upgrade (WebSocket): needs an HTTP/1.1 connection
  std::span<const http::Header> extra = {};  // fields sent after the head's (Ferry-Replay-Src)
};

// The downstream side's part of an exchange.
class ExchangeDownstream {
 public:
  // Streams the request body that follows UpstreamRequest::body to `up`. Called once per
  // exchange, and only for a request that is not replayable (so never retried after it).
  virtual awaitable<http::BodyResult> send_body(UpstreamConn& up) = 0;
  // A 1xx response other than 101 arrived (valid until this returns). Default: dropped.
  virtual awaitable<void> interim(const http::ResponseHead& head);
  // True once the client gave up on the request (an HTTP/2 stream reset): the upstream I/O it
  // cut short is then no failure of the server and nothing is retried.
  virtual bool abandoned() const { return false; }

 protected:
  ~ExchangeDownstream() = default;
};

struct Exchange {
  Exchange(WorkerContext& w, const WorkerPlan& wp, int app, const PeerInfo& peer, Deadline& dl,
           std::unique_ptr<UpstreamConn>& up, http::ResponseHead& resp, std::vector<bool>& tried)
      : w(w), wp(wp), app(app), backend(wp.plan->apps[app].backend), peer(peer), dl(dl), up(up), resp(resp),
        tried(tried) {}

  // Inputs.
  WorkerContext& w;
  const WorkerPlan& wp;
  int app = -1;
  int backend = -1;  // the app's backend, or the one a `use-backend` rule chose
  const PeerInfo& peer;                // for send-proxy
  Deadline& dl;                        // the caller's; its expiry must cancel `up`
  std::unique_ptr<UpstreamConn>& up;   // the connection in use (the caller's slot)
  http::ResponseHead& resp;           // the parsed response head (views into up->buf)
  std::vector<bool>& tried;            // scratch: servers tried
  const RoutingHints* hints = nullptr;  // steering for this request (the caller's); null = none

  // Outputs.
  int server = -1;        // index of the answering server in the backend; -1: failed
  int last = -1;          // the server of the last attempt (for logs); -1: none picked
  int attempts = 0;       // retries made (0 = answered at the first attempt)
  // Attempts that failed on a reused connection (a pooled one the server had closed, or a
  // backhaul connection to a node that just died): the first one is not counted against the
  // backend's `retries`, so the retries still reach a fresh connection and other servers.
  int free_retries = 0;
  bool body_sent = false;  // request body bytes left through send_body (no replay possible)
  http::BodyResult body;   // send_body's result (error != none: the exchange failed there)
  bool abandoned = false;  // the client gave up (ExchangeDownstream::abandoned): nothing to answer
  int fail_status = 503;   // server < 0 and body.ok(): the status to answer with
  const char* fail_reason = "no server available";
  SteadyClock::time_point started{};  // when the answering attempt began
  Inflight inflight;                  // held for the answering server until the caller drops it
};

// Runs the exchange. On success (`server >= 0`) `up` holds the connection with the parsed
// head in `resp` and its bytes still in up->buf (the caller consumes resp.head_size), and the
// server's success or 5xx failure is already recorded. On failure `up` is empty.
awaitable<void> run_exchange(Exchange& x, const UpstreamRequest& req, ExchangeDownstream& down);

}  // namespace ferry::proxy
