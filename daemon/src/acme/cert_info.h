// What the store records about an issued certificate, read from its PEM chain: validity,
// issuer and DNS names of the leaf (the first certificate). Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acme/result.h"

namespace ferry::acme {

struct CertInfo {
  int64_t not_before = 0, not_after = 0;  // unix seconds
  std::string issuer;                     // RFC 2253 text of the leaf's issuer
  std::vector<std::string> dns_names;     // subjectAltName dNSName entries, as written
};

// Fails when the text holds no parsable certificate.
Result<CertInfo> inspect_leaf(std::string_view chain_pem);

}  // namespace ferry::acme
