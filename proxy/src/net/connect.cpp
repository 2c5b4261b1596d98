#include "net/connect.h"

#include <arpa/inet.h>

#include <cstring>

#include "log/log.h"
#include "net/cidr.h"
#include "net/proxy_protocol.h"
#include "runtime/server_state.h"

namespace ferry::proxy {

awaitable<std::error_code> connect_with_timeout(tcp::socket& sock, const tcp::endpoint& ep,
                                                std::chrono::milliseconds timeout) {
  Deadline dl(co_await asio::this_coro::executor, [&sock] {
    std::error_code ignored;
    sock.cancel(ignored);
  });
  dl.arm(timeout);
  auto [ec] = co_await sock.async_connect(ep, use_nothrow);
  if (ec && dl.expired()) ec = asio::error::timed_out;
  if (!ec) {
    std::error_code ignored;
    sock.set_option(tcp::no_delay(true), ignored);
  }
  co_return ec;
}

void log_refused(const std::string& line) {
  static thread_local int64_t last_logged = 0;
  if (int64_t now = now_ms(); now - last_logged >= 1000) {
    last_logged = now;
    log(config::LogLevel::warning, line);
  }
}

bool proxy_sender_allowed(const CidrSet& senders, const PeerInfo& info, const std::string& frontend) {
  if (senders.contains(info.socket)) return true;
  log_refused("frontend " + frontend + ": refused a connection from " + format_ip(&info.socket) +
              " (not in proxy-senders): it may not send a PROXY header");
  return false;
}

awaitable<bool> read_proxy_header(tcp::socket& sock, Buffer& buf, PeerInfo& info, std::string* ferry_tlv) {
  for (;;) {
    if (!buf.empty()) {
      pp::Endpoints ep;
      auto r = pp::parse(buf.data(), ep);
      if (r.status == pp::Status::error) co_return false;
      if (r.status == pp::Status::complete) {
        if (ferry_tlv) ferry_tlv->assign(ep.ferry);
        buf.consume(r.consumed);
        if (!ep.local) {
          info.client = ep.src;
          info.local = ep.dst;
          info.local_port = port_of(info.local);  // X-Forwarded-Port: the original destination's
        }
        co_return true;
      }
    }
    if (buf.space_size() == 0) co_return false;
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf.space(), buf.space_size()), use_nothrow);
    if (ec || n == 0) co_return false;
    buf.commit(n);
  }
}

awaitable<std::error_code> write_proxy_header(tcp::socket& sock, config::ProxyProtocol pp, const PeerInfo& info) {
  if (pp == config::ProxyProtocol::none) co_return std::error_code{};
  std::string h = pp == config::ProxyProtocol::v1 ? pp::build_v1(info.client, info.local)
                                                  : pp::build_v2(info.client, info.local);
  auto [ec, n] = co_await asio::async_write(sock, asio::buffer(h), use_nothrow);
  co_return ec;
}

}  // namespace ferry::proxy
