#include "http1/acme_http01.h"

#include "ferry/util/base64.h"

namespace ferry::proxy::http1 {

void AcmeHttpTokens::replace(Map tokens) {
  const size_t n = tokens.size();
  auto fresh = std::make_shared<const Map>(std::move(tokens));
  std::lock_guard lock(mu_);
  map_ = std::move(fresh);
  count_.store(n, std::memory_order_relaxed);
}

bool AcmeHttpTokens::find(std::string_view token, std::string& out) const {
  std::shared_ptr<const Map> map;
  {
    std::lock_guard lock(mu_);
    map = map_;
  }
  auto it = map->find(token);
  if (it == map->end()) return false;
  out = it->second;
  return true;
}

bool is_valid_acme_token(std::string_view token) {
  return token.size() <= 256 && util::is_base64url_alphabet(token);
}

std::string_view acme_challenge_token(std::string_view target) {
  if (!target.starts_with(kAcmeChallengePrefix)) return {};
  std::string_view token = target.substr(kAcmeChallengePrefix.size());
  return is_valid_acme_token(token) ? token : std::string_view();
}

std::string acme_http01_response(std::string_view key_authorization, bool close) {
  std::string r = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: no-store\r\nContent-Length: ";
  r += std::to_string(key_authorization.size());
  r += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
  r += key_authorization;
  return r;
}

}  // namespace ferry::proxy::http1
