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
  // The connection's real source (getpeername), never replaced by a PROXY header: what trust
  // decisions (proxy-senders, trust-forwarded, the backhaul's allowed-ips) are made on.
  SockAddr socket{};
};

class CidrSet;

// The sender check of an `accept-proxy` bind: whether the real source `info.socket` is in
// `senders` (the frontend's `proxy-senders`). When it is not, logs a warning naming
// `frontend` and the source, at most one line per second per worker thread (the caller
// counts and closes). Worker thread.
bool proxy_sender_allowed(const CidrSet& senders, const PeerInfo& info, const std::string& frontend);

// A warning about a refused peer, at most one line per second per worker thread (a flood of
// refused connections cannot flood the log). Worker thread.
void log_refused(const std::string& line);

// Reads a PROXY v1/v2 header from `sock` into `buf` (bytes after it stay in `buf`) and
// overrides `info` with its addresses (LOCAL/UNKNOWN keep the real ones). `dl` must be armed
// by the caller and cancel `sock` on expiry. Returns false when the header is malformed, the
// peer closed, or the deadline passed: the caller closes the connection.
// `ferry_tlv`: if not null, receives the value of Ferry's v2 TLV (empty when absent).
awaitable<bool> read_proxy_header(tcp::socket& sock, Buffer& buf, PeerInfo& info, std::string* ferry_tlv = nullptr);

// Writes a PROXY header for `info` when `pp` asks for one.
awaitable<std::error_code> write_proxy_header(tcp::socket& sock, config::ProxyProtocol pp, const PeerInfo& info);

}  // namespace ferry::proxy
