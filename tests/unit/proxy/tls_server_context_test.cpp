// Real TLS 1.3 and 1.2 handshakes (in memory, over a BIO pair) against make_server_ctx:
// versions, ALPN selection, cipher choice.
#include <catch2/catch.hpp>

#include <string>

#include "tls/server_context.h"
#include "tls_test_certs.h"
#include "tls_test_handshake.h"

using namespace ferry::proxy::tls;
using namespace tls_test;

namespace {

CertificateMaterial test_material() {
  static Issued ca = make_ca("Test CA");
  CertSpec spec;
  spec.sans = {"a.example.com"};
  Issued leaf = make_leaf(spec, &ca);
  LoadResult r = load_certificate_pem(pem(leaf.cert.get()) + pem(ca.cert.get()) + pem(leaf.key.get()), "test");
  REQUIRE(r.ok());
  return std::move(*r.material);
}

std::shared_ptr<SSL_CTX> server(const TlsOptions& opt = {}) {
  std::string error;
  auto ctx = make_server_ctx(test_material(), opt, &error);
  INFO(error);
  REQUIRE(ctx);
  return ctx;
}

}  // namespace

TEST_CASE("TLS 1.3 handshake: ALPN prefers h2, else http/1.1", "[tls]") {
  auto sctx = server();
  auto cctx = client_ctx(TLS1_3_VERSION);
  // The client lists http/1.1 first: the server's order decides.
  Connection both = handshake(cctx.get(), sctx.get(), alpn_wire({"http/1.1", "h2"}));
  REQUIRE(both.ok);
  CHECK(SSL_version(both.server.get()) == TLS1_3_VERSION);
  CHECK(negotiated_alpn(both.server.get()) == "h2");
  CHECK(negotiated_alpn(both.client.get()) == "h2");

  Connection h1 = handshake(cctx.get(), sctx.get(), alpn_wire({"http/1.1"}));
  REQUIRE(h1.ok);
  CHECK(negotiated_alpn(h1.server.get()) == "http/1.1");

  // No common protocol (or none offered): the handshake goes on without ALPN.
  Connection other = handshake(cctx.get(), sctx.get(), alpn_wire({"spdy/3"}));
  REQUIRE(other.ok);
  CHECK(negotiated_alpn(other.server.get()).empty());
  Connection none = handshake(cctx.get(), sctx.get());
  REQUIRE(none.ok);
  CHECK(negotiated_alpn(none.server.get()).empty());
}

TEST_CASE("TLS 1.2 handshake: ALPN, and the server's order among the intermediate ciphers", "[tls]") {
  auto sctx = server();
  auto cctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
  Connection both = handshake(cctx.get(), sctx.get(), alpn_wire({"h2", "http/1.1"}));
  REQUIRE(both.ok);
  CHECK(SSL_version(both.server.get()) == TLS1_2_VERSION);
  CHECK(negotiated_alpn(both.server.get()) == "h2");
  Connection h1 = handshake(cctx.get(), sctx.get(), alpn_wire({"http/1.1"}));
  REQUIRE(h1.ok);
  CHECK(negotiated_alpn(h1.server.get()) == "http/1.1");

  // The server's order: AES-128-GCM before AES-256-GCM whatever the client prefers...
  REQUIRE(SSL_CTX_set_cipher_list(cctx.get(), "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256") == 1);
  Connection aes = handshake(cctx.get(), sctx.get());
  REQUIRE(aes.ok);
  CHECK(std::string(SSL_get_cipher_name(aes.server.get())) == "ECDHE-ECDSA-AES128-GCM-SHA256");
  // ... but a client that prefers ChaCha20 (no AES hardware) gets it.
  REQUIRE(SSL_CTX_set_cipher_list(cctx.get(), "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256") == 1);
  Connection chacha = handshake(cctx.get(), sctx.get());
  REQUIRE(chacha.ok);
  CHECK(std::string(SSL_get_cipher_name(chacha.server.get())) == "ECDHE-ECDSA-CHACHA20-POLY1305");

  // Suites outside the profile (CBC, no forward secrecy) are refused.
  REQUIRE(SSL_CTX_set_cipher_list(cctx.get(), "ECDHE-ECDSA-AES128-SHA:AES128-GCM-SHA256") == 1);
  Connection weak = handshake(cctx.get(), sctx.get());
  CHECK_FALSE(weak.ok);
  CHECK(weak.failed == 2);
}

TEST_CASE("a TLS 1.1-only client is refused", "[tls]") {
  auto sctx = server();
  auto cctx = client_ctx(TLS1_1_VERSION, TLS1_1_VERSION);
  // Let the client send a TLS 1.1 hello at all (OpenSSL 3's default level forbids it).
  SSL_CTX_set_security_level(cctx.get(), 0);
  REQUIRE(SSL_CTX_set_cipher_list(cctx.get(), "DEFAULT:@SECLEVEL=0") == 1);
  Connection c = handshake(cctx.get(), sctx.get(), alpn_wire({"http/1.1"}));
  CHECK_FALSE(c.ok);
  CHECK(c.failed == 2);
  CHECK(ERR_GET_REASON(c.failed_err) == SSL_R_UNSUPPORTED_PROTOCOL);
}

TEST_CASE("min_version 1.3 refuses TLS 1.2 clients", "[tls]") {
  TlsOptions opt;
  opt.min_version = TLS1_3_VERSION;
  auto sctx = server(opt);
  auto c12 = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
  Connection c = handshake(c12.get(), sctx.get());
  CHECK_FALSE(c.ok);
  CHECK(c.failed == 2);
  auto c13 = client_ctx();
  CHECK(handshake(c13.get(), sctx.get()).ok);
}

TEST_CASE("an ACME challenge context offers only acme-tls/1", "[tls]") {
  TlsOptions opt;
  opt.alpn = {"acme-tls/1"};
  auto sctx = server(opt);
  auto cctx = client_ctx();
  Connection acme = handshake(cctx.get(), sctx.get(), alpn_wire({"acme-tls/1"}));
  REQUIRE(acme.ok);
  CHECK(negotiated_alpn(acme.client.get()) == "acme-tls/1");
  Connection web = handshake(cctx.get(), sctx.get(), alpn_wire({"h2", "http/1.1"}));
  REQUIRE(web.ok);
  CHECK(negotiated_alpn(web.server.get()).empty());
}

TEST_CASE("make_server_ctx reports bad options", "[tls]") {
  CertificateMaterial m = test_material();
  std::string error;
  TlsOptions old;
  old.min_version = TLS1_1_VERSION;
  CHECK(make_server_ctx(m, old, &error) == nullptr);
  CHECK(error == "minimum TLS version must be 1.2 or 1.3");
  TlsOptions bad_alpn;
  bad_alpn.alpn = {"h2", ""};
  CHECK(make_server_ctx(m, bad_alpn, &error) == nullptr);
  CHECK(error == "invalid ALPN protocol name ''");
  CHECK(make_server_ctx(CertificateMaterial{}, {}, &error) == nullptr);
  CHECK(error == ": certificate material is empty");
}

TEST_CASE("the context carries the intermediate options", "[tls]") {
  auto sctx = server();
  uint64_t opts = SSL_CTX_get_options(sctx.get());
  CHECK((opts & SSL_OP_NO_COMPRESSION) != 0);
  CHECK((opts & SSL_OP_NO_RENEGOTIATION) != 0);
  CHECK((opts & SSL_OP_CIPHER_SERVER_PREFERENCE) != 0);
  CHECK((opts & SSL_OP_PRIORITIZE_CHACHA) != 0);
  CHECK((opts & SSL_OP_NO_TICKET) == 0);
  CHECK((SSL_CTX_get_mode(sctx.get()) & SSL_MODE_RELEASE_BUFFERS) != 0);
  CHECK(SSL_CTX_get_min_proto_version(sctx.get()) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_max_proto_version(sctx.get()) == TLS1_3_VERSION);
}
