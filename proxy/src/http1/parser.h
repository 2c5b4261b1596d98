// Strict HTTP/1.1 message-head parser and chunked-body codec (RFC 9112), zero-copy.
//
// Pure functions and small state machines: no I/O, no allocation except growing the
// caller-owned header vector, no exceptions. Any thread. The string_views in a parsed head
// point into the caller's buffer and stay valid only while that buffer region is untouched.
//
// Error meaning: a ParseResult with status==error carries the HTTP status to answer with
// (400, 414, 431, 501, 505) and a short reason for logs. Every error on a request means the
// connection must be closed after the error response (framing can no longer be trusted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy::http1 {

struct Limits {
  uint32_t max_request_line = 8 * 1024;  // request line bytes (without CRLF); over: 414
  uint32_t max_header_size = 32 * 1024;  // whole head incl. request line; over: 431
  uint32_t max_headers = 100;            // header field count; over: 431
};

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
  void clear();
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
  void clear();
};

enum class ParseStatus { complete, incomplete, error };

struct ParseResult {
  ParseStatus status = ParseStatus::incomplete;
  int http_status = 0;       // for errors: the status to answer with
  const char* reason = "";   // for errors: short text for logs / error page
};

// Parses the request head at the start of `buf` into `out` (cleared first).
// incomplete: need more bytes (the limits are enforced on partial input too, so a caller
// whose buffer is full without a complete head always gets an error, never incomplete).
ParseResult parse_request(std::string_view buf, const Limits& limits, RequestHead& out);

// Parses a response head. `request_method` decides HEAD/CONNECT framing. 1xx responses are
// returned as complete with framing none; the caller forwards them and parses again.
ParseResult parse_response(std::string_view buf, const Limits& limits,
                           std::string_view request_method, ResponseHead& out);

// Incremental chunked-body decoder. Feed it bytes; it reports payload spans within the fed
// buffer. Trailers are validated, and kept only when asked (keep_trailers).
class ChunkedDecoder {
 public:
  struct Step {
    size_t consumed = 0;      // bytes of input used by this step
    std::string_view data;    // payload bytes inside the input (may be empty)
    bool done = false;        // final chunk and trailers complete
    bool error = false;       // malformed: answer 400 (request) / 502 (response) and close
  };
  // Decodes from the start of `in`, returns after at most one payload span. Call repeatedly
  // until consumed==0 (needs more input), done, or error.
  Step step(std::string_view in);
  bool done() const { return state_ == State::done; }
  // From now on, the trailer section is appended to `*out` as received ("name: value\r\n"
  // per field, validated as above; bounded by the trailer limit). nullptr: discarded.
  void keep_trailers(std::string* out) { trailers_ = out; }

 private:
  enum class State { size, size_ext, size_lf, data, data_cr, data_lf, trailer_start, trailer_line, trailer_lf, last_lf, done, error };
  State state_ = State::size;
  uint64_t remaining_ = 0;
  int size_digits_ = 0;
  size_t trailer_bytes_ = 0;
  size_t line_bytes_ = 0;  // bytes of the current chunk-size line (size + extensions)
  std::string* trailers_ = nullptr;
};

// Appends "<hex>\r\n" to out.
void append_chunk_header(std::string& out, size_t n);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// True for the hop-by-hop fields that a proxy must not forward (RFC 9110 §7.6.1):
// Connection, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer.
// Case-insensitive.
bool is_hop_by_hop(std::string_view name);

// Whether `name` is listed in any Connection header value of `headers` (case-insensitive),
// i.e. also hop-by-hop for this message.
bool listed_in_connection(const std::vector<Header>& headers, std::string_view name);

bool iequals(std::string_view a, std::string_view b);

// An authority as Host, :authority or an absolute-form target may state it (RFC 3986 §3.2,
// RFC 9112 §3.2.2): host [ ":" port ], where host is a reg-name (unreserved, sub-delims,
// complete pct-encodings) or a bracketed IPv6 literal, and port is 1-5 digits up to 65535.
// No userinfo ("@"), no path, not empty.
bool valid_authority(std::string_view authority);

// Checks a request-target against RFC 9112 §3.2 for `method`: origin-form ("/" path with
// pchar, "/", "?" and complete pct-encodings only; no fragment, no raw non-ASCII),
// absolute-form (http or https, a valid_authority, then an origin-form tail), or "*" for
// OPTIONS. authority-form (CONNECT) is not accepted here. Returns nullptr when valid, else the
// reason (answer 400); sets `path` (origin-form part) and `authority` (absolute-form) as in
// RequestHead. Used by the HTTP/1 parser and for HTTP/2's :path.
const char* check_request_target(std::string_view method, std::string_view target, std::string_view& path,
                                 std::string_view& authority);

// Request methods that are idempotent (RFC 9110 §9.2.2): GET HEAD OPTIONS TRACE PUT DELETE.
bool is_idempotent(std::string_view method);

}  // namespace ferry::proxy::http1
