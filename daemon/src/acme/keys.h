// ACME account and certificate keys: ECDSA P-256 only (JWS "ES256", RFC 7518 §3.4).
// Generation, PKCS#8 PEM export/import, the public JWK (RFC 7517/7518 §6.2) in the canonical
// form RFC 7638 hashes, and the JWK thumbprint.
//
// Ownership: a Key owns its EVP_PKEY (freed by the deleter). Functions taking `const EVP_PKEY&`
// only read it and keep no reference. A key that nobody modifies may be used for signing from
// several threads at once (openssl-threads(7)); a Key itself is not synchronized.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "acme/result.h"

namespace ferry::acme {

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* k) const;
};
using Key = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// A fresh P-256 key pair from the OpenSSL default DRBG. Fails only if OpenSSL does.
Result<Key> generate_p256_key();

// The private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted: callers store it
// with file mode 0600 / in the store. Fails if OpenSSL cannot encode the key.
Result<std::string> private_key_to_pem(const EVP_PKEY& key);

// Reads a PEM private key (PKCS#8, or the traditional "EC PRIVATE KEY" form) and accepts it only
// if it is an EC key on P-256. Fails on bad PEM, other key types or curves, or trailing junk
// before the PEM block is found.
Result<Key> private_key_from_pem(std::string_view pem);

// The public JWK of a P-256 key in the canonical form of RFC 7638 §3.2: required members only,
// lexicographic order, no whitespace, x and y as 32-byte big-endian left-padded base64url:
//   {"crv":"P-256","kty":"EC","x":"...","y":"..."}
// This exact string is also embedded as the "jwk" member of a newAccount JWS header.
// Fails if `key` is not an EC P-256 key.
Result<std::string> public_jwk_json(const EVP_PKEY& key);

// RFC 7638 thumbprint: base64url(SHA-256(public_jwk_json(key))).
Result<std::string> jwk_thumbprint(const EVP_PKEY& key);

// SHA-256 of `bytes` (32 raw bytes), and its base64url form. Any thread.
std::string sha256(std::string_view bytes);
std::string sha256_base64url(std::string_view bytes);

// True if `key` is an EC key on P-256 (with a public point).
bool is_p256(const EVP_PKEY& key);

}  // namespace ferry::acme
