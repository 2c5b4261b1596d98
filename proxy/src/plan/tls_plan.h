// The TLS side of a plan: for each frontend with a `bind ... tls`, the front SSL_CTX its
// connections start on, whose ClientHello callback picks the certificate by SNI among every
// app's `certificate PATH` (keyed by the app's hosts) and the frontend's
// `default-certificate`.
//
// Ownership and threads: built on the control thread by Engine::apply (it reads certificate
// files), then immutable and shared by the workers through the plan. All contexts share the
// engine's TicketKeyRing, so tickets survive reloads and resume on any worker.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "ferry/configlang/config.h"
#include "tls/ticket_keys.h"

namespace ferry::proxy {

struct TlsPlan {
  // Indexed like Config::frontends; null for a frontend without TLS binds.
  std::vector<std::shared_ptr<SSL_CTX>> fronts;
};

// Loads every certificate the configuration names and builds the contexts. Returns false with
// one line per problem in `error` (each naming the file, the app or frontend, and where it is
// configured); then `out` is unusable.
bool build_tls_plan(const config::Config& cfg, std::shared_ptr<tls::TicketKeyRing> tickets, TlsPlan& out,
                    std::string& error);

// ALPN protocols offered to clients, in server preference order: h2, then http/1.1.
const std::vector<std::string>& served_alpn();

}  // namespace ferry::proxy
