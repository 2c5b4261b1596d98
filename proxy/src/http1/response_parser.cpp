// The response direction of the HTTP/1 codec. See response_parser.h for the contract and
// head_scan.h for the structure of a head parse.
#include "http1/response_parser.h"

#include "http/chars.h"
#include "http1/head_scan.h"

namespace ferry::proxy::http1 {

using namespace http::chars;
using namespace head;

namespace {

// The status line without CRLF (already known to contain no LF).
ParseResult parse_status_line(std::string_view line, http::ResponseHead& out) {
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

}  // namespace

ParseResult parse_response(std::string_view buf, const Limits& limits,
                           std::string_view request_method, http::ResponseHead& out) {
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
    out.framing = http::Framing::tunnel;
  } else if ((s >= 100 && s < 200) || s == 204 || s == 304 || request_method == "HEAD") {
    out.framing = http::Framing::none;
  } else if (f.te) {
    out.framing = f.chunked_final ? http::Framing::chunked : http::Framing::until_close;
  } else if (f.cl_count > 0) {
    out.framing = http::Framing::content_length;
  } else {
    out.framing = http::Framing::until_close;
  }

  if (out.minor == 1)
    out.keep_alive = !f.conn_close;
  else
    out.keep_alive = f.conn_keep_alive && !f.conn_close;
  if (out.framing == http::Framing::until_close || out.framing == http::Framing::tunnel) out.keep_alive = false;
  out.head_size = sc.head_end;
  return kComplete;
}

}  // namespace ferry::proxy::http1
