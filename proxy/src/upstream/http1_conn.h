// An HTTP/1.1 connection to a server (TCP, or TLS over it), one request at a time, kept in
// the worker's pool between requests (upstream/pool.h). The HTTP/1 implementation of
// upstream/conn.h: the head is written as its wire form, response heads are parsed in `buf`.
//
// Ownership and thread: as UpstreamConn.
#pragma once

#include <array>

#include "upstream/conn.h"

namespace ferry::proxy {

class Http1Upstream final : public UpstreamConn {
 public:
  Http1Upstream(asio::any_io_executor ex, BlockPool* blocks) : UpstreamConn(Stream(std::move(ex)), blocks) {}

  awaitable<std::error_code> send_head(const http::OutboundRequest& head, std::span<const http::Header> extra,
                                       std::string_view body, bool whole) override;
  bool poll_send_head(const http::OutboundRequest& head, std::span<const http::Header> extra, std::string_view body,
                      bool whole, std::error_code& ec) override;
  bool chunked_on_wire() const override { return true; }
  awaitable<HeadRead> read_head(http::ResponseHead& resp, std::string_view method, Deadline& dl,
                                std::chrono::milliseconds timeout) override;
  bool poolable() const override { return true; }

 private:
  // Lays out the head being sent in bufs_ (one gather write; a GET is two buffers).
  void prepare(const http::OutboundRequest& head, std::span<const http::Header> extra, std::string_view body,
               bool whole);

  std::string extra_;  // the extra field lines and chunk framing of the head being sent
  std::array<asio::const_buffer, 5> bufs_;  // views of the head, extra_ and the body
  size_t nbufs_ = 0;
  size_t sent_ = 0;        // bytes of bufs_ that poll_send_head() wrote
  bool prepared_ = false;  // bufs_ hold the head poll_send_head() left for send_head()
};

}  // namespace ferry::proxy
