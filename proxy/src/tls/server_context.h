// Builds the SSL_CTX a listener hands to its downstream TLS connections: one per certificate
// (plus one per ACME tls-alpn-01 challenge), picked per connection by SNI (see sni_map.h).
//
// Threads: make_server_ctx runs on the control thread. The returned context is complete and
// is not modified afterwards, so workers may create SSL objects from it concurrently (OpenSSL
// locks its own reference counts and session state). Each SSL holds its own reference, so a
// context dropped by a reload lives until its last connection ends.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/certificate.h"

namespace ferry::proxy::tls {

struct TlsOptions {
  int min_version = TLS1_2_VERSION;  // TLS1_2_VERSION or TLS1_3_VERSION; the maximum is 1.3
  // ALPN protocols in server preference order. An ACME challenge context offers only
  // {"acme-tls/1"}. Empty disables ALPN (the client's offer is ignored).
  std::vector<std::string> alpn = {"h2", "http/1.1"};
};

// Returns nullptr when OpenSSL rejects a setting or the material, with the reason in `*error`
// (if given). The context holds its own references to the certificate, chain and key.
std::shared_ptr<SSL_CTX> make_server_ctx(const CertificateMaterial& material,
                                         const TlsOptions& options = {},
                                         std::string* error = nullptr);

// A context without a certificate, for a listener's connections to start on until SNI picks
// their certificate's context (sni_select.h). Same protocol settings as make_server_ctx, but
// no ALPN: OpenSSL asks the context a connection is on when it answers ALPN, which by then is
// the selected one (`options.alpn` is ignored).
std::shared_ptr<SSL_CTX> make_front_ctx(const TlsOptions& options = {}, std::string* error = nullptr);

// The ALPN protocol chosen on `ssl` ("" when none was negotiated). Worker thread of `ssl`.
std::string_view negotiated_alpn(const SSL* ssl);

}  // namespace ferry::proxy::tls
