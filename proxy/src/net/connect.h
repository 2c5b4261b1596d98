// Opening upstream connections and reading the downstream PROXY protocol header.
// Worker thread coroutines; errors are returned, never thrown.
#pragma once

#include <string>

#include <sys/socket.h>

#include <chrono>
#include <system_error>

#include "ferry/configlang/config.h"
#include "net/asio_util.h"
#include "net/buffer.h"
#include "net/deadline.h"
#include "net/sockaddr.h"

namespace ferry::proxy {

// Connects `sock` (closed or fresh) to `ep` within `timeout` (0 = none); sets TCP_NODELAY.
// Errors: the connect error, or asio::error::timed_out.
awaitable<std::error_code> connect_with_timeout(tcp::socket& sock, const tcp::endpoint& ep,
                                                std::chrono::milliseconds timeout);

// Addresses of a downstream connection: the real peer, or what a PROXY header claimed.
struct PeerInfo {
  SockAddr client{};  // original client
  SockAddr local{};   // address the client connected to
  uint16_t local_port = 0;
};

// Fills `info` from the socket itself.
void peer_from_socket(tcp::socket& sock, PeerInfo& info);

// Reads a PROXY v1/v2 header from `sock` into `buf` (bytes after it stay in `buf`) and
// overrides `info` with its addresses (LOCAL/UNKNOWN keep the real ones). `dl` must be armed
// by the caller and cancel `sock` on expiry. Returns false when the header is malformed, the
// peer closed, or the deadline passed: the caller closes the connection.
// `ferry_tlv`: if not null, receives the value of Ferry's v2 TLV (empty when absent).
awaitable<bool> read_proxy_header(tcp::socket& sock, Buffer& buf, PeerInfo& info, std::string* ferry_tlv = nullptr);

// Writes a PROXY header for `info` when `pp` asks for one.
awaitable<std::error_code> write_proxy_header(tcp::socket& sock, config::ProxyProtocol pp, const PeerInfo& info);

}  // namespace ferry::proxy
