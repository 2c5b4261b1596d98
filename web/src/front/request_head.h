// HTTP/1 request framing for the admin front: where a request head ends, whether it is
// well-formed, how long its body is, and the chunked body decoder. Private to web/.
//
// The front only hands complete requests to the handlers, so it must know exactly where each
// request ends (keep-alive and pipelining): the rules are strict, as on the data plane. Lines
// end in CRLF (a bare CR or LF, NUL or another control character, and obs-fold are 400), field
// names are tokens with no space before the colon, one Content-Length of digits only, one
// Transfer-Encoding which must be `chunked` (anything else 501; with Content-Length 400; on
// HTTP/1.0 400), at most one Host, versions HTTP/1.0 and HTTP/1.1 (other HTTP/x.y: 505).
//
// Thread: pure functions and a per-connection decoder object; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace Poco::Net {
class HTTPRequest;
}

namespace ferry::web::front {

// The state of the bytes buffered for a request head.
struct HeadScan {
  enum State { incomplete, complete, bad } state = incomplete;
  size_t end = 0;      // complete: length of the head including the final CRLF CRLF
  size_t scanned = 0;  // pass back as `from` on the next call (bytes already checked)
  std::string error;   // bad: why (for the 400 answer)
};

// Scans `buf` from `from` for the end of a head, checking line endings and control
// characters on the way. Leading empty lines (CRLF) before the request line must have been
// removed by the caller (skip_leading_crlf).
HeadScan scan_head(std::string_view buf, size_t from);

// How many bytes of empty lines (CRLF pairs) start `buf`; RFC 9112 §2.2 lets a server ignore
// them before a request line.
size_t skip_leading_crlf(std::string_view buf);

struct Framing {
  bool chunked = false;
  uint64_t length = 0;          // Content-Length (0 without one, and when chunked)
  bool expect_continue = false; // `Expect: 100-continue`
};

struct HeadError {
  int status = 400;
  std::string message;
};

// Parses a complete head (scan_head's `end` bytes) into `req` and its body framing; a body
// longer than `max_body` is a 413. Returns the error to answer with, if any.
std::optional<HeadError> parse_head(std::string_view head, Poco::Net::HTTPRequest& req, Framing& framing,
                                    uint64_t max_body);

// Decodes a chunked body (RFC 9112 §7.1): chunk sizes in hex with optional extensions
// (ignored), data, CRLF, then the last chunk and trailer fields (dropped, at most 8 KiB).
class ChunkedDecoder {
 public:
  enum class Result { more, done, bad, too_large };

  explicit ChunkedDecoder(uint64_t max_body) : max_(max_body) {}

  // Consumes bytes from `in` (everything up to the end of the body at most), appending the
  // data to `out`; `consumed` is set to how many bytes of `in` were used. `done`: the body
  // ended after `consumed` bytes (the rest belongs to the next request).
  Result feed(std::string_view in, size_t& consumed, std::string& out);

 private:
  enum class State { size, data, data_crlf, trailer, done };
  State state_ = State::size;
  std::string line_;       // the size or trailer line being read
  uint64_t remaining_ = 0; // data bytes left in the current chunk
  uint64_t total_ = 0;
  size_t trailer_bytes_ = 0;
  uint64_t max_;
};

// A complete response the front sends by itself: status line, Date, Server, Content-Type
// application/json, Content-Length, `Connection: close` when `close`, `Retry-After` when
// `retry_after` > 0, and the body {"error":"<message>"}.
std::string error_response(int status, const std::string& message, bool close, int retry_after = 0);

}  // namespace ferry::web::front
