// Protocol-neutral checks over field names, methods and request targets (RFC 9110, RFC 9112
// §3.2, RFC 3986 §3.2): used by the HTTP/1 codec, the HTTP/2 mapping and the rewrite towards
// upstreams. Pure functions, any thread, no allocation, no exceptions.
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace ferry::proxy::http {

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

// A Host / :authority value without its port: "Example.com:8080" -> "Example.com",
// "[::1]:80" -> "[::1]" (brackets kept: the result is still a valid authority).
std::string_view host_without_port(std::string_view host);

// True for the hop-by-hop fields that a proxy must not forward (RFC 9110 §7.6.1):
// Connection, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer.
// Case-insensitive.
bool is_hop_by_hop(std::string_view name);

// Whether `name` is listed in any Connection header value of `headers` (case-insensitive),
// i.e. also hop-by-hop for this message.
bool listed_in_connection(const std::vector<Header>& headers, std::string_view name);

// The names a message's Connection fields list (RFC 9110 §7.6.1), gathered once per message
// so that each field is checked without rescanning the head. Only lists that name more than
// the hop-by-hop fields (which every caller drops anyway) are kept, so the common
// "Connection: keep-alive" costs nothing per field. Holds views into the headers it was made
// from.
class ConnectionTokens {
 public:
  explicit ConnectionTokens(const std::vector<Header>& headers);
  // Whether `name`, a field name that is not hop-by-hop, is listed.
  bool lists(std::string_view name) const;

 private:
  std::array<std::string_view, 8> values_;
  size_t n_ = 0;
  bool overflow_ = false;  // more such Connection fields than slots: lists() scans the head
  const std::vector<Header>* headers_;
};

// Request methods that are idempotent (RFC 9110 §9.2.2): GET HEAD OPTIONS TRACE PUT DELETE.
bool is_idempotent(std::string_view method);

// An authority as Host, :authority or an absolute-form target may state it (RFC 3986 §3.2,
// RFC 9112 §3.2.2): host [ ":" port ], where host is a reg-name (unreserved, sub-delims,
// complete pct-encodings) or a bracketed IPv6 literal, and port is 1-5 digits up to 65535.
// No userinfo ("@"), no path, not empty.
bool valid_authority(std::string_view authority);

// Checks a request-target against RFC 9112 §3.2 for `method`: origin-form ("/" path with
// pchar, "/", "?" and complete pct-encodings only; no fragment, no raw non-ASCII),
// absolute-form (http or https, a valid_authority, then an origin-form tail), or "*" for
// OPTIONS. authority-form (CONNECT) is not accepted here. Returns nullptr when valid, else the
// reason (answer 400); sets `path` (origin-form part) and `authority` (absolute-form) as in
// RequestHead. Used by the HTTP/1 parser and for HTTP/2's :path.
const char* check_request_target(std::string_view method, std::string_view target, std::string_view& path,
                                 std::string_view& authority);

}  // namespace ferry::proxy::http
