// Certificate selection by SNI over real in-memory handshakes: exact names, wildcards, the
// default certificate, and refusal (unrecognized_name) without one.
#include <catch2/catch.hpp>

#include <string>

#include "tls/server_context.h"
#include "tls/sni_select.h"
#include "tls_test_certs.h"
#include "tls_test_handshake.h"

using namespace ferry::proxy::tls;
using namespace tls_test;

namespace {

std::shared_ptr<SSL_CTX> context_for(const std::string& cn, const std::vector<std::string>& sans,
                                     int min_version = TLS1_2_VERSION) {
  static Issued ca = make_ca("SNI Test CA");
  CertSpec spec;
  spec.cn = cn;
  spec.sans = sans;
  Issued leaf = make_leaf(spec, &ca);
  LoadResult r = load_certificate_pem(pem(leaf.cert.get()) + pem(ca.cert.get()) + pem(leaf.key.get()), cn);
  REQUIRE(r.ok());
  TlsOptions opt;
  opt.min_version = min_version;
  auto ctx = make_server_ctx(*r.material, opt);
  REQUIRE(ctx);
  return ctx;
}

// The CN of the certificate the client was shown.
std::string served_cn(const Connection& c) {
  X509* peer = SSL_get0_peer_certificate(c.client.get());
  if (!peer) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
  return cn;
}

struct Listener {
  std::shared_ptr<SSL_CTX> front;
};

Listener listener(bool with_default) {
  auto set = std::make_shared<CertificateSet>();
  set->contexts = {context_for("exact", {"a.example.com"}), context_for("wild", {"*.b.example.com"}),
                   context_for("fallback", {"default.example.com"}),
                   context_for("modern", {"modern.example.com"}, TLS1_3_VERSION)};
  std::string reason;
  REQUIRE(set->names.add("a.example.com", 0, reason));
  REQUIRE(set->names.add("*.b.example.com", 1, reason));
  REQUIRE(set->names.add("default.example.com", 2, reason));
  REQUIRE(set->names.add("modern.example.com", 3, reason));
  if (with_default) set->default_index = 2;
  Listener l;
  // Connections start on a context of their own: one of the set's would hold the set that
  // holds it (a reference cycle, leaked).
  l.front = make_front_ctx();
  REQUIRE(l.front);
  REQUIRE(install_sni_selector(l.front.get(), set));
  return l;
}

}  // namespace

TEST_CASE("SNI selects the certificate: exact, wildcard, default", "[tls][sni]") {
  Listener l = listener(true);
  auto cctx = client_ctx();
  Connection exact = handshake(cctx.get(), l.front.get(), "", nullptr, "a.example.com");
  REQUIRE(exact.ok);
  CHECK(served_cn(exact) == "exact");
  Connection upper = handshake(cctx.get(), l.front.get(), "", nullptr, "A.EXAMPLE.COM");
  REQUIRE(upper.ok);
  CHECK(served_cn(upper) == "exact");
  Connection wild = handshake(cctx.get(), l.front.get(), "", nullptr, "x.b.example.com");
  REQUIRE(wild.ok);
  CHECK(served_cn(wild) == "wild");
  Connection unknown = handshake(cctx.get(), l.front.get(), "", nullptr, "nothing.test");
  REQUIRE(unknown.ok);
  CHECK(served_cn(unknown) == "fallback");
  Connection two_labels = handshake(cctx.get(), l.front.get(), "", nullptr, "y.x.b.example.com");
  REQUIRE(two_labels.ok);
  CHECK(served_cn(two_labels) == "fallback");  // a wildcard covers one label only
  Connection no_sni = handshake(cctx.get(), l.front.get(), "", nullptr, nullptr);
  REQUIRE(no_sni.ok);
  CHECK(served_cn(no_sni) == "fallback");
}

TEST_CASE("SNI without a default certificate refuses unknown names with unrecognized_name", "[tls][sni]") {
  Listener l = listener(false);
  auto cctx = client_ctx();
  Connection known = handshake(cctx.get(), l.front.get(), "", nullptr, "a.example.com");
  REQUIRE(known.ok);
  CHECK(served_cn(known) == "exact");
  Connection unknown = handshake(cctx.get(), l.front.get(), "", nullptr, "nothing.test");
  CHECK_FALSE(unknown.ok);
  CHECK(unknown.failed != 0);
  CHECK(served_cn(unknown).empty());  // no certificate was shown
}

TEST_CASE("SNI selection keeps ALPN and TLS 1.3 working on the switched context", "[tls][sni]") {
  Listener l = listener(true);
  auto cctx = client_ctx(TLS1_3_VERSION);
  Connection c = handshake(cctx.get(), l.front.get(), alpn_wire({"http/1.1", "h2"}), nullptr, "x.b.example.com");
  REQUIRE(c.ok);
  CHECK(served_cn(c) == "wild");
  CHECK(SSL_version(c.server.get()) == TLS1_3_VERSION);
  CHECK(negotiated_alpn(c.server.get()) == "h2");
}

TEST_CASE("SNI selection applies the selected certificate's minimum TLS version", "[tls][sni]") {
  Listener l = listener(true);
  auto tls12_only = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
  Connection old_ok = handshake(tls12_only.get(), l.front.get(), "", nullptr, "a.example.com");
  REQUIRE(old_ok.ok);
  CHECK(SSL_version(old_ok.server.get()) == TLS1_2_VERSION);
  Connection refused = handshake(tls12_only.get(), l.front.get(), "", nullptr, "modern.example.com");
  CHECK_FALSE(refused.ok);
  CHECK(served_cn(refused).empty());
  auto any = client_ctx();
  Connection modern = handshake(any.get(), l.front.get(), "", nullptr, "modern.example.com");
  REQUIRE(modern.ok);
  CHECK(served_cn(modern) == "modern");
  CHECK(SSL_version(modern.server.get()) == TLS1_3_VERSION);
}
