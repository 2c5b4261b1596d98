// TLS-ALPN-01 (RFC 8737) on the data plane: a ClientHello offering ALPN "acme-tls/1" for a
// name with a challenge gets the challenge certificate and ALPN acme-tls/1; other
// handshakes are unaffected; without a challenge acme-tls/1 is refused. Real in-memory
// handshakes through the front context's ClientHello callback.
#include <catch2/catch.hpp>

#include <string>

#include "plan/tls_plan.h"
#include "tls/acme_challenges.h"
#include "tls/server_context.h"
#include "tls/sni_select.h"
#include "tls_test_certs.h"
#include "tls_test_handshake.h"

using namespace ferry::proxy;
using namespace ferry::proxy::tls;
using namespace tls_test;

namespace {

std::string served_cn(const Connection& c) {
  X509* peer = SSL_get0_peer_certificate(c.client.get());
  if (!peer) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
  return cn;
}

struct Setup {
  std::shared_ptr<SSL_CTX> front;
  std::shared_ptr<AcmeChallenges> challenges = std::make_shared<AcmeChallenges>();
};

Setup setup() {
  CertSpec spec;
  spec.cn = "normal";
  spec.sans = {"a.example.com", "b.example.com"};
  Issued leaf = make_leaf(spec, nullptr);
  LoadResult r = load_certificate_pem(pem(leaf.cert.get()) + pem(leaf.key.get()), "normal");
  REQUIRE(r.ok());
  TlsOptions opt;
  opt.alpn = {"http/1.1"};
  auto set = std::make_shared<CertificateSet>();
  set->contexts = {make_server_ctx(*r.material, opt)};
  REQUIRE(set->contexts[0]);
  std::string reason;
  REQUIRE(set->names.add("a.example.com", 0, reason));
  REQUIRE(set->names.add("b.example.com", 0, reason));
  Setup s;
  set->challenges = s.challenges;
  s.front = make_front_ctx();
  REQUIRE(s.front);
  REQUIRE(install_sni_selector(s.front.get(), set));
  return s;
}

std::shared_ptr<SSL_CTX> challenge_ctx(const std::string& identifier) {
  CertSpec spec;
  spec.cn = "challenge " + identifier;
  spec.sans = {identifier};
  Issued leaf = make_leaf(spec, nullptr);
  std::string error;
  auto ctx = make_acme_challenge_ctx(pem(leaf.cert.get()), pem(leaf.key.get()), nullptr, error);
  INFO(error);
  REQUIRE(ctx);
  return ctx;
}

}  // namespace

TEST_CASE("acme-tls/1 ClientHellos get the challenge certificate", "[tls][acme]") {
  Setup s = setup();
  AcmeChallenges::Map map;
  map["a.example.com"] = challenge_ctx("a.example.com");
  s.challenges->replace(std::move(map));
  auto cctx = client_ctx();

  Connection c = handshake(cctx.get(), s.front.get(), alpn_wire({"acme-tls/1"}), nullptr, "A.Example.COM");
  REQUIRE(c.ok);
  CHECK(served_cn(c) == "challenge a.example.com");
  CHECK(negotiated_alpn(c.server.get()) == "acme-tls/1");

  // Ordinary clients of the same name are not affected by the pending challenge.
  Connection normal = handshake(cctx.get(), s.front.get(), alpn_wire({"http/1.1"}), nullptr, "a.example.com");
  REQUIRE(normal.ok);
  CHECK(served_cn(normal) == "normal");
  CHECK(negotiated_alpn(normal.server.get()) == "http/1.1");

  // acme-tls/1 for a name without a challenge: refused, no certificate shown.
  Connection other = handshake(cctx.get(), s.front.get(), alpn_wire({"acme-tls/1"}), nullptr, "b.example.com");
  CHECK_FALSE(other.ok);
  CHECK(served_cn(other).empty());

  // Removing the challenge takes effect for the next handshake.
  s.challenges->replace({});
  Connection gone = handshake(cctx.get(), s.front.get(), alpn_wire({"acme-tls/1"}), nullptr, "a.example.com");
  CHECK_FALSE(gone.ok);
}

TEST_CASE("offers_acme_tls finds acme-tls/1 anywhere in the ALPN list", "[tls][acme]") {
  Setup s = setup();
  AcmeChallenges::Map map;
  map["b.example.com"] = challenge_ctx("b.example.com");
  s.challenges->replace(std::move(map));
  auto cctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
  Connection c = handshake(cctx.get(), s.front.get(), alpn_wire({"h2", "acme-tls/1"}), nullptr, "b.example.com");
  REQUIRE(c.ok);
  CHECK(served_cn(c) == "challenge b.example.com");
  CHECK(negotiated_alpn(c.server.get()) == "acme-tls/1");
  CHECK(SSL_version(c.server.get()) == TLS1_2_VERSION);
}

TEST_CASE("certificate_covers: exact names and one-label wildcards", "[tls][acme]") {
  std::vector<std::string> names = {"a.example.com", "*.w.example.com"};
  CHECK(certificate_covers(names, "a.example.com"));
  CHECK(certificate_covers(names, "x.w.example.com"));
  CHECK_FALSE(certificate_covers(names, "w.example.com"));
  CHECK_FALSE(certificate_covers(names, "y.x.w.example.com"));
  CHECK_FALSE(certificate_covers(names, "b.example.com"));
  CHECK_FALSE(certificate_covers({}, "a.example.com"));
}
