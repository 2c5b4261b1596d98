// build_upstream_request: Ferry-* metadata and edge headers (mesh).
#include <catch2/catch.hpp>

#include "http1/parser.h"
#include "http1/rewrite.h"

using namespace ferry::proxy::http1;

namespace {

std::string rewrite(const std::string& in, bool backhaul, std::string_view region = "yyz", bool trusted = false) {
  RequestHead h;
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
