// TLS ClientHello reader for SNI passthrough (`mode tcp` + `route sni`): finds the server_name
// (RFC 6066 section 3) in the first bytes a client sends, without OpenSSL and without
// terminating anything. The bytes are only looked at; the caller forwards them unchanged.
//
// Input: the TLS records at the start of a connection (RFC 8446 5.1). The ClientHello may be
// split across several handshake records (record-layer fragmentation) and across reads; the
// caller feeds everything it has buffered so far, each time from the start.
//
// Pure function, any thread, no exceptions, no allocation: the handshake message is gathered
// from its records into a fixed buffer on the stack (at most kMaxClientHelloBytes). Every
// length is checked against the bytes present before it is used, so malformed input never
// reads out of bounds.
#pragma once

#include <cstddef>
#include <string_view>

namespace ferry::proxy::tls {

// Upper bound of the bytes (record headers included) a ClientHello may occupy: callers stop
// reading there. Real ClientHellos are 200 B to ~2 KiB (post-quantum key shares included).
inline constexpr size_t kMaxClientHelloBytes = 16 * 1024;

enum class HelloStatus {
  incomplete,  // valid so far: read more (at least up to `want` bytes) unless the bound is reached
  complete,    // a whole ClientHello was parsed; `server_name` is set (possibly empty)
  error,       // not a TLS ClientHello, or malformed; `reason` says why
};

struct ClientHelloInfo {
  static constexpr size_t kMaxName = 255;
  HelloStatus status = HelloStatus::incomplete;
  const char* reason = "";  // on error: a static string for debug logs
  // On incomplete: parsing again before this many bytes are buffered gives the same result
  // (the end of the next record header or of the record being received), so a caller fed
  // one byte at a time does not re-parse the whole prefix for every byte.
  size_t want = 0;
  // On complete: the host name of the server_name extension as sent (any case; a copy, so it
  // does not depend on the input's lifetime). Empty when the client sent no SNI. Only names
  // of DNS characters (letters, digits, '-', '_', '.'), 1..255 bytes, are accepted; anything
  // else in a server_name extension is an error.
  std::string_view server_name() const { return {name_, name_len_}; }

  char name_[kMaxName] = {};
  size_t name_len_ = 0;
};

// Parses the ClientHello at the start of `in` (the caller's buffered bytes, from the first).
ClientHelloInfo parse_client_hello(std::string_view in);

// The 7-byte fatal `unrecognized_name` alert record (TLS 1.2 record version; TLS 1.3 clients
// accept it before the ServerHello), sent before closing when no app matches.
std::string_view unrecognized_name_alert();

}  // namespace ferry::proxy::tls
