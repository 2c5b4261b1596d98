// A GET on a stream of a mesh peer's backhaul connection (the prober's load reports, the
// catalog followers' long polls). Worker threads (the connection is the worker's).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "upstream/h2_upstream.h"

namespace ferry::proxy {

class WorkerContext;

struct FetchResult {
  int status = 0;    // 0: no answer (connect, stream or timeout failure, or a malformed one)
  std::string body;  // the body of a 200 (bounded by `max_body`; longer: status 0)
};

// Opens a stream to `t` (connecting within `connect_timeout` if needed), sends `GET path`,
// waits at most `answer_timeout` for the head and the whole body (Content-Length framed).
awaitable<FetchResult> fetch_from_peer(WorkerContext& w, const H2Upstreams::Target& t, std::string_view path,
                                       std::chrono::milliseconds connect_timeout,
                                       std::chrono::milliseconds answer_timeout, size_t max_body);

}  // namespace ferry::proxy
