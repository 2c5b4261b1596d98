// The check of certificate material held in memory (a stored ACME certificate): the full load
// the data plane does (PEM parse, key match, validity dates, chain order), as messages. (Files
// a configuration names are checked, once, by prepare: prepare.h.) Never throws.
#pragma once

#include <string>
#include <vector>

namespace ferry::proxy {

struct CertificateCheck {
  std::vector<std::string> errors;    // the material cannot be served
  std::vector<std::string> warnings;  // usable, but e.g. expires within 14 days
};

// PEM text (chain and key); messages start with `source_name`. Any thread.
CertificateCheck check_certificate_pem(const std::string& pem, const std::string& source_name);

}  // namespace ferry::proxy
