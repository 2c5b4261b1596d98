#include "mesh/fetch.h"

#include "http/message.h"
#include "http/outbound.h"
#include "net/deadline.h"
#include "worker/context.h"

namespace ferry::proxy {

awaitable<FetchResult> fetch_from_peer(WorkerContext& w, const H2Upstreams::Target& t, std::string_view path,
                                       std::chrono::milliseconds connect_timeout,
                                       std::chrono::milliseconds answer_timeout, size_t max_body) {
  FetchResult out;
  std::unique_ptr<UpstreamConn> up;
  bool reused = false;
  if (co_await w.h2_upstreams().open(t, connect_timeout, std::chrono::seconds(30), up, reused)) co_return out;
  Deadline dl(w.io().get_executor(), [&up] { up->sock.cancel(); });
  dl.arm(answer_timeout);
  http::OutboundRequest req;
  req.request_line("GET", path);
  req.add_host("ferry-mesh");
  req.end();
  if (co_await up->send_head(req, {}, {}, true)) co_return out;
  http::ResponseHead head;
  const HeadRead hr = co_await up->read_head(head, "GET", dl, answer_timeout);
  if (hr.status != HeadRead::Status::complete) co_return out;
  if (head.status != 200) {
    out.status = head.status;
    co_return out;
  }
  if (head.framing != http::Framing::content_length || head.content_length > max_body) co_return out;
  up->buf.consume(head.head_size);
  while (up->buf.size() < head.content_length) {
    if (up->buf.space_size() == 0) up->buf.reserve(up->buf.size() * 2 + 4096);
    auto [ec, n] = co_await up->sock.async_read_some(asio::buffer(up->buf.space(), up->buf.space_size()), use_nothrow);
    if (ec || n == 0) co_return out;
    up->buf.commit(n);
  }
  out.body.assign(up->buf.data().substr(0, head.content_length));
  out.status = 200;
  co_return out;
}

}  // namespace ferry::proxy
