// libFuzzer target for the HTTP/2 -> upstream HTTP/1.1 mapping (target "h2headers", built and
// run by scripts/fuzz.sh; seeds in tests/fuzz/corpus/h2headers/, dictionary h2headers.dict).
//
// Input (text, so that seeds stay readable): line 1 = flags; then one request field per line,
// "name:value" split at the first ':' after the first byte (so ":path:/x" works; escapes \r \n
// \0 \t \\ \xHH); a line "--trailers" starts the request's trailer section; a line "--response"
// ends the lines: all the rest is the upstream's HTTP/1 response (head and body, raw).
// Flags: t trusted frontend (trust-forwarded), b backhaul frontend, r Ferry-Region set,
// e END_STREAM on the HEADERS, d a 5-byte body, o the stream stays open after the body
// (chunked upstream), s small limits (header list 600 bytes, 8 fields: 431), H the second
// request (answered with the fuzzed response) is a HEAD.
//
// A client nghttp2 session sends the fuzzed request (stream 1) and a fixed GET/HEAD (stream 3)
// to a server session made with http2/session.cpp's options; the server callbacks fill an
// http2::RequestFields as session.cpp's do (request HEADERS only: trailers are dropped), so the
// fields are exactly what nghttp2's HTTP messaging checks let through. Then the real code:
//   stream 1: http2::to_request_head -> http1::build_upstream_request (trusted / backhaul from
//             the flags) -> http1::parse_request of that output, with the invariants of
//             check_upstream() below, and the same head's HTTP/2 form (http::OutboundRequest ->
//             http2::request_fields, as an h2/h2c upstream or the backhaul gets it) with the
//             invariants of check_h2_upstream(); a refused request gets http2::error_fields,
//             which the client must accept;
//   stream 3: the fuzzed upstream response through http1::parse_response (1xx interim heads
//             too), http2::response_fields, the ChunkedDecoder's kept trailers and
//             http2::trailer_fields, submitted as session/h2_stream.cpp does; the client session
//             must accept all of it (no stream error), with the status, body and trailers sent.
// Harness code mirrors three small pieces of data-plane glue that are not reachable from here
// (session.cpp's header callback rule, stream.cpp's chunked->length conversion and
// request/common.cpp's trusted Ferry-Request-Id adoption); everything else is the real code.
#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/fields.h"
#include "http/message.h"
#include "http1/chunked.h"
#include "http1/request_parser.h"
#include "http1/response_parser.h"
#include "http1/rewrite.h"
#include "http2/headers.h"

// Findings of issue 13 (reproducers in tests/fuzz/findings/) are fixed and checked here.

#include "h2_sessions.h"

using namespace ferry::proxy;

// Two nghttp2 sessions per input allocate ~100 KB; with ASan's default 256 MB quarantine every
// input touches fresh pages (half the CPU time went to page faults). ASAN_OPTIONS overrides.
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=16"; }

namespace h2fuzz {

// Check and report (h2_sessions.h uses it too).
const std::string* g_head = nullptr;  // the upstream head being checked, printed on failure

void check(bool ok, const char* what) {
  if (ok) return;
  if (g_head) std::fprintf(stderr, "upstream head:\n%s\n", g_head->c_str());
  std::fprintf(stderr, "h2headers invariant failed: %s\n", what);
  std::abort();
}


// The decoded fuzz input.
struct Input {
  bool trusted = false, backhaul = false, end_with_headers = false, data = false, small = false, head = false,
       region = false, open = false;
  std::vector<Field> fields, trailers;
  std::string response;
};

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    if (c == 'r') out += '\r';
    else if (c == 'n') out += '\n';
    else if (c == '0') out += '\0';
    else if (c == 't') out += '\t';
    else if (c == 'x' && i + 2 < s.size()) {
      auto hex = [](char h) { return h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10; };
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else out += c;
  }
  return out;
}

Input decode(std::string_view in) {
  Input r;
  size_t nl = in.find('\n');
  for (char c : in.substr(0, nl)) {
    r.trusted |= c == 't', r.backhaul |= c == 'b', r.end_with_headers |= c == 'e', r.data |= c == 'd';
    r.small |= c == 's', r.head |= c == 'H', r.region |= c == 'r', r.open |= c == 'o';
  }
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  std::vector<Field>* section = &r.fields;
  while (!in.empty()) {
    nl = in.find('\n');
    const std::string_view line = in.substr(0, nl);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    if (line == "--trailers") {
      section = &r.trailers;
      continue;
    }
    if (line == "--response") {
      r.response = std::string(in);
      break;
    }
    if (section->size() >= 64) continue;
    const size_t colon = line.size() > 1 ? line.find(':', 1) : std::string_view::npos;
    section->push_back({unescape(line.substr(0, colon)),
                        colon == std::string_view::npos ? std::string() : unescape(line.substr(colon + 1))});
  }
  return r;
}

bool starts_with_i(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && http::iequals(s.substr(0, prefix.size()), prefix);
}
std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}
bool no_ctl_break(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

// ---------------------------------------------------------------------------------------------
// Invariants of the upstream head built for stream 1.

// `req` is what to_request_head made (and the chunked->length conversion), `out` what
// build_upstream_request wrote.

// docs/SECURITY.md's rule, written out independently of http1/field_rules: "_" spellings of
// the forwarding and Ferry-* fields are dropped from everyone; Forwarded and X-Real-IP from
// untrusted clients.
bool dropped_alias(std::string_view n, bool trusted) {
  std::string norm(n);
  for (char& ch : norm) ch = ch == '_' ? '-' : static_cast<char>(ch | (ch >= 'A' && ch <= 'Z' ? 0x20 : 0));
  const bool forwarding = norm == "x-forwarded-for" || norm == "x-forwarded-proto" || norm == "x-forwarded-host" ||
                          norm == "x-forwarded-port" || norm == "forwarded" || norm == "x-real-ip";
  if (n.find('_') != std::string_view::npos && (forwarding || (norm.size() > 6 && norm.starts_with("ferry-")))) return true;
  return !trusted && (norm == "forwarded" || norm == "x-real-ip");
}

// The HTTP/2 form of the upstream head: pseudo-headers first and from the head, lowercase
// names, nothing connection-specific (RFC 9113 §8.2.2), te only "trailers", the extra fields last.
void check_h2_upstream(const http::OutboundRequest& o, std::string_view want_host) {
  const http::Header extra[] = {{"Ferry-App", "a"}, {"Ferry-Instance", "i"}};
  std::string arena;
  std::vector<nghttp2_nv> nv;
  http2::request_fields(o, extra, "http", arena, nv);
  auto sv = [](const uint8_t* p, size_t n) { return std::string_view(reinterpret_cast<const char*>(p), n); };
  check(nv.size() >= 6, "h2 upstream: too few fields");
  check(sv(nv[0].name, nv[0].namelen) == ":method" && sv(nv[0].value, nv[0].valuelen) == o.view(o.method), ":method");
  check(sv(nv[2].name, nv[2].namelen) == ":authority" && sv(nv[2].value, nv[2].valuelen) == want_host, ":authority");
  const std::string_view path = sv(nv[3].value, nv[3].valuelen);
  check(sv(nv[3].name, nv[3].namelen) == ":path" && !path.empty() && (path[0] == '/' || path == "*"), ":path");
  for (size_t i = 4; i < nv.size(); ++i) {
    const std::string_view n = sv(nv[i].name, nv[i].namelen), v = sv(nv[i].value, nv[i].valuelen);
    check(!n.empty() && n[0] != ':', "h2 upstream: a pseudo-header after the regular fields");
    for (char ch : n) check(!(ch >= 'A' && ch <= 'Z'), "h2 upstream: upper-case field name");
    check(n != "connection" && n != "transfer-encoding" && n != "upgrade" && n != "keep-alive" &&
              n != "proxy-connection" && n != "host",
          "h2 upstream: connection-specific field");
    if (n == "te") check(v == "trailers", "h2 upstream: te other than trailers");
    check(no_ctl_break(v), "h2 upstream: CR/LF/NUL in a value");
  }
  check(sv(nv.back().name, nv.back().namelen) == "ferry-instance", "h2 upstream: the extra fields are not last");
}

void check_upstream(const std::string& out, const http::RequestHead& req, const http1::ForwardContext& ctx,
                    const http2::RequestFields& f, std::string_view port) {
  // No CR / LF / NUL injection: nothing that goes into the head carries one, and the head has
  // CR only before LF and LF only after CR.
  check(no_ctl_break(req.method) && no_ctl_break(req.target) && no_ctl_break(req.host), "CR/LF/NUL in request line or host");
  for (const auto& h : req.headers) check(no_ctl_break(h.name) && no_ctl_break(h.value), "CR/LF/NUL in a field");
  check(out.find('\0') == std::string::npos, "NUL in the upstream head");
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\r') check(i + 1 < out.size() && out[i + 1] == '\n', "bare CR in the upstream head");
    if (out[i] == '\n') check(i > 0 && out[i - 1] == '\r', "bare LF in the upstream head");
  }

  // Our own output is valid HTTP/1.1: Ferry's parser takes all of it.
  http1::Limits big{1u << 20, 1u << 22, 1u << 16};
  http::RequestHead p;
  const auto r = http1::parse_request(out, big, p);
  if (r.status != http1::ParseStatus::complete) std::fprintf(stderr, "parse_request: %s\n", r.reason);
  check(r.status == http1::ParseStatus::complete && p.head_size == out.size(), "upstream head does not parse completely");
  size_t lines = 0;
  for (size_t i = 0; i + 1 < out.size(); ++i) lines += out[i] == '\r';
  check(lines == p.headers.size() + 2, "upstream head: line count differs from the parsed fields");
  check(p.method == req.method && p.target == req.target && p.minor == 1, "request line changed");
  check(!p.upgrade && p.keep_alive && !p.expect_continue, "upgrade / close / expect stated upstream");

  // Framing: the head states the request's framing.
  check(p.framing == req.framing, "upstream framing differs from the request's");
  if (req.framing == http::Framing::content_length) check(p.content_length == req.content_length, "Content-Length differs");

  // Exactly one Host: :authority, else the client's host field.
  const std::string_view want_host = !f.authority.empty() ? std::string_view(f.authority) : req.host;
  std::string_view last_via;
  int hosts = 0, xff = 0, xfp = 0, xfh = 0, xfport = 0, via = 0, rid = 0, cip = 0, reg = 0, fport = 0;
  for (const auto& h : p.headers) {
    const std::string_view n = h.name, v = h.value;
    if (http::iequals(n, "host")) ++hosts, check(v == want_host, "Host is not :authority / host");
    if (http::iequals(n, "x-forwarded-for")) {
      ++xff;
      if (!ctx.trusted) check(v == ctx.client_ip, "X-Forwarded-For from an untrusted client kept");
      else check(v == ctx.client_ip || (v.size() > ctx.client_ip.size() + 2 && v.ends_with(", " + std::string(ctx.client_ip))),
                 "X-Forwarded-For does not end with the client address");
    }
    if (http::iequals(n, "x-forwarded-proto")) ++xfp, check(ctx.trusted || v == ctx.proto, "X-Forwarded-Proto not ours");
    if (http::iequals(n, "x-forwarded-host")) ++xfh, check(ctx.trusted || v == want_host, "X-Forwarded-Host not ours");
    if (http::iequals(n, "x-forwarded-port")) ++xfport, check(ctx.trusted || v == port, "X-Forwarded-Port not ours");
    if (http::iequals(n, "via")) ++via, last_via = v;  // the client's Via entries, then ours
    // (A field named just "Ferry-" passes: nothing reads it, rewrite.cpp matches "Ferry-" + 1..)
    if (n.size() > 6 && starts_with_i(n, "ferry-")) {
      const std::string_view rest = n.substr(6);
      check(!http::iequals(rest, "app") && !http::iequals(rest, "instance"), "Ferry-App / Ferry-Instance passed on");
      if (http::iequals(rest, "request-id")) ++rid, check(v == ctx.request_id, "Ferry-Request-Id not ours");
      else if (http::iequals(rest, "client-ip")) ++cip;
      else if (http::iequals(rest, "region")) ++reg;
      else if (http::iequals(rest, "forwarded-port")) ++fport;
      if (!ctx.backhaul) {
        // No Ferry-* field from the client: only ours, with our values.
        const bool ours = (http::iequals(rest, "client-ip") && v == ctx.client_ip) ||
                          (http::iequals(rest, "region") && v == ctx.region) ||
                          (http::iequals(rest, "forwarded-port") && v == port) || http::iequals(rest, "request-id");
        check(ours, "a client's Ferry-* field reached the upstream");
      }
    }
    check(!dropped_alias(n, ctx.trusted),
          "a client address alias (x_forwarded_for, ferry_client_ip, ...; Forwarded, X-Real-IP untrusted) passed");
  }
  check(hosts == 1, "not exactly one Host upstream");
  check(xff == 1 && rid == 1, "X-Forwarded-For / Ferry-Request-Id not exactly once");
  check(via >= 1 && last_via == ctx.via, "our Via entry is not the last");
  if (!ctx.trusted) check(xfp == 1 && xfh == 1 && xfport == 1, "X-Forwarded-Proto/Host/Port not exactly once");
  if (!ctx.backhaul) check(cip == 1 && fport == 1 && reg == (ctx.region.empty() ? 0 : 1), "Ferry metadata not exactly once");

  // End-to-end fields survive, in order (only the documented ones are dropped or restated).
  size_t k = 0;
  for (const auto& h : req.headers) {
    const std::string_view n = h.name;
    const bool dropped = http::is_hop_by_hop(n) || http::iequals(n, "host") || http::iequals(n, "content-length") ||
                         http::iequals(n, "expect") || http::iequals(n, "x-forwarded-for") ||
                         (!ctx.trusted && starts_with_i(n, "x-forwarded-") &&
                          (http::iequals(n, "x-forwarded-proto") || http::iequals(n, "x-forwarded-host") ||
                           http::iequals(n, "x-forwarded-port"))) ||
                         http::iequals(n, "ferry-request-id") || (n.size() > 6 && starts_with_i(n, "ferry-") && !ctx.backhaul) ||
                         http::iequals(n, "ferry-app") || http::iequals(n, "ferry-instance") ||
                         http::iequals(n, "http2-settings") || dropped_alias(n, ctx.trusted);
    if (dropped) continue;
    // (compared without surrounding OWS, which is not part of an HTTP/1 field value: cookie
    // crumbs joined by to_request_head can end in "; " when a crumb is empty)
    while (k < p.headers.size() && !(http::iequals(p.headers[k].name, n) && p.headers[k].value == trim_ows(h.value))) ++k;
    check(k < p.headers.size(), "an end-to-end field was lost on the way upstream");
    ++k;
  }
}

// ---------------------------------------------------------------------------------------------
// Invariants of the response fields for stream 3 (before nghttp2 sees them).

void check_response_nv(const std::vector<nghttp2_nv>& nv, const http::ResponseHead& r, std::string_view request_id) {
  check(!nv.empty() && name_of(nv[0]) == ":status", ":status is not first");
  char status[4];
  std::snprintf(status, sizeof status, "%03d", r.status);
  check(value_of(nv[0]) == status, ":status differs from the upstream's");
  const bool no_length = r.status < 200 || r.status == 204;
  int ids = 0, lengths = 0;
  for (size_t i = 1; i < nv.size(); ++i) {
    const std::string_view n = name_of(nv[i]), v = value_of(nv[i]);
    check(nghttp2_check_header_name(nv[i].name, nv[i].namelen) && lower_ascii(n) && n[0] != ':', "response field name invalid for HTTP/2");
    check(nghttp2_check_header_value_rfc9113(nv[i].value, nv[i].valuelen), "response field value invalid for HTTP/2");
    check(!http::is_hop_by_hop(n), "connection-specific response field");
    if (n == "ferry-request-id") ++ids, check(v == request_id, "ferry-request-id not ours");
    if (n == "content-length") {
      ++lengths;
      check(!no_length, "content-length on a 1xx / 204 response");
      check(!v.empty() && v.find_first_not_of("0123456789") == std::string_view::npos, "content-length is not one number");
    }
  }
  check(ids == (request_id.empty() ? 0 : 1), "ferry-request-id not exactly once");
  check(lengths <= 1, "content-length more than once");
  // The upstream's end-to-end fields are all there, lowercased, in order.
  size_t k = 1;
  for (const auto& h : r.headers) {
    if (http::is_hop_by_hop(h.name) || http::iequals(h.name, "ferry-request-id") ||
        http::listed_in_connection(r.headers, h.name) || http::iequals(h.name, "content-length"))
      continue;  // content-length: stated once, as parsed (checked above)
    while (k < nv.size() && !(http::iequals(name_of(nv[k]), h.name) && value_of(nv[k]) == h.value)) ++k;
    check(k < nv.size(), "an upstream response field was lost");
    ++k;
  }
}

// The lowercased (name, value) list trailer_fields would produce, for the comparison at the client.
std::vector<Field> expected_trailers(const std::string& lines) {
  std::string arena;
  std::vector<nghttp2_nv> nv;
  http2::trailer_fields(lines, arena, nv);
  std::vector<Field> out;
  for (const auto& t : nv) out.push_back({std::string(name_of(t)), std::string(value_of(t))});
  return out;
}

bool same_fields(const std::vector<Field>& a, const std::vector<Field>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  return true;
}

// What the server session did for a stream and what the client must then have seen.
struct Expect {
  bool checked = false;  // the exchange completed as Ferry would complete it
  int status = 0;
  std::string body;
  std::vector<Field> trailers;
  bool head = false;
};

// Submits a complete response as session/h2_stream.cpp respond() does (error pages).
void respond_error(Server& s, int32_t id, int status, std::string_view detail, std::string_view rid, bool head,
                   Expect& e) {
  std::string arena, body;
  std::vector<nghttp2_nv> nv;
  http2::error_fields(status, detail, rid, status == 503, arena, nv, body);
  if (head) body.clear();
  if (s.streams[id].closed) return;  // nghttp2 reset it (e.g. a body unlike its content-length)
  e = Expect{true, status, body, {}, head};
  Source& src = s.sources[id];
  src = Source{body, 0, {}, {}, true};
  nghttp2_data_provider prov{};
  prov.source.ptr = &src;
  prov.read_callback = read_source;
  check(nghttp2_submit_response(s.ng, id, nv.data(), nv.size(), body.empty() ? nullptr : &prov) == 0, "submit error page");
}

}  // namespace h2fuzz

using namespace h2fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Input in = decode(std::string_view(reinterpret_cast<const char*>(data), size));

  Client c;
  Server s;
  if (in.small) s.max_list = 600, s.max_count = 8;
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, cli_begin);
  nghttp2_session_callbacks_set_on_header_callback(cb, cli_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, cli_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, cli_close);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, cli_frame);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, cli_invalid);
  nghttp2_session_client_new(&c.ng, cb, &c);
  nghttp2_session_callbacks_del(cb);
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, srv_begin);
  nghttp2_session_callbacks_set_on_header_callback(cb, srv_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_frame);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, srv_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, srv_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);  // http2/session.cpp's options
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
  nghttp2_option_set_max_continuations(opt, 8);
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  nghttp2_session_server_new2(&s.ng, cb, &s, opt);
  nghttp2_session_callbacks_del(cb);
  nghttp2_option_del(opt);
  const nghttp2_settings_entry siv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
                                        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 256 * 1024},
                                        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, s.max_list}};
  nghttp2_submit_settings(s.ng, NGHTTP2_FLAG_NONE, siv, 3);
  nghttp2_submit_settings(c.ng, NGHTTP2_FLAG_NONE, nullptr, 0);

  // Stream 1: the fuzzed request; stream 3: a fixed one, answered with the fuzzed response.
  std::vector<nghttp2_nv> nv;
  for (const auto& f : in.fields) nv.push_back(nv_of(f.name, f.value));
  Source body1{in.data ? "hello" : "", 0, in.trailers, {}, false, in.open};
  nghttp2_data_provider prov1{};
  prov1.source.ptr = &body1;
  prov1.read_callback = read_source;
  const int32_t id1 = nghttp2_submit_request(c.ng, nullptr, nv.data(), nv.size(), in.end_with_headers ? nullptr : &prov1, nullptr);
  const std::string m3 = in.head ? "HEAD" : "GET", sch = "https", auth = "a.test", path = "/r", cm = ":method",
                    cs = ":scheme", ca = ":authority", cp = ":path";
  const nghttp2_nv nv3[] = {nv_of(cm, m3), nv_of(cs, sch), nv_of(ca, auth), nv_of(cp, path)};
  const int32_t id3 = nghttp2_submit_request(c.ng, nullptr, nv3, 4, nullptr, nullptr);
  pump(c, s);

  Expect e1, e3;
  // Stream 1 (as session/h2_stream.cpp serve_stream).
  auto it1 = s.streams.find(id1);
  if (id1 > 0 && it1 != s.streams.end() && it1->second.headers_done) {
    ServerStream& st = it1->second;
    const bool head = st.req.method == "HEAD";
    http::RequestHead req;
    const char* reason = "";
    if (st.req.too_large) {
      respond_error(s, id1, 431, "request header fields too large", {}, head, e1);
    } else if (int code = http2::to_request_head(st.req, st.req_end && st.body.empty(), req, &reason)) {
      check((code == 400 || code == 501) && reason && *reason, "to_request_head: unexpected refusal");
      respond_error(s, id1, code, reason, {}, head, e1);
    } else {
      if (req.framing == http::Framing::chunked && st.req_end) {
        req.framing = http::Framing::content_length;
        req.content_length = st.body.size();
      }
      std::string rid = "0123456789abcdef0123456789abcdef";  // request/common.cpp make_request_id
      if (in.trusted)
        for (const auto& h : req.headers)
          if (http::iequals(h.name, "Ferry-Request-Id") && !h.value.empty() && h.value.size() <= 128) {
            bool clean = true;
            for (unsigned char ch : h.value) clean = clean && ch > 0x20 && ch < 0x7f;
            if (clean) {
              rid.assign(h.value);
              break;
            }
          }
      http1::ForwardContext ctx{"192.0.2.7", "https", 8443, rid, in.trusted, "2 ferry", in.region ? "yyz" : "",
                                in.backhaul};
      std::string out;
      http1::build_upstream_request(req, ctx, out);
      g_head = &out;
      check_upstream(out, req, ctx, st.req, "8443");
      http::OutboundRequest o;
      http1::build_upstream_request(req, ctx, o);
      check(o.wire == out, "the outbound head's wire form differs from the serialised head");
      check_h2_upstream(o, !st.req.authority.empty() ? std::string_view(st.req.authority) : req.host);
      g_head = nullptr;
      respond_error(s, id1, 502, "fuzz", rid, head, e1);  // any page: the stream must end cleanly
    }
  }

  // Stream 3: the upstream response (as request/exchange + session/h2_stream.cpp).
  check(id3 > 0 && s.streams.count(id3) && !s.streams[id3].closed, "the fixed request was not received");
  std::string_view resp = in.response;
  http1::Limits lim;
  std::string interim_arena;
  for (int interim = 0; interim < 8 && id3 > 0; ++interim) {
    http::ResponseHead r;
    const auto pr = http1::parse_response(resp, lim, m3, r);
    if (pr.status == http1::ParseStatus::incomplete) break;
    if (pr.status == http1::ParseStatus::error) {
      check(pr.http_status == 502, "parse_response: error is not 502");
      respond_error(s, id3, 502, "invalid response from upstream", "rid3", in.head, e3);
      break;
    }
    std::vector<nghttp2_nv> rnv;
    if (r.status < 200 && r.status != 101) {  // interim: 103 goes on, other 1xx stop here
      if (r.status == 103) {
        http2::response_fields(r, {}, interim_arena, rnv);
        check_response_nv(rnv, r, {});
        nghttp2_submit_headers(s.ng, NGHTTP2_FLAG_NONE, id3, nullptr, rnv.data(), rnv.size(), nullptr);
      }
      resp.remove_prefix(r.head_size);
      continue;
    }
    if (r.framing == http::Framing::tunnel) {  // 101 without an upgrade request
      respond_error(s, id3, 502, "invalid response from upstream", "rid3", in.head, e3);
      break;
    }
    std::string arena;
    http2::response_fields(r, "rid3", arena, rnv);
    check_response_nv(rnv, r, "rid3");
    Source& src = s.sources[id3];
    src = Source{{}, 0, {}, {}, true};
    std::string_view rest = resp.substr(r.head_size);
    bool complete = true;
    if (r.framing == http::Framing::content_length) {
      if (r.content_length > 16384) complete = false;  // not pumped here (flow control)
      else {
        src.body = std::string(rest.substr(0, r.content_length));
        src.body.resize(r.content_length, 'x');  // the rest of the body "arrives later"
      }
    } else if (r.framing == http::Framing::chunked) {
      http1::ChunkedDecoder dec;
      dec.keep_trailers(&src.upstream_trailers);
      for (;;) {
        const auto stp = dec.step(rest);
        src.body.append(stp.data);
        rest.remove_prefix(stp.consumed);
        if (stp.error || stp.done) {
          complete = stp.done;
          break;
        }
        if (stp.consumed == 0) {
          complete = false;
          break;
        }
      }
    } else if (r.framing == http::Framing::until_close) {
      src.body = std::string(rest);
    }
    if (!complete) break;  // Ferry resets the stream (or streams on): nothing to compare
    // Ferry submits the fields first and the body as it arrives; the client sees the same.
    nghttp2_data_provider prov{};
    prov.source.ptr = &src;
    prov.read_callback = read_source;
    const bool no_body = r.framing == http::Framing::none;
    check(nghttp2_submit_response(s.ng, id3, rnv.data(), rnv.size(), no_body ? nullptr : &prov) == 0, "submit response");
    e3 = Expect{true, r.status, no_body || in.head ? std::string() : src.body,
                no_body ? std::vector<Field>{} : expected_trailers(src.upstream_trailers), in.head};
    break;
  }
  pump(c, s);

  // The client took every answer Ferry completed: no stream or connection error, the status,
  // body and trailers as sent.
  for (auto [id, e] : {std::pair{id1, &e1}, std::pair{id3, &e3}}) {
    if (!e->checked) continue;
    check(!c.connection_error, "client: connection error");
    ClientStream& cs3 = c.streams[id];
    // (A stream whose request is still open is only half-closed: the response ended it.)
    const bool clean = cs3.ended && !cs3.invalid && (!cs3.closed || cs3.code == NGHTTP2_NO_ERROR);
    if (!clean) std::fprintf(stderr, "stream %d: ended=%d closed=%d code=%u invalid=%d\n", id, cs3.ended, cs3.closed, cs3.code, cs3.invalid);
    check(clean, "client: the stream did not end cleanly");
    // Blocks: interim 1xx heads, the final head, then the trailers.
    size_t b = 0;
    while (b < cs3.blocks.size() && !cs3.blocks[b].empty() && cs3.blocks[b][0].name == ":status" &&
           cs3.blocks[b][0].value[0] == '1')
      ++b;
    check(b < cs3.blocks.size() && !cs3.blocks[b].empty() && cs3.blocks[b][0].name == ":status" &&
              cs3.blocks[b][0].value == std::to_string(e->status),
          "client: final status differs");
    check(cs3.body == e->body, "client: body differs");
    const std::vector<Field> got_trailers = b + 1 < cs3.blocks.size() ? cs3.blocks[b + 1] : std::vector<Field>{};
    check(same_fields(got_trailers, e->trailers), "client: trailers differ");
  }
  nghttp2_session_del(c.ng);
  nghttp2_session_del(s.ng);
  return 0;
}
