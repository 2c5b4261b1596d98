// ACME (RFC 8555) request payloads and response parsers: the JSON layer between the HTTP client
// and the account/order state machine. Builders return the exact JSON text that becomes the JWS
// payload (util::JsonWriter: members in a fixed order, no whitespace). Parsers read server
// documents strictly (acme/json.h) and keep only what the client needs; unknown members are
// ignored (RFC 8555 §7.1 allows servers to add fields). Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/result.h"

namespace ferry::acme {

// ---- requests -----------------------------------------------------------------------------

// newAccount (§7.3): {"contact":["mailto:a@example.org"],"termsOfServiceAgreed":true}
// `emails` are bare addresses (a leading "mailto:" is accepted and not doubled); "contact" is
// omitted when the list is empty. Fails on an address that is not local@domain or contains
// characters outside printable ASCII or any of " ,<>" (RFC 8555 §7.3 / RFC 6068 hfields are
// not supported).
Result<std::string> new_account_payload(const std::vector<std::string>& emails, bool terms_of_service_agreed);
// Account lookup by key (§7.3.1): {"onlyReturnExisting":true}
std::string find_account_payload();
// newOrder (§7.4): {"identifiers":[{"type":"dns","value":"example.org"}, ...]}
// Fails on an empty list or an invalid/duplicate name (is_valid_dns_identifier, wildcards allowed).
Result<std::string> new_order_payload(const std::vector<std::string>& hosts);
// finalize (§7.4): {"csr":"<base64url(csr_der)>"}
std::string finalize_payload(std::string_view csr_der);
// Respond to a challenge (§7.5.1): {}
std::string challenge_response_payload();

// ---- responses ----------------------------------------------------------------------------

// Problem document (RFC 7807, RFC 8555 §6.7), e.g. type "urn:ietf:params:acme:error:badNonce".
struct Problem {
  std::string type;    // "" if the server sent none ("about:blank" semantics)
  std::string detail;  // may be empty
  std::optional<int> status;
  struct Sub {
    std::string type, detail;
    std::string identifier_type, identifier_value;  // empty if absent
  };
  std::vector<Sub> subproblems;
};

struct Directory {  // §7.1.1
  std::string new_nonce, new_account, new_order;  // required
  std::string revoke_cert, key_change;            // empty if absent
  std::optional<std::string> renewal_info;        // ARI (RFC 9773), if offered
  std::optional<std::string> terms_of_service;    // meta.termsOfService
  bool external_account_required = false;         // meta.externalAccountRequired
};

struct Account {  // §7.1.2
  std::string status;  // "valid" | "deactivated" | "revoked"
  std::vector<std::string> contact;
  std::optional<std::string> orders;
};

struct Identifier {
  std::string type;  // "dns" (or "ip", RFC 8738)
  std::string value;
};

struct Order {  // §7.1.3
  std::string status;  // "pending" | "ready" | "processing" | "valid" | "invalid"
  std::optional<std::string> expires;
  std::vector<Identifier> identifiers;
  std::vector<std::string> authorizations;  // URLs
  std::string finalize;                     // URL
  std::optional<std::string> certificate;   // URL, once "valid"
  std::optional<Problem> error;
};

struct Challenge {  // §7.1.5, §8
  std::string type;    // "http-01", "dns-01", "tls-alpn-01", ...
  std::string url;
  std::string status;  // "pending" | "processing" | "valid" | "invalid"
  std::string token;   // empty if the type has none; else checked to be non-empty base64url
  std::optional<std::string> validated;
  std::optional<Problem> error;
};

struct Authorization {  // §7.1.4
  std::string status;  // "pending" | "valid" | "invalid" | "deactivated" | "expired" | "revoked"
  Identifier identifier;
  std::optional<std::string> expires;
  std::vector<Challenge> challenges;
  bool wildcard = false;

  // The first challenge of `type`, or nullptr.
  const Challenge* find_challenge(std::string_view type) const;
};

// Each fails with a reason on malformed JSON, a missing required member, a member of the wrong
// JSON type, or a status value RFC 8555 does not define.
Result<Directory> parse_directory(std::string_view json);
Result<Account> parse_account(std::string_view json);
Result<Order> parse_order(std::string_view json);
Result<Authorization> parse_authorization(std::string_view json);
Result<Challenge> parse_challenge(std::string_view json);
Result<Problem> parse_problem(std::string_view json);

}  // namespace ferry::acme
