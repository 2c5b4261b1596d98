// One request's way through Ferry, the same for HTTP/1 connections, HTTP/2 streams and
// backhaul streams, in named phases:
//
//   accept   request id, access-log fields, the request's facts (RequestInfo)
//   local    answers Ferry gives itself before routing (ACME http-01, the mesh load report)
//   route    Host/SNI/backhaul metadata -> app (421/404/...), the app's max-body-size
//   rules    the frontend's and the app's request rules (rules/eval.h): answers (deny,
//            redirect, return), the backend (use-backend), header edits, path rewrites;
//            not on the backhaul (the edge ran them)
//   budget   the app's concurrency budget (503 when full)
//   forward  the body awaited when small, the upstream head, the exchange with retries
//            (request/exchange.h) and Ferry-Replay (request/replay.h)
//   respond  the answer relayed by the protocol (RequestDownstream::relay_response)
//   log      counters and the access log, once, whatever the outcome
//
// Later features (middleware, tracing) are phases here, written once.
//
// Thread: the worker's. Never throws.
#pragma once

#include "http/message.h"
#include "net/asio_util.h"
#include "request/downstream.h"
#include "worker/request_scratch.h"

namespace ferry::proxy {

// Serves one request whose head `req` was decoded by the downstream (views valid until the
// forward phase has built the upstream head). Returns whether the connection may carry
// another request (HTTP/1; an HTTP/2 stream ignores it).
awaitable<bool> run_request(RequestDownstream& d, http::RequestHead& req, RequestScratch& sc);

}  // namespace ferry::proxy
