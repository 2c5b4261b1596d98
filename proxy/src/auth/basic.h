// HTTP Basic authentication (RFC 7617) for the `basic-auth` rule: the credentials of a
// request's Authorization field and this worker's verdict on them, from its cache of earlier
// verdicts when it has one. A verdict the cache lacks needs a password KDF, which runs on the
// CredentialVerifier (auth/verifier.h), never on the worker's loop.
//
// Thread: the worker's. Allocates nothing once the scratch is warm. Never throws.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/users.h"
#include "http/message.h"

namespace ferry::proxy::auth {

// A keyed digest of (the user's hash text, user, password): what the cache stores instead of
// passwords. The key is a random per-process secret.
using CacheKey = std::array<uint8_t, 16>;

// Verdicts this worker reached on credentials, so a client that sends the same Authorization
// on every request costs one HMAC, not one scrypt. 1024 entries in 4-way sets; an entry lives
// 10 minutes; a full set drops its oldest entry. A changed `auth-user` hash changes the key,
// so a reload never reuses a verdict on an old hash. Wrong passwords are kept too: repeating
// one costs nothing, and every new guess still needs the verifier (bounded queue).
class CredentialCache {
 public:
  enum class Verdict : uint8_t { unknown, ok, wrong };
  static constexpr uint64_t kLifetimeMs = 10 * 60 * 1000;

  Verdict find(const CacheKey& k, uint64_t now_ms) const;
  void put(const CacheKey& k, bool ok, uint64_t now_ms);

 private:
  static constexpr size_t kWays = 4, kSets = 256;
  struct Entry {
    CacheKey key{};
    uint64_t expires_ms = 0;  // 0: empty
    bool ok = false;
  };
  std::array<Entry, kWays * kSets> entries_{};
};

// The request's Basic credentials as the rule sees them (per-request scratch).
struct BasicScratch {
  std::string decoded;         // "user:password", base64-decoded (capacity reused)
  std::string_view user, password;  // into `decoded`
  const User* account = nullptr;    // the configured user named `user`, or null
  const UserList* users = nullptr;  // the list checked (for a verification of an unknown user)
  CacheKey key{};
};

enum class BasicCheck {
  ok,       // a user's password, verified earlier by this worker
  wrong,    // a known verdict: unknown user or wrong password
  missing,  // no Authorization field of the Basic scheme, or not a valid one
  verify,   // credentials to verify (s.key, s.account): the verifier decides, then put() it
};

// Parses `value` (an Authorization field value) as `Basic <token68>`: the scheme name in any
// case, one or more spaces, strict base64 (padding optional), decoded to user ":" password.
// False when it is not that, the user is empty or either part holds a control character.
bool parse_basic(std::string_view value, BasicScratch& s);

// The verdict on `req`'s credentials against `users` (not empty). Uses and fills `s`.
BasicCheck check_basic(const UserList& users, const http::RequestHead& req, const CredentialCache& cache,
                       uint64_t now_ms, BasicScratch& s);

// The `WWW-Authenticate` value of a 401 for `realm`.
std::string challenge(std::string_view realm);

}  // namespace ferry::proxy::auth
