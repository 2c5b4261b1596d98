// acme::Transport over POCO NetSSL (HTTPSClientSession): what the ACME thread uses to talk to
// the CA. Trusts the PEM file `ca_bundle` when given (a private CA such as Pebble), else the
// system's CAs; verifies the server's certificate and host name (a failure is an error, never
// a prompt). Every exchange has a bounded timeout so a hung CA cannot block shutdown for long.
//
// Thread: the ACME thread only. POCO exceptions are caught here and become Result errors.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "acme/transport.h"

namespace ferry::daemon {

class PocoHttpsTransport final : public acme::Transport {
 public:
  // Never throws; a bad ca_bundle makes every call fail with the reason.
  explicit PocoHttpsTransport(const std::string& ca_bundle,
                              std::chrono::seconds timeout = std::chrono::seconds(15));
  ~PocoHttpsTransport() override;

  acme::Result<acme::HttpResponse> get(const std::string& url) override;
  acme::Result<acme::HttpResponse> head(const std::string& url) override;
  acme::Result<acme::HttpResponse> post_jose(const std::string& url, const std::string& body,
                                             const std::string& accept) override;

 private:
  acme::Result<acme::HttpResponse> exchange(const std::string& method, const std::string& url,
                                            const std::string& body, const std::string& accept);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::daemon
