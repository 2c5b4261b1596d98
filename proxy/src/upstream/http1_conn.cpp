#include "upstream/http1_conn.h"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

#include "http1/chunked.h"
#include "http1/response_parser.h"

namespace ferry::proxy {

void Http1Upstream::prepare(const http::OutboundRequest& head, std::span<const http::Header> extra,
                            std::string_view body, bool whole) {
  // The head (its blank line after the extra fields, if any: else the head's own), then the
  // body, coded when the head says chunked and the whole body is here.
  extra_.clear();
  for (const auto& h : extra) extra_.append(h.name).append(": ").append(h.value).append("\r\n");
  if (!extra.empty()) extra_ += "\r\n";
  const std::string_view first = extra.empty() ? std::string_view(head.wire) : head.open_wire();
  const bool coded = whole && head.framing == http::Framing::chunked;
  size_t head_end = extra_.size();
  if (coded && !body.empty()) http1::append_chunk_header(extra_, body.size());
  std::string_view tail = !coded ? std::string_view() : body.empty() ? http1::kLastChunk : "\r\n0\r\n\r\n";
  std::string_view ex(extra_);
  // Only the parts there are: each buffer costs the write a step.
  nbufs_ = 0;
  for (std::string_view part : {first, ex.substr(0, head_end), ex.substr(head_end), body, tail})
    if (!part.empty()) bufs_[nbufs_++] = asio::buffer(part);
  sent_ = 0;
}

bool Http1Upstream::poll_send_head(const http::OutboundRequest& head, std::span<const http::Header> extra,
                                   std::string_view body, bool whole, std::error_code& ec) {
  prepare(head, extra, body, whole);
  prepared_ = true;
  const std::span<const asio::const_buffer> bufs(bufs_.data(), nbufs_);
  sent_ = sock.try_write(bufs, ec);
  if (ec == asio::error::would_block) ec.clear();
  else if (ec) return true;  // failed
  if (sent_ < asio::buffer_size(bufs)) return false;  // send_head() writes the rest
  prepared_ = false;
  return true;
}

awaitable<std::error_code> Http1Upstream::send_head(const http::OutboundRequest& head,
                                                    std::span<const http::Header> extra, std::string_view body,
                                                    bool whole) {
  if (!std::exchange(prepared_, false)) prepare(head, extra, body, whole);
  // Past what poll_send_head() wrote (emptied buffers write nothing).
  const std::span<asio::const_buffer> bufs(bufs_.data(), nbufs_);
  Stream::advance(bufs, sent_);
  auto [ec, n] = co_await asio::async_write(sock, std::span<const asio::const_buffer>(bufs), use_nothrow);
  co_return ec;
}

awaitable<HeadRead> Http1Upstream::read_head(http::ResponseHead& resp, std::string_view method, Deadline& dl,
                                             std::chrono::milliseconds timeout) {
  const http1::Limits limits{64 * 1024, 64 * 1024, 200};
  HeadRead r;
  sock.watch_hangup();  // pooled and reused: read_done may mark it (once per connection)
  for (;;) {
    auto p = http1::parse_response(buf.data(), limits, method, resp);
    if (p.status == http1::ParseStatus::complete) {
      r.status = HeadRead::Status::complete;
      co_return r;
    }
    if (p.status == http1::ParseStatus::error) {
      r.status = HeadRead::Status::invalid;
      r.got_bytes = true;
      co_return r;
    }
    if (buf.space_size() == 0) buf.reserve(limits.max_header_size + 1024);
    dl.arm(timeout);
    const size_t asked = buf.space_size();
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf.space(), asked), use_nothrow);
    sock.read_done(n, asked);  // the request was sent whole before: no write runs meanwhile
    if (ec || n == 0) {
      r.status = dl.expired() ? HeadRead::Status::timeout : HeadRead::Status::closed;
      r.refused = ec == asio::error::connection_refused;
      co_return r;
    }
    r.got_bytes = true;
    buf.commit(n);
  }
}

}  // namespace ferry::proxy
