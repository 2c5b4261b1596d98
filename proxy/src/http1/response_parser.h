// Strict HTTP/1.1 response-head parser (RFC 9112 §4, §6.3), zero-copy: the upstream direction
// of the HTTP/1 codec. Pure function, any thread, no exceptions. Every error maps to 502.
#pragma once

#include <string_view>

#include "http/message.h"
#include "http1/parse_result.h"

namespace ferry::proxy::http1 {

// Parses a response head. `request_method` decides HEAD/CONNECT framing. 1xx responses are
// returned as complete with framing none; the caller forwards them and parses again.
ParseResult parse_response(std::string_view buf, const Limits& limits,
                           std::string_view request_method, http::ResponseHead& out);

}  // namespace ferry::proxy::http1
