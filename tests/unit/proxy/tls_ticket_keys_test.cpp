// Session ticket keys: rotation and retention, and real resumption across two server contexts
// that share one TicketKeyRing.
#include <catch2/catch.hpp>

#include <string>

#include "tls/server_context.h"
#include "tls/ticket_keys.h"
#include "tls_test_certs.h"
#include "tls_test_handshake.h"

using namespace ferry::proxy::tls;
using namespace tls_test;

namespace {

std::shared_ptr<SSL_CTX> server_with(const std::shared_ptr<TicketKeyRing>& ring) {
  CertSpec spec;
  spec.sans = {"a.example.com"};
  Issued self = make_leaf(spec, nullptr);
  LoadResult r = load_certificate_pem(pem(self.cert.get()) + pem(self.key.get()), "test");
  REQUIRE(r.ok());
  auto ctx = make_server_ctx(*r.material);
  REQUIRE(ctx);
  REQUIRE(install(ctx.get(), ring));
  return ctx;
}

struct SessionFree {
  void operator()(SSL_SESSION* s) const noexcept { SSL_SESSION_free(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

// A fresh session from a full handshake with `sctx`.
SessionPtr first_session(SSL_CTX* cctx, SSL_CTX* sctx) {
  Connection c = handshake(cctx, sctx);
  REQUIRE(c.ok);
  REQUIRE_FALSE(SSL_session_reused(c.client.get()));
  SessionPtr s(SSL_get1_session(c.client.get()));
  REQUIRE(s);
  REQUIRE(SSL_SESSION_is_resumable(s.get()));
  return s;
}

bool resumes(SSL_CTX* cctx, SSL_CTX* sctx, SSL_SESSION* s) {
  Connection c = handshake(cctx, sctx, "", s);
  REQUIRE(c.ok);
  CHECK(SSL_session_reused(c.client.get()) == SSL_session_reused(c.server.get()));
  return SSL_session_reused(c.server.get()) == 1;
}

}  // namespace

TEST_CASE("ticket key ring rotation keeps the newest previous keys", "[tls]") {
  auto ring = TicketKeyRing::create(2);
  REQUIRE(ring);
  auto k0 = ring->snapshot();
  REQUIRE(k0->keys.size() == 1);
  REQUIRE(ring->rotate());
  auto k1 = ring->snapshot();
  REQUIRE(k1->keys.size() == 2);
  CHECK(k1->keys[1].name == k0->keys[0].name);
  CHECK(k1->keys[0].name != k0->keys[0].name);
  CHECK(k1->keys[0].aes_key != k0->keys[0].aes_key);
  REQUIRE(ring->rotate());
  REQUIRE(ring->rotate());
  auto k3 = ring->snapshot();
  REQUIRE(k3->keys.size() == 3);  // current + 2 previous
  CHECK(k3->keys[2].name == k1->keys[0].name);
  CHECK(k0->keys.size() == 1);  // an old snapshot is untouched
}

TEST_CASE("a ticket resumes on another context sharing the ring, until its key is dropped", "[tls]") {
  auto [min_v, max_v] = GENERATE(std::pair{TLS1_3_VERSION, TLS1_3_VERSION}, std::pair{TLS1_2_VERSION, TLS1_2_VERSION});
  INFO("TLS version " << std::hex << max_v);
  auto ring = TicketKeyRing::create(2);
  REQUIRE(ring);
  auto first = server_with(ring);
  auto second = server_with(ring);  // another worker or certificate, same ring
  auto cctx = client_ctx(min_v, max_v);

  SessionPtr s = first_session(cctx.get(), first.get());
  CHECK(resumes(cctx.get(), second.get(), s.get()));

  // One rotation: the ticket's key is now a previous one, still accepted.
  REQUIRE(ring->rotate());
  CHECK(resumes(cctx.get(), second.get(), s.get()));

  // Two more: the key falls out of the ring (2 previous kept); a full handshake follows.
  REQUIRE(ring->rotate());
  REQUIRE(ring->rotate());
  CHECK_FALSE(resumes(cctx.get(), second.get(), s.get()));
}

TEST_CASE("TLS 1.2: a ticket under a previous key is renewed, one under the current key is not", "[tls]") {
  auto ring = TicketKeyRing::create(2);
  REQUIRE(ring);
  auto sctx = server_with(ring);
  auto cctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
  SessionPtr s = first_session(cctx.get(), sctx.get());
  auto ticket_of = [](SSL_SESSION* sess) {
    const unsigned char* t = nullptr;
    size_t len = 0;
    SSL_SESSION_get0_ticket(sess, &t, &len);
    return std::string(reinterpret_cast<const char*>(t), len);
  };
  const std::string original = ticket_of(s.get());
  REQUIRE_FALSE(original.empty());

  Connection same = handshake(cctx.get(), sctx.get(), "", s.get());
  REQUIRE(same.ok);
  REQUIRE(SSL_session_reused(same.server.get()));
  CHECK(ticket_of(SSL_get_session(same.client.get())) == original);

  REQUIRE(ring->rotate());
  Connection renewed = handshake(cctx.get(), sctx.get(), "", s.get());
  REQUIRE(renewed.ok);
  REQUIRE(SSL_session_reused(renewed.server.get()));
  CHECK(ticket_of(SSL_get_session(renewed.client.get())) != original);
}

TEST_CASE("a context with another ring does not accept the ticket", "[tls]") {
  auto cctx = client_ctx(TLS1_3_VERSION);
  auto a = server_with(TicketKeyRing::create());
  auto b = server_with(TicketKeyRing::create());
  SessionPtr s = first_session(cctx.get(), a.get());
  CHECK(resumes(cctx.get(), a.get(), s.get()));
  CHECK_FALSE(resumes(cctx.get(), b.get(), s.get()));
}
