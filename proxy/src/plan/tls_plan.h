// The TLS side of a plan: for each frontend with a `bind ... tls`, the front SSL_CTX its
// connections start on, whose ClientHello callback picks the certificate by SNI among every
// app's `certificate PATH` (keyed by the app's hosts), the engine's ACME certificates and the
// frontend's `default-certificate`.
//
// Ownership and threads: assembled on the control thread by Engine::apply and whenever the
// ACME certificates change, from a PreparedConfig (whose contexts were built from files by
// prepare(), so this reads no file), then immutable and shared by the workers through the
// plan. All contexts share the engine's TicketKeyRing, so tickets survive reloads and resume
// on any worker.
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ferry/configlang/config.h"
#include "ferry/proxy/engine.h"
#include "plan/prepared.h"
#include "tls/acme_challenges.h"
#include "tls/ticket_keys.h"

namespace ferry::proxy {

struct TlsPlan {
  // Indexed like Config::frontends; null for a frontend without TLS binds.
  std::vector<std::shared_ptr<SSL_CTX>> fronts;
  // Per backend, per server: the client context of a `proto h2` server (null otherwise).
  std::vector<std::vector<std::shared_ptr<SSL_CTX>>> upstreams;
};

// The engine's run-time TLS state that outlives plans: ACME certificates by app name (PEM,
// checked when set) and the ACME challenge table every front context consults.
struct DynamicTls {
  std::map<std::string, AppCertificate> certificates;  // app name -> its ACME certificate
  std::shared_ptr<tls::AcmeChallenges> challenges;      // may be null (no challenges)
};

// Puts the prepared contexts (certificate files, upstream CA files) together with the ACME
// certificates of `dynamic` into the front contexts. Apps with `certificate acme` get their
// certificate from `dynamic` (none yet: their hosts have no certificate, so a handshake for
// them gets the default certificate or an alert; one that no longer loads is logged and left
// out). Returns false with one line per problem in `error` (OpenSSL refusing a setting, a host
// the SNI table refuses); then `out` is unusable.
bool build_tls_plan(const PreparedConfig& prepared, const DynamicTls& dynamic, TlsPlan& out, std::string& error);

// Whether `fe` has a `bind ... tls`.
bool has_tls_bind(const config::Frontend& fe);

// A context serving `cert_pem` + `key_pem` with ALPN {"acme-tls/1"} only, for a TLS-ALPN-01
// challenge. Null with `error` set when the material does not load.
std::shared_ptr<SSL_CTX> make_acme_challenge_ctx(const std::string& cert_pem, const std::string& key_pem,
                                                 std::shared_ptr<tls::TicketKeyRing> tickets, std::string& error);

// True when a certificate whose SAN DNS names are `names` is valid for `host` (exact, or a
// one-label wildcard name). Pure.
bool certificate_covers(const std::vector<std::string>& names, const std::string& host);

// ALPN protocols offered to clients, in server preference order: h2, then http/1.1.
const std::vector<std::string>& served_alpn();

}  // namespace ferry::proxy
