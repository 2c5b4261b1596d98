// Syntax check for the DNS identifiers Ferry asks an ACME CA to certify (RFC 8555 §7.1.4,
// RFC 1123 host names). Pure, any thread.
#pragma once

#include <string_view>

namespace ferry::acme {

// True for a lower-case LDH host name: 1..253 characters, dot-separated labels of 1..63 of
// [a-z0-9-] that neither start nor end with '-', no trailing dot, at least two labels (a CA
// will not issue for a single label). With allow_wildcard, a leading "*." label is accepted
// (only dns-01 can validate it, RFC 8555 §7.1.3). Upper case is rejected rather than folded so
// the identifier, the SAN and the order stay byte-identical; callers lower-case first.
bool is_valid_dns_identifier(std::string_view name, bool allow_wildcard);

}  // namespace ferry::acme
