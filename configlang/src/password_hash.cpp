#include "ferry/configlang/password_hash.h"

#include <charconv>
#include <vector>

namespace ferry::config {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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

bool salt_and_hash(std::string_view salt_b64, std::string_view hash_b64, PasswordHash& h,
                   std::string& why) {
  auto salt = base64_decode(salt_b64);
  auto hash = base64_decode(hash_b64);
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

std::string base64_encode_nopad(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = bytes.size() - i) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (rest == 2) v |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

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
  return params + "$" + base64_encode_nopad(h.salt) + "$" + base64_encode_nopad(h.hash);
}

}  // namespace ferry::config
