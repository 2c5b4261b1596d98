// PROXY protocol v1 (text) and v2 (binary) — parse on `accept-proxy` binds, build for
// `send-proxy` / `send-proxy-v2` servers. https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
//
// Pure functions, any thread, no exceptions, no allocation in parse.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "net/sockaddr.h"

namespace ferry::proxy::pp {

struct Endpoints {
  bool local = false;          // v2 LOCAL command / v1 "UNKNOWN": keep the real peer address
  SockAddr src{};  // original client
  SockAddr dst{};  // original destination
};

enum class Status { complete, incomplete, error };

struct Result {
  Status status = Status::incomplete;
  size_t consumed = 0;          // header length on complete
  const char* reason = "";      // on error
};

// Parses a v1 or v2 header at the start of `buf` (auto-detected by signature). A buffer that
// cannot start a valid header (wrong signature) is an error as soon as that is known.
// v1 lines are at most 107 bytes; v2 at most 16 + 65535 (TLVs skipped).
Result parse(std::string_view buf, Endpoints& out);

// Builds a header describing the connection src -> dst. Mixed families -> "UNKNOWN"/LOCAL.
std::string build_v1(const SockAddr& src, const SockAddr& dst);
std::string build_v2(const SockAddr& src, const SockAddr& dst);

}  // namespace ferry::proxy::pp
