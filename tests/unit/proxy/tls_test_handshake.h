// Test-only: a client SSL and a server SSL joined by an in-memory BIO pair, and a loop that
// drives both handshakes to completion or failure.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace tls_test {

struct SslFree {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

struct CtxFree {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

inline CtxPtr client_ctx(int min_version = TLS1_2_VERSION, int max_version = TLS1_3_VERSION) {
  CtxPtr c(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(c.get(), min_version);
  SSL_CTX_set_max_proto_version(c.get(), max_version);
  return c;
}

// ALPN wire format from "h2", "http/1.1" ...
inline std::string alpn_wire(std::initializer_list<std::string> protos) {
  std::string w;
  for (const auto& p : protos) w += static_cast<char>(p.size()) + p;
  return w;
}

struct Connection {
  SslPtr client, server;
  bool ok = false;
  int failed = 0;                 // 1: the client failed, 2: the server failed
  unsigned long failed_err = 0;   // the failing side's first OpenSSL error

  Connection() = default;
  Connection(Connection&&) = default;
  // A clean close (close_notify): OpenSSL marks the session of an SSL freed without it as
  // not resumable.
  ~Connection() {
    if (!ok || !client || !server) return;
    SSL_shutdown(client.get());
    SSL_shutdown(server.get());
  }
};

// Steps one side; false when it failed (not just waiting for the peer).
inline bool step(SSL* s, bool& done, unsigned long& err) {
  if (done) return true;
  int r = SSL_do_handshake(s);
  if (r == 1) return done = true;
  int e = SSL_get_error(s, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
  err = ERR_peek_error();
  return false;
}

inline Connection handshake(SSL_CTX* cctx, SSL_CTX* sctx, const std::string& alpn = "",
                            SSL_SESSION* resume = nullptr, const char* sni = "a.example.com") {
  Connection c;
  c.client.reset(SSL_new(cctx));
  c.server.reset(SSL_new(sctx));
  BIO *bc = nullptr, *bs = nullptr;
  BIO_new_bio_pair(&bc, 0, &bs, 0);
  SSL_set_bio(c.client.get(), bc, bc);
  SSL_set_bio(c.server.get(), bs, bs);
  SSL_set_connect_state(c.client.get());
  SSL_set_accept_state(c.server.get());
  SSL_set_tlsext_host_name(c.client.get(), sni);
  if (!alpn.empty())
    SSL_set_alpn_protos(c.client.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                        static_cast<unsigned>(alpn.size()));
  if (resume) SSL_set_session(c.client.get(), resume);
  ERR_clear_error();
  bool cd = false, sd = false;
  for (int i = 0; i < 50 && !(cd && sd) && !c.failed; ++i) {
    if (!step(c.client.get(), cd, c.failed_err)) c.failed = 1;
    else if (!step(c.server.get(), sd, c.failed_err)) c.failed = 2;
  }
  c.ok = cd && sd;
  // One byte of application data, so the client also reads the TLS 1.3 session tickets.
  char byte = 'x';
  if (c.ok && SSL_write(c.server.get(), &byte, 1) == 1) c.ok = SSL_read(c.client.get(), &byte, 1) == 1;
  return c;
}

}  // namespace tls_test
