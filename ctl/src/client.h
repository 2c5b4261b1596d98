// ferryctl's HTTP client for the admin API: one request at a time over HTTP or HTTPS
// (Poco::Net), with the bearer token when one is known. Single-threaded.
#pragma once

#include <string>

namespace ferryctl {

struct Reply {
  int status = 0;     // HTTP status
  std::string body;   // response body (JSON)
};

// Thrown when the admin listener cannot be reached (refused, timeout, TLS failure, bad URL):
// ferryctl exits 3.
struct ConnectError {
  std::string message;
};

class Client {
 public:
  // `base`: "http://127.0.0.1:9900" or "https://host:port" (a path prefix is allowed).
  // `insecure`: do not verify the https certificate.
  Client(std::string base, bool insecure);

  void set_token(std::string token) { token_ = std::move(token); }

  // Sends `method path` with `body` (Content-Type `type` when non-empty). Throws ConnectError.
  Reply request(const std::string& method, const std::string& path, const std::string& body = "",
                const std::string& type = "application/json");

 private:
  std::string base_;
  bool insecure_;
  std::string token_;
};

}  // namespace ferryctl
