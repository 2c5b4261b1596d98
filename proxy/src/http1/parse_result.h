// What the HTTP/1 head parsers (request_parser.h, response_parser.h) are bounded by and report.
//
// Error meaning: a ParseResult with status==error carries the HTTP status to answer with
// (400, 414, 431, 501, 505; 502 for every upstream response error) and a short reason for
// logs. Every error on a request means the connection must be closed after the error response
// (framing can no longer be trusted).
#pragma once

#include <cstdint>

namespace ferry::proxy::http1 {

struct Limits {
  uint32_t max_request_line = 8 * 1024;  // request line bytes (without CRLF); over: 414
  uint32_t max_header_size = 32 * 1024;  // whole head incl. request line; over: 431
  uint32_t max_headers = 100;            // header field count; over: 431
};

enum class ParseStatus { complete, incomplete, error };

struct ParseResult {
  ParseStatus status = ParseStatus::incomplete;
  int http_status = 0;       // for errors: the status to answer with
  const char* reason = "";   // for errors: short text for logs / error page
};

}  // namespace ferry::proxy::http1
