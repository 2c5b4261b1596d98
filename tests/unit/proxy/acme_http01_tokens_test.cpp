// HTTP-01 (RFC 8555 §8.3) on the data plane: the token table (replace/find, snapshots), the
// target matching (only "/.well-known/acme-challenge/<base64url token>"), the response bytes,
// and Engine::set_acme_http_tokens' validation (before any apply()).
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "acme/http01_tokens.h"
#include "ferry/proxy/engine.h"
#include "http/error_pages.h"

using namespace ferry::proxy;
using namespace ferry::proxy::acme;

TEST_CASE("acme http-01: token table", "[acme]") {
  AcmeHttpTokens t;
  std::string out = "untouched";
  CHECK_FALSE(t.maybe_any());
  CHECK_FALSE(t.find("tok", out));
  CHECK(out == "untouched");
  t.replace({{"tok_A-1", "tok_A-1.thumb"}, {"other", "other.thumb"}});
  CHECK(t.maybe_any());
  REQUIRE(t.find("tok_A-1", out));
  CHECK(out == "tok_A-1.thumb");
  CHECK_FALSE(t.find("tok_a-1", out));  // tokens are case-sensitive
  CHECK_FALSE(t.find("", out));
  t.replace({});
  CHECK_FALSE(t.maybe_any());
  CHECK_FALSE(t.find("tok_A-1", out));

  // Readers on other threads while the control plane replaces the table: each lookup sees one
  // whole snapshot (either answer or none, never a torn one).
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::thread reader([&] {
    std::string ka;
    while (!stop.load()) {
      if (t.find("x", ka) && ka != "x.1" && ka != "x.2") ++wrong;
    }
  });
  for (int i = 0; i < 2000; ++i) t.replace({{"x", i % 2 ? "x.1" : "x.2"}});
  stop = true;
  reader.join();
  CHECK(wrong == 0);
}

TEST_CASE("acme http-01: request targets and response", "[acme]") {
  CHECK(acme_challenge_token("/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0") ==
        "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0");
  CHECK(acme_challenge_token("/.well-known/acme-challenge/a_b-C") == "a_b-C");
  CHECK(acme_challenge_token("/.well-known/acme-challenge/").empty());
  CHECK(acme_challenge_token("/.well-known/acme-challenge/a?x=1").empty());  // validators send no query
  CHECK(acme_challenge_token("/.well-known/acme-challenge/../../etc/passwd").empty());
  CHECK(acme_challenge_token("/.well-known/acme-challenge/a/b").empty());
  CHECK(acme_challenge_token("/.well-known/acme-challengeX").empty());
  CHECK(acme_challenge_token("/index.html").empty());
  CHECK(acme_challenge_token("http://a.example/.well-known/acme-challenge/a").empty());  // absolute form: routed
  CHECK(acme_challenge_token("/.well-known/acme-challenge/" + std::string(257, 'a')).empty());

  // The answer as the HTTP/1 session sends it (request/pipeline.cpp's local phase).
  CHECK(ferry::proxy::local_response(200, "application/octet-stream", "t.k", false) ==
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: no-store\r\n"
        "Content-Length: 3\r\n\r\nt.k");
  CHECK(ferry::proxy::local_response(200, "application/octet-stream", "t.k", true).find("\r\nConnection: close\r\n\r\nt.k") !=
        std::string::npos);
}

TEST_CASE("acme http-01: Engine::set_acme_http_tokens validates", "[acme]") {
  Engine engine;
  std::string error;
  CHECK(engine.set_acme_http_tokens({{"tok", "tok.thumb"}}, error));
  CHECK(engine.set_acme_http_tokens({}, error));
  CHECK_FALSE(engine.set_acme_http_tokens({{"a/b", "a/b.thumb"}}, error));
  CHECK(error.find("is not base64url") != std::string::npos);
  CHECK_FALSE(engine.set_acme_http_tokens({{"tok", "other.thumb"}}, error));
  CHECK(error.find("does not start with '<token>.'") != std::string::npos);
  CHECK_FALSE(engine.set_acme_http_tokens({{"tok", "tok."}}, error));
}
