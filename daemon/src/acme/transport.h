// The HTTP(S) exchanges an ACME client needs, as an interface: the protocol flow (acme/client.h)
// stays free of any HTTP library and can be driven by a fake in tests; ferryd implements it
// with POCO NetSSL (acme_https.h).
//
// Threads: one Transport is used by one thread at a time (the ACME thread). Calls block, each
// bounded by the implementation's timeouts. Errors: `Result::fail` for transport failures
// (connect, TLS, timeout); any HTTP status is a successful exchange.
#pragma once

#include <string>

#include "acme/result.h"

namespace ferry::acme {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string location;      // Location header, "" if none
  std::string replay_nonce;  // Replay-Nonce header, "" if none
  std::string retry_after;   // Retry-After header, "" if none
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<HttpResponse> get(const std::string& url) = 0;
  virtual Result<HttpResponse> head(const std::string& url) = 0;
  // POST with Content-Type application/jose+json; `accept` is the Accept header ("" = any).
  virtual Result<HttpResponse> post_jose(const std::string& url, const std::string& body,
                                         const std::string& accept = "") = 0;
};

}  // namespace ferry::acme
