// The request direction of the HTTP/1 codec. See request_parser.h for the contract and
// head_scan.h for the structure of a head parse.
#include "http1/request_parser.h"

#include "http/chars.h"
#include "http/fields.h"
#include "http1/head_scan.h"

namespace ferry::proxy::http1 {

using namespace http::chars;
using namespace head;

namespace {

// The request line without CRLF (already known to contain no LF).
ParseResult parse_request_line(std::string_view line, http::RequestHead& out) {
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
  if (const char* bad = http::check_request_target(out.method, out.target, out.path, out.authority)) return make_error(400, bad);
  return kComplete;
}

}  // namespace

ParseResult parse_request(std::string_view buf, const Limits& limits, http::RequestHead& out) {
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
  if (f.host_count == 1 && !f.host.empty() && !http::valid_authority(f.host)) return make_error(400, "invalid Host header");
  out.host = f.host;
  if (!out.authority.empty()) {
    // RFC 9112 §3.2.2: the target's authority replaces Host. A Host that names another
    // authority is refused rather than ignored: it is either a broken client or an attempt to
    // be routed by one name and seen upstream under another.
    if (f.host_count == 1 && !http::iequals(f.host, out.authority))
      return make_error(400, "Host does not match the request-target's authority");
    out.host = out.authority;
  }

  if (f.te) {
    if (out.minor == 0) return make_error(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (f.cl_count > 0 || f.cl_invalid)
      return make_error(400, "both Transfer-Encoding and Content-Length");
    if (f.te_other) return make_error(400, "unsupported transfer coding");
    if (f.chunked_count != 1) return make_error(400, "invalid Transfer-Encoding");
    out.framing = http::Framing::chunked;
  } else if (f.cl_count > 0 || f.cl_invalid) {
    if (f.cl_invalid) return make_error(400, "invalid Content-Length");
    if (f.cl_count > 1) return make_error(400, "duplicate Content-Length");
    out.framing = http::Framing::content_length;
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

}  // namespace ferry::proxy::http1
