// Challenge responses: the key authorization (RFC 8555 §8.1; the HTTP-01 response body, §8.3)
// and the TLS-ALPN-01 validation certificate (RFC 8737 §3). The TLS layer serves that certificate for the identifier's SNI when
// the client offers only ALPN "acme-tls/1". Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include <openssl/types.h>

#include "acme/result.h"

namespace ferry::acme {

// token + "." + thumbprint. The token comes from the server; callers check it is base64url
// (parse_authorization does) before using it.
std::string key_authorization(std::string_view token, std::string_view account_thumbprint);
// Same, computing the thumbprint of the account key. Fails if the key is not P-256.
Result<std::string> key_authorization(std::string_view token, const EVP_PKEY& account_key);

// The challenge types ferryd answers (the `challenge` directive of the acme section).
enum class ChallengeType { tls_alpn_01, http_01 };
// The type as the CA names it: "tls-alpn-01" or "http-01".
constexpr std::string_view challenge_type_name(ChallengeType t) {
  return t == ChallengeType::http_01 ? "http-01" : "tls-alpn-01";
}

struct AlpnCertificate {
  std::string cert_pem;  // "-----BEGIN CERTIFICATE-----"
  std::string key_pem;   // PKCS#8 "-----BEGIN PRIVATE KEY-----" of the certificate key
};

inline constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";
inline constexpr std::string_view kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";  // id-pe-acmeIdentifier

// A self-signed certificate for exactly one DNS identifier (no wildcard, RFC 8737 §3):
//   - subjectAltName: one dNSName = identifier (critical when the subject is empty; the subject is
//     CN=identifier if it fits the 64-character CN limit, else empty)
//   - critical id-pe-acmeIdentifier, extnValue = DER OCTET STRING (32) of SHA-256(key_authorization)
//   - validity now-1h .. now+7d, random positive 128-bit serial, v3, ecdsa-with-SHA256
// `cert_key` = nullptr makes a fresh P-256 key; else that key (not retained) signs and is certified.
// Fails on an invalid identifier (see is_valid_dns_identifier) or an OpenSSL failure.
Result<AlpnCertificate> make_tls_alpn01_certificate(std::string_view identifier, std::string_view key_authorization,
                                                    const EVP_PKEY* cert_key = nullptr);

}  // namespace ferry::acme
