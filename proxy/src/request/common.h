// Per-request steps every HTTP downstream protocol shares (HTTP/1 sessions and HTTP/2
// streams): the request id and the access-log entry. Worker thread only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "net/connect.h"
#include "worker/context.h"
#include "worker/request_scratch.h"

namespace ferry::proxy {

// A trusted client's Ferry-Request-Id, else its `alias` field (global `request-id-header`,
// lower-case; empty: none), printable and at most 128 bytes, else 32 random hex digits from
// the worker's generator, into `id`.
void make_request_id(WorkerContext& w, const std::vector<http::Header>& headers, bool trusted, std::string_view alias,
                     std::string& id);

// Tracing (observe/trace.h): this request's trace state, from a trusted peer's traceparent
// or started here, sampled by `tracing`'s ratio; `traceparent` gets the value sent upstream.
// Off (t.on = false) when the plan has no `tracing` section.
void start_trace(WorkerContext& w, const config::Config& cfg, const std::vector<http::Header>& headers, bool trusted,
                 trace::TraceState& t, std::string& traceparent);

// The Host an upstream request gets when the client named none (HTTP/1.0 without Host, an
// empty Host): the app's first exact host name, else the address and port the client connected
// to ("[v6]:port" for IPv6).
std::string fallback_host(const config::App& app, const PeerInfo& peer);

// A finished (or failed) request: counted in its app's per-worker counters (when routed to
// an app, info.app >= 0, whether or not the access log is on), then one access-log entry
// (nothing when logging is off), and its span when it is traced and exported (sampled, or an
// error with `errors on`). `proto` is the downstream protocol.
void log_request(WorkerContext& w, const Plan& plan, const config::Frontend& fe, const PeerInfo& peer,
                 const RequestInfo& info, int status, uint64_t in, uint64_t out, std::string_view server,
                 double upstream_ms, int retries, std::string_view termination, StatsProtocol proto);

// Counts the outcome of one AppBudget::acquire() for app `app` of `plan` (rejections, queue
// wait); `queued` and `since` as given to / taken before acquire(). The fast path (granted
// without queueing) touches nothing.
void count_budget(WorkerContext& w, const Plan& plan, int app, BudgetResult r, bool queued, SteadyClock::time_point since);

}  // namespace ferry::proxy
