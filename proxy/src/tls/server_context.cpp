#include "tls/server_context.h"

#include <cstring>

#include "tls/openssl_error.h"

namespace ferry::proxy::tls {

namespace {

// Mozilla "intermediate" (server-side TLS guidelines v5): TLS 1.2 with forward-secret AEAD
// suites only. The DHE-RSA suites of the profile are left out: ECDHE covers every client
// that has them, and finite-field DH would need parameters and is slow.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3: the profile's three suites in its order. OpenSSL's default puts AES-256-GCM-SHA384
// first; AES-128-GCM-SHA256 first makes the whole key schedule and transcript run on SHA-256,
// which CPUs with SHA extensions compute several times faster than SHA-384 (a resumed
// handshake is mostly HKDF), for the same forward secrecy.
constexpr const char* kTls13Ciphers = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
// The profile's groups, fastest first.
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";

// The ALPN list (wire format) lives in the context's ex_data and is freed with the context,
// so it outlives every SSL that may still call select_alpn.
void free_alpn(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int alpn_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_alpn);
  return idx;
}

bool client_offers(const unsigned char* in, unsigned inlen, const unsigned char* proto, unsigned len) {
  for (unsigned i = 0; i < inlen;) {
    unsigned n = in[i];
    if (i + 1 + n > inlen) return false;  // malformed list (OpenSSL validates it already)
    if (n == len && std::memcmp(in + i + 1, proto, n) == 0) return true;
    i += 1 + n;
  }
  return false;
}

// Server preference: the first protocol of our list that the client offers. No overlap means
// no ALPN at all (NOACK) rather than a fatal alert: an HTTP client that offered only unknown
// protocols still gets HTTP/1.1, and an ACME validator always offers acme-tls/1.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned inlen, void* arg) {
  const auto& ours = *static_cast<const std::string*>(arg);
  const auto* p = reinterpret_cast<const unsigned char*>(ours.data());
  for (size_t i = 0; i < ours.size(); i += 1 + p[i]) {
    if (client_offers(in, inlen, p + i + 1, p[i])) {
      *out = p + i + 1;
      *outlen = p[i];
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

bool fail(std::string* error, std::string what) {
  if (error) *error = std::move(what);
  return false;
}

bool apply_protocol(SSL_CTX* ctx, const TlsOptions& opt, std::string* error) {
  if (opt.min_version != TLS1_2_VERSION && opt.min_version != TLS1_3_VERSION)
    return fail(error, "minimum TLS version must be 1.2 or 1.3");
  if (SSL_CTX_set_min_proto_version(ctx, opt.min_version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
    return fail(error, "cannot set TLS versions: " + drain_openssl_errors());
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
    return fail(error, "cannot set TLS 1.2 ciphers: " + drain_openssl_errors());
  if (SSL_CTX_set_ciphersuites(ctx, kTls13Ciphers) != 1)
    return fail(error, "cannot set TLS 1.3 ciphers: " + drain_openssl_errors());
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1)
    return fail(error, "cannot set key exchange groups: " + drain_openssl_errors());
  // No compression (CRIME). No renegotiation: nothing needs it, and it is a DoS lever.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // The server's order (AES-128-GCM first: the cheapest strong suite with AES hardware), except
  // that a client listing ChaCha20-Poly1305 first gets it (mobile clients without AES
  // hardware): the practical outcome of Mozilla intermediate's "client chooses", with an order
  // auditors can see (testssl.sh rates "no cipher order" HIGH). TLS 1.3 suites likewise.
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
  // Resumption by stateless session tickets only (keys from a TicketKeyRing, see
  // ticket_keys.h): every worker and every context resumes every other's sessions, and no
  // per-session memory is held. The server-side session cache is off.
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // Idle connections (keep-alive, HTTP/2 between requests) give their read/write buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  return true;
}

bool apply_certificate(SSL_CTX* ctx, const CertificateMaterial& m, std::string* error) {
  if (!m.leaf || !m.key) return fail(error, m.source + ": certificate material is empty");
  if (SSL_CTX_use_certificate(ctx, m.leaf.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, m.key.get()) != 1 ||
      (m.chain && SSL_CTX_set1_chain(ctx, m.chain.get()) != 1) || SSL_CTX_check_private_key(ctx) != 1)
    return fail(error, m.source + ": OpenSSL refused the certificate: " + drain_openssl_errors());
  return true;
}

bool apply_alpn(SSL_CTX* ctx, const std::vector<std::string>& alpn, std::string* error) {
  if (alpn.empty()) return true;
  auto wire = std::make_unique<std::string>();
  for (const auto& p : alpn) {
    if (p.empty() || p.size() > 255) return fail(error, "invalid ALPN protocol name '" + p + "'");
    wire->push_back(static_cast<char>(p.size()));
    *wire += p;
  }
  if (alpn_index() < 0 || SSL_CTX_set_ex_data(ctx, alpn_index(), wire.get()) != 1)
    return fail(error, "cannot store the ALPN list: " + drain_openssl_errors());
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, wire.release());  // owned by the context now
  return true;
}

}  // namespace

std::shared_ptr<SSL_CTX> make_server_ctx(const CertificateMaterial& material, const TlsOptions& options,
                                         std::string* error) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return fail(error, "cannot create SSL_CTX: " + drain_openssl_errors()), nullptr;
  if (!apply_protocol(ctx.get(), options, error) || !apply_certificate(ctx.get(), material, error) ||
      !apply_alpn(ctx.get(), options.alpn, error))
    return nullptr;
  return ctx;
}

std::shared_ptr<SSL_CTX> make_front_ctx(const TlsOptions& options, std::string* error) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return fail(error, "cannot create SSL_CTX: " + drain_openssl_errors()), nullptr;
  if (!apply_protocol(ctx.get(), options, error)) return nullptr;
  return ctx;
}

std::string_view negotiated_alpn(const SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &p, &len);
  return p ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
}

}  // namespace ferry::proxy::tls
