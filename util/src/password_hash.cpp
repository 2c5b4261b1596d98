#include "ferry/util/password_hash.h"

#include <charconv>
#include <vector>

#include "ferry/util/base64.h"

namespace ferry::util {

namespace {

constexpr const char* kExpected =
    " (expected '$scrypt$ln=15,r=8,p=1$SALT$HASH' or '$pbkdf2-sha256$i=600000$SALT$HASH', as "
    "printed by 'ferryd --hash-password')";

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// "name=value" with value a decimal integer in [lo, hi].
bool param(std::string_view field, std::string_view name, int64_t lo, int64_t hi, int64_t& out,
           std::string& why) {
  if (field.size() <= name.size() || field.substr(0, name.size()) != name ||
      field[name.size()] != '=') {
    why = "expected '" + std::string(name) + "=N' in password hash, got '" + std::string(field) + "'";
    return false;
  }
  std::string_view v = field.substr(name.size() + 1);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || ptr != v.data() + v.size() || n < lo || n > hi) {
    why = "password hash parameter " + std::string(name) + "=" + std::string(v) + " is out of range (" +
          std::to_string(lo) + ".." + std::to_string(hi) + ")";
    return false;
  }
  out = n;
  return true;
}

// Standard base64, '=' padding optional (but exact when present), canonical.
std::optional<std::string> decode_b64(std::string_view text) {
  return util::base64_decode(text, util::Base64Alphabet::standard, util::Base64Padding::optional);
}

std::string encode_b64(std::string_view bytes) {
  return util::base64_encode(bytes, util::Base64Alphabet::standard, /*pad=*/false);
}

bool salt_and_hash(std::string_view salt_b64, std::string_view hash_b64, PasswordHash& h,
                   std::string& why) {
  auto salt = decode_b64(salt_b64);
  auto hash = decode_b64(hash_b64);
  if (!salt || !hash) {
    why = std::string("password hash ") + (salt ? "value" : "salt") + " is not valid base64";
    return false;
  }
  if (salt->size() < 8 || salt->size() > 64) {
    why = "password hash salt must be 8..64 bytes, got " + std::to_string(salt->size());
    return false;
  }
  if (hash->size() < 16 || hash->size() > 64) {
    why = "password hash value must be 16..64 bytes, got " + std::to_string(hash->size());
    return false;
  }
  h.salt = std::move(*salt);
  h.hash = std::move(*hash);
  return true;
}

}  // namespace

std::optional<PasswordHash> parse_password_hash(std::string_view text, std::string& why) {
  std::vector<std::string_view> f = split(text, '$');
  // "$kind$params$salt$hash" splits into "", kind, params, salt, hash.
  if (f.size() != 5 || !f[0].empty()) {
    why = "unknown password hash format" + std::string(kExpected);
    return std::nullopt;
  }
  PasswordHash h;
  if (f[1] == "scrypt") {
    std::vector<std::string_view> ps = split(f[2], ',');
    if (ps.size() != 3) {
      why = "scrypt password hash needs 'ln=N,r=N,p=N'" + std::string(kExpected);
      return std::nullopt;
    }
    int64_t ln = 0, r = 0, p = 0;
    if (!param(ps[0], "ln", 10, 20, ln, why) || !param(ps[1], "r", 1, 32, r, why) ||
        !param(ps[2], "p", 1, 16, p, why))
      return std::nullopt;
    if ((uint64_t(128) * uint64_t(r) << ln) > (uint64_t(1) << 30)) {
      why = "scrypt password hash needs more than 1 GiB of memory (128*r*2^ln)";
      return std::nullopt;
    }
    // Work bound: every login attempt computes it (16x the default ln=15,r=8,p=1).
    if ((uint64_t(r) * uint64_t(p) << ln) > (uint64_t(1) << 22)) {
      why = "scrypt password hash costs more than 16 times the default (p*r*2^ln > 2^22)";
      return std::nullopt;
    }
    h.kind = PasswordHash::Kind::scrypt;
    h.log2_n = int(ln);
    h.r = uint32_t(r);
    h.p = uint32_t(p);
  } else if (f[1] == "pbkdf2-sha256") {
    int64_t i = 0;
    if (!param(f[2], "i", 1000, 10'000'000, i, why)) return std::nullopt;
    h.kind = PasswordHash::Kind::pbkdf2_sha256;
    h.iterations = uint32_t(i);
  } else {
    why = "unknown password hash scheme '" + std::string(f[1]) + "'" + kExpected;
    return std::nullopt;
  }
  if (!salt_and_hash(f[3], f[4], h, why)) return std::nullopt;
  return h;
}

std::string format_password_hash(const PasswordHash& h) {
  std::string params = h.kind == PasswordHash::Kind::scrypt
                           ? "$scrypt$ln=" + std::to_string(h.log2_n) + ",r=" + std::to_string(h.r) +
                                 ",p=" + std::to_string(h.p)
                           : "$pbkdf2-sha256$i=" + std::to_string(h.iterations);
  return params + "$" + encode_b64(h.salt) + "$" + encode_b64(h.hash);
}

}  // namespace ferry::util
