// acme::Transport over POCO NetSSL: what the ACME thread uses to talk to the CA. Trusts the PEM
// file `ca_bundle` when given (a private CA such as Pebble), else the system's CAs; verifies the
// server's chain (in the handshake) and that its certificate names the URL's host (checked here
// with X509_check_host/ip: POCO skips it for a socket it is handed); a failure is an error,
// never a prompt. Connect, handshake and every read/write have a 10 s timeout and can be
// interrupted (TransportCancel); responses above 1 MiB are refused.
//
// Thread: the ACME thread only, except TransportCancel::cancel(). POCO exceptions are caught
// here and become Result errors.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "acme/transport.h"

namespace ferry::daemon {

// Lets another thread interrupt a transport's blocking I/O: cancel() marks it cancelled and
// shuts down (without closing: the descriptor cannot be reused meanwhile) the socket in use, so
// a blocked connect, TLS handshake or read returns at once; every later call fails "stopped".
// Thread-safe; shared by the owner (who cancels) and the transport.
class TransportCancel {
 public:
  void cancel();
  bool cancelled() const;

 private:
  friend class PocoHttpsTransport;
  mutable std::mutex mu_;
  bool cancelled_ = false;
  int fd_ = -1;  // the socket in use, -1 = none; closed only while mu_ is held
};

class PocoHttpsTransport final : public acme::Transport {
 public:
  // Never throws; a bad ca_bundle makes every call fail with the reason.
  PocoHttpsTransport(const std::string& ca_bundle, std::shared_ptr<TransportCancel> cancel,
                     std::chrono::seconds timeout = std::chrono::seconds(10));
  ~PocoHttpsTransport() override;

  acme::Result<acme::HttpResponse> get(const std::string& url) override;
  acme::Result<acme::HttpResponse> head(const std::string& url) override;
  acme::Result<acme::HttpResponse> post_jose(const std::string& url, const std::string& body,
                                             const std::string& accept) override;

 private:
  acme::Result<acme::HttpResponse> exchange(const std::string& method, const std::string& url,
                                            const std::string& body, const std::string& accept);
  void connect(const std::string& host, unsigned short port);  // throws POCO exceptions
  void reset_session();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::daemon
