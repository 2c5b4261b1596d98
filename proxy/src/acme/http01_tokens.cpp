#include "acme/http01_tokens.h"

#include "ferry/util/base64.h"

namespace ferry::proxy::acme {

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

}  // namespace ferry::proxy::acme
