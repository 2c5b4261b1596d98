// Conversions between HTTP/2 fields and the protocol-neutral heads (http/message.h,
// http/outbound.h), both ways (RFC 9113 §8.2-8.3): a client's request fields and the response
// fields it may see; the fields of a request to an HTTP/2 server and its response heads.
// Pseudo-headers, cookie crumbs, the header list limit, framing. Pure functions and values;
// any thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"
#include "http/outbound.h"

namespace ferry::proxy::http2 {

// One request's fields as nghttp2 delivered them. nghttp2's HTTP messaging checks have
// already validated them: lowercase names, legal characters, pseudo-headers first, present and
// not repeated, no connection-specific fields, `te` only "trailers", content-length syntax.
// Reused from stream to stream (clear() keeps every buffer), so a request whose fields fit
// the buffers an earlier one grew costs no allocation.
struct RequestFields {
  std::string method, scheme, authority, path;
  std::string cookie;       // cookie crumbs joined with "; " (RFC 9113 §8.2.3)
  uint64_t list_size = 0;   // sum of name + value + 32 per field (RFC 9113 §6.5.2)
  uint32_t count = 0;
  bool too_large = false;   // over a limit: the request is answered 431 and not forwarded

  // Adds one field unless a limit is exceeded (then only `too_large` is set).
  void add(std::string_view name, std::string_view value, uint64_t max_list_size, uint32_t max_count);
  // The regular fields, in order: name and value views, valid until the next add() or clear().
  size_t size() const { return spans_.size(); }
  std::string_view name(size_t i) const { return std::string_view(arena_).substr(spans_[i].off, spans_[i].name_len); }
  std::string_view value(size_t i) const {
    return std::string_view(arena_).substr(spans_[i].off + spans_[i].name_len, spans_[i].value_len);
  }
  void clear();
  // The bytes its buffers hold (for bounding what a reused one keeps).
  size_t capacity() const;

 private:
  struct Span {
    uint32_t off, name_len, value_len;
  };
  std::string arena_;  // the regular fields' names and values, back to back
  std::vector<Span> spans_;
};

// Fills `out` with views into `f` for the shared HTTP/1 path: method, target (:path), host
// (:authority, else the host field, which is then not repeated), fields, framing
// (content-length when given; else none when the request ended with its headers; else
// chunked towards the upstream). Returns 0, or 400 with `reason` for a CONNECT-less request
// without :path and similar malformations nghttp2 leaves to us.
int to_request_head(const RequestFields& f, bool end_stream, http::RequestHead& out, const char** reason);

// The buffers one field block is built in: nv entries and the bytes they point into. Their
// owner (a connection) reuses them from block to block, so a block costs no allocation once
// they have grown; each block is submitted before the next is built (nghttp2 copies it).
struct FieldBlock {
  std::string arena;
  std::vector<nghttp2_nv> nv;
};

// Response fields for nghttp2_submit_response: ":status", the upstream's fields lowercased,
// minus connection-specific ones (RFC 9113 §8.2.2) and those the Connection field lists, and
// ferry-request-id. The nv entries point
// into `arena` and `resp`, valid until either changes.
void response_fields(const http::ResponseHead& resp, std::string_view request_id, std::string& arena,
                     std::vector<nghttp2_nv>& out);

// Trailer fields for nghttp2_submit_trailer from HTTP/1.1 chunked trailers ("name: value\r\n"
// lines as ChunkedDecoder keeps them): names lowercased, values trimmed, the fields
// http1::forbidden_in_trailer names dropped. The nv entries point into `arena`.
void trailer_fields(std::string_view lines, std::string& arena, std::vector<nghttp2_nv>& out);

// Ferry's own responses (errors) on a stream: `out` gets the fields (pointing into `arena`
// and static strings) and `body` the text/plain page. `retry_after` (seconds, 0: none) adds
// "retry-after".
void error_fields(int status, std::string_view detail, std::string_view request_id, uint32_t retry_after,
                  std::string& arena, std::vector<nghttp2_nv>& out, std::string& body);

// Upstream direction. The fields of one HEADERS frame from a server, as nghttp2 delivered
// them (validated like RequestFields'), in order, pseudo-headers included.
using FieldList = std::vector<std::pair<std::string, std::string>>;

// Request fields for nghttp2_submit_request: :method, :scheme (`scheme`), :authority and
// :path from `head`'s spans, its fields except the HTTP/1-only ones, then `extra`; names
// lowercased into `arena`. The entries point into `head`, `extra` and `arena`.
void request_fields(const http::OutboundRequest& head, std::span<const http::Header> extra, std::string_view scheme,
                    std::string& arena, std::vector<nghttp2_nv>& out);

// Fills `out` with views into `f`, a response head from a server: the status, the fields,
// framing (none for 1xx, 204, 304 and a response to HEAD; content-length when stated; a
// response that ended with its head has length 0, stated in a field as an HTTP/1.1 client
// needs; else until_close: the body ends with the stream). Returns 0, or 502 for a missing or
// invalid :status (101 included: RFC 9113 §8.6) or content-length.
int to_response_head(const FieldList& f, std::string_view request_method, bool end_stream, http::ResponseHead& out);

// One name/value pair for nghttp2 (no copy: both views must outlive the submit call).
nghttp2_nv make_nv(std::string_view name, std::string_view value);

}  // namespace ferry::proxy::http2
