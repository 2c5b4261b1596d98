#include "tls/sni_select.h"

namespace ferry::proxy::tls {
namespace {

using SetPtr = std::shared_ptr<const CertificateSet>;

void free_set(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<SetPtr*>(ptr); }

int set_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_set);
  return idx;
}

int select_by_name(SSL* ssl, int* alert, void* arg) {
  const CertificateSet& set = **static_cast<const SetPtr*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  int i = name ? set.names.find(name) : -1;
  if (i < 0) i = set.default_index;
  if (i < 0 || static_cast<size_t>(i) >= set.contexts.size()) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  SSL_CTX* chosen = set.contexts[static_cast<size_t>(i)].get();
  if (SSL_get_SSL_CTX(ssl) != chosen && SSL_set_SSL_CTX(ssl, chosen) != chosen) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

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
  SSL_CTX_set_tlsext_servername_callback(front, select_by_name);
  SSL_CTX_set_tlsext_servername_arg(front, holder);
  return true;
}

}  // namespace ferry::proxy::tls
