// The text format of an `admin-user NAME HASH` password hash, parsed without any crypto (the
// crypto is web/'s password.h). Two formats, PHC-like, base64 (standard alphabet, written without
// '=' padding, read with or without it; ferry/util/base64.h):
//
//   $scrypt$ln=15,r=8,p=1$<salt>$<hash>          N = 2^ln
//   $pbkdf2-sha256$i=600000$<salt>$<hash>         PBKDF2-HMAC-SHA256, i iterations
//
// Bounds (a hash outside them is refused at config check): scrypt ln 10..20, r 1..32, p 1..16,
// 128*r*N <= 1 GiB; pbkdf2 i 1000..100000000; salt 8..64 bytes; hash 16..64 bytes.
//
// Pure functions, any thread, no exceptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::util {

struct PasswordHash {
  enum class Kind { scrypt, pbkdf2_sha256 };
  Kind kind = Kind::scrypt;
  int log2_n = 0;         // scrypt: N = 1 << log2_n
  uint32_t r = 0, p = 0;  // scrypt
  uint32_t iterations = 0;  // pbkdf2
  std::string salt;       // decoded bytes
  std::string hash;       // decoded bytes (its length is the derived key length)
};

// Parses `text`; on failure returns nullopt and sets `why` ("unknown password hash format
// ... (expected $scrypt$... or $pbkdf2-sha256$..., made by 'ferryd --hash-password')").
std::optional<PasswordHash> parse_password_hash(std::string_view text, std::string& why);

// The text form of `h` (base64 without padding); parse_password_hash(format(h)) == h.
std::string format_password_hash(const PasswordHash& h);

}  // namespace ferry::util
