// The certificates an admin sees: every app with TLS (`certificate PATH` or `certificate
// acme`) with its hosts, issuer and validity, plus the ACME state of automatic ones. Used by
// GET /api/v1/certificates, the app detail and the ferry_certificate_* metrics.
// Thread: any admin API thread; reads the configuration snapshot, the certificate files (small
// PEM reads, never on a worker) and the AcmeManager's status cell.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/routes.h"

namespace ferry::daemon {

struct CertStatus {
  std::string app;                 // app name ("" for a frontend's default-certificate)
  std::string frontend;            // for a default-certificate: its frontend
  std::string source;              // "acme" | "file"
  std::vector<std::string> hosts;  // names it covers (acme: the app's hosts)
  std::string issuer;              // one-line issuer DN; empty when none is loaded
  int64_t not_before = 0, not_after = 0;  // Unix seconds; 0 when none is loaded
  std::string state;               // acme: "valid" | "pending" | "failed" | "none"; file: "valid" | "expired" | "error"
  std::string last_error;
  int64_t next_renewal = 0;        // acme: Unix seconds of the next planned order; 0 = none
  uint64_t renewal_failures = 0;   // acme: failed orders since start
};

std::vector<CertStatus> certificate_status(const ApiContext& ctx);

}  // namespace ferry::daemon
