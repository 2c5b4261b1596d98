// TLS towards upstream servers (`server ... proto h2`): one client SSL_CTX per server, built on
// the control thread with the plan (it reads the CA file), offering ALPN h2 only; and the
// per-connection SSL with the name sent (SNI) and verified.
//
// Threads: make_client_ctx on the control thread; the context is then immutable and workers
// create SSL objects from it concurrently. Errors are returned, never thrown.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace ferry::proxy::tls {

// TLS 1.2-1.3, ALPN {"h2"}. `verify`: the server's chain must verify against `ca_file` (PEM
// bundle; empty: the system's default CA paths). Null with `*error` set on failure.
std::shared_ptr<SSL_CTX> make_client_ctx(const std::string& ca_file, bool verify, std::string* error);

// An SSL for one connection: SNI = `name` when it is a DNS name; with verification on, the
// certificate must match `name` (DNS name, or IP address literal). Null when OpenSSL fails.
SSL* new_client_ssl(SSL_CTX* ctx, const std::string& name, bool verify);

}  // namespace ferry::proxy::tls
