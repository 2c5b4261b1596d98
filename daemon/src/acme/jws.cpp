#include "acme/jws.h"

#include "acme/json.h"
#include "acme/keys.h"
#include "acme/ossl.h"
#include "ferry/util/base64.h"
#include "ferry/util/json.h"

namespace ferry::acme {
namespace {
constexpr int kCoordBytes = 32;  // P-256
}  // namespace

Result<std::string> es256_sign(const EVP_PKEY& key, std::string_view signing_input) {
  using R = Result<std::string>;
  if (!is_p256(key)) return R::fail("ES256 needs a P-256 key");
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  // EVP_DigestSignInit takes a non-const key but does not modify it (it takes a reference).
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key)) != 1)
    return R::fail(ossl::error("ES256: sign init failed"));
  size_t der_len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &der_len, in, signing_input.size()) != 1)
    return R::fail(ossl::error("ES256: sign failed"));
  std::string der(der_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len, in, signing_input.size()) != 1)
    return R::fail(ossl::error("ES256: sign failed"));
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, long(der_len)));
  if (!sig) return R::fail(ossl::error("ES256: cannot decode DER signature"));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kCoordBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kCoordBytes) != kCoordBytes || BN_bn2binpad(s, out + kCoordBytes, kCoordBytes) != kCoordBytes)
    return R::fail("ES256: signature component too large");
  return R::ok(std::move(raw));
}

bool es256_verify(const EVP_PKEY& key, std::string_view signing_input, std::string_view raw_signature) {
  if (raw_signature.size() != 2 * kCoordBytes || !is_p256(key)) return false;
  const auto* raw = reinterpret_cast<const unsigned char*>(raw_signature.data());
  ossl::Bignum r(BN_bin2bn(raw, kCoordBytes, nullptr));
  ossl::Bignum s(BN_bin2bn(raw + kCoordBytes, kCoordBytes, nullptr));
  ossl::EcdsaSig sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) {
    ERR_clear_error();
    return false;
  }
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  const bool ok = ctx &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key)) == 1 &&
                  EVP_DigestVerify(ctx.get(), der, size_t(der_len),
                                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                                   signing_input.size()) == 1;
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

Result<std::string> sign_jws(const EVP_PKEY& key, const JwsRequest& req) {
  using R = Result<std::string>;
  if (req.url.empty()) return R::fail("JWS: empty url");
  if (req.nonce.empty()) return R::fail("JWS: empty nonce");
  util::JsonWriter header;
  header.begin_object().field("alg", "ES256");
  if (req.kid.empty()) {
    auto jwk = public_jwk_json(key);
    if (!jwk) return R::fail(jwk.error);
    header.key("jwk").raw(*jwk);
  } else {
    header.field("kid", req.kid);
  }
  header.field("nonce", req.nonce).field("url", req.url).end_object();

  const std::string protected_b64 = util::base64url_encode(header.str());
  const std::string payload_b64 = util::base64url_encode(req.payload);
  auto sig = es256_sign(key, protected_b64 + "." + payload_b64);
  if (!sig) return R::fail(sig.error);
  util::JsonWriter jws;
  jws.begin_object().field("protected", protected_b64).field("payload", payload_b64);
  jws.field("signature", util::base64url_encode(*sig)).end_object();
  return R::ok(jws.take());
}

Result<VerifiedJws> verify_es256(std::string_view jws_json, const EVP_PKEY& key) {
  using R = Result<VerifiedJws>;
  auto doc = parse_json(jws_json);
  if (!doc) return R::fail("JWS: " + doc.error);
  const std::string* prot = doc->get_string("protected");
  const std::string* payload = doc->get_string("payload");
  const std::string* signature = doc->get_string("signature");
  if (!prot || !payload || !signature) return R::fail("JWS: protected, payload and signature must be strings");
  auto header = util::base64url_decode(*prot);
  auto body = util::base64url_decode(*payload);
  auto sig = util::base64url_decode(*signature);
  if (!header || !body || !sig) return R::fail("JWS: invalid base64url");
  auto header_doc = parse_json(*header);
  if (!header_doc) return R::fail("JWS: protected header: " + header_doc.error);
  const std::string* alg = header_doc->get_string("alg");
  if (!alg || *alg != "ES256") return R::fail("JWS: alg is not ES256");
  if (sig->size() != 2 * kCoordBytes) return R::fail("JWS: ES256 signature must be 64 bytes");
  if (!es256_verify(key, *prot + "." + *payload, *sig)) return R::fail("JWS: signature does not verify");
  return R::ok(VerifiedJws{std::move(*header), std::move(*body)});
}

}  // namespace ferry::acme
