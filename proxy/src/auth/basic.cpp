#include "auth/basic.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

#include "ferry/util/base64.h"
#include "http/chars.h"
#include "http/fields.h"

namespace ferry::proxy::auth {

namespace {

// The per-process HMAC key of cache keys: random, so cache contents (digests) cannot be
// tested against guessed passwords offline. Set once (thread-safe static initialisation).
const std::array<uint8_t, 32>& secret() {
  static const std::array<uint8_t, 32> key = [] {
    std::array<uint8_t, 32> k{};
    // Without randomness the key is fixed: verdicts stay correct (a cache key is a digest of
    // everything a verdict depends on), only their digests become testable offline.
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) k.fill(0x5c);
    return k;
  }();
  return key;
}

// HMAC-SHA256(secret, len(hash) hash len(user) user password), truncated to 128 bits. The
// input is assembled on the stack: parse_basic bounds the credentials to 3072 bytes, and hash
// texts are ~100. Anything longer (or an HMAC failure) gives the all-ones key, which the cache
// never stores, so such credentials are verified every time.
CacheKey cache_key(std::string_view hash_text, std::string_view user, std::string_view password) {
  CacheKey out;
  out.fill(0xff);
  unsigned char buf[4096];
  const uint64_t hl = hash_text.size(), ul = user.size();
  const size_t total = 16 + hash_text.size() + user.size() + password.size();
  if (total > sizeof buf) return out;
  unsigned char* p = buf;
  // An empty view may have a null data(): memcpy must not be handed one, even for 0 bytes.
  auto put = [&p](const void* src, size_t n) {
    if (n != 0) std::memcpy(p, src, n);
    p += n;
  };
  put(&hl, 8);
  put(&ul, 8);
  put(hash_text.data(), hash_text.size());  // empty for an unknown user
  put(user.data(), user.size());
  put(password.data(), password.size());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (HMAC(EVP_sha256(), secret().data(), static_cast<int>(secret().size()), buf, total, md, &md_len) &&
      md_len >= out.size())
    std::memcpy(out.data(), md, out.size());
  return out;
}

bool is_all_ones(const CacheKey& k) {
  for (uint8_t b : k)
    if (b != 0xff) return false;
  return true;
}

}  // namespace

CredentialCache::Verdict CredentialCache::find(const CacheKey& k, uint64_t now_ms) const {
  if (is_all_ones(k)) return Verdict::unknown;
  const size_t set = k[0] % kSets;
  for (size_t w = 0; w < kWays; ++w) {
    const Entry& e = entries_[set * kWays + w];
    if (e.expires_ms > now_ms && e.key == k) return e.ok ? Verdict::ok : Verdict::wrong;
  }
  return Verdict::unknown;
}

void CredentialCache::put(const CacheKey& k, bool ok, uint64_t now_ms) {
  if (is_all_ones(k)) return;
  const size_t set = k[0] % kSets;
  Entry* victim = &entries_[set * kWays];
  for (size_t w = 0; w < kWays; ++w) {
    Entry& e = entries_[set * kWays + w];
    if (e.key == k || e.expires_ms <= now_ms) {
      victim = &e;
      break;
    }
    if (e.expires_ms < victim->expires_ms) victim = &e;
  }
  *victim = Entry{k, now_ms + kLifetimeMs, ok};
}

bool parse_basic(std::string_view value, BasicScratch& s) {
  value = http::chars::trim_ows(value);
  constexpr std::string_view kScheme = "basic";
  if (value.size() <= kScheme.size() || !http::iequals(value.substr(0, kScheme.size()), kScheme) ||
      value[kScheme.size()] != ' ')
    return false;
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (value.empty() || value.size() > 4096) return false;
  if (!util::base64_decode_into(value, s.decoded, util::Base64Alphabet::standard, util::Base64Padding::optional))
    return false;
  const std::string_view d = s.decoded;
  const size_t colon = d.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  for (char c : d)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;  // RFC 7617 §2: no CTLs
  s.user = d.substr(0, colon);
  s.password = d.substr(colon + 1);
  return true;
}

BasicCheck check_basic(const UserList& users, const http::RequestHead& req, const CredentialCache& cache,
                       uint64_t now_ms, BasicScratch& s) {
  s.account = nullptr;
  s.users = &users;
  const http::Header* field = nullptr;
  for (const auto& h : req.headers)
    if (http::iequals(h.name, "authorization")) {
      if (field) return BasicCheck::missing;  // two Authorization fields: ambiguous, refused
      field = &h;
    }
  if (!field || !parse_basic(field->value, s)) return BasicCheck::missing;
  s.account = users.find(s.user);
  // An unknown user is keyed without a hash and verified like a known one (same cost, same
  // answer), so response times do not tell which users exist.
  s.key = cache_key(s.account ? std::string_view(s.account->hash_text) : std::string_view(), s.user, s.password);
  switch (cache.find(s.key, now_ms)) {
    case CredentialCache::Verdict::ok:
      return s.account ? BasicCheck::ok : BasicCheck::wrong;
    case CredentialCache::Verdict::wrong:
      return BasicCheck::wrong;
    case CredentialCache::Verdict::unknown:
      break;
  }
  return BasicCheck::verify;
}

std::string challenge(std::string_view realm) {
  std::string v = "Basic realm=\"";
  v += realm;
  v += "\", charset=\"UTF-8\"";
  return v;
}

}  // namespace ferry::proxy::auth
