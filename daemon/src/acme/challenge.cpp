#include "acme/challenge.h"

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "acme/dns_name.h"
#include "acme/keys.h"
#include "acme/ossl.h"

namespace ferry::acme {
namespace {

constexpr long kBackdateSeconds = 3600;
constexpr long kLifetimeSeconds = 7 * 24 * 3600;
constexpr size_t kMaxCnLength = 64;  // RFC 5280 ub-common-name

// Sets a random positive 128-bit serial number.
bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and non-zero / full length
  ossl::Bignum bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

// id-pe-acmeIdentifier with extnValue = OCTET STRING { SHA-256(key_authorization) }.
ossl::X509Ext acme_identifier_extension(std::string_view key_authorization) {
  const std::string digest = sha256(key_authorization);
  if (digest.size() != 32) return nullptr;
  // DER of Authorization ::= OCTET STRING (SIZE (32)): tag 0x04, length 0x20, the digest.
  const std::string der = std::string("\x04\x20", 2) + digest;
  ossl::Asn1Object oid(OBJ_txt2obj(std::string(kAcmeIdentifierOid).c_str(), 1));
  ossl::Asn1OctetString value(ASN1_OCTET_STRING_new());
  if (!oid || !value || !ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.data()), int(der.size())))
    return nullptr;
  return ossl::X509Ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), /*crit=*/1, value.get()));
}

}  // namespace

std::string key_authorization(std::string_view token, std::string_view account_thumbprint) {
  std::string out(token);
  out += '.';
  out += account_thumbprint;
  return out;
}

Result<std::string> key_authorization(std::string_view token, const EVP_PKEY& account_key) {
  auto thumb = jwk_thumbprint(account_key);
  if (!thumb) return Result<std::string>::fail(thumb.error);
  return Result<std::string>::ok(key_authorization(token, *thumb));
}

Result<AlpnCertificate> make_tls_alpn01_certificate(std::string_view identifier, std::string_view key_authorization,
                                                    const EVP_PKEY* cert_key) {
  using R = Result<AlpnCertificate>;
  if (!is_valid_dns_identifier(identifier, /*allow_wildcard=*/false))
    return R::fail("tls-alpn-01: invalid DNS identifier '" + std::string(identifier) + "'");

  Key fresh;
  if (!cert_key) {
    auto generated = generate_p256_key();
    if (!generated) return R::fail(generated.error);
    fresh = std::move(*generated);
    cert_key = fresh.get();
  }
  auto* key = const_cast<EVP_PKEY*>(cert_key);  // X509 APIs take non-const keys; they only read or up-ref them

  ossl::X509Ptr cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3) || !set_random_serial(cert.get()))
    return R::fail(ossl::error("tls-alpn-01: certificate setup failed"));
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), kLifetimeSeconds))
    return R::fail(ossl::error("tls-alpn-01: cannot set validity"));

  const bool with_cn = identifier.size() <= kMaxCnLength;
  ossl::X509Name name(X509_NAME_new());
  if (!name || (with_cn && !X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_ASC,
                                                       reinterpret_cast<const unsigned char*>(identifier.data()),
                                                       int(identifier.size()), -1, 0)))
    return R::fail(ossl::error("tls-alpn-01: cannot build subject"));
  if (!X509_set_subject_name(cert.get(), name.get()) || !X509_set_issuer_name(cert.get(), name.get()) ||
      !X509_set_pubkey(cert.get(), key))
    return R::fail(ossl::error("tls-alpn-01: cannot set names or key"));

  const std::string host(identifier);
  ossl::GeneralNames san = ossl::dns_general_names(&host, 1);
  if (!san || X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, san.get(), with_cn ? 0 : 1, X509V3_ADD_DEFAULT) != 1)
    return R::fail(ossl::error("tls-alpn-01: cannot add subjectAltName"));
  ossl::X509Ext acme_ext = acme_identifier_extension(key_authorization);
  if (!acme_ext || !X509_add_ext(cert.get(), acme_ext.get(), -1))
    return R::fail(ossl::error("tls-alpn-01: cannot add acmeIdentifier extension"));

  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return R::fail(ossl::error("tls-alpn-01: signing failed"));

  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), cert.get())) return R::fail(ossl::error("tls-alpn-01: PEM encoding failed"));
  auto key_pem = private_key_to_pem(*cert_key);
  if (!key_pem) return R::fail(key_pem.error);
  return R::ok(AlpnCertificate{ossl::bio_contents(bio.get()), std::move(*key_pem)});
}

}  // namespace ferry::acme
