#include "acme/keys.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "acme/ossl.h"
#include "ferry/util/base64.h"
#include "ferry/util/json.h"

namespace ferry::acme {

void EvpPkeyDeleter::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

bool is_p256(const EVP_PKEY& key) {
  if (!EVP_PKEY_is_a(&key, "EC")) return false;
  char group[64] = {};
  size_t len = 0;
  if (!EVP_PKEY_get_utf8_string_param(&key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len)) {
    ERR_clear_error();
    return false;
  }
  const std::string_view name(group, len);
  return name == "prime256v1" || name == "P-256" || name == "secp256r1";
}

Result<Key> generate_p256_key() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Result<Key>::fail(ossl::error("P-256 key generation failed"));
  return Result<Key>::ok(std::move(key));
}

Result<std::string> private_key_to_pem(const EVP_PKEY& key) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3.
  if (!bio || !PEM_write_bio_PrivateKey(bio.get(), &key, nullptr, nullptr, 0, nullptr, nullptr))
    return Result<std::string>::fail(ossl::error("private key PEM encoding failed"));
  return Result<std::string>::ok(ossl::bio_contents(bio.get()));
}

Result<Key> private_key_from_pem(std::string_view pem) {
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) return Result<Key>::fail(ossl::error("BIO allocation failed"));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Result<Key>::fail(ossl::error("not a PEM private key"));
  if (!is_p256(*key)) return Result<Key>::fail("private key is not ECDSA P-256");
  return Result<Key>::ok(std::move(key));
}

Result<std::string> public_jwk_json(const EVP_PKEY& key) {
  if (!is_p256(key)) return Result<std::string>::fail("JWK: key is not ECDSA P-256");
  BIGNUM* x_raw = nullptr;
  BIGNUM* y_raw = nullptr;
  const bool got_x = EVP_PKEY_get_bn_param(&key, OSSL_PKEY_PARAM_EC_PUB_X, &x_raw);
  ossl::Bignum x(x_raw);
  const bool got_y = EVP_PKEY_get_bn_param(&key, OSSL_PKEY_PARAM_EC_PUB_Y, &y_raw);
  ossl::Bignum y(y_raw);
  if (!got_x || !got_y) return Result<std::string>::fail(ossl::error("JWK: cannot read the public point"));
  unsigned char xb[32], yb[32];
  // Left-padded to the field size (RFC 7518 §6.2.1.2/3): a coordinate may have leading zeros.
  if (BN_bn2binpad(x.get(), xb, 32) != 32 || BN_bn2binpad(y.get(), yb, 32) != 32)
    return Result<std::string>::fail("JWK: coordinate does not fit 32 bytes");
  util::JsonWriter w;
  w.begin_object().field("crv", "P-256").field("kty", "EC");
  w.field("x", util::base64url_encode(std::string_view(reinterpret_cast<const char*>(xb), 32)));
  w.field("y", util::base64url_encode(std::string_view(reinterpret_cast<const char*>(yb), 32))).end_object();
  return Result<std::string>::ok(w.take());
}

Result<std::string> jwk_thumbprint(const EVP_PKEY& key) {
  auto jwk = public_jwk_json(key);
  if (!jwk) return Result<std::string>::fail(jwk.error);
  return Result<std::string>::ok(sha256_base64url(*jwk));
}

std::string sha256(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // EVP_Digest with SHA-256 cannot fail short of memory exhaustion; then the result is empty.
  if (!EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr)) {
    ERR_clear_error();
    return {};
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string sha256_base64url(std::string_view bytes) { return util::base64url_encode(sha256(bytes)); }

}  // namespace ferry::acme
