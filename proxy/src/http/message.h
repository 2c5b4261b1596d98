// Protocol-neutral HTTP message heads (RFC 9110): what the HTTP/1 codec parses into, what the
// HTTP/2 mapping fills from pseudo-headers and fields, and what upstream exchanges read.
// Types only; helpers over them are in http/fields.h and http/target.h.
//
// Ownership: the string_views point into the buffer the head was parsed from (an HTTP/1 read
// buffer, or the stream's own storage for HTTP/2) and stay valid only while that storage is
// untouched. Owned by the request's frame; worker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ferry::proxy::http {

struct Header {
  std::string_view name;   // as received (case preserved); validated token
  std::string_view value;  // OWS trimmed on both sides
};

// How the message body is delimited (RFC 9112 §6.3).
enum class Framing {
  none,            // no body (request without CL/TE; HEAD/1xx/204/304 responses)
  content_length,  // exactly `content_length` bytes
  chunked,         // Transfer-Encoding: chunked (final coding)
  until_close,     // responses only: read until the upstream closes
  tunnel,          // responses only: 101 Switching Protocols (CONNECT is refused: 501)
};

struct RequestHead {
  std::string_view method;
  std::string_view target;  // request-target as sent
  // The origin-form part of the target (RFC 9112 §3.2.1): the target itself for origin-form
  // and "*"; for absolute-form what follows the authority, possibly empty or starting with
  // "?" (the upstream request line then starts it with "/").
  std::string_view path;
  std::string_view authority;  // absolute-form: the target's authority (validated); else empty
  int minor = 1;            // HTTP/1.<minor>: 0 or 1
  std::vector<Header> headers;
  Framing framing = Framing::none;
  uint64_t content_length = 0;
  std::string_view host;       // Host header value ("" if absent or empty); absolute-form: its authority
  bool keep_alive = true;      // after applying version default and Connection tokens
  bool expect_continue = false;  // "Expect: 100-continue"
  bool upgrade = false;          // Connection: upgrade + Upgrade header present (never for h2c)
  size_t head_size = 0;          // bytes consumed by the head, incl. the final CRLF CRLF
  void clear();  // back to the defaults, keeping the capacity of `headers`
};

struct ResponseHead {
  int status = 0;
  int minor = 1;
  std::string_view reason;
  std::vector<Header> headers;
  Framing framing = Framing::none;
  uint64_t content_length = 0;
  bool keep_alive = true;   // upstream connection reusable after this response
  size_t head_size = 0;
  void clear();  // back to the defaults, keeping the capacity of `headers`
};

}  // namespace ferry::proxy::http
