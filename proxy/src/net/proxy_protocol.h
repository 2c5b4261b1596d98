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
  std::string_view ferry;  // v2: the value of Ferry's TLV (kFerryTlv), a view into the buffer
};

// Ferry's TLV (PP2_TYPE_MIN_CUSTOM): on the mesh backhaul, names the app and the instance a
// raw TCP connection is for: "ferry/1 app=NAME instance=NAME".
inline constexpr unsigned char kFerryTlv = 0xE0;
std::string ferry_tlv(std::string_view app, std::string_view instance);
// Parses a ferry_tlv() value; false if it is not version 1 or lacks either name.
bool parse_ferry_tlv(std::string_view v, std::string& app, std::string& instance);

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
// `ferry_tlv_value`: appended as a kFerryTlv TLV when not empty (PROXY command only).
std::string build_v2(const SockAddr& src, const SockAddr& dst, std::string_view ferry_tlv_value = {});

}  // namespace ferry::proxy::pp
