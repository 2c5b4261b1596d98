// The downstream side of the request pipeline (request/pipeline.h): what one client
// connection knows (DownstreamConn, shared by the HTTP/1 session and the HTTP/2 connection),
// and what the pipeline asks of the protocol for one request (RequestDownstream, implemented
// by the HTTP/1 session and by each HTTP/2 stream).
//
// Ownership: the connection owns its DownstreamConn part; a RequestDownstream lives for one
// request (the HTTP/1 session serves its requests one after another with the same object).
// Thread: the worker's. Coroutines never throw; errors are results.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "http/body.h"
#include "http/body_tee.h"
#include "http/message.h"
#include "net/connect.h"
#include "net/deadline.h"
#include "net/stream.h"
#include "request/exchange.h"
#include "runtime/counters.h"
#include "worker/context.h"

namespace ferry::proxy {

struct RequestInfo;

// One client connection as the requests on it see it. The plan may change between requests
// (refresh_plan); a request keeps the WorkerPlan it started with.
class DownstreamConn {
 public:
  DownstreamConn(WorkerContext& w, Stream sock, std::shared_ptr<WorkerPlan> wp, std::string key)
      : w_(w), sock_(std::move(sock)), wp_(std::move(wp)), key_(std::move(key)) {}

  // Switches to the worker's newest plan. False when our listener is gone from it, or when it
  // no longer trusts a backhaul peer (then `revoked_` is set): no new request is served.
  bool refresh_plan();

  WorkerContext& w_;
  Stream sock_;  // the client connection (TLS on `tls` binds)
  std::shared_ptr<WorkerPlan> wp_;
  std::string key_;                   // the listener key (Plan::binds)
  const PlanFrontend* fe_ = nullptr;  // in wp_->plan
  int bind_ = 0;                      // index in fe_->cfg->binds
  // The front context the TLS handshake started on (null when plain): the certificate set a
  // request's Host is checked against (route_request), also after a reload.
  std::shared_ptr<SSL_CTX> tls_front_;
  PeerInfo peer_;
  std::string client_ip_;
  bool trusted_ = false;  // the peer may state forwarding fields (plan.h PlanFrontend::trusts)
  bool revoked_ = false;  // a reload took the backhaul peer out of every allowed-ips

 protected:
  ~DownstreamConn() = default;
};

// A complete response Ferry makes itself (not an error page): the ACME http-01 answer, the
// mesh load report, a rule's redirect or return.
struct LocalResponse {
  int status = 200;
  std::string_view content_type;  // empty: no Content-Type
  std::string body;
  std::string_view termination;  // the access log's termination field ("" for none)
  bool logged = true;            // false: no access-log entry (the mesh load report)
  std::span<const http::Header> extra{};  // more fields (a redirect's Location)
  bool head = false;  // the request was HEAD: the fields state the body's length, no body is sent
};

// Why RequestDownstream::await_body ended early.
struct BodyWait {
  const char* termination = "";  // "client-abort" or "client-timeout"
  uint64_t received = 0;         // body bytes that had arrived
};

// What one relayed response came to (RequestDownstream::relay_response).
struct RelayResult {
  int status = 0;                 // 0: the upstream's; else what the client got instead
  uint64_t in_extra = 0;          // request bytes moved after the head (a tunnel's upload)
  uint64_t out = 0;               // response payload bytes the client was sent
  std::string_view termination;   // "" when complete
  bool keep_downstream = false;   // the connection may carry another request
  bool keep_upstream = false;     // the upstream connection may go back to the pool
};

// The access log's termination for a response body the relay could not move in full: the
// source is the upstream, the sink the client.
inline std::string_view relay_termination(http::BodyResult::Error e) {
  using E = http::BodyResult::Error;
  return e == E::read_timeout                 ? "upstream-timeout"
         : e == E::read || e == E::malformed  ? "upstream-abort"
         : e == E::write_timeout              ? "client-timeout"
                                              : "client-abort";
}

// The protocol's half of one request. The ExchangeDownstream part streams the request body
// upstream and passes interim responses on.
class RequestDownstream : public ExchangeDownstream {
 public:
  virtual DownstreamConn& conn() = 0;
  virtual StatsProtocol protocol() const = 0;
  // Our Via entry; empty: "1.<minor> ferry" from the request's version.
  virtual std::string_view via() const { return {}; }
  // Request bodies up to this many bytes that are still arriving are awaited whole before the
  // request is sent, so that it can be replayed on another server.
  virtual uint64_t replayable_body_limit() const = 0;

  // Ferry's own error page. `close`: the connection ends after it (HTTP/1; an HTTP/2 stream
  // always ends alone). `retry_after`: seconds for a Retry-After field (0: none).
  virtual awaitable<void> send_error(int status, std::string_view detail, bool close, uint32_t retry_after = 0) = 0;
  // A LocalResponse; `close` as for send_error. Returns the bytes sent (0: failed).
  virtual awaitable<uint64_t> send_local(const LocalResponse& r, bool close) = 0;

  // The request is routed to `pa` on backend `be`: their limits apply to the body from now on.
  virtual void routed(const PlanApp& pa, const config::Backend& be) = 0;
  // The request head's views are no longer used (the upstream head is built).
  virtual void head_done() {}
  // Waits for the whole body of `req` (content-length, at most replayable_body_limit()), within
  // `timeout client`. False: the client went away or timed out (`w` says which; the pipeline
  // logs it, the downstream has answered what its protocol wants, if anything).
  virtual awaitable<bool> await_body(const http::RequestHead& req, BodyWait& w) = 0;
  // The whole request body when it is here (no body: empty), else nullopt (it streams).
  // Valid until complete_body_done().
  virtual bool complete_body(const http::RequestHead& req, std::string_view& body) = 0;
  // The exchange no longer needs complete_body()'s bytes.
  virtual void complete_body_done() {}
  // Copies what send_body() streams into `tee` (null: none).
  virtual void set_tee(http::BodyTee* tee) = 0;

  // The connection slot and deadline an exchange uses (its deadline cancels the slot).
  virtual std::unique_ptr<UpstreamConn>& upstream_slot() = 0;
  virtual Deadline& deadline() = 0;

  // Sends the answered exchange's response (head in x.resp, bytes in up->buf) to the client;
  // drops x.inflight once the upstream has sent it all. `upgrade`: the request asked for one.
  virtual awaitable<RelayResult> relay_response(Exchange& x, const RequestInfo& info, const config::Backend& be,
                                                bool upgrade) = 0;

 protected:
  ~RequestDownstream() = default;
};

}  // namespace ferry::proxy
