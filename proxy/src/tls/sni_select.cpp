#include "tls/sni_select.h"

#include <string_view>

namespace ferry::proxy::tls {
namespace {

using SetPtr = std::shared_ptr<const CertificateSet>;

void free_set(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<SetPtr*>(ptr); }

int set_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_set);
  return idx;
}

// The host_name of a ClientHello's server_name extension (RFC 6066 3), or "" when there is
// none or it is malformed.
std::string_view client_hello_sni(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 2) return {};
  size_t list = (size_t{p[0]} << 8) | p[1];
  if (list + 2 != len) return {};
  for (size_t i = 2; i + 3 <= len;) {
    unsigned type = p[i];
    size_t n = (size_t{p[i + 1]} << 8) | p[i + 2];
    if (i + 3 + n > len) return {};
    if (type == TLSEXT_NAMETYPE_host_name) return {reinterpret_cast<const char*>(p + i + 3), n};
    i += 3 + n;
  }
  return {};
}

// Runs before the protocol version is chosen, so the selected context's minimum version
// (per-app `tls-min`) still applies to this connection; a servername callback would be too
// late for that.
int select_on_client_hello(SSL* ssl, int* alert, void* arg) {
  const CertificateSet& set = **static_cast<const SetPtr*>(arg);
  std::string_view name = client_hello_sni(ssl);
  // ACME TLS-ALPN-01 validation: only such ClientHellos reach the challenge table's lock.
  if (set.challenges && offers_acme_tls(ssl)) {
    std::shared_ptr<SSL_CTX> challenge = set.challenges->find(name);
    if (!challenge) {
      *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
      return SSL_CLIENT_HELLO_ERROR;
    }
    // The SSL takes its own reference to the context.
    if (SSL_set_SSL_CTX(ssl, challenge.get()) != challenge.get()) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(challenge.get()));
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  int i = name.empty() ? -1 : set.names.find(name);
  if (i < 0) i = set.default_index;
  if (i < 0 || static_cast<size_t>(i) >= set.contexts.size()) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  SSL_CTX* chosen = set.contexts[static_cast<size_t>(i)].get();
  if (SSL_get_SSL_CTX(ssl) != chosen && SSL_set_SSL_CTX(ssl, chosen) != chosen) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  // SSL_set_SSL_CTX switches certificate and callbacks but not the version range.
  SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(chosen));
  return SSL_CLIENT_HELLO_SUCCESS;
}

// The certificate is chosen already; this only acknowledges the client's server_name.
int ack_server_name(SSL*, int*, void*) { return SSL_TLSEXT_ERR_OK; }

}  // namespace

bool install_sni_selector(SSL_CTX* front, std::shared_ptr<const CertificateSet> set) {
  const int idx = set_index();
  if (idx < 0) return false;
  auto* holder = new SetPtr(std::move(set));
  auto* previous = static_cast<SetPtr*>(SSL_CTX_get_ex_data(front, idx));
  if (SSL_CTX_set_ex_data(front, idx, holder) != 1) {
    delete holder;
    return false;
  }
  delete previous;  // installed twice on one context: the first set is released
  SSL_CTX_set_client_hello_cb(front, select_on_client_hello, holder);
  SSL_CTX_set_tlsext_servername_callback(front, ack_server_name);
  return true;
}

bool host_matches_handshake(SSL_CTX* front, SSL* ssl, std::string_view host) {
  const int idx = set_index();
  const auto* holder = idx < 0 ? nullptr : static_cast<const SetPtr*>(SSL_CTX_get_ex_data(front, idx));
  if (holder == nullptr || !*holder) return true;
  const CertificateSet& set = **holder;
  // "name:port" or "[v6]:port": the name alone (an IP literal matches no name: default).
  if (!host.empty() && host[0] == '[') host = {};
  else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  int i = host.empty() ? -1 : set.names.find(host);
  if (i < 0) i = set.default_index;
  if (i < 0 || static_cast<size_t>(i) >= set.contexts.size()) return false;
  return set.contexts[static_cast<size_t>(i)].get() == SSL_get_SSL_CTX(ssl);
}

}  // namespace ferry::proxy::tls
