// A certificate, its chain and its private key, loaded from one PEM file and checked before
// the data plane ever sees it. Loading reads files, so it runs on the control thread only
// (never on a worker loop); the resulting CertificateMaterial is then only read (by
// make_server_ctx), so a const one may be shared by any threads.
//
// Errors are returned, never thrown: every message starts with the file path (or the source
// name given for in-memory PEM) and says exactly what is wrong, for the admin and the log.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy::tls {

// Owning handles for OpenSSL objects: each frees (drops one reference) with OpenSSL's own
// free function.
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
struct PKeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, PKeyFree>;

using TimePoint = std::chrono::system_clock::time_point;

struct CertificateMaterial {
  X509Ptr leaf;                    // never null in a loaded material
  X509StackPtr chain;              // intermediates, leaf's issuer first; never null, may be empty
  PKeyPtr key;                     // matches `leaf` (checked)
  std::vector<std::string> names;  // lower-case subjectAltName DNS names; the CN only if no SAN
  TimePoint not_before, not_after;
  std::string issuer;  // the leaf's issuer, RFC 2253 ("CN=R3,O=Let's Encrypt,C=US")
  std::string source;  // the path (or source name) it was loaded from
};

struct LoadResult {
  std::optional<CertificateMaterial> material;  // set exactly when `errors` is empty
  std::vector<std::string> errors;
  std::vector<std::string> warnings;  // the material is usable (e.g. "expires in 3 days")
  bool ok() const { return material.has_value(); }
};

// A leaf that expires within this window loads with a warning.
inline constexpr std::chrono::hours kExpiryWarning{14 * 24};

// Reads `path` (PEM: the leaf first, then its chain in order, plus one private key anywhere in
// the file). `now` is a parameter for tests. Control thread only (blocking file read).
LoadResult load_certificate_file(const std::string& path,
                                 TimePoint now = std::chrono::system_clock::now());

// Same checks on PEM text already in memory; `source_name` prefixes every message.
LoadResult load_certificate_pem(std::string_view pem, std::string_view source_name,
                                TimePoint now = std::chrono::system_clock::now());

// "2026-11-27 23:10:00 UTC": the date format used in the messages above.
std::string format_utc(TimePoint t);

}  // namespace ferry::proxy::tls
