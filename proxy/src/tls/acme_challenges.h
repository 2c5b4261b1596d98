// ACME TLS-ALPN-01 challenge certificates (RFC 8737), served to ClientHellos that offer ALPN
// "acme-tls/1" for a name with a pending challenge.
//
// Ownership: the Engine owns one AcmeChallenges for its lifetime; every plan's CertificateSet
// points to it (shared_ptr), so challenges survive reloads and certificate swaps, and a
// challenge installed between two plans is seen by both.
//
// Threads: replace() is called on the control plane (Engine::set_acme_challenges). find() runs
// on worker threads inside the ClientHello callback, but ONLY for ClientHellos whose ALPN list
// offers "acme-tls/1" (offers_acme_tls); normal HTTPS handshakes never call it. The choice is
// a plain mutex around a shared_ptr copy: it is taken only on that rare path (an ACME server
// validating), so the request path stays lock-free, and it is simpler than an atomic
// shared_ptr. Contexts are immutable once published.
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace ferry::proxy::tls {

inline constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";

class AcmeChallenges {
 public:
  // identifier (lower-case DNS name) -> the context serving its validation certificate, with
  // ALPN {"acme-tls/1"} only.
  using Map = std::map<std::string, std::shared_ptr<SSL_CTX>, std::less<>>;

  // Replaces the whole table. Handshakes already switched keep their context.
  void replace(Map challenges);
  // The context for `server_name` (any case), or null. Worker threads; see the header comment.
  std::shared_ptr<SSL_CTX> find(std::string_view server_name) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Map> map_ = std::make_shared<const Map>();
};

// True when the ClientHello on `ssl` (inside a ClientHello callback) has an ALPN extension
// listing "acme-tls/1". Any thread; no allocation.
bool offers_acme_tls(SSL* ssl);

}  // namespace ferry::proxy::tls
