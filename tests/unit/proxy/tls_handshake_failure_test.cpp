// classify_handshake_failure over real in-memory handshakes: an unknown SNI without a default
// certificate is "no-certificate", a version mismatch "protocol"; EOF "other"; the deadline
// "timeout".
#include <catch2/catch.hpp>

#include <asio/error.hpp>
#include <asio/ssl/error.hpp>

#include "tls/handshake_failure.h"
#include "tls/server_context.h"
#include "tls/sni_select.h"
#include "tls_test_certs.h"
#include "tls_test_handshake.h"

using namespace ferry::proxy::tls;
using namespace tls_test;

namespace {

std::shared_ptr<SSL_CTX> front_without_default(int min_version) {
  static Issued ca = make_ca("Handshake Failure Test CA");
  CertSpec spec;
  spec.cn = "only";
  spec.sans = {"only.example.com"};
  Issued leaf = make_leaf(spec, &ca);
  LoadResult r = load_certificate_pem(pem(leaf.cert.get()) + pem(ca.cert.get()) + pem(leaf.key.get()), "only");
  REQUIRE(r.ok());
  TlsOptions opt;
  opt.min_version = min_version;
  auto set = std::make_shared<CertificateSet>();
  set->contexts = {make_server_ctx(*r.material, opt)};
  REQUIRE(set->contexts[0]);
  std::string reason;
  REQUIRE(set->names.add("only.example.com", 0, reason));
  auto front = make_front_ctx();
  REQUIRE(front);
  REQUIRE(install_sni_selector(front.get(), set));
  return front;
}

// The server side's error as asio reports it from async_handshake.
std::error_code server_error(const Connection& c) {
  REQUIRE(c.failed == 2);
  return std::error_code(static_cast<int>(c.failed_err), asio::error::get_ssl_category());
}

}  // namespace

TEST_CASE("TLS handshake failures are classified by reason", "[tls][stats]") {
  auto front = front_without_default(TLS1_3_VERSION);
  auto any = client_ctx();
  Connection ok = handshake(any.get(), front.get(), "", nullptr, "only.example.com");
  REQUIRE(ok.ok);

  Connection unknown = handshake(any.get(), front.get(), "", nullptr, "nothing.test");
  CHECK_FALSE(unknown.ok);
  CHECK(classify_handshake_failure(server_error(unknown), false) == HandshakeFailure::no_certificate);

  auto tls12_only = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
  Connection old = handshake(tls12_only.get(), front.get(), "", nullptr, "only.example.com");
  CHECK_FALSE(old.ok);
  CHECK(classify_handshake_failure(server_error(old), false) == HandshakeFailure::protocol);

  CHECK(classify_handshake_failure(asio::error::eof, false) == HandshakeFailure::other);
  CHECK(classify_handshake_failure(asio::ssl::error::stream_truncated, false) == HandshakeFailure::other);
  CHECK(classify_handshake_failure(asio::error::operation_aborted, true) == HandshakeFailure::timeout);
  CHECK(std::string(kHandshakeFailureNames[static_cast<int>(HandshakeFailure::no_certificate)]) == "no-certificate");
}
