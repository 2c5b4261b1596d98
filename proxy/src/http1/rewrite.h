// Serialises the heads Ferry sends: the request to the upstream (hop-by-hop headers removed,
// forwarding headers and the request id added, framing re-stated) and the response to the
// downstream client. Pure functions, any thread; the output is a fresh string so the parsed
// views may die right after.
#pragma once

#include <string>
#include <string_view>

#include "http/message.h"
#include "http/outbound.h"

namespace ferry::proxy::http1 {

struct ForwardContext {
  std::string_view client_ip;   // becomes (or is appended to) X-Forwarded-For
  std::string_view proto = "http";
  uint16_t local_port = 0;      // X-Forwarded-Port
  std::string_view request_id;  // Ferry-Request-Id
  bool trusted = false;         // keep client-supplied X-Forwarded-* (append to XFF)
  std::string_view via = {};    // our Via entry; empty: "1.<client minor> ferry"
  std::string_view region = {};  // Ferry-Region: this edge's region (global `region`)
  // The mesh backhaul: the peer is another Ferry node, whose Ferry-* fields are kept. On any
  // other frontend (also a `trust-forwarded` one) Ferry-* fields are the client's: dropped.
  bool backhaul = false;
  // Host for a request that names none (HTTP/1.0 without Host, an empty Host): the routed
  // app's first host name, else the address the client connected to. Upstream requests always
  // carry a Host (RFC 9112 §3.2).
  std::string_view fallback_host = {};
  // The request id's alias field (global `request-id-header`, lower-case; empty: none): the
  // client's is dropped and the request id sent in it.
  std::string_view request_id_alias = {};
  // Tracing on: our traceparent, replacing the client's; its tracestate goes on only with a
  // trusted traceparent (`keep_tracestate`). Empty: tracing off, both pass as they came.
  std::string_view traceparent = {};
  bool keep_tracestate = false;
};

// Builds the upstream request head in `out` (its wire form and the index HTTP/2 reads, see
// http/outbound.h): origin-form target, Host from the routed authority (req.host, else
// ctx.fallback_host) whatever the client's Host or Connection fields say, the client's fields
// filtered by field_rules.h, then ours. Framing: Content-Length for content_length,
// `Transfer-Encoding: chunked` for chunked, nothing for none. Upgrade requests keep
// `Connection: upgrade` and their Upgrade header.
void build_upstream_request(const http::RequestHead& req, const ForwardContext& ctx, http::OutboundRequest& out);
// The same, its wire form appended to `out` (tests and fuzzers).
void build_upstream_request(const http::RequestHead& req, const ForwardContext& ctx, std::string& out);

enum class ResponseBodyOut {
  same,         // forward as framed upstream (Content-Length kept, or no body)
  chunked,      // re-frame as chunked (upstream chunked or close-delimited; HTTP/1.1 client)
  until_close,  // raw bytes then close (HTTP/1.0 client and no length known)
  tunnel,       // 101: switch protocols
};

// Chooses how to frame the response body towards a client speaking HTTP/1.<client_minor>.
ResponseBodyOut choose_body_out(const http::ResponseHead& resp, int client_minor);

// Appends the downstream response head to `out`: upstream headers minus hop-by-hop, our
// framing, Ferry-Request-Id, and `Connection: close` / `keep-alive` as decided.
void build_downstream_response(const http::ResponseHead& resp, ResponseBodyOut body, bool keep_alive,
                               int client_minor, std::string_view request_id, std::string& out);

}  // namespace ferry::proxy::http1
