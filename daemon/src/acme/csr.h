// PKCS#10 certificate signing requests (RFC 2986) for ACME finalize (RFC 8555 §7.4).
// Pure function; any thread; the key is only read.
#pragma once

#include <string>
#include <vector>

#include <openssl/types.h>

#include "acme/result.h"

namespace ferry::acme {

// DER of a CSR for `hosts`, signed with `key` (SHA-256; ecdsa-with-SHA256 for a P-256 key, but
// any key OpenSSL can sign with is accepted - the certificate key need not be P-256):
//   subject CN = hosts[0] if it is at most 64 characters, else an empty subject
//   extensionRequest: subjectAltName with one dNSName per host, in the given order
// Fails on an empty list, a duplicate or invalid host (is_valid_dns_identifier, wildcards
// allowed), or an OpenSSL failure. finalize_payload() (acme/messages.h) wraps the DER.
Result<std::string> make_csr_der(const std::vector<std::string>& hosts, const EVP_PKEY& key);

}  // namespace ferry::acme
