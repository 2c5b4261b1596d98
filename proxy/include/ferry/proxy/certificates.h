// Checks of the certificate files a configuration names (`certificate PATH`), for the daemon's
// `ferryd -c`, start and reload: the full load the data plane will do (PEM parse, key match,
// validity dates, chain order), reported as messages that start with the path.
// Control thread only: it reads files. Never throws.
#pragma once

#include <string>
#include <vector>

namespace ferry::proxy {

struct CertificateCheck {
  std::vector<std::string> errors;    // the file cannot be served
  std::vector<std::string> warnings;  // usable, but e.g. expires within 14 days
};

CertificateCheck check_certificate_file(const std::string& path);

// "" when `path` (a server's `ca-file`) loads as trusted CA certificates the way the data plane
// will load it, else why not (starting with the path). Control thread: reads the file.
std::string check_ca_file(const std::string& path);
// The same checks on PEM text in memory (chain and key), e.g. a stored ACME certificate;
// messages start with `source_name`. Any thread.
CertificateCheck check_certificate_pem(const std::string& pem, const std::string& source_name);

// "" when `host` (an app's host name) can select a certificate by SNI, else why not. The SNI
// table is stricter than routing (e.g. no '_'), so a config that would fail at start is
// refused by `ferryd -c` instead. Pure; any thread.
std::string check_server_name(const std::string& host);

}  // namespace ferry::proxy
