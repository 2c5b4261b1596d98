// ACME HTTP-01 challenge responses (RFC 8555 §8.3): the key authorizations the ACME thread
// publishes, served at /.well-known/acme-challenge/<token> by the request pipeline before routing
// (request/pipeline.cpp, its `local` phase).
//
// Ownership: the Engine owns one AcmeHttpTokens (in EngineShared) for its lifetime, so the table
// survives reloads and is shared by every worker and plan.
//
// Threads: replace() is called on the control plane (Engine::set_acme_http_tokens). find() runs
// on worker threads, but ONLY for GET requests whose target starts with kAcmeChallengePrefix
// (acme_challenge_token() is checked first, without the lock); normal requests never reach it.
// The choice is a plain mutex around a shared_ptr copy, as for the TLS-ALPN-01 table
// (tls/acme_challenges.h): it is taken only on that rare path, so the request path stays
// lock-free, and it is simpler than an atomic shared_ptr. Published maps are immutable.
// Nothing here throws on the worker path except std::bad_alloc from the copy of the answer.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace ferry::proxy::acme {

inline constexpr std::string_view kAcmeChallengePrefix = "/.well-known/acme-challenge/";

class AcmeHttpTokens {
 public:
  // token -> key authorization (token + "." + account key thumbprint).
  using Map = std::map<std::string, std::string, std::less<>>;

  // Replaces the whole table (empty = none). Control plane.
  void replace(Map tokens);
  // The key authorization for `token` into `out`; false (out untouched) when unknown. Workers.
  bool find(std::string_view token, std::string& out) const;
  // Lock-free hint for the request path: false when the table is certainly empty.
  bool maybe_any() const { return count_.load(std::memory_order_relaxed) != 0; }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Map> map_ = std::make_shared<const Map>();
  std::atomic<size_t> count_{0};
};

// True when `token` is a non-empty base64url string (RFC 8555 §8.3: the token alphabet), at
// most 256 characters. Any thread.
bool is_valid_acme_token(std::string_view token);

// The token of a request target "/.well-known/acme-challenge/<token>" (no query), or empty when
// the target is anything else (including an invalid token). Any thread; no allocation.
std::string_view acme_challenge_token(std::string_view target);

}  // namespace ferry::proxy::acme
