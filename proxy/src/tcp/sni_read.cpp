#include "tcp/sni_read.h"

namespace ferry::proxy {

awaitable<tls::ClientHelloInfo> read_client_hello(tcp::socket& sock, Buffer& buf) {
  // The bound must fit the buffer so that "buffer full" always means "too large".
  buf.reserve(tls::kMaxClientHelloBytes);
  tls::ClientHelloInfo hello;
  for (;;) {
    if (buf.size() >= hello.want) {
      hello = tls::parse_client_hello(buf.data());
      if (hello.status != tls::HelloStatus::incomplete) co_return hello;
    }
    if (buf.size() >= tls::kMaxClientHelloBytes || buf.space_size() == 0) {
      tls::ClientHelloInfo big;
      big.status = tls::HelloStatus::error;
      big.reason = "no complete ClientHello within 16 KiB";
      co_return big;
    }
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf.space(), buf.space_size()), use_nothrow);
    if (ec || n == 0) {
      hello.status = tls::HelloStatus::incomplete;
      hello.reason = ec ? "read failed" : "peer closed";
      co_return hello;
    }
    buf.commit(n);
  }
}

}  // namespace ferry::proxy
