// Ferry's own responses (errors, 100 Continue): small text/plain pages.
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

}  // namespace ferry::proxy
