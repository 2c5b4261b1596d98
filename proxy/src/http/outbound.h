// The request head Ferry sends to an upstream, built once and written by either protocol:
// `wire` is its HTTP/1.1 form (an HTTP/1 connection writes it as it is), and the spans index
// the same bytes, so an HTTP/2 stream takes its pseudo-headers and fields from them without
// parsing anything (RFC 9113 §8.3.1). http1::build_upstream_request fills it for a client's
// request; Ferry's own requests (the mesh prober's) use the appenders directly.
//
// Ownership: the request's scratch (worker/request_scratch.h) owns it; the views it hands out live
// until the next clear(). Worker thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace ferry::proxy::http {

struct OutboundRequest {
  struct Span {
    uint32_t off = 0, len = 0;
  };
  struct Field {
    Span name, value;
    // Connection-specific in HTTP/2 (Host, which :authority states, Transfer-Encoding,
    // Connection, Upgrade): written on HTTP/1.1 only.
    bool h1_only = false;
  };

  std::string wire;  // "METHOD path HTTP/1.1\r\n" fields "\r\n"
  Span method, path, authority;
  std::vector<Field> fields;
  Framing framing = Framing::none;  // of the body that follows (content_length or chunked)
  uint64_t content_length = 0;

  // The request line (origin-form `path`; "/" is put before an empty one or a bare query).
  void request_line(std::string_view m, std::string_view p) {
    method = append(m);
    wire += ' ';
    const auto off = static_cast<uint32_t>(wire.size());
    if (p.empty() || p[0] == '?') wire += '/';
    wire += p;
    path = {off, static_cast<uint32_t>(wire.size() - off)};
    wire += " HTTP/1.1\r\n";
  }
  // One field line; Host also becomes the authority. The line is sized once and copied in
  // (this runs for every field of every forwarded request).
  void add_field(std::string_view name, std::string_view value, bool h1_only = false) {
    const size_t off = wire.size();
    wire.resize(off + name.size() + value.size() + 4);
    char* p = std::copy(name.begin(), name.end(), wire.data() + off);
    *p++ = ':', *p++ = ' ';
    p = std::copy(value.begin(), value.end(), p);
    *p++ = '\r', *p = '\n';
    const auto at = static_cast<uint32_t>(off);
    const auto nlen = static_cast<uint32_t>(name.size());
    fields.push_back({{at, nlen}, {at + nlen + 2, static_cast<uint32_t>(value.size())}, h1_only});
  }
  void add_host(std::string_view host) {
    add_field("Host", host, true);
    authority = fields.back().value;
  }
  // The blank line that ends the head.
  void end() { wire += "\r\n"; }

  std::string_view view(Span s) const { return std::string_view(wire).substr(s.off, s.len); }
  // The wire form without its final CRLF: more fields may follow it.
  std::string_view open_wire() const { return std::string_view(wire).substr(0, wire.size() - 2); }
  void clear() {
    wire.clear();
    fields.clear();
    method = path = authority = {};
    framing = Framing::none;
    content_length = 0;
  }

 private:
  Span append(std::string_view s) {
    Span sp{static_cast<uint32_t>(wire.size()), static_cast<uint32_t>(s.size())};
    wire += s;
    return sp;
  }
};

}  // namespace ferry::proxy::http
