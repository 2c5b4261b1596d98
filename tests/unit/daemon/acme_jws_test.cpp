#include <catch2/catch.hpp>

#include <string>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "acme/json.h"
#include "acme/jws.h"
#include "acme/keys.h"
#include "ferry/util/base64.h"

using namespace ferry::acme;
using ferry::util::base64url_decode;
using ferry::util::base64url_encode;

namespace {

// A public P-256 key from JWK coordinates (test-only helper, built with OpenSSL directly).
Key public_key_from_xy(std::string_view x_b64, std::string_view y_b64) {
  const std::string point = "\x04" + *base64url_decode(x_b64) + *base64url_decode(y_b64);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pkey = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return Key(pkey);
}

// The three members of a flattened JWS, as strings.
struct Parts {
  std::string prot, payload, sig;
};
Parts parts_of(const std::string& jws) {
  auto doc = parse_json(jws);
  REQUIRE(doc);
  REQUIRE(doc->as_object()->size() == 3);
  return {*doc->get_string("protected"), *doc->get_string("payload"), *doc->get_string("signature")};
}
std::string assemble(const Parts& p) {
  return R"({"protected":")" + p.prot + R"(","payload":")" + p.payload + R"(","signature":")" + p.sig + R"("})";
}

}  // namespace

TEST_CASE("acme jws: ES256 verifies the RFC 7515 A.3 example (R||S order)", "[acme][jws]") {
  // RFC 7515 Appendix A.3: JWK, JWS Signing Input and signature of the ES256 example.
  Key pub = public_key_from_xy("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                               "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  REQUIRE(pub);
  const std::string input =
      "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
  const auto sig = base64url_decode(
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q");
  REQUIRE(sig);
  CHECK(es256_verify(*pub, input, *sig));
  // Swapping R and S, or flipping a bit, must fail.
  CHECK_FALSE(es256_verify(*pub, input, sig->substr(32) + sig->substr(0, 32)));
  std::string flipped = *sig;
  flipped[10] ^= 1;
  CHECK_FALSE(es256_verify(*pub, input, flipped));
  CHECK_FALSE(es256_verify(*pub, input + "x", *sig));
  CHECK_FALSE(es256_verify(*pub, input, sig->substr(0, 63)));
  // The JWK we would publish for that key is the RFC's x/y.
  CHECK(*public_jwk_json(*pub) ==
        R"({"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
}

TEST_CASE("acme jws: es256_sign produces 64-byte R||S that verifies", "[acme][jws]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  for (int i = 0; i < 20; ++i) {  // R or S with leading zero bytes must still be 32 bytes each
    auto sig = es256_sign(**key, "input" + std::to_string(i));
    REQUIRE(sig);
    CHECK(sig->size() == 64);
    CHECK(es256_verify(**key, "input" + std::to_string(i), *sig));
  }
}

TEST_CASE("acme jws: newAccount request with jwk, sign and verify round trip", "[acme][jws]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  JwsRequest req;
  req.url = "https://example.com/acme/new-account";
  req.nonce = "6S8IqOGY7eL2lsGoTZYifg";
  req.payload = R"({"termsOfServiceAgreed":true})";
  auto jws = sign_jws(**key, req);
  REQUIRE(jws);
  const Parts p = parts_of(*jws);
  CHECK(*jws == assemble(p));  // member order and no whitespace
  CHECK(p.sig.size() == 86);   // 64 bytes base64url without padding
  CHECK(*base64url_decode(p.payload) == req.payload);
  CHECK(*base64url_decode(p.prot) == R"({"alg":"ES256","jwk":)" + *public_jwk_json(**key) +
                                         R"(,"nonce":"6S8IqOGY7eL2lsGoTZYifg","url":"https://example.com/acme/new-account"})");

  auto verified = verify_es256(*jws, **key);
  REQUIRE(verified);
  CHECK(verified->payload == req.payload);
  CHECK(verified->protected_json == *base64url_decode(p.prot));

  // Verification with the public key alone (from the JWK) works too.
  auto hdr = parse_json(verified->protected_json);
  REQUIRE(hdr);
  const JsonValue* jwk = hdr->get("jwk");
  REQUIRE(jwk);
  Key pub = public_key_from_xy(*jwk->get_string("x"), *jwk->get_string("y"));
  REQUIRE(pub);
  CHECK(verify_es256(*jws, *pub));
}

TEST_CASE("acme jws: kid header and POST-as-GET", "[acme][jws]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  JwsRequest req;
  req.url = "https://example.com/acme/order/TOlocE8rfgo";
  req.nonce = "n\"1";  // escaped in the header
  req.kid = "https://example.com/acme/acct/evOfKhNU60wg";
  auto jws = sign_jws(**key, req);
  REQUIRE(jws);
  const Parts p = parts_of(*jws);
  CHECK(p.payload.empty());
  CHECK(jws->find(R"("payload":"")") != std::string::npos);
  CHECK(*base64url_decode(p.prot) ==
        R"({"alg":"ES256","kid":"https://example.com/acme/acct/evOfKhNU60wg","nonce":"n\"1","url":"https://example.com/acme/order/TOlocE8rfgo"})");
  auto verified = verify_es256(*jws, **key);
  REQUIRE(verified);
  CHECK(verified->payload.empty());
}

TEST_CASE("acme jws: tampering and wrong keys fail verification", "[acme][jws]") {
  auto key = generate_p256_key();
  auto other = generate_p256_key();
  REQUIRE(key);
  REQUIRE(other);
  JwsRequest req{"https://example.com/acme/new-order", "nonce1", "https://example.com/acme/acct/1",
                 R"({"identifiers":[{"type":"dns","value":"example.org"}]})"};
  auto jws = sign_jws(**key, req);
  REQUIRE(jws);
  Parts p = parts_of(*jws);

  Parts tampered = p;
  tampered.payload = base64url_encode(R"({"identifiers":[{"type":"dns","value":"evil.example"}]})");
  CHECK_FALSE(verify_es256(assemble(tampered), **key));

  tampered = p;
  tampered.prot = base64url_encode(R"({"alg":"ES256","kid":"https://example.com/acme/acct/2","nonce":"nonce1","url":"https://example.com/acme/new-order"})");
  CHECK_FALSE(verify_es256(assemble(tampered), **key));

  tampered = p;
  tampered.sig = tampered.sig.substr(0, 85) + (tampered.sig[85] == 'A' ? "E" : "A");
  CHECK_FALSE(verify_es256(assemble(tampered), **key));

  tampered = p;
  tampered.sig = tampered.sig.substr(0, 84);  // 63 bytes
  CHECK_FALSE(verify_es256(assemble(tampered), **key));

  CHECK_FALSE(verify_es256(*jws, **other));
  CHECK_FALSE(verify_es256("{}", **key));
  CHECK_FALSE(verify_es256("not json", **key));

  tampered = p;
  tampered.prot = base64url_encode(R"({"alg":"none"})");
  auto none = verify_es256(assemble(tampered), **key);
  CHECK_FALSE(none);
  CHECK(none.error.find("ES256") != std::string::npos);

  CHECK(verify_es256(*jws, **key));
}

TEST_CASE("acme jws: refuses missing url/nonce and non-P-256 keys", "[acme][jws]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  CHECK_FALSE(sign_jws(**key, JwsRequest{"", "n", "", "{}"}));
  CHECK_FALSE(sign_jws(**key, JwsRequest{"https://x/", "", "", "{}"}));
  Key p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  REQUIRE(p384);
  CHECK_FALSE(sign_jws(*p384, JwsRequest{"https://x/", "n", "https://x/acct", "{}"}));
  CHECK_FALSE(es256_sign(*p384, "x"));
}
