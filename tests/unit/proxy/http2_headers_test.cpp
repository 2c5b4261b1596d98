// http2/headers: HTTP/2 request fields -> the neutral request head, response heads -> HTTP/2
// response fields, and the upstream direction (outbound head -> request fields, response fields ->
// response head) (RFC 9113 §8.2-8.3).
#include <catch2/catch.hpp>

#include <map>

#include "http/fields.h"
#include "http2/headers.h"
#include "http1/response_parser.h"

using namespace ferry::proxy;
using namespace ferry::proxy::http2;

namespace {

RequestFields fields(std::initializer_list<std::pair<const char*, const char*>> list, uint64_t max_size = 1 << 20,
                     uint32_t max_count = 100) {
  RequestFields f;
  for (auto& [n, v] : list) f.add(n, v, max_size, max_count);
  return f;
}

std::string field(const http::RequestHead& h, std::string_view name) {
  std::string out;
  for (auto& x : h.headers)
    if (x.name == name) out += (out.empty() ? "" : ",") + std::string(x.value);
  return out;
}

std::map<std::string, std::string> nv_map(const std::vector<nghttp2_nv>& nv) {
  std::map<std::string, std::string> m;
  for (auto& x : nv) m[std::string(reinterpret_cast<char*>(x.name), x.namelen)] = std::string(reinterpret_cast<char*>(x.value), x.valuelen);
  return m;
}

}  // namespace

TEST_CASE("h2 request: pseudo-headers become method, target and host", "[http2]") {
  auto f = fields({{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/x?y=1"}, {"accept", "*/*"}});
  http::RequestHead h;
  const char* reason = "";
  REQUIRE(to_request_head(f, true, h, &reason) == 0);
  CHECK(h.method == "GET");
  CHECK(h.target == "/x?y=1");
  CHECK(h.host == "a.test");
  CHECK(h.framing == http::Framing::none);
  CHECK(field(h, "accept") == "*/*");
  CHECK(h.minor == 1);
}

TEST_CASE("h2 request: :authority states Host once; a different host field is refused", "[http2]") {
  auto f = fields({{":method", "GET"}, {":scheme", "http"}, {":authority", "a.test"}, {":path", "/"}, {"host", "A.test"}});
  http::RequestHead h;
  const char* reason = "";
  REQUIRE(to_request_head(f, true, h, &reason) == 0);
  CHECK(h.host == "a.test");
  CHECK(field(h, "host").empty());
  // RFC 9113 §8.3.1: host naming another authority is malformed.
  auto m = fields({{":method", "GET"}, {":scheme", "http"}, {":authority", "a.test"}, {":path", "/"}, {"host", "b.test"}});
  CHECK(to_request_head(m, true, h, &reason) == 400);
  // Without :authority the host field routes.
  auto g = fields({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "b.test"}});
  REQUIRE(to_request_head(g, true, h, &reason) == 0);
  CHECK(h.host == "b.test");
  // Neither: 400.
  auto n = fields({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}});
  CHECK(to_request_head(n, true, h, &reason) == 400);
}

TEST_CASE("h2 request: :authority and :path get the HTTP/1 rules", "[http2]") {
  http::RequestHead h;
  const char* reason = "";
  for (const char* bad : {"evil@a.test", "a.test/x", "a.test:", "a test", "[::1", "a.test:70000"}) {
    INFO(bad);
    auto f = fields({{":method", "GET"}, {":scheme", "https"}, {":authority", bad}, {":path", "/"}});
    CHECK(to_request_head(f, true, h, &reason) == 400);
    auto g = fields({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", bad}});
    CHECK(to_request_head(g, true, h, &reason) == 400);
  }
  for (const char* bad : {"/a#b", "/a%zz", "/caf\xc3\xa9", "http://a.test/", "*", "/a b"}) {
    INFO(bad);
    auto f = fields({{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", bad}});
    CHECK(to_request_head(f, true, h, &reason) == 400);
  }
  auto o = fields({{":method", "OPTIONS"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "*"}});
  CHECK(to_request_head(o, true, h, &reason) == 0);
  auto p = fields({{":method", "GET"}, {":scheme", "https"}, {":authority", "[::1]:8443"}, {":path", "/a%2F?x=/"}});
  REQUIRE(to_request_head(p, true, h, &reason) == 0);
  CHECK(h.path == "/a%2F?x=/");
}

TEST_CASE("h2 trailers towards the client: forbidden and forwarding fields dropped", "[http2]") {
  std::string arena;
  std::vector<nghttp2_nv> nv;
  trailer_fields("grpc-status: 0\r\nContent-Length: 5\r\nX-Forwarded-For: 1.2.3.4\r\nSet-Cookie: a=1\r\n"
                 "Ferry-Request-Id: x\r\ngrpc-message: ok\r\n",
                 arena, nv);
  auto m = nv_map(nv);
  CHECK(m.size() == 2);
  CHECK(m["grpc-status"] == "0");
  CHECK(m["grpc-message"] == "ok");
}

TEST_CASE("h2 request: framing from content-length and END_STREAM", "[http2]") {
  http::RequestHead h;
  const char* reason = "";
  auto cl = fields({{":method", "POST"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}, {"content-length", "12"}});
  REQUIRE(to_request_head(cl, false, h, &reason) == 0);
  CHECK(h.framing == http::Framing::content_length);
  CHECK(h.content_length == 12);
  CHECK(field(h, "content-length").empty());  // restated by the upstream head builder
  auto streamed = fields({{":method", "POST"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}});
  REQUIRE(to_request_head(streamed, false, h, &reason) == 0);
  CHECK(h.framing == http::Framing::chunked);
  auto bad = fields({{":method", "POST"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}, {"content-length", "1x"}});
  CHECK(to_request_head(bad, false, h, &reason) == 400);
  auto two = fields({{":method", "POST"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"},
                     {"content-length", "3"}, {"content-length", "4"}});
  CHECK(to_request_head(two, false, h, &reason) == 400);
}

TEST_CASE("h2 request: cookie crumbs are joined, CONNECT and odd paths refused", "[http2]") {
  http::RequestHead h;
  const char* reason = "";
  auto f = fields({{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"},
                   {"cookie", "a=1"}, {"x", "y"}, {"cookie", "b=2"}});
  REQUIRE(to_request_head(f, true, h, &reason) == 0);
  CHECK(field(h, "cookie") == "a=1; b=2");
  auto c = fields({{":method", "CONNECT"}, {":authority", "a:443"}});
  CHECK(to_request_head(c, false, h, &reason) == 501);
  auto p = fields({{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "x"}});
  CHECK(to_request_head(p, true, h, &reason) == 400);
}

TEST_CASE("h2 request: the header list limits count name + value + 32 and the field count", "[http2]") {
  auto ok = fields({{":method", "GET"}, {"a", "1234"}}, 7 + 3 + 32 + 1 + 4 + 32, 10);
  CHECK_FALSE(ok.too_large);
  auto big = fields({{":method", "GET"}, {"a", "12345"}}, 7 + 3 + 32 + 1 + 4 + 32, 10);
  CHECK(big.too_large);
  auto many = fields({{":method", "GET"}, {"a", "1"}, {"b", "2"}, {"c", "3"}}, 1 << 20, 2);
  CHECK(many.too_large);
}

TEST_CASE("h2 response: status, lowercase names, connection-specific fields dropped", "[http2]") {
  std::string raw =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n"
      "X-Hop: 1\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nFerry-Request-Id: old\r\n\r\n";
  http::ResponseHead r;
  REQUIRE(http1::parse_response(raw, {}, "GET", r).status == http1::ParseStatus::complete);
  std::string arena;
  std::vector<nghttp2_nv> nv;
  response_fields(r, "abc", arena, nv);
  REQUIRE(!nv.empty());
  CHECK(std::string(reinterpret_cast<char*>(nv[0].name), nv[0].namelen) == ":status");
  CHECK(std::string(reinterpret_cast<char*>(nv[0].value), nv[0].valuelen) == "200");
  auto m = nv_map(nv);
  CHECK(m["content-type"] == "text/plain");
  CHECK(m.count("connection") == 0);
  CHECK(m.count("keep-alive") == 0);
  CHECK(m.count("transfer-encoding") == 0);
  CHECK(m.count("x-hop") == 0);
  CHECK(m["ferry-request-id"] == "abc");
  int cookies = 0;
  for (auto& x : nv) cookies += std::string(reinterpret_cast<char*>(x.name), x.namelen) == "set-cookie";
  CHECK(cookies == 2);
}

TEST_CASE("h2 response: content-length kept as sent (also for HEAD)", "[http2]") {
  std::string raw = "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n";
  http::ResponseHead r;
  REQUIRE(http1::parse_response(raw, {}, "HEAD", r).status == http1::ParseStatus::complete);
  CHECK(r.framing == http::Framing::none);
  std::string arena;
  std::vector<nghttp2_nv> nv;
  response_fields(r, "", arena, nv);
  auto m = nv_map(nv);
  CHECK(m["content-length"] == "42");
  CHECK(m.count("ferry-request-id") == 0);
}

TEST_CASE("h2 error responses carry a text page with its length", "[http2]") {
  std::string arena, body;
  std::vector<nghttp2_nv> nv;
  error_fields(503, "busy", "id1", 1, arena, nv, body);
  auto m = nv_map(nv);
  CHECK(m[":status"] == "503");
  CHECK(m["content-length"] == std::to_string(body.size()));
  CHECK(m["retry-after"] == "1");
  CHECK(m["ferry-request-id"] == "id1");
  CHECK(body.find("busy") != std::string::npos);
}

// The upstream direction: a request to an HTTP/2 server from the neutral outbound head, and
// its response heads (no HTTP/1.1 text on the way).

namespace {

http::OutboundRequest outbound() {
  http::OutboundRequest o;
  o.request_line("POST", "?q=1");
  o.add_host("a.test:8080");
  o.add_field("Content-Length", "5");
  o.add_field("Transfer-Encoding", "chunked", true);
  o.add_field("X-Custom", "V");
  o.add_field("TE", "trailers");
  o.add_field("Connection", "te", true);
  o.end();
  return o;
}

FieldList resp_fields(std::initializer_list<std::pair<const char*, const char*>> list) {
  FieldList f;
  for (auto& [n, v] : list) f.emplace_back(n, v);
  return f;
}

}  // namespace

TEST_CASE("h2 upstream request: pseudo-headers from the head's spans, HTTP/1-only fields skipped", "[http2]") {
  const auto o = outbound();
  CHECK(o.wire.starts_with("POST /?q=1 HTTP/1.1\r\nHost: a.test:8080\r\n"));
  CHECK(o.wire.ends_with("Connection: te\r\n\r\n"));
  const http::Header extra[] = {{"Ferry-App", "web"}, {"Ferry-Instance", "i1"}};
  std::string arena;
  std::vector<nghttp2_nv> nv;
  request_fields(o, extra, "http", arena, nv);
  std::vector<std::pair<std::string, std::string>> got;
  for (auto& x : nv)
    got.emplace_back(std::string(reinterpret_cast<char*>(x.name), x.namelen), std::string(reinterpret_cast<char*>(x.value), x.valuelen));
  const std::vector<std::pair<std::string, std::string>> want{
      {":method", "POST"},      {":scheme", "http"}, {":authority", "a.test:8080"}, {":path", "/?q=1"},
      {"content-length", "5"}, {"x-custom", "V"},   {"te", "trailers"},           {"ferry-app", "web"},
      {"ferry-instance", "i1"}};
  CHECK(got == want);
}

TEST_CASE("h2 upstream response: status, fields and framing", "[http2]") {
  http::ResponseHead r;
  SECTION("content-length states the body") {
    auto f = resp_fields({{":status", "200"}, {"content-length", "12"}, {"x-a", "1"}});
    REQUIRE(to_response_head(f, "GET", false, r) == 0);
    CHECK(r.status == 200);
    CHECK(r.framing == http::Framing::content_length);
    CHECK(r.content_length == 12);
    CHECK(r.headers.size() == 2);
    CHECK(r.head_size == 0);
    CHECK(r.keep_alive);
  }
  SECTION("no length: the body ends with the stream") {
    auto f = resp_fields({{":status", "200"}, {"x-a", "1"}});
    REQUIRE(to_response_head(f, "GET", false, r) == 0);
    CHECK(r.framing == http::Framing::until_close);
  }
  SECTION("a response that ended with its head states length 0 (an HTTP/1.1 client needs it)") {
    auto f = resp_fields({{":status", "200"}});
    REQUIRE(to_response_head(f, "GET", true, r) == 0);
    CHECK(r.framing == http::Framing::content_length);
    CHECK(r.content_length == 0);
    REQUIRE(r.headers.size() == 1);
    CHECK(r.headers[0].name == "content-length");
    CHECK(r.headers[0].value == "0");
  }
  SECTION("1xx, 204, 304 and HEAD have no body") {
    for (const char* st : {"103", "204", "304"}) {
      auto f = resp_fields({{":status", st}});
      REQUIRE(to_response_head(f, "GET", false, r) == 0);
      CHECK(r.framing == http::Framing::none);
    }
    auto f = resp_fields({{":status", "200"}, {"content-length", "99"}});
    REQUIRE(to_response_head(f, "HEAD", true, r) == 0);
    CHECK(r.framing == http::Framing::none);
    CHECK(r.content_length == 99);  // the representation's length, stated on to the client
  }
  SECTION("invalid heads are 502") {
    for (auto f : {resp_fields({{"x-a", "1"}}), resp_fields({{":status", "20"}}), resp_fields({{":status", "2000"}}),
                   resp_fields({{":status", "abc"}}), resp_fields({{":status", "101"}}),
                   resp_fields({{":status", "099"}}), resp_fields({{":status", "200"}, {":status", "200"}}),
                   resp_fields({{":status", "200"}, {"content-length", "x"}}),
                   resp_fields({{":status", "200"}, {"content-length", ""}}),
                   resp_fields({{":status", "200"}, {"content-length", "1"}, {"content-length", "2"}})})
      CHECK(to_response_head(f, "GET", false, r) == 502);
  }
}

TEST_CASE("Connection tokens: a list counts only when it names more than hop-by-hop fields",
          "[http2][fields]") {
  std::vector<http::Header> hs{{"Connection", "keep-alive"}, {"X-A", "1"}};
  CHECK_FALSE(http::ConnectionTokens(hs).lists("X-A"));
  hs.push_back({"connection", "close, x-a"});
  CHECK(http::ConnectionTokens(hs).lists("X-A"));
  CHECK_FALSE(http::ConnectionTokens(hs).lists("X-B"));
  // "close" is an option, but a field of that name is still connection-specific when listed.
  CHECK(http::ConnectionTokens(std::vector<http::Header>{{"Connection", "close"}}).lists("Close"));
  // More such Connection fields than the slots: every one is still seen.
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) names.push_back("x-" + std::to_string(i));
  std::vector<http::Header> many;
  for (const auto& n : names) many.push_back({"Connection", n});
  const http::ConnectionTokens conn(many);
  CHECK(conn.lists("X-0"));
  CHECK(conn.lists("X-11"));
  CHECK_FALSE(conn.lists("X-12"));

  // A response whose only Connection list is "keep-alive" keeps every other field.
  std::string raw = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nX-A: 1\r\nServer: s\r\n\r\n";
  http::ResponseHead r;
  REQUIRE(http1::parse_response(raw, {}, "GET", r).status == http1::ParseStatus::complete);
  FieldBlock f;
  response_fields(r, "", f.arena, f.nv);
  auto m = nv_map(f.nv);
  CHECK(m["x-a"] == "1");
  CHECK(m["server"] == "s");
  CHECK(m.count("connection") == 0);
}

TEST_CASE("h2 fields: values unique to one message are never indexed by HPACK", "[http2]") {
  // Indexing a request id would evict useful entries from the dynamic table and make the
  // encoder compare every stored id on each later response.
  std::string raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Request-Id: r1\r\nTraceparent: 00-1-2-01\r\n"
                    "Date: Mon, 07 Dec 2026 15:00:00 GMT\r\nContent-Length: 0\r\n\r\n";
  http::ResponseHead r;
  REQUIRE(http1::parse_response(raw, {}, "GET", r).status == http1::ParseStatus::complete);
  std::string arena;
  std::vector<nghttp2_nv> nv;
  response_fields(r, "abc", arena, nv);
  std::map<std::string, uint8_t> flags;
  for (auto& x : nv) flags[std::string(reinterpret_cast<char*>(x.name), x.namelen)] = x.flags;
  CHECK(flags.at("ferry-request-id") == NGHTTP2_NV_FLAG_NO_INDEX);
  CHECK(flags.at("x-request-id") == NGHTTP2_NV_FLAG_NO_INDEX);
  CHECK(flags.at("traceparent") == NGHTTP2_NV_FLAG_NO_INDEX);
  CHECK(flags.at("content-type") == NGHTTP2_NV_FLAG_NONE);
  CHECK(flags.at("date") == NGHTTP2_NV_FLAG_NONE);
  CHECK(flags.at(":status") == NGHTTP2_NV_FLAG_NONE);

  const auto o = outbound();
  const http::Header extra[] = {{"Ferry-Request-Id", "x1"}, {"Ferry-App", "web"}};
  request_fields(o, extra, "http", arena, nv);
  flags.clear();
  for (auto& x : nv) flags[std::string(reinterpret_cast<char*>(x.name), x.namelen)] = x.flags;
  CHECK(flags.at("ferry-request-id") == NGHTTP2_NV_FLAG_NO_INDEX);
  CHECK(flags.at("ferry-app") == NGHTTP2_NV_FLAG_NONE);
  CHECK(flags.at(":path") == NGHTTP2_NV_FLAG_NONE);
}
