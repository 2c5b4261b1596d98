#include <catch2/catch.hpp>

#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "acme/keys.h"
#include "ferry/util/base64.h"

using namespace ferry::acme;
using ferry::util::base64url_decode;
using ferry::util::base64url_encode;

namespace {
// A fixed P-256 key made with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
// The expected JWK and thumbprint below were derived outside this code: the public point from
// `openssl pkey -pubout -outform DER` (last 65 bytes = 04||X||Y) and Python's base64/hashlib.
constexpr const char* kFixedKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRzcMh21eJp2wOywM\n"
    "pzWp9FS+MufxcEQUwOZAFYu73x6hRANCAAQHccsxk88NKaaa2oqqHttX8XGzHPO8\n"
    "6ZtL9Z2c+3hKZqFJMztGw5I8fndykpX9U08drb9/4tNm6xPJqoSVZlpU\n"
    "-----END PRIVATE KEY-----\n";
constexpr const char* kFixedKeyJwk =
    R"({"crv":"P-256","kty":"EC","x":"B3HLMZPPDSmmmtqKqh7bV_FxsxzzvOmbS_WdnPt4SmY",)"
    R"("y":"oUkzO0bDkjx-d3KSlf1TTx2tv3_i02brE8mqhJVmWlQ"})";
constexpr const char* kFixedKeyThumbprint = "0eTIwNgVr7sCCVPfB9yrSwvjRf5qCLs6-Bzlp3jVC3I";

std::string to_traditional_pem(const EVP_PKEY& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey_traditional(bio, &key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, size_t(n));
  BIO_free(bio);
  return out;
}
}  // namespace

TEST_CASE("acme keys: SHA-256 helper matches FIPS 180-2 and the RFC 7638 §3.1 example", "[acme][keys]") {
  CHECK(base64url_encode(sha256("abc")) == base64url_encode(std::string(
                                               "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23"
                                               "\xb0\x03\x61\xa3\x96\x17\x7a\x9c\xb4\x10\xff\x61\xf2\x00\x15\xad",
                                               32)));
  // RFC 7638 §3.1: the canonical JSON of the RFC 7517 RSA example key and its thumbprint.
  const std::string rsa_jwk =
      R"({"e":"AQAB","kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"})";
  CHECK(sha256_base64url(rsa_jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_CASE("acme keys: canonical JWK and thumbprint of a fixed P-256 key", "[acme][keys]") {
  auto key = private_key_from_pem(kFixedKeyPem);
  REQUIRE(key);
  auto jwk = public_jwk_json(**key);
  REQUIRE(jwk);
  CHECK(*jwk == kFixedKeyJwk);
  auto thumb = jwk_thumbprint(**key);
  REQUIRE(thumb);
  CHECK(*thumb == kFixedKeyThumbprint);
  CHECK(thumb->size() == 43);
}

TEST_CASE("acme keys: generate, PEM round trip, traditional PEM accepted", "[acme][keys]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  CHECK(is_p256(**key));
  auto pem = private_key_to_pem(**key);
  REQUIRE(pem);
  CHECK(pem->rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);  // PKCS#8
  auto back = private_key_from_pem(*pem);
  REQUIRE(back);
  CHECK(EVP_PKEY_eq(key->get(), back->get()) == 1);
  CHECK(*public_jwk_json(**key) == *public_jwk_json(**back));

  const std::string traditional = to_traditional_pem(**key);
  CHECK(traditional.rfind("-----BEGIN EC PRIVATE KEY-----", 0) == 0);
  auto back2 = private_key_from_pem(traditional);
  REQUIRE(back2);
  CHECK(EVP_PKEY_eq(key->get(), back2->get()) == 1);

  auto other = generate_p256_key();
  REQUIRE(other);
  CHECK(*jwk_thumbprint(**key) != *jwk_thumbprint(**other));
}

TEST_CASE("acme keys: rejects garbage, other curves and other key types", "[acme][keys]") {
  CHECK_FALSE(private_key_from_pem(""));
  CHECK_FALSE(private_key_from_pem("not a key"));
  CHECK_FALSE(private_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));

  Key p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  REQUIRE(p384);
  CHECK_FALSE(is_p256(*p384));
  CHECK_FALSE(public_jwk_json(*p384));
  auto p384_pem = private_key_to_pem(*p384);
  REQUIRE(p384_pem);
  auto r = private_key_from_pem(*p384_pem);
  CHECK_FALSE(r);
  CHECK(r.error.find("P-256") != std::string::npos);

  Key ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  REQUIRE(ed);
  CHECK_FALSE(is_p256(*ed));
  CHECK_FALSE(jwk_thumbprint(*ed));
  CHECK_FALSE(private_key_from_pem(*private_key_to_pem(*ed)));
}

TEST_CASE("acme keys: JWK coordinates are left-padded to 32 bytes", "[acme][keys]") {
  // About 1 in 128 keys has a coordinate with a leading zero byte; look for one.
  bool found = false;
  for (int i = 0; i < 5000 && !found; ++i) {
    auto key = generate_p256_key();
    REQUIRE(key);
    auto jwk = public_jwk_json(**key);
    REQUIRE(jwk);
    REQUIRE(jwk->size() == std::string(kFixedKeyJwk).size());  // fixed length: 43 chars per coordinate
    for (const char* member : {R"("x":")", R"("y":")"}) {
      const size_t at = jwk->find(member) + 5;
      auto coord = base64url_decode(jwk->substr(at, 43));
      REQUIRE(coord);
      REQUIRE(coord->size() == 32);
      if ((*coord)[0] == '\0') found = true;
    }
  }
  CHECK(found);
}
