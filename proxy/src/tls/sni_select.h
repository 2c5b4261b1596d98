// Certificate selection by SNI for one TLS listener. The listener's connections start on a
// `front` SSL_CTX (tls::make_front_ctx); a ClientHello callback installed on it looks the
// client's SNI up in a CertificateSet and switches the connection to that certificate's
// context (SSL_set_SSL_CTX), including that context's minimum TLS version. A name nothing matches gets the set's default certificate, or, without
// one, the handshake is refused with an unrecognized_name alert (never a wrong certificate).
// A ClientHello without SNI is treated like an unknown name. A ClientHello offering ALPN
// "acme-tls/1" is answered from the set's AcmeChallenges instead (see acme_challenges.h).
//
// Ownership: the front context holds a shared_ptr to its CertificateSet (ex_data, released
// with the context), so the front context must not be one of the set's own contexts (that
// would be a reference cycle and never be freed). A set is immutable once installed; a new certificate list is a new set
// on a new front context, so handshakes in flight keep the set they started with. The
// callback runs on whichever worker thread drives the handshake and only reads the set.
// Every context of a set must share one TicketKeyRing (ticket_keys.h): OpenSSL encrypts
// tickets with the front context's callback but decrypts with the selected context's.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <vector>

#include "tls/acme_challenges.h"
#include "tls/sni_map.h"

namespace ferry::proxy::tls {

struct CertificateSet {
  std::vector<std::shared_ptr<SSL_CTX>> contexts;  // one per certificate
  SniMap names;                                    // server name -> index into `contexts`
  int default_index = -1;                          // for unknown names; -1: refuse them
  // The engine's ACME challenges (may be null): a ClientHello offering ALPN "acme-tls/1" for
  // a name with a challenge gets the challenge context instead (RFC 8737 §3); one offering
  // it for a name without a challenge is refused (no_application_protocol).
  std::shared_ptr<AcmeChallenges> challenges;
};

// Installs the selection callback on `front`. False if OpenSSL refused the ex_data slot.
bool install_sni_selector(SSL_CTX* front, std::shared_ptr<const CertificateSet> set);

// Whether a request for `host` (a Host or :authority value; port and trailing dot ignored)
// may be served on `ssl`, a connection that started on `front`: true when a handshake naming
// `host` in its SNI would have been switched to the very context `ssl` uses (same
// certificate, same minimum version), false otherwise (answer 421, RFC 9110 §15.5.20).
// True when `front` has no selector. Any worker thread; no allocation.
bool host_matches_handshake(SSL_CTX* front, SSL* ssl, std::string_view host);

}  // namespace ferry::proxy::tls
