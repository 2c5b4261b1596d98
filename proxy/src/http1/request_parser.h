// Strict HTTP/1.1 request-head parser (RFC 9112 §2-§3, §6), zero-copy: the downstream
// direction of the HTTP/1 codec. Pure function, any thread, no exceptions; allocation only
// grows the caller-owned header vector. The string_views in the head point into `buf`.
#pragma once

#include <string_view>

#include "http/message.h"
#include "http1/parse_result.h"

namespace ferry::proxy::http1 {

// Parses the request head at the start of `buf` into `out` (cleared first).
// incomplete: need more bytes (the limits are enforced on partial input too, so a caller
// whose buffer is full without a complete head always gets an error, never incomplete).
// Refuses CONNECT (501), an h2 preface (505), a Host that disagrees with an absolute-form
// target (400); `Upgrade: h2c` never sets `upgrade`.
ParseResult parse_request(std::string_view buf, const Limits& limits, http::RequestHead& out);

}  // namespace ferry::proxy::http1
