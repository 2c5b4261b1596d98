#include "ferry/util/password.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "ferry/util/password_hash.h"

namespace ferry::util {

namespace {

constexpr int kLog2N = 15;
constexpr uint32_t kR = 8, kP = 1;
constexpr size_t kSaltLen = 16, kKeyLen = 32;
constexpr uint64_t kMaxMem = uint64_t(1) << 31;  // above the parser's 1 GiB cap

// Runs the KDF `name` with `params` into `out_len` bytes.
std::optional<std::string> derive(const char* name, OSSL_PARAM* params, size_t out_len) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, name, nullptr);
  if (!kdf) return std::nullopt;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!ctx) return std::nullopt;
  std::string out(out_len, '\0');
  int ok = EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> derive_scrypt(const std::string& password, const std::string& salt,
                                         int log2_n, uint32_t r, uint32_t p, size_t out_len) {
  if (log2_n < 1 || log2_n > 30) return std::nullopt;
  uint64_t n = uint64_t(1) << log2_n;
  uint64_t maxmem = kMaxMem;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(password.data()),
                                        password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  return derive(OSSL_KDF_NAME_SCRYPT, params, out_len);
}

std::optional<std::string> derive_pbkdf2_sha256(const std::string& password,
                                                const std::string& salt, uint32_t iterations,
                                                size_t out_len) {
  uint64_t iter = iterations;
  int no_checks = 1;  // 1 = no SP 800-132 lower-bound checks (the RFC test vectors use 1 iteration)
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(password.data()),
                                        password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &iter),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &no_checks),
      OSSL_PARAM_construct_end()};
  return derive(OSSL_KDF_NAME_PBKDF2, params, out_len);
}

std::optional<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return std::nullopt;
  return out;
}

std::optional<std::string> hash_password(const std::string& password, std::string& error) {
  auto salt = random_bytes(kSaltLen);
  if (!salt) {
    error = "RAND_bytes failed";
    return std::nullopt;
  }
  auto key = derive_scrypt(password, *salt, kLog2N, kR, kP, kKeyLen);
  if (!key) {
    error = "scrypt failed (out of memory?)";
    return std::nullopt;
  }
  PasswordHash h;
  h.kind = PasswordHash::Kind::scrypt;
  h.log2_n = kLog2N;
  h.r = kR;
  h.p = kP;
  h.salt = std::move(*salt);
  h.hash = std::move(*key);
  return format_password_hash(h);
}

bool verify_password(const std::string& password, const PasswordHash& h) {
  std::optional<std::string> key =
      h.kind == PasswordHash::Kind::scrypt
          ? derive_scrypt(password, h.salt, h.log2_n, h.r, h.p, h.hash.size())
          : derive_pbkdf2_sha256(password, h.salt, h.iterations, h.hash.size());
  if (!key || key->size() != h.hash.size() || h.hash.empty()) return false;
  return CRYPTO_memcmp(key->data(), h.hash.data(), key->size()) == 0;
}

bool verify_password(const std::string& password, const std::string& hash_text) {
  std::string why;
  auto h = parse_password_hash(hash_text, why);
  return h && verify_password(password, *h);
}

}  // namespace ferry::util
