// Ferry's own responses (errors, local answers): small complete HTTP/1.1 responses.
// Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace ferry::proxy {

std::string_view reason_phrase(int status);

// The text/plain body of an error page: "<status> <reason>\n<detail>\n".
std::string error_body(int status, std::string_view detail);

// A complete HTTP/1.1 response: status line, Content-Type, Content-Length, Cache-Control,
// Ferry-Request-Id (if not empty), `Connection: close` when `close`, `extra_headers`
// (already CRLF-terminated lines, e.g. "Retry-After: 1\r\n"), and the body
// "<status> <reason>\n<detail>\n".
std::string error_response(int status, std::string_view detail, std::string_view request_id, bool close,
                           std::string_view extra_headers = {});

// A complete HTTP/1.1 response of Ferry's own that is not an error (the ACME http-01 answer,
// the mesh load report, a rule's redirect or return): status line, Content-Type (unless
// empty), Cache-Control: no-store, Content-Length (not for 204/304, which have no body),
// `Connection: close` when `close`, `extra_headers` (CRLF-terminated lines), and `body` unless
// `head` (the answer to a HEAD request).
std::string local_response(int status, std::string_view content_type, std::string_view body, bool close,
                           std::string_view extra_headers = {}, bool head = false);

}  // namespace ferry::proxy
