// Internal to the HTTP/1 codec: the two passes of a head parse, shared by the request and the
// response parsers. Not for use outside http1/.
//
//   1. scan_head(): a cheap memchr pass over the line feeds. It enforces the limits (414 / 431)
//      on partial input, rejects bare LF, validates the start line as soon as it is complete
//      (so 400 / 505 come early) and finds the end of the head. Incomplete input stops here.
//   2. parse_fields(): one validating pass over the header lines (table driven); gather()
//      then collects the framing-relevant facts for the request / response semantics.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "http/chars.h"
#include "http/message.h"
#include "http1/parse_result.h"

namespace ferry::proxy::http1::head {

// SWAR fast paths (8 bytes per step, unaligned loads via memcpy). "Any byte < n" and "any
// byte == c" are exact for the any-question (borrows only propagate above a real match).
inline constexpr uint64_t kOnes = 0x0101010101010101ull;
inline constexpr uint64_t kHigh = 0x8080808080808080ull;
inline uint64_t load8(const char* q) {
  uint64_t x;
  std::memcpy(&x, q, 8);
  return x;
}
inline uint64_t any_less(uint64_t x, uint8_t n) { return (x - kOnes * n) & ~x & kHigh; }
inline uint64_t any_equal(uint64_t x, uint8_t c) {
  const uint64_t y = x ^ (kOnes * c);
  return (y - kOnes) & ~y & kHigh;
}
// All 8 bytes are SP / VCHAR / obs-text (field value bytes; HTAB takes the slow path).
inline bool plain_value8(const char* q) {
  const uint64_t x = load8(q);
  return (any_less(x, 0x20) | any_equal(x, 0x7f)) == 0;
}
// All 8 bytes are VCHAR / obs-text (request-target bytes).
inline bool plain_target8(const char* q) {
  const uint64_t x = load8(q);
  return (any_less(x, 0x21) | any_equal(x, 0x7f)) == 0;
}

inline constexpr ParseResult make_error(int status, const char* reason) {
  return ParseResult{ParseStatus::error, status, reason};
}
inline constexpr ParseResult kIncomplete{ParseStatus::incomplete, 0, ""};
inline constexpr ParseResult kComplete{ParseStatus::complete, 0, ""};


// "HTTP/" DIGIT "." DIGIT at the start of s (exactly 8 bytes). -1: malformed; else major*10+minor.
inline int parse_version(std::string_view s) {
  using http::chars::is_digit;
  if (s.size() != 8 || s.substr(0, 5) != "HTTP/" || !is_digit(s[5]) || s[6] != '.' || !is_digit(s[7]))
    return -1;
  return (s[5] - '0') * 10 + (s[7] - '0');
}

// Pass 1: line scan with limits.
struct Scan {
  ParseResult result;
  size_t line_end = 0;  // end of the start line (index of its CR)
  size_t head_end = 0;  // one past the final CRLF CRLF
};

// `start`: first byte of the start line. `error_status`: 0 for requests (400/414/431), 502 for
// responses (every error maps to 502).
template <typename StartLineFn>
Scan scan_head(std::string_view buf, size_t start, const Limits& limits, int error_status,
               StartLineFn&& start_line) {
  auto err = [&](int s, const char* r) {
    Scan sc;
    sc.result = make_error(error_status ? error_status : s, r);
    return sc;
  };
  const char* const p = buf.data();
  const size_t n = buf.size();
  // Start line.
  const size_t line_budget = static_cast<size_t>(limits.max_request_line) + 2;  // + CRLF
  const size_t avail = n - start;
  const void* lf = avail ? std::memchr(p + start, '\n', avail < line_budget ? avail : line_budget)
                         : nullptr;
  if (!lf) {
    size_t len = avail;
    if (len && p[n - 1] == '\r') --len;
    if (len > limits.max_request_line) return err(414, "request line too long");
    if (n >= limits.max_header_size) return err(431, "header section too large");
    return Scan{kIncomplete};
  }
  size_t pos = static_cast<size_t>(static_cast<const char*>(lf) - p);
  if (pos == start || p[pos - 1] != '\r') return err(400, "bare LF in start line");
  if (pos - 1 - start > limits.max_request_line) return err(414, "request line too long");
  Scan sc;
  sc.line_end = pos - 1;
  sc.result = start_line(buf.substr(start, pos - 1 - start));
  if (sc.result.status == ParseStatus::error) return sc;
  // Header lines.
  // The head (counted from the buffer start, incl. a skipped empty line) may not exceed
  // max_header_size bytes; a buffer of that many bytes without a complete head is an error.
  const size_t max_end = static_cast<size_t>(limits.max_header_size);
  uint32_t fields = 0;
  size_t line_start = pos + 1;
  for (;;) {
    const size_t limit = (max_end > line_start ? max_end - line_start : 0) + 1;  // +1: see 431
    const size_t rest = n - line_start;
    lf = rest ? std::memchr(p + line_start, '\n', rest < limit ? rest : limit) : nullptr;
    if (!lf) {
      if (n >= limits.max_header_size) return err(431, "header section too large");
      return Scan{kIncomplete};
    }
    pos = static_cast<size_t>(static_cast<const char*>(lf) - p);
    if (pos + 1 > limits.max_header_size) return err(431, "header section too large");
    if (pos == line_start || p[pos - 1] != '\r') return err(400, "bare LF in header section");
    if (pos - 1 == line_start) {  // empty line: end of head
      sc.result = kComplete;
      sc.head_end = pos + 1;
      return sc;
    }
    if (++fields > limits.max_headers) return err(431, "too many header fields");
    line_start = pos + 1;
  }
}

// Pass 2: validates the header lines in [begin, end) (end = just past the final CRLF CRLF) and
// appends them to `headers`. Every LF in the range is known to be preceded by CR.
ParseResult parse_fields(std::string_view buf, size_t begin, size_t end, int error_status,
                         std::vector<http::Header>& headers);

// Facts gathered from the header fields, shared by requests and responses.
struct Facts {
  int host_count = 0;
  std::string_view host;
  int cl_count = 0;
  bool cl_conflict = false;  // differing Content-Length values
  bool cl_invalid = false;
  uint64_t content_length = 0;
  bool te = false;
  int chunked_count = 0;
  bool te_other = false;       // a coding other than chunked
  bool chunked_final = false;  // the last coding seen so far is chunked
  bool conn_close = false, conn_keep_alive = false, conn_upgrade = false;
  bool upgrade_header = false;
  bool upgrade_h2c = false;  // an Upgrade field lists h2c
  bool expect_continue = false;
  bool expect_other = false;
};

// Fills `f` from `headers` (Host, Expect, Upgrade, Connection, Content-Length,
// Transfer-Encoding).
void gather(const std::vector<http::Header>& headers, Facts& f);

}  // namespace ferry::proxy::http1::head
