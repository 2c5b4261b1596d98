// A configuration prepared for the data plane (ferry/proxy/prepare.h): the Config and the
// file-backed pieces built from it, so that installing it reads no file and cannot fail for a
// reason in the configuration.
//
// Ownership and threads: built by prepare() on a control-plane thread, then immutable and
// shared (the engine keeps the live one, to rebuild the TLS plan when ACME certificates
// change, without reading any file). Its server contexts carry `tickets` (every context a
// connection may switch between must share one ring), so only the engine owning that ring
// may install it.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <vector>

#include "ferry/configlang/config.h"
#include "ferry/proxy/prepare.h"
#include "tls/ticket_keys.h"

namespace ferry::proxy {

class AccessLogFile;  // observe/access_log.h

struct PreparedConfig {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<tls::TicketKeyRing> tickets;  // the ring of every server context below
  // Built only when some frontend has a `bind ... tls` (else nothing would serve them).
  // Per app (Config::apps): the context of its `certificate PATH` at its `tls-min`; null for
  // none and `certificate acme` (the engine's ACME certificates are added at install).
  std::vector<std::shared_ptr<SSL_CTX>> app_contexts;
  // Per frontend (Config::frontends): its `default-certificate` context; null for none or a
  // frontend without a `tls` bind.
  std::vector<std::shared_ptr<SSL_CTX>> default_contexts;
  // Per backend, per server: the client context of a `proto h2` server (null otherwise).
  std::vector<std::vector<std::shared_ptr<SSL_CTX>>> upstreams;
  // The access-log file, opened (null: stderr, off, or not opened by this preparation).
  std::shared_ptr<const AccessLogFile> access_log;
};

// The work of prepare_config / Engine::prepare. `tickets` may be null for a check (no context
// gets a ring; the result is then not ready). `outputs`: see PrepareOptions.
Prepared prepare(std::shared_ptr<const config::Config> cfg, std::shared_ptr<tls::TicketKeyRing> tickets,
                 PrepareOptions::OutputFiles outputs);

}  // namespace ferry::proxy
