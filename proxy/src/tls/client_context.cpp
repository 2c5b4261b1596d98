#include "tls/client_context.h"

#include <openssl/x509v3.h>

#include <cstring>

#include <arpa/inet.h>

#include "tls/openssl_error.h"

namespace ferry::proxy::tls {

std::shared_ptr<SSL_CTX> make_client_ctx(const std::string& ca_file, bool verify, std::string* error) {
  auto fail = [&](std::string what) -> std::shared_ptr<SSL_CTX> {
    if (error) *error = std::move(what) + ": " + drain_openssl_errors();
    return nullptr;
  };
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return fail("cannot create a TLS client context");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) return fail("cannot set TLS versions");
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  if (SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn) != 0) return fail("cannot set ALPN");
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (!verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1)
      return fail(ca_file + ": cannot load CA certificates");
  } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    return fail("cannot load the system's CA certificates");
  }
  return ctx;
}

SSL* new_client_ssl(SSL_CTX* ctx, const std::string& name, bool verify) {
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return nullptr;
  unsigned char ip[16];
  const bool is_ip = inet_pton(AF_INET, name.c_str(), ip) == 1 || inet_pton(AF_INET6, name.c_str(), ip) == 1;
  bool ok = true;
  if (!is_ip) ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;  // no SNI for addresses (RFC 6066 §3)
  if (ok && verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1 : SSL_set1_host(ssl, name.c_str()) == 1;
  }
  if (!ok) {
    SSL_free(ssl);
    return nullptr;
  }
  return ssl;
}

}  // namespace ferry::proxy::tls
