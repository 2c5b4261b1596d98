// build_upstream_request: Ferry-* metadata and edge headers (mesh).
#include <catch2/catch.hpp>

#include "http/message.h"
#include "http1/request_parser.h"
#include "http1/rewrite.h"

using namespace ferry::proxy;
using namespace ferry::proxy::http1;

namespace {

std::string rewrite(const std::string& in, bool backhaul, std::string_view region = "yyz", bool trusted = false) {
  http::RequestHead h;
  Limits l{8192, 32768, 100};
  REQUIRE(parse_request(in, l, h).status == ParseStatus::complete);
  ForwardContext ctx{"203.0.113.7", "https", 443, "rid", trusted || backhaul, {}, region, backhaul};
  std::string out;
  build_upstream_request(h, ctx, out);
  return out;
}

}  // namespace

TEST_CASE("rewrite: Ferry-* from untrusted clients dropped, edge headers added", "[rewrite][mesh]") {
  const std::string req =
      "GET / HTTP/1.1\r\nHost: a.test\r\nFerry-App: other\r\nFerry-Instance: vm-9\r\nFerry-Client-IP: 1.2.3.4\r\n"
      "Ferry-Region: fake\r\nferry-force-instance: vm-1\r\nFerry-Replay-Src: x\r\nX-Keep: 1\r\n\r\n";
  const std::string out = rewrite(req, false);
  CHECK(out.find("Ferry-App") == std::string::npos);
  CHECK(out.find("Ferry-Instance") == std::string::npos);
  CHECK(out.find("ferry-force-instance") == std::string::npos);
  CHECK(out.find("Ferry-Replay-Src") == std::string::npos);
  CHECK(out.find("1.2.3.4") == std::string::npos);
  CHECK(out.find("fake") == std::string::npos);
  CHECK(out.find("Ferry-Client-IP: 203.0.113.7\r\n") != std::string::npos);
  CHECK(out.find("Ferry-Region: yyz\r\n") != std::string::npos);
  CHECK(out.find("Ferry-Forwarded-Port: 443\r\n") != std::string::npos);
  CHECK(out.find("X-Keep: 1\r\n") != std::string::npos);
  CHECK(out.size() >= 4);
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
  // A `trust-forwarded` client (a CDN passing its client's fields on) is no Ferry node either.
  const std::string t = rewrite(req, false, "yyz", true);
  CHECK(t.find("1.2.3.4") == std::string::npos);
  CHECK(t.find("Ferry-Client-IP: 203.0.113.7\r\n") != std::string::npos);
  CHECK(t.find("ferry-force-instance") == std::string::npos);
}

TEST_CASE("rewrite: a backhaul peer's Ferry-* kept (the worker side), target metadata never", "[rewrite][mesh]") {
  const std::string req =
      "GET / HTTP/1.1\r\nHost: a.test\r\nFerry-App: web\r\nFerry-Instance: vm-1\r\nFerry-Client-IP: 198.51.100.2\r\n"
      "Ferry-Region: yyz\r\nFerry-Forwarded-Port: 8443\r\nFerry-Replay-Src: app=web;instance=vm-2\r\n\r\n";
  const std::string out = rewrite(req, true, "dfw");
  CHECK(out.find("Ferry-App") == std::string::npos);       // consumed by the backhaul routing
  CHECK(out.find("Ferry-Instance") == std::string::npos);
  CHECK(out.find("Ferry-Client-IP: 198.51.100.2\r\n") != std::string::npos);  // not overwritten
  CHECK(out.find("Ferry-Client-IP: 203.0.113.7") == std::string::npos);
  CHECK(out.find("Ferry-Region: yyz\r\n") != std::string::npos);
  CHECK(out.find("Ferry-Region: dfw") == std::string::npos);
  CHECK(out.find("Ferry-Forwarded-Port: 8443\r\n") != std::string::npos);
  CHECK(out.find("Ferry-Replay-Src: app=web;instance=vm-2\r\n") != std::string::npos);
  // No region configured: no Ferry-Region from this node.
  CHECK(rewrite("GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, "").find("Ferry-Region") == std::string::npos);
}

namespace {

std::string rewrite_ctx(const std::string& in, ForwardContext ctx) {
  http::RequestHead h;
  Limits l{8192, 32768, 100};
  REQUIRE(parse_request(in, l, h).status == ParseStatus::complete);
  std::string out;
  build_upstream_request(h, ctx, out);
  return out;
}

size_t count(const std::string& s, std::string_view needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("rewrite: Host is the routed authority, always present, origin-form target", "[rewrite]") {
  ForwardContext ctx{"203.0.113.7", "http", 80, "rid"};
  // Absolute-form: the target's authority is the Host, the target goes upstream in origin-form.
  std::string out = rewrite_ctx("GET http://a.test HTTP/1.1\r\nHost: a.test\r\n\r\n", ctx);
  CHECK(out.starts_with("GET / HTTP/1.1\r\nHost: a.test\r\n"));
  out = rewrite_ctx("GET http://a.test?x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n", ctx);
  CHECK(out.starts_with("GET /?x=1 HTTP/1.1\r\n"));
  out = rewrite_ctx("GET https://a.test/p/q?x HTTP/1.1\r\nHost: a.test\r\n\r\n", ctx);
  CHECK(out.starts_with("GET /p/q?x HTTP/1.1\r\n"));
  // Connection cannot remove Host (RFC 9112 §3.2: the upstream request always has one).
  out = rewrite_ctx("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: host, x-a\r\nX-A: 1\r\n\r\n", ctx);
  CHECK(count(out, "\r\nHost: a.test\r\n") == 1);
  CHECK(out.find("X-A") == std::string::npos);
  // HTTP/1.0 without Host: the fallback (the app's name, else the local address).
  ctx.fallback_host = "app.test";
  out = rewrite_ctx("GET / HTTP/1.0\r\n\r\n", ctx);
  CHECK(count(out, "\r\nHost: app.test\r\n") == 1);
  CHECK(out.find("X-Forwarded-Host: app.test\r\n") != std::string::npos);
  out = rewrite_ctx("GET / HTTP/1.1\r\nHost:\r\n\r\n", ctx);
  CHECK(count(out, "\r\nHost: app.test\r\n") == 1);
  CHECK(count(out, "\r\nHost:") == 1);
}

TEST_CASE("rewrite: client-address aliases and forwarding fields from untrusted clients dropped", "[rewrite]") {
  const std::string req =
      "GET / HTTP/1.1\r\nHost: a.test\r\nFerry_Client_IP: 1.1.1.1\r\nX_Forwarded_For: 1.1.1.2\r\n"
      "x_real_ip: 1.1.1.3\r\nX-Real-IP: 1.1.1.4\r\nForwarded: for=1.1.1.5\r\nFerry_Region: fake\r\n"
      "X-Forwarded-For: 1.1.1.6\r\nX_FORWARDED_PROTO: https\r\nMy_Header: kept\r\nHTTP2-Settings: AAA\r\n\r\n";
  ForwardContext ctx{"203.0.113.7", "http", 80, "rid"};
  std::string out = rewrite_ctx(req, ctx);
  CHECK(out.find("1.1.1.") == std::string::npos);
  CHECK(out.find("fake") == std::string::npos);
  CHECK(out.find("_PROTO") == std::string::npos);
  CHECK(out.find("HTTP2-Settings") == std::string::npos);
  CHECK(out.find("My_Header: kept\r\n") != std::string::npos);
  CHECK(out.find("X-Forwarded-For: 203.0.113.7\r\n") != std::string::npos);
  // A trusted proxy's forwarding fields are kept, its "_" spellings are not.
  ctx.trusted = true;
  out = rewrite_ctx(req, ctx);
  CHECK(out.find("X-Real-IP: 1.1.1.4\r\n") != std::string::npos);
  CHECK(out.find("Forwarded: for=1.1.1.5\r\n") != std::string::npos);
  CHECK(out.find("X-Forwarded-For: 1.1.1.6, 203.0.113.7\r\n") != std::string::npos);
  CHECK(out.find("1.1.1.1") == std::string::npos);
  CHECK(out.find("1.1.1.2") == std::string::npos);
  CHECK(out.find("1.1.1.3") == std::string::npos);
}
