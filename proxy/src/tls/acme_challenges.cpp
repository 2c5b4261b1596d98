#include "tls/acme_challenges.h"

#include <algorithm>
#include <cctype>

namespace ferry::proxy::tls {

void AcmeChallenges::replace(Map challenges) {
  auto fresh = std::make_shared<const Map>(std::move(challenges));
  std::lock_guard lock(mu_);
  map_ = std::move(fresh);
}

std::shared_ptr<SSL_CTX> AcmeChallenges::find(std::string_view server_name) const {
  char lower[256];
  if (server_name.empty() || server_name.size() >= sizeof lower) return nullptr;
  for (size_t i = 0; i < server_name.size(); ++i)
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(server_name[i])));
  std::string_view key(lower, server_name.size());
  if (key.back() == '.') key.remove_suffix(1);
  std::shared_ptr<const Map> map;
  {
    std::lock_guard lock(mu_);
    map = map_;
  }
  auto it = map->find(key);
  return it == map->end() ? nullptr : it->second;
}

bool offers_acme_tls(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len) != 1 || len < 2)
    return false;
  size_t list = (size_t{p[0]} << 8) | p[1];
  if (list + 2 != len) return false;
  for (size_t i = 2; i < len;) {
    size_t n = p[i];
    if (n == 0 || i + 1 + n > len) return false;
    if (std::string_view(reinterpret_cast<const char*>(p + i + 1), n) == kAcmeTlsAlpn) return true;
    i += 1 + n;
  }
  return false;
}

}  // namespace ferry::proxy::tls
