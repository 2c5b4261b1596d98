// Password hashing for `admin-user NAME HASH` and `auth-user NAME HASH` (the text format is
// password_hash.h):
// scrypt (default, ln=15 r=8 p=1, 16-byte random salt, 32-byte key) and PBKDF2-HMAC-SHA256,
// both from OpenSSL (EVP_KDF). Verification compares in constant time (CRYPTO_memcmp).
//
// Pure functions apart from the random salt; any thread; no exceptions. A verification of the
// default scrypt hash takes ~50-100 ms and 32 MiB: call it on an admin thread or the proxy's
// credential verifier (proxy/src/auth/verifier.h), never on a data-plane loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ferry/util/password_hash.h"

namespace ferry::util {

// scrypt(password, salt, N = 2^log2_n, r, p) -> `out_len` bytes; nullopt on an OpenSSL error
// (e.g. parameters needing more memory than the 1 GiB cap).
std::optional<std::string> derive_scrypt(const std::string& password, const std::string& salt,
                                         int log2_n, uint32_t r, uint32_t p, size_t out_len);

// PBKDF2-HMAC-SHA256(password, salt, iterations) -> `out_len` bytes; nullopt on error.
std::optional<std::string> derive_pbkdf2_sha256(const std::string& password,
                                                const std::string& salt, uint32_t iterations,
                                                size_t out_len);

// A new `$scrypt$ln=15,r=8,p=1$SALT$HASH` line for `password` (what `ferryd --hash-password`
// prints); nullopt with `error` set when OpenSSL fails (no randomness, out of memory).
std::optional<std::string> hash_password(const std::string& password, std::string& error);

// True when `password` matches `hash_text` (either format). A malformed hash never matches.
bool verify_password(const std::string& password, const std::string& hash_text);
// The same against a parsed hash (an empty `hash` never matches).
bool verify_password(const std::string& password, const PasswordHash& h);

// `n` bytes from RAND_bytes; nullopt when the generator fails.
std::optional<std::string> random_bytes(size_t n);

}  // namespace ferry::util
