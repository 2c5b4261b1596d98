// Per-request working memory of one HTTP request, HTTP/1 or HTTP/2 (parsed heads, serialised
// heads, retry bookkeeping). A session borrows one from its worker when a request starts
// arriving and gives it back when the connection goes idle (an HTTP/2 stream: when it ends),
// so idle keep-alive connections hold none and busy ones reuse warmed-up capacity instead of
// allocating per request. Worker thread only.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "http/message.h"
#include "http/outbound.h"
#include "observe/trace.h"
#include "rules/eval.h"
#include "runtime/server_state.h"

namespace ferry::proxy {

// Per-request facts kept after the parsed head's views die (for logs and retries).
struct RequestInfo {
  std::string method, path, host, request_id;
  int minor = 1;
  bool keep_alive = true;
  bool idempotent = false;
  int app = -1;
  std::string instance;  // backhaul: the instance hosted here that the edge named; empty = any
  SteadyClock::time_point started{};
  trace::TraceState trace;  // tracing: this hop's span and its parent (observe/trace.h)
};

struct RequestScratch {
  RequestInfo info;           // the current request (strings keep their capacity)
  http::RequestHead req;            // the parsed request head (views into the session buffer)
  http::ResponseHead resp;          // the parsed response head (views into the upstream buffer)
  http::OutboundRequest head;  // the upstream request head
  std::string out;            // the serialised downstream response head
  std::vector<bool> tried;    // servers tried for this request
  rules::RuleScratch rules;   // the request rules' working memory and their edits
  std::string traceparent;    // tracing: the traceparent sent upstream
};

}  // namespace ferry::proxy
