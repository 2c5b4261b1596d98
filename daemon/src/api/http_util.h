// Small helpers shared by the api/*.cpp route handlers: JSON responses, errors, path
// segments, a bounded body read, and the admin action log line.
// Thread: admin server threads; no shared state.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ferry/web/admin_server.h"

namespace Poco::Net {
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace ferry::daemon::api {

// Sends `body` (JSON text) with `status`, Content-Type application/json, no caching.
void send_json(Poco::Net::HTTPServerResponse& resp, int status, const std::string& body);
// {"error": message}
void send_error(Poco::Net::HTTPServerResponse& resp, int status, const std::string& message);

// The path of `uri` (no query) after `prefix`, split on '/', each segment percent-decoded.
// Empty segments are kept ("a//b" -> a, "", b) so callers can reject them.
std::vector<std::string> path_segments(const std::string& uri, const std::string& prefix);
// The value of query parameter `name` in `uri` (percent-decoded), or `fallback`.
std::string query_param(const std::string& uri, const std::string& name, const std::string& fallback = "");

// Reads the request body into `out`, at most `limit` bytes. False when it is larger (the caller
// answers 413); a declared Content-Length over the limit is refused without reading.
bool read_body(Poco::Net::HTTPServerRequest& req, size_t limit, std::string& out);

// Logs one admin action through web::log_action (the admin server's log callback, at notice):
// `admin action user=U action=WHAT result=RESULT address=IP` (WHAT may carry more key=value
// pairs, e.g. "drain backend=b server=s").
void log_action(const web::RequestContext& ctx, const std::string& what, const std::string& result);

}  // namespace ferry::daemon::api

namespace ferry::daemon::api {
// Unix seconds of a system_clock time point (0 for the epoch / unset).
int64_t unix_seconds(std::chrono::system_clock::time_point t);
}  // namespace ferry::daemon::api
