// Strict HTTP/1.1 head parser and chunked decoder (RFC 9112). See parser.h for the contract.
//
// Structure of a head parse:
//   1. scan_head(): a cheap memchr pass over the line feeds. It enforces the limits (414 / 431)
//      on partial input, rejects bare LF, validates the start line as soon as it is complete
//      (so 400 / 505 come early) and finds the end of the head. Incomplete input stops here.
//   2. parse_fields(): one validating pass over the header lines (table driven), collecting the
//      framing-relevant facts; then the request / response semantics are applied.
#include "http1/parser.h"

#include <array>
#include <cstring>
#include <limits>

namespace ferry::proxy::http1 {
namespace {

// ---------------------------------------------------------------------------------------------
// Character classes
enum : uint8_t {
  kTchar = 1,       // token character (RFC 9110 §5.6.2)
  kFieldChar = 2,   // allowed inside a field value: VCHAR, SP, HTAB, obs-text
  kTargetChar = 4,  // allowed inside request-target: anything but CTL / SP / DEL
  kHexDigit = 8,
  kHostChar = 16,   // reg-name characters: unreserved / sub-delims / "%" (RFC 3986 §3.2.2)
  kAlnum = 32,
  kPathChar = 64,   // origin-form characters: pchar / "/" / "?" (RFC 9112 §3.2.1), "%" checked apart
};

constexpr std::array<uint8_t, 256> make_table() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || (c != 0 && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                std::string_view::npos))
      v |= kTchar;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) v |= kFieldChar;
    if (c > 0x20 && c != 0x7f) v |= kTargetChar;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHexDigit;
    if (alnum) v |= kAlnum;
    if (alnum || (c != 0 && std::string_view("-._~!$&'()*+,;=%").find(static_cast<char>(c)) !=
                                std::string_view::npos))
      v |= kHostChar;
    if (alnum || (c != 0 && std::string_view("-._~!$&'()*+,;=%:@/?").find(static_cast<char>(c)) !=
                                std::string_view::npos))
      v |= kPathChar;
    t[static_cast<size_t>(c)] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kTable = make_table();

inline bool is(char c, uint8_t cls) { return (kTable[static_cast<unsigned char>(c)] & cls) != 0; }
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  return c - 'a' + 10;
}

// SWAR fast paths (8 bytes per step, unaligned loads via memcpy). "Any byte < n" and "any
// byte == c" are exact for the any-question (borrows only propagate above a real match).
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHigh = 0x8080808080808080ull;
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

// Case-insensitive compare against a lower-case ASCII literal.
inline bool ieq_lower(std::string_view a, std::string_view lower_lit) {
  if (a.size() != lower_lit.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | (a[i] >= 'A' && a[i] <= 'Z' ? 0x20 : 0)) != lower_lit[i]) return false;
  return true;
}

std::string_view trim_ows(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_ows(s[b])) ++b;
  while (e > b && is_ows(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Iterates the elements of a comma-separated list (RFC 9110 §5.6.1), skipping empty elements.
// Returns false when the list is exhausted.
bool next_element(std::string_view& list, std::string_view& elem) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view e = trim_ows(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (!e.empty()) {
      elem = e;
      return true;
    }
  }
  return false;
}

constexpr ParseResult make_error(int status, const char* reason) {
  return ParseResult{ParseStatus::error, status, reason};
}
constexpr ParseResult kIncomplete{ParseStatus::incomplete, 0, ""};
constexpr ParseResult kComplete{ParseStatus::complete, 0, ""};

// Strict Content-Length value: 1*DIGIT, at most INT64_MAX.
bool parse_content_length(std::string_view v, uint64_t& out) {
  if (v.empty()) return false;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t n = 0;
  for (char c : v) {
    if (!is_digit(c)) return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (kMax - d) / 10) return false;
    n = n * 10 + d;
  }
  out = n;
  return true;
}

// "HTTP/" DIGIT "." DIGIT at the start of s (exactly 8 bytes). -1: malformed; else major*10+minor.
int parse_version(std::string_view s) {
  if (s.size() != 8 || s.substr(0, 5) != "HTTP/" || !is_digit(s[5]) || s[6] != '.' || !is_digit(s[7]))
    return -1;
  return (s[5] - '0') * 10 + (s[7] - '0');
}

// Every byte of `s` is of class `cls`, and each "%" starts a complete pct-encoded triplet.
bool chars_ok(std::string_view s, uint8_t cls) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is(s[i], cls)) return false;
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is(s[i + 1], kHexDigit) || !is(s[i + 2], kHexDigit)) return false;
      i += 2;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Start lines. Both take the line without CRLF (already known to contain no LF).

ParseResult parse_request_line(std::string_view line, RequestHead& out) {
  size_t i = 0;
  while (i < line.size() && is(line[i], kTchar)) ++i;
  if (i == 0) return make_error(400, "invalid method");
  if (i == line.size() || line[i] != ' ') return make_error(400, "malformed request line");
  out.method = line.substr(0, i);
  const size_t tstart = ++i;
  while (i + 8 <= line.size() && plain_target8(line.data() + i)) i += 8;
  while (i < line.size() && is(line[i], kTargetChar)) ++i;
  if (i == tstart) return make_error(400, "empty or malformed request-target");
  if (i == line.size() || line[i] != ' ') return make_error(400, "invalid character in request-target");
  out.target = line.substr(tstart, i - tstart);
  const int v = parse_version(line.substr(i + 1));
  if (v < 0) return make_error(400, "malformed HTTP version");
  if (v == 20 && out.method == "PRI" && out.target == "*")
    return make_error(505, "HTTP/2 connection preface on an HTTP/1 listener");
  if (v != 10 && v != 11) return make_error(505, "HTTP version not supported");
  out.minor = v % 10;
  // A proxy that tunnels CONNECT hands the client a raw byte pipe past routing, limits and
  // logging: not offered (RFC 9110 §9.3.6 lets a server refuse it).
  if (out.method == "CONNECT") return make_error(501, "CONNECT is not supported");
  if (const char* bad = check_request_target(out.method, out.target, out.path, out.authority)) return make_error(400, bad);
  return kComplete;
}

ParseResult parse_status_line(std::string_view line, ResponseHead& out) {
  if (line.size() < 12) return make_error(502, "malformed status line");
  const int v = parse_version(line.substr(0, 8));
  if (v < 0 || line[8] != ' ') return make_error(502, "malformed status line");
  if (v != 10 && v != 11) return make_error(502, "unsupported upstream HTTP version");
  if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]))
    return make_error(502, "malformed status code");
  const int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status < 100) return make_error(502, "invalid status code");
  std::string_view reason;
  if (line.size() > 12) {
    if (line[12] != ' ') return make_error(502, "malformed status line");
    reason = line.substr(13);
    for (char c : reason)
      if (!is(c, kFieldChar)) return make_error(502, "invalid character in reason phrase");
  }
  out.minor = v % 10;
  out.status = status;
  out.reason = reason;
  return kComplete;
}

// ---------------------------------------------------------------------------------------------
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
                         std::vector<Header>& headers) {
  const char* const p = buf.data();
  const size_t last = end - 2;  // the final CRLF
  size_t i = begin;
  auto err = [&](const char* r) { return make_error(error_status, r); };
  while (i < last) {
    const size_t name_start = i;
    while (is(p[i], kTchar)) ++i;  // terminates: p[last] is CR
    if (p[i] != ':') {
      if (i == name_start) {
        if (is_ows(p[i])) return err("obsolete line folding");
        if (p[i] == ':') return err("empty field name");
        return err("invalid character in field name");
      }
      if (is_ows(p[i])) return err("whitespace between field name and colon");
      return err("invalid character in field name");
    }
    if (i == name_start) return err("empty field name");
    const std::string_view name(p + name_start, i - name_start);
    ++i;
    while (is_ows(p[i])) ++i;
    const size_t value_start = i;
    while (i + 8 <= last && plain_value8(p + i)) i += 8;
    while (is(p[i], kFieldChar)) ++i;
    if (p[i] != '\r' || p[i + 1] != '\n') {
      if (p[i] == '\r') return err("bare CR in field value");
      return err("invalid character in field value");
    }
    size_t value_end = i;
    while (value_end > value_start && is_ows(p[value_end - 1])) --value_end;
    headers.push_back(Header{name, std::string_view(p + value_start, value_end - value_start)});
    i += 2;
  }
  return kComplete;
}

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

void gather(const std::vector<Header>& headers, Facts& f) {
  for (const Header& h : headers) {
    const std::string_view n = h.name;
    switch (n.size()) {
      case 4:
        if (ieq_lower(n, "host")) {
          ++f.host_count;
          f.host = h.value;
        }
        break;
      case 6:
        if (ieq_lower(n, "expect")) {
          if (ieq_lower(h.value, "100-continue"))
            f.expect_continue = true;
          else
            f.expect_other = true;
        }
        break;
      case 7:
        if (ieq_lower(n, "upgrade")) {
          f.upgrade_header = true;
          std::string_view list = h.value, e;
          while (next_element(list, e))
            if (ieq_lower(e.substr(0, e.find('/')), "h2c")) f.upgrade_h2c = true;
        }
        break;
      case 10:
        if (ieq_lower(n, "connection")) {
          std::string_view list = h.value, e;
          while (next_element(list, e)) {
            if (ieq_lower(e, "close"))
              f.conn_close = true;
            else if (ieq_lower(e, "keep-alive"))
              f.conn_keep_alive = true;
            else if (ieq_lower(e, "upgrade"))
              f.conn_upgrade = true;
          }
        }
        break;
      case 14:
        if (ieq_lower(n, "content-length")) {
          // A comma list ("5, 5") counts as several values.
          std::string_view list = h.value, e;
          if (h.value.empty()) f.cl_invalid = true;
          size_t elems = 0;
          for (size_t k = 0; k < h.value.size(); ++k)
            if (h.value[k] == ',') ++elems;
          ++elems;
          size_t parsed = 0;
          while (next_element(list, e)) {
            ++parsed;
            uint64_t v = 0;
            if (!parse_content_length(e, v)) {
              f.cl_invalid = true;
              continue;
            }
            if (f.cl_count > 0 && v != f.content_length) f.cl_conflict = true;
            f.content_length = v;
            ++f.cl_count;
          }
          if (parsed != elems) f.cl_invalid = true;  // empty list elements
        }
        break;
      case 17:
        if (ieq_lower(n, "transfer-encoding")) {
          f.te = true;
          std::string_view list = h.value, e;
          while (next_element(list, e)) {
            if (ieq_lower(e, "chunked")) {
              ++f.chunked_count;
              f.chunked_final = true;
            } else {
              f.te_other = true;
              f.chunked_final = false;
            }
          }
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void RequestHead::clear() {
  method = {};
  target = {};
  path = {};
  authority = {};
  minor = 1;
  headers.clear();
  framing = Framing::none;
  content_length = 0;
  host = {};
  keep_alive = true;
  expect_continue = false;
  upgrade = false;
  head_size = 0;
}

void ResponseHead::clear() {
  status = 0;
  minor = 1;
  reason = {};
  headers.clear();
  framing = Framing::none;
  content_length = 0;
  keep_alive = true;
  head_size = 0;
}

ParseResult parse_request(std::string_view buf, const Limits& limits, RequestHead& out) {
  out.clear();
  // RFC 9112 §2.2: at most one empty line before the request line is ignored.
  size_t start = 0;
  if (!buf.empty() && (buf[0] == '\r' || buf[0] == '\n')) {
    if (buf[0] == '\n') return make_error(400, "bare LF before request line");
    if (buf.size() < 2) return kIncomplete;
    if (buf[1] != '\n') return make_error(400, "bare CR before request line");
    start = 2;
    if (buf.size() > 2 && (buf[2] == '\r' || buf[2] == '\n'))
      return make_error(400, "more than one empty line before request line");
  }
  const Scan sc = scan_head(buf, start, limits, 0,
                            [&](std::string_view line) { return parse_request_line(line, out); });
  if (sc.result.status != ParseStatus::complete) return sc.result;

  ParseResult r = parse_fields(buf, sc.line_end + 2, sc.head_end, 400, out.headers);
  if (r.status == ParseStatus::error) return r;

  Facts f;
  gather(out.headers, f);
  if (f.host_count > 1) return make_error(400, "multiple Host headers");
  if (f.host_count == 0 && out.minor == 1) return make_error(400, "missing Host header");
  // An empty Host is allowed (RFC 9112 §3.2: a target URI without authority); routing then
  // falls back to the frontend's default-app.
  if (f.host_count == 1 && !f.host.empty() && !valid_authority(f.host)) return make_error(400, "invalid Host header");
  out.host = f.host;
  if (!out.authority.empty()) {
    // RFC 9112 §3.2.2: the target's authority replaces Host. A Host that names another
    // authority is refused rather than ignored: it is either a broken client or an attempt to
    // be routed by one name and seen upstream under another.
    if (f.host_count == 1 && !iequals(f.host, out.authority))
      return make_error(400, "Host does not match the request-target's authority");
    out.host = out.authority;
  }

  if (f.te) {
    if (out.minor == 0) return make_error(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (f.cl_count > 0 || f.cl_invalid)
      return make_error(400, "both Transfer-Encoding and Content-Length");
    if (f.te_other) return make_error(400, "unsupported transfer coding");
    if (f.chunked_count != 1) return make_error(400, "invalid Transfer-Encoding");
    out.framing = Framing::chunked;
  } else if (f.cl_count > 0 || f.cl_invalid) {
    if (f.cl_invalid) return make_error(400, "invalid Content-Length");
    if (f.cl_count > 1) return make_error(400, "duplicate Content-Length");
    out.framing = Framing::content_length;
    out.content_length = f.content_length;
  }

  if (out.minor == 1) {
    out.keep_alive = !f.conn_close;
    out.expect_continue = f.expect_continue;
    // An h2c upgrade (RFC 7540 §3.2, removed by RFC 9113) is ignored: Ferry speaks HTTP/2 to
    // clients itself and never lets one switch an upstream connection to it.
    out.upgrade = f.conn_upgrade && f.upgrade_header && !f.upgrade_h2c;
  } else {
    out.keep_alive = f.conn_keep_alive && !f.conn_close;
  }
  out.head_size = sc.head_end;
  return kComplete;
}

ParseResult parse_response(std::string_view buf, const Limits& limits,
                           std::string_view request_method, ResponseHead& out) {
  out.clear();
  const Scan sc = scan_head(buf, 0, limits, 502,
                            [&](std::string_view line) { return parse_status_line(line, out); });
  if (sc.result.status != ParseStatus::complete) return sc.result;

  ParseResult r = parse_fields(buf, sc.line_end + 2, sc.head_end, 502, out.headers);
  if (r.status == ParseStatus::error) return r;

  Facts f;
  gather(out.headers, f);
  if (f.cl_invalid) return make_error(502, "invalid Content-Length in response");
  if (f.cl_conflict) return make_error(502, "conflicting Content-Length in response");
  if (f.te) {
    if (out.minor == 0) return make_error(502, "Transfer-Encoding in an HTTP/1.0 response");
    if (f.cl_count > 0) return make_error(502, "both Transfer-Encoding and Content-Length in response");
    if (f.chunked_count > 1) return make_error(502, "chunked applied more than once");
    if (f.chunked_count == 0 && !f.te_other) return make_error(502, "empty Transfer-Encoding");
  }
  out.content_length = f.content_length;

  const int s = out.status;
  if (s == 101) {
    out.framing = Framing::tunnel;
  } else if ((s >= 100 && s < 200) || s == 204 || s == 304 || request_method == "HEAD") {
    out.framing = Framing::none;
  } else if (f.te) {
    out.framing = f.chunked_final ? Framing::chunked : Framing::until_close;
  } else if (f.cl_count > 0) {
    out.framing = Framing::content_length;
  } else {
    out.framing = Framing::until_close;
  }

  if (out.minor == 1)
    out.keep_alive = !f.conn_close;
  else
    out.keep_alive = f.conn_keep_alive && !f.conn_close;
  if (out.framing == Framing::until_close || out.framing == Framing::tunnel) out.keep_alive = false;
  out.head_size = sc.head_end;
  return kComplete;
}

// ---------------------------------------------------------------------------------------------
// Chunked decoder

namespace {
constexpr size_t kMaxChunkLine = 4096;     // chunk-size + extensions, per line
constexpr size_t kMaxTrailers = 16 * 1024;  // whole trailer section
}  // namespace

ChunkedDecoder::Step ChunkedDecoder::step(std::string_view in) {
  Step st;
  size_t i = 0;
  const size_t n = in.size();
  auto fail = [&]() {
    state_ = State::error;
    st.consumed = i;
    st.error = true;
    return st;
  };
  while (i < n) {
    const char c = in[i];
    switch (state_) {
      case State::size:
        if (is(c, kHexDigit)) {
          if (++size_digits_ > 16) return fail();
          remaining_ = (remaining_ << 4) | static_cast<uint64_t>(hex_value(c));
        } else if (size_digits_ == 0) {
          return fail();
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == ';') {
          state_ = State::size_ext;
          size_digits_ = 1;  // in size_ext: 1 = after ';'
        } else if (is_ows(c)) {
          state_ = State::size_ext;
          size_digits_ = 0;  // in size_ext: 0 = BWS before ';'
        } else {
          return fail();
        }
        if (++line_bytes_ > kMaxChunkLine) return fail();
        ++i;
        break;
      case State::size_ext:
        if (++line_bytes_ > kMaxChunkLine) return fail();
        if (size_digits_ == 0) {
          if (c == ';')
            size_digits_ = 1;
          else if (!is_ows(c))
            return fail();
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (!is(c, kFieldChar)) {
          return fail();
        }
        ++i;
        break;
      case State::size_lf:
        if (c != '\n') return fail();
        ++i;
        line_bytes_ = 0;
        size_digits_ = 0;
        if (remaining_ == 0) {
          state_ = State::trailer_start;
          trailer_bytes_ = 0;
        } else {
          state_ = State::data;
        }
        break;
      case State::data: {
        const size_t take = (n - i) < remaining_ ? (n - i) : static_cast<size_t>(remaining_);
        st.data = in.substr(i, take);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_cr;
        st.consumed = i;
        return st;
      }
      case State::data_cr:
        if (c != '\r') return fail();
        state_ = State::data_lf;
        ++i;
        break;
      case State::data_lf:
        if (c != '\n') return fail();
        state_ = State::size;
        remaining_ = 0;
        size_digits_ = 0;
        line_bytes_ = 0;
        ++i;
        break;
      case State::trailer_start:
        if (++trailer_bytes_ > kMaxTrailers) return fail();
        if (c == '\r') {
          state_ = State::last_lf;
        } else if (is(c, kTchar)) {
          state_ = State::trailer_line;
          size_digits_ = 0;  // in trailer_line: 0 = in name, 1 = in value
          if (trailers_) *trailers_ += c;
        } else {
          return fail();  // obs-fold, bare LF, empty name, CTL
        }
        ++i;
        break;
      case State::trailer_line:
        if (++trailer_bytes_ > kMaxTrailers) return fail();
        if (size_digits_ == 0) {
          if (c == ':')
            size_digits_ = 1;
          else if (!is(c, kTchar))
            return fail();
        } else if (c == '\r') {
          state_ = State::trailer_lf;
        } else if (!is(c, kFieldChar)) {
          return fail();
        }
        if (trailers_) *trailers_ += c;
        ++i;
        break;
      case State::trailer_lf:
        if (++trailer_bytes_ > kMaxTrailers) return fail();
        if (c != '\n') return fail();
        if (trailers_) *trailers_ += c;
        state_ = State::trailer_start;
        ++i;
        break;
      case State::last_lf:
        if (c != '\n') return fail();
        ++i;
        state_ = State::done;
        st.consumed = i;
        st.done = true;
        return st;
      case State::done:
        st.consumed = i;
        st.done = true;
        return st;
      case State::error:
        st.consumed = i;
        st.error = true;
        return st;
    }
  }
  st.consumed = i;
  st.done = state_ == State::done;
  st.error = state_ == State::error;
  return st;
}

void append_chunk_header(std::string& out, size_t n) {
  char tmp[2 * sizeof(size_t) + 2];
  size_t len = 0;
  char* const end = tmp + sizeof(tmp);
  char* q = end;
  *--q = '\n';
  *--q = '\r';
  do {
    *--q = "0123456789abcdef"[n & 0xf];
    n >>= 4;
  } while (n != 0);
  len = static_cast<size_t>(end - q);
  out.append(q, len);
}

// ---------------------------------------------------------------------------------------------
// Helpers

bool valid_authority(std::string_view a) {
  if (a.empty()) return false;
  std::string_view host = a, port;
  if (a[0] == '[') {  // IP-literal: IPv6address (hex digits, ":" and "." only here)
    const size_t close = a.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : a.substr(1, close - 1))
      if (!is(c, kHexDigit) && c != ':' && c != '.') return false;
    if (a.substr(1, close - 1).find(':') == std::string_view::npos) return false;
    if (close + 1 < a.size()) {
      if (a[close + 1] != ':') return false;
      port = a.substr(close + 2);
      if (port.empty()) return false;
    }
  } else {
    const size_t colon = a.find(':');
    if (colon != std::string_view::npos) {
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty() || !chars_ok(host, kHostChar)) return false;
  }
  if (port.size() > 5) return false;
  uint32_t n = 0;
  for (char c : port) {
    if (!is_digit(c)) return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n <= 65535;
}

const char* check_request_target(std::string_view method, std::string_view target, std::string_view& path,
                         std::string_view& authority) {
  path = {};
  authority = {};
  if (target.empty()) return "empty request-target";
  if (target[0] == '/') {  // origin-form: absolute-path [ "?" query ]
    if (!chars_ok(target, kPathChar)) return "invalid character in request-target";
    path = target;
    return nullptr;
  }
  if (target == "*") {  // asterisk-form: OPTIONS only (§3.2.4)
    if (method != "OPTIONS") return "asterisk-form request-target is only allowed for OPTIONS";
    path = target;
    return nullptr;
  }
  // absolute-form (§3.2.2): "http" or "https" "://" authority path-abempty [ "?" query ].
  size_t colon = target.find("://");
  if (colon == std::string_view::npos) return "invalid request-target form";
  const std::string_view scheme = target.substr(0, colon);
  if (!ieq_lower(scheme, "http") && !ieq_lower(scheme, "https"))
    return "absolute-form request-target with a scheme other than http or https";
  const size_t a = colon + 3;
  size_t e = a;
  while (e < target.size() && target[e] != '/' && target[e] != '?') ++e;
  authority = target.substr(a, e - a);
  if (!valid_authority(authority)) return "invalid authority in request-target";
  path = target.substr(e);
  if (!chars_ok(path, kPathChar)) return "invalid character in request-target";
  return nullptr;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "upgrade") || iequals(name, "trailer");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16: return iequals(name, "proxy-connection");
    case 17: return iequals(name, "transfer-encoding");
    default: return false;
  }
}

bool listed_in_connection(const std::vector<Header>& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (!iequals(h.name, "connection")) continue;
    std::string_view list = h.value, e;
    while (next_element(list, e))
      if (iequals(e, name)) return true;
  }
  return false;
}

bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" ||
         m == "DELETE";
}

}  // namespace ferry::proxy::http1
