// Reading the client's ClientHello on a `route sni` frontend (TLS passthrough), before any
// upstream exists. The bytes stay in the connection's buffer, to be forwarded first.
// Worker thread coroutine; errors are results, never exceptions.
#pragma once

#include "net/asio_util.h"
#include "net/buffer.h"
#include "tls/client_hello.h"

namespace ferry::proxy {

// Reads from `sock` into `buf` (bytes already there, e.g. after a PROXY header, count) until
// `buf` holds a whole ClientHello, at most tls::kMaxClientHelloBytes. Result: complete (with
// the server name), error (not TLS, malformed, or larger than the bound; `reason` says which),
// or incomplete when the peer closed or the read failed, e.g. because the caller's deadline
// cancelled `sock` (the caller arms it: `timeout client`).
awaitable<tls::ClientHelloInfo> read_client_hello(tcp::socket& sock, Buffer& buf);

}  // namespace ferry::proxy
