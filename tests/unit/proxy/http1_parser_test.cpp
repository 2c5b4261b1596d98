// Strict HTTP/1.1 head parser: requests, responses, limits, helpers.
#include <catch2/catch.hpp>

#include <string>

#include "http/fields.h"
#include "http/message.h"
#include "http1/request_parser.h"
#include "http1/response_parser.h"

using namespace std::literals;
using namespace ferry::proxy;
using namespace ferry::proxy::http1;

namespace {

ParseResult req(std::string_view s, http::RequestHead& h, const Limits& l = Limits{}) {
  return parse_request(s, l, h);
}

int req_status(std::string_view s, const Limits& l = Limits{}) {
  http::RequestHead h;
  const ParseResult r = parse_request(s, l, h);
  if (r.status == ParseStatus::complete) return 0;
  if (r.status == ParseStatus::incomplete) return -1;
  return r.http_status;
}

ParseResult resp(std::string_view s, http::ResponseHead& h, std::string_view method = "GET") {
  return parse_response(s, Limits{}, method, h);
}

std::string trim_ows_for_test(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return std::string(v);
}

std::string with(std::string_view header_lines) {
  return "GET / HTTP/1.1\r\nHost: a\r\n" + std::string(header_lines) + "\r\n";
}

}  // namespace

TEST_CASE("simple GET request", "[http1][request]") {
  http::RequestHead h;
  const std::string s = "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
  const auto r = req(s, h);
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(h.method == "GET");
  CHECK(h.target == "/index.html?x=1");
  CHECK(h.minor == 1);
  CHECK(h.host == "example.com");
  CHECK(h.framing == http::Framing::none);
  CHECK(h.keep_alive);
  CHECK_FALSE(h.expect_continue);
  CHECK_FALSE(h.upgrade);
  CHECK(h.head_size == s.size());
  REQUIRE(h.headers.size() == 2);
  CHECK(h.headers[1].name == "User-Agent");
  CHECK(h.headers[1].value == "t");
}

TEST_CASE("field values are OWS-trimmed, obs-text and HTAB allowed", "[http1][request]") {
  http::RequestHead h;
  const std::string s = with("X-A: \t  hello \t world \t \r\nX-B:\r\nX-C: caf\xc3\xa9\r\n");
  REQUIRE(req(s, h).status == ParseStatus::complete);
  REQUIRE(h.headers.size() == 4);
  CHECK(h.headers[1].value == "hello \t world");
  CHECK(h.headers[2].value.empty());
  CHECK(h.headers[3].value == "caf\xc3\xa9");
}

TEST_CASE("incomplete heads", "[http1][request]") {
  const std::string s = "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
  for (size_t i = 0; i < s.size(); ++i) CHECK(req_status(s.substr(0, i)) == -1);
  CHECK(req_status(s) == 0);
}

TEST_CASE("pipelined requests back to back", "[http1][request]") {
  const std::string a = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string b = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  const std::string c = "HEAD /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  const std::string all = a + b + c;
  http::RequestHead h;
  std::string_view rest = all;
  REQUIRE(req(rest, h).status == ParseStatus::complete);
  CHECK(h.target == "/a");
  rest.remove_prefix(h.head_size);
  REQUIRE(req(rest, h).status == ParseStatus::complete);
  CHECK(h.method == "POST");
  CHECK(h.framing == http::Framing::content_length);
  CHECK(h.content_length == 5);
  rest.remove_prefix(h.head_size + h.content_length);
  REQUIRE(req(rest, h).status == ParseStatus::complete);
  CHECK(h.method == "HEAD");
  CHECK_FALSE(h.keep_alive);
  rest.remove_prefix(h.head_size);
  CHECK(rest.empty());
}

TEST_CASE("HTTP/1.0 requests", "[http1][request]") {
  http::RequestHead h;
  REQUIRE(req("GET / HTTP/1.0\r\n\r\n", h).status == ParseStatus::complete);  // Host optional
  CHECK(h.minor == 0);
  CHECK_FALSE(h.keep_alive);
  CHECK(h.host.empty());
  REQUIRE(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: x\r\n\r\n", h).status ==
          ParseStatus::complete);
  CHECK(h.keep_alive);
  CHECK(h.host == "x");
  // Expect / Upgrade are HTTP/1.1 only.
  REQUIRE(req("GET / HTTP/1.0\r\nExpect: 100-continue\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n",
              h).status == ParseStatus::complete);
  CHECK_FALSE(h.expect_continue);
  CHECK_FALSE(h.upgrade);
}

TEST_CASE("Connection tokens", "[http1][request]") {
  http::RequestHead h;
  REQUIRE(req(with("Connection: foo, CLOSE\r\n"), h).status == ParseStatus::complete);
  CHECK_FALSE(h.keep_alive);
  REQUIRE(req(with("Connection: foo\r\nConnection: ,bar,, close ,\r\n"), h).status ==
          ParseStatus::complete);
  CHECK_FALSE(h.keep_alive);
  REQUIRE(req(with("Connection: keep-alive\r\n"), h).status == ParseStatus::complete);
  CHECK(h.keep_alive);
  REQUIRE(req(with("Connection: closed\r\n"), h).status == ParseStatus::complete);
  CHECK(h.keep_alive);
}

TEST_CASE("absolute-form target: authority replaces Host, a different Host is refused", "[http1][request]") {
  http::RequestHead h;
  REQUIRE(req("GET http://a.b:8080/path?q HTTP/1.1\r\nHost: A.b:8080\r\n\r\n", h).status ==
          ParseStatus::complete);
  CHECK(h.target == "http://a.b:8080/path?q");
  CHECK(h.host == "a.b:8080");
  CHECK(h.authority == "a.b:8080");
  CHECK(h.path == "/path?q");
  REQUIRE(req("GET HTTPS://x.y HTTP/1.1\r\nHost: x.y\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.host == "x.y");
  CHECK(h.path.empty());
  REQUIRE(req("GET http://x.y?a=1 HTTP/1.0\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.host == "x.y");
  CHECK(h.path == "?a=1");
  CHECK(req_status("GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n") == 400);  // RFC 9112 §3.2.2
  CHECK(req_status("GET http:///path HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status("GET http://user@a.b/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status("GET ftp://a.b/ HTTP/1.1\r\nHost: a.b\r\n\r\n") == 400);
  CHECK(req_status("GET http:/a.b/ HTTP/1.1\r\nHost: a.b\r\n\r\n") == 400);
  CHECK(req_status("GET http://a.b:99999/ HTTP/1.1\r\nHost: a.b:99999\r\n\r\n") == 400);
}

TEST_CASE("request-target forms per RFC 9112 §3.2", "[http1][request][malformed]") {
  http::RequestHead h;
  // CONNECT would make the connection a raw tunnel: refused whatever its target.
  CHECK(req_status("CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n") == 501);
  CHECK(req_status("CONNECT a.b:443 HTTP/1.1\r\n") == 501);  // as soon as the line is complete
  REQUIRE(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.target == "*");
  CHECK(req_status("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == 400);            // asterisk: OPTIONS only
  CHECK(req_status("GET a.b:443 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);      // authority-form: CONNECT only
  CHECK(req_status("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n") == 400);      // no fragment
  CHECK(req_status("GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);         // incomplete pct-encoding
  CHECK(req_status("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status("GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);  // raw non-ASCII
  for (char c : std::string_view("\"<>[]^`{|}"))
    CHECK(req_status("GET /a" + std::string(1, c) + " HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(req("GET /a%2Fb/c;p=1/@x:y?q=/?&r=%41 HTTP/1.1\r\nHost: a\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.path == "/a%2Fb/c;p=1/@x:y?q=/?&r=%41");
  CHECK(h.authority.empty());
}

TEST_CASE("Expect: 100-continue", "[http1][request]") {
  http::RequestHead h;
  REQUIRE(req(with("Content-Length: 10\r\nExpect: 100-Continue\r\n"), h).status ==
          ParseStatus::complete);
  CHECK(h.expect_continue);
  REQUIRE(req(with("Expect: something-else\r\n"), h).status == ParseStatus::complete);
  CHECK_FALSE(h.expect_continue);
}

TEST_CASE("Upgrade requests", "[http1][request]") {
  http::RequestHead h;
  REQUIRE(req(with("Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"), h).status ==
          ParseStatus::complete);
  CHECK(h.upgrade);
  REQUIRE(req(with("Upgrade: websocket\r\n"), h).status == ParseStatus::complete);
  CHECK_FALSE(h.upgrade);
  REQUIRE(req(with("Connection: upgrade\r\n"), h).status == ParseStatus::complete);
  CHECK_FALSE(h.upgrade);
  // h2c is never an upgrade Ferry passes on (RFC 9113 removed it).
  REQUIRE(req(with("Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"), h)
              .status == ParseStatus::complete);
  CHECK_FALSE(h.upgrade);
  REQUIRE(req(with("Connection: upgrade\r\nUpgrade: websocket, H2C\r\n"), h).status == ParseStatus::complete);
  CHECK_FALSE(h.upgrade);
}

TEST_CASE("one leading empty line is skipped, two are rejected", "[http1][request]") {
  http::RequestHead h;
  const std::string s = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  REQUIRE(req(s, h).status == ParseStatus::complete);
  CHECK(h.head_size == s.size());
  CHECK(h.method == "GET");
  CHECK(req_status("\r") == -1);
  CHECK(req_status("\r\n") == -1);
  CHECK(req_status("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status(" GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status("\rXGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("malformed request lines", "[http1][request][malformed]") {
  CHECK(req_status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);        // double SP
  CHECK(req_status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == 400);        // trailing SP
  CHECK(req_status("GET /\r\nHost: a\r\n\r\n") == 400);                  // HTTP/0.9
  CHECK(req_status("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);         // method not a token
  CHECK(req_status(" / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);            // empty method
  CHECK(req_status("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n") == 400);     // CTL in target
  CHECK(req_status(std::string("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"sv)) == 400);
  CHECK(req_status("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n") == 400);    // DEL in target
  CHECK(req_status("GET  HTTP/1.1\r\nHost: a\r\n\r\n") == 400);          // empty target
  CHECK(req_status("GET / http/1.1\r\nHost: a\r\n\r\n") == 400);         // lower-case version
  CHECK(req_status("GET / HTTP/1.10\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status("GET / HTTP/1\r\nHost: a\r\n\r\n") == 400);
  CHECK(req_status("GET / HTTP/1.1\rHost: a\r\n\r\n") == 400);           // bare CR
  CHECK(req_status("GET / HTTP/1.1\nHost: a\r\n\r\n") == 400);           // bare LF
}

TEST_CASE("unsupported HTTP versions answer 505", "[http1][request][malformed]") {
  CHECK(req_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(req_status("GET / HTTP/1.2\r\nHost: a\r\n\r\n") == 505);
  CHECK(req_status("GET / HTTP/0.9\r\nHost: a\r\n\r\n") == 505);
  CHECK(req_status("GET / HTTP/3.0\r\nHost: a\r\n\r\n") == 505);
  http::RequestHead h;
  const auto r = req("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", h);
  CHECK(r.status == ParseStatus::error);
  CHECK(r.http_status == 505);
  CHECK(std::string(r.reason).find("HTTP/2") != std::string::npos);
  // Detected as soon as the request line is complete.
  CHECK(req_status("PRI * HTTP/2.0\r\n") == 505);
  CHECK(req_status("GET / HTTP/1.1 x\r\n") == 400);
}

TEST_CASE("malformed header lines", "[http1][request][malformed]") {
  CHECK(req_status(with("X: a\nY: b\r\n")) == 400);               // bare LF in header
  CHECK(req_status("GET / HTTP/1.1\r\nHost: a\n\n") == 400);      // LF-only terminator
  CHECK(req_status("GET / HTTP/1.1\r\nHost: a\r\n\n") == 400);
  CHECK(req_status(with("X: a\rb\r\n")) == 400);                  // bare CR in value
  CHECK(req_status(with("X: a\r\r\n")) == 400);
  CHECK(req_status(with("X\r: a\r\n")) == 400);                   // bare CR in name
  CHECK(req_status(with(std::string("X: a\0b\r\n"sv))) == 400);  // NUL in value
  CHECK(req_status(with("X: a\x01" "b\r\n")) == 400);             // CTL in value
  CHECK(req_status(with("X: a\x7f\r\n")) == 400);                 // DEL in value
  CHECK(req_status(with("X: a\r\n b\r\n")) == 400);               // obs-fold SP
  CHECK(req_status(with("X: a\r\n\tb\r\n")) == 400);              // obs-fold HTAB
  CHECK(req_status("GET / HTTP/1.1\r\n Host: a\r\n\r\n") == 400); // first field folded
  CHECK(req_status(with("X : a\r\n")) == 400);                    // SP before colon
  CHECK(req_status(with("X\t: a\r\n")) == 400);                   // HTAB before colon
  CHECK(req_status(with("X(y): a\r\n")) == 400);                  // invalid name char
  CHECK(req_status(with("X\x80: a\r\n")) == 400);                 // non-ASCII name
  CHECK(req_status(with(": a\r\n")) == 400);                      // empty name
  CHECK(req_status(with("NoColon\r\n")) == 400);
}

TEST_CASE("Host header rules", "[http1][request][malformed]") {
  CHECK(req_status("GET / HTTP/1.1\r\nX: y\r\n\r\n") == 400);                 // missing
  CHECK(req_status("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == 400);   // duplicate
  CHECK(req_status("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(req_status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400);            // invalid chars
  CHECK(req_status("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == 400);
  CHECK(req_status("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n") == 0);
  CHECK(req_status("GET / HTTP/1.1\r\nHost: \r\n\r\n") == 0);                  // empty: no authority
  CHECK(req_status("GET / HTTP/1.1\r\nHost: evil@a.test\r\n\r\n") == 400);      // userinfo
  CHECK(req_status("GET / HTTP/1.1\r\nHost: a.test:\r\n\r\n") == 400);          // empty port
  CHECK(req_status("GET / HTTP/1.1\r\nHost: a.test:8x\r\n\r\n") == 400);
  CHECK(req_status("GET / HTTP/1.1\r\nHost: a.test:65536\r\n\r\n") == 400);
  CHECK(req_status("GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n") == 400);
  CHECK(req_status("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n") == 400);
  CHECK(req_status("GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n") == 400);
  CHECK(req_status("GET / HTTP/1.1\r\nHost: :80\r\n\r\n") == 400);
}

TEST_CASE("http::valid_authority", "[http1][helpers]") {
  for (std::string_view ok : {"a", "a.test", "A.Test:8080", "127.0.0.1:1", "[::1]", "[2001:db8::1]:443", "x-y_z~1", "a%41b"})
    CHECK(http::valid_authority(ok));
  for (std::string_view bad : {"", ":1", "a:", "a:123456", "u@a", "a/b", "a b", "[::1]x", "[]", "a%4", "a:+1", "[::1]:"})
    CHECK_FALSE(http::valid_authority(bad));
}

TEST_CASE("Transfer-Encoding framing", "[http1][request][framing]") {
  http::RequestHead h;
  REQUIRE(req(with("Transfer-Encoding: chunked\r\n"), h).status == ParseStatus::complete);
  CHECK(h.framing == http::Framing::chunked);
  REQUIRE(req(with("Transfer-Encoding: CHUNKED\r\n"), h).status == ParseStatus::complete);
  CHECK(h.framing == http::Framing::chunked);
  REQUIRE(req(with("Transfer-Encoding: ,chunked,\r\n"), h).status == ParseStatus::complete);
  CHECK(h.framing == http::Framing::chunked);

  CHECK(req_status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(req_status(with("Transfer-Encoding: gzip, chunked\r\n")) == 400);
  CHECK(req_status(with("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")) == 400);
  CHECK(req_status(with("Transfer-Encoding: chunked, gzip\r\n")) == 400);
  CHECK(req_status(with("Transfer-Encoding: identity\r\n")) == 400);
  CHECK(req_status(with("Transfer-Encoding: xchunked\r\n")) == 400);
  CHECK(req_status(with("Transfer-Encoding: chunked;q=1\r\n")) == 400);
  CHECK(req_status(with("Transfer-Encoding: chunked, chunked\r\n")) == 400);
  CHECK(req_status(with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")) == 400);
  CHECK(req_status(with("Transfer-Encoding: \r\n")) == 400);
  CHECK(req_status(with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")) == 400);
  CHECK(req_status(with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")) == 400);
  CHECK(req_status(with("Content-Length: x\r\nTransfer-Encoding: chunked\r\n")) == 400);
  http::RequestHead e;
  const auto r = req(with("Transfer-Encoding: gzip\r\n"), e);
  CHECK(std::string(r.reason) == "unsupported transfer coding");
}

TEST_CASE("Content-Length framing", "[http1][request][framing]") {
  http::RequestHead h;
  REQUIRE(req(with("Content-Length: 0\r\n"), h).status == ParseStatus::complete);
  CHECK(h.framing == http::Framing::content_length);
  CHECK(h.content_length == 0);
  REQUIRE(req(with("content-length:   9223372036854775807  \r\n"), h).status == ParseStatus::complete);
  CHECK(h.content_length == 9223372036854775807ull);

  CHECK(req_status(with("Content-Length: 9223372036854775808\r\n")) == 400);  // > INT64_MAX
  CHECK(req_status(with("Content-Length: 99999999999999999999999\r\n")) == 400);
  CHECK(req_status(with("Content-Length: -1\r\n")) == 400);
  CHECK(req_status(with("Content-Length: +1\r\n")) == 400);
  CHECK(req_status(with("Content-Length: 1 2\r\n")) == 400);
  CHECK(req_status(with("Content-Length: 0x10\r\n")) == 400);
  CHECK(req_status(with("Content-Length: \r\n")) == 400);
  CHECK(req_status(with("Content-Length: 5\r\nContent-Length: 5\r\n")) == 400);
  CHECK(req_status(with("Content-Length: 5\r\nContent-Length: 6\r\n")) == 400);
  CHECK(req_status(with("Content-Length: 5, 5\r\n")) == 400);
  CHECK(req_status(with("Content-Length: 5,\r\n")) == 400);
}

TEST_CASE("request line limit: 414, also on partial input", "[http1][request][limits]") {
  Limits l;
  l.max_request_line = 64;
  const std::string target(64 - 14, 'a');  // "GET /" + target + " HTTP/1.1" == 64 bytes
  const std::string line = "GET /" + target + " HTTP/1.1";
  REQUIRE(line.size() == 64);
  CHECK(req_status(line + "\r\nHost: a\r\n\r\n", l) == 0);
  CHECK(req_status(line + "\r", l) == -1);
  CHECK(req_status("GET /a" + line + "\r\nHost: a\r\n\r\n", l) == 414);
  // Partial: 65 bytes without CRLF are already too many.
  CHECK(req_status(std::string("GET /") + std::string(59, 'b'), l) == -1);
  CHECK(req_status(std::string("GET /") + std::string(60, 'b'), l) == 414);
  CHECK(req_status(std::string(5000, 'G'), l) == 414);
}

TEST_CASE("header size and count limits: 431, also on partial input", "[http1][request][limits]") {
  Limits l;
  l.max_header_size = 256;
  l.max_headers = 5;
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  CHECK(req_status(head + "X: " + std::string(200, 'v') + "\r\n\r\n", l) == 0);
  CHECK(req_status(head + "X: " + std::string(300, 'v') + "\r\n\r\n", l) == 431);
  CHECK(req_status(head + "X: " + std::string(300, 'v'), l) == 431);  // partial
  // Exactly at the limit is fine, one byte more is not.
  const std::string base = head + "X: ";
  const std::string exact = base + std::string(256 - base.size() - 4, 'v') + "\r\n\r\n";
  REQUIRE(exact.size() == 256);
  CHECK(req_status(exact, l) == 0);
  const std::string over = base + std::string(256 - base.size() - 3, 'v') + "\r\n\r\n";
  CHECK(req_status(over, l) == 431);
  CHECK(req_status(over.substr(0, over.size() - 1), l) == 431);
  CHECK(req_status(exact.substr(0, exact.size() - 1), l) == -1);
  // A skipped leading empty line counts toward the limit (head_size <= max_header_size).
  CHECK(req_status("\r\n" + exact, l) == 431);
  CHECK(req_status("\r\n" + base + std::string(256 - base.size() - 6, 'v') + "\r\n\r\n", l) == 0);
  // A buffer of max_header_size bytes without a complete head is an error, never incomplete.
  CHECK(req_status(over.substr(0, 256), l) == 431);
  CHECK(req_status(over.substr(0, 255), l) == -1);

  std::string many = head;
  for (int i = 0; i < 4; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  CHECK(req_status(many + "\r\n", l) == 0);  // 5 fields
  many += "Y: v\r\n";
  CHECK(req_status(many + "\r\n", l) == 431);
  CHECK(req_status(many, l) == 431);  // partial
}

TEST_CASE("a full buffer without a complete head never yields incomplete", "[http1][request][limits]") {
  Limits l;
  l.max_header_size = 512;
  l.max_request_line = 128;
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
  while (s.size() < 513) s += "X-Filler: 0123456789\r\n";
  CHECK(req_status(s.substr(0, 513), l) == 431);
}

// ---------------------------------------------------------------------------------------------
// Responses

TEST_CASE("status line forms", "[http1][response]") {
  http::ResponseHead h;
  REQUIRE(resp("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", h).status == ParseStatus::complete);
  CHECK(h.status == 200);
  CHECK(h.reason == "OK");
  CHECK(h.framing == http::Framing::content_length);
  CHECK(h.content_length == 2);
  CHECK(h.keep_alive);
  CHECK(h.head_size == 38);
  REQUIRE(resp("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.status == 404);
  CHECK(h.reason.empty());
  REQUIRE(resp("HTTP/1.1 204\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.status == 204);
  REQUIRE(resp("HTTP/1.0 200 Fine and dandy\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.minor == 0);
  CHECK(h.reason == "Fine and dandy");
}

TEST_CASE("malformed responses map to 502", "[http1][response][malformed]") {
  auto st = [](std::string_view s) {
    http::ResponseHead h;
    const auto r = parse_response(s, Limits{}, "GET", h);
    return r.status == ParseStatus::error ? r.http_status : 0;
  };
  CHECK(st("HTTP/2.0 200 OK\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 20 OK\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 2000 OK\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 099 OK\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1  200 OK\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 O\x01K\r\n\r\n") == 502);
  CHECK(st("ICY 200 OK\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 OK\nX: y\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 OK\r\nX : y\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n") == 502);
  CHECK(st("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") == 502);
  CHECK(st("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == 502);
  Limits l;
  l.max_headers = 1;
  http::ResponseHead h;
  const auto r = parse_response("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n", l, "GET", h);
  CHECK(r.status == ParseStatus::error);
  CHECK(r.http_status == 502);
}

TEST_CASE("identical duplicate Content-Length accepted in responses", "[http1][response]") {
  http::ResponseHead h;
  REQUIRE(resp("HTTP/1.1 200 OK\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n", h).status ==
          ParseStatus::complete);
  CHECK(h.content_length == 7);
  REQUIRE(resp("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.framing == http::Framing::content_length);
}

TEST_CASE("response framing table", "[http1][response][framing]") {
  struct Row {
    const char* head;
    const char* method;
    http::Framing framing;
    bool keep_alive;
  };
  const Row rows[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "GET", http::Framing::content_length, true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "HEAD", http::Framing::none, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", http::Framing::none, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", http::Framing::chunked, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "GET", http::Framing::chunked, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET", http::Framing::until_close, false},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "GET", http::Framing::until_close, false},
      {"HTTP/1.1 200 OK\r\n\r\n", "GET", http::Framing::until_close, false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", http::Framing::content_length, false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", "GET",
       http::Framing::content_length, true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", "GET",
       http::Framing::content_length, false},
      {"HTTP/1.1 100 Continue\r\n\r\n", "POST", http::Framing::none, true},
      {"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", "GET", http::Framing::none, true},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "GET", http::Framing::tunnel, false},
      {"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", "GET", http::Framing::none, true},
      {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", http::Framing::none, true},
      // CONNECT is never forwarded (501); a 2xx to it would be an ordinary response.
      {"HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT", http::Framing::until_close, false},
      {"HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n", "CONNECT", http::Framing::content_length, true},
      {"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", "CONNECT", http::Framing::content_length, true},
  };
  for (const Row& row : rows) {
    INFO(row.head << " / " << row.method);
    http::ResponseHead h;
    REQUIRE(parse_response(row.head, Limits{}, row.method, h).status == ParseStatus::complete);
    CHECK(h.framing == row.framing);
    CHECK(h.keep_alive == row.keep_alive);
  }
}

TEST_CASE("incomplete responses", "[http1][response]") {
  const std::string s = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
  for (size_t i = 0; i < s.size(); ++i) {
    http::ResponseHead h;
    CHECK(parse_response(s.substr(0, i), Limits{}, "GET", h).status == ParseStatus::incomplete);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

TEST_CASE("helpers", "[http1][helpers]") {
  CHECK(http::iequals("Content-Length", "content-length"));
  CHECK_FALSE(http::iequals("Content-Length", "content-lengt"));
  CHECK_FALSE(http::iequals("a", "b"));
  CHECK(http::iequals("", ""));
  CHECK_FALSE(http::iequals("\xc1", "\xe1"));  // ASCII only

  for (const char* n : {"Connection", "keep-alive", "PROXY-CONNECTION", "te", "Transfer-Encoding",
                        "upgrade", "Trailer"})
    CHECK(http::is_hop_by_hop(n));
  for (const char* n : {"Host", "Content-Length", "Trailers", "tee", "X-Upgrade"})
    CHECK_FALSE(http::is_hop_by_hop(n));

  std::vector<http::Header> hs{{"Connection", "close, X-Foo"}, {"X-Foo", "1"}, {"connection", " x-bar "}};
  CHECK(http::listed_in_connection(hs, "x-foo"));
  CHECK(http::listed_in_connection(hs, "X-Bar"));
  CHECK(http::listed_in_connection(hs, "close"));
  CHECK_FALSE(http::listed_in_connection(hs, "X-Baz"));
  CHECK_FALSE(http::listed_in_connection(hs, "X-Fo"));

  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) CHECK(http::is_idempotent(m));
  for (const char* m : {"POST", "PATCH", "CONNECT", "get"}) CHECK_FALSE(http::is_idempotent(m));
}

TEST_CASE("every byte position of long values and targets is validated", "[http1][request][malformed]") {
  // Exercises the 8-byte fast paths: a forbidden byte at any offset must be caught.
  const std::string value(41, 'v');
  const std::string target = "/" + std::string(40, 't');
  for (size_t k = 0; k < value.size(); ++k) {
    INFO("offset " << k);
    for (char bad : {'\0', '\x01', '\x1f', '\x7f', '\r', '\n'}) {
      std::string v = value;
      v[k] = bad;
      CHECK(req_status(with("X: " + v + "\r\n")) == 400);
      std::string t = target;
      t[k] = bad;
      CHECK(req_status("GET " + t + " HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    }
    for (char good : {'\t', ' ', '\x80', '\xff', '~'}) {
      std::string v = value;
      v[k] = good;
      http::RequestHead h;
      const std::string msg = with("X: " + v + "\r\n");  // views point into msg
      REQUIRE(req(msg, h).status == ParseStatus::complete);
      CHECK(h.headers[1].value == trim_ows_for_test(v));
    }
    for (char good : {'~', '@', ':', '!', '/', '?'}) {
      if (k == 0 && good != '/') continue;  // origin-form starts with "/"
      std::string t = target;
      t[k] = good;
      CHECK(req_status("GET " + t + " HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
    }
    for (char bad : {'\x80', '\xff', '#', '"', '\\'}) {
      std::string t = target;
      t[k] = bad;
      CHECK(req_status("GET " + t + " HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    }
    std::string t = target;
    t[k] = ' ';
    CHECK(req_status("GET " + t + " HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    t[k] = '\t';
    CHECK(req_status("GET " + t + " HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  }
}
