// Which fields a peer may set, in one place for every protocol (HTTP/1 heads, HTTP/2 fields
// once mapped to a head, the backhaul) and for trailers. docs/SECURITY.md lists the rules.
//
// Pure functions on field names (case-insensitive); no allocation except appending to the
// caller's string; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy::http1 {

// What a field name claims about the request's path through proxies.
enum class ClientField : uint8_t {
  ordinary,
  x_forwarded_for,    // appended to (trusted peer) or replaced (anyone else)
  x_forwarded_proto,  // the four below and Forwarded, X-Real-IP: kept from a trusted peer only
  x_forwarded_host,
  x_forwarded_port,
  forwarded,          // RFC 7239
  x_real_ip,
  ferry,              // Ferry-*: mesh metadata, kept only from another Ferry node (backhaul)
  trace_context,      // traceparent, tracestate (W3C): replaced by ours when tracing is on
  // A name with "_" that reads as one of the above once "_" is "-" (Ferry_Client_IP,
  // X_Forwarded_For, ...): CGI and WSGI servers map both spellings to the same variable, so a
  // client could set the variable past the rules above. Dropped from every sender.
  alias,
};

ClientField classify_client_field(std::string_view name);

// Fields that must not appear in a trailer section, or that Ferry does not let one carry:
// RFC 9110 §6.5.1's framing, routing, request modifiers, authentication, response control and
// content fields, the hop-by-hop ones, and every field classify_client_field does not call
// ordinary (a trailer is never trusted for forwarding or Ferry-* metadata).
bool forbidden_in_trailer(std::string_view name);

// Appends the fields of a trailer section (`lines`: "name: value\r\n" lines as
// ChunkedDecoder keeps them) to `out`, without the forbidden ones.
void append_allowed_trailers(std::string_view lines, std::string& out);

}  // namespace ferry::proxy::http1
