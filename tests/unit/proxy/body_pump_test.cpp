// http/body.h pump_body (and its steps, BodyPump) with the HTTP/1 body codec (http1/body.h)
// over in-memory streams: every framing in, raw or chunked out, trailers, batching of small
// chunks, the size cap, the tee, the source-end hook, and errors on both sides.
#include <catch2/catch.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <memory>
#include <string>
#include <vector>

#include "http1/body.h"

using namespace ferry::proxy;

namespace {

// A stream end in memory: reads give `input` in pieces of at most `piece` bytes, then EOF
// (or a reset when `reset_at_end`); writes are recorded, one entry per write call.
struct MemoryPipe final : PipeEnd {
  asio::io_context& io;
  std::string input;
  size_t piece = 1 << 20;
  bool reset_at_end = false;
  bool fail_writes = false;
  std::vector<std::string> writes;
  MemoryPipe(asio::io_context& io, std::string in, size_t piece) : io(io), input(std::move(in)), piece(piece) {}
  void read_some(asio::mutable_buffer b, Handler h) override {
    const size_t n = std::min({b.size(), piece, input.size()});
    std::copy_n(input.data(), n, static_cast<char*>(b.data()));
    input.erase(0, n);
    std::error_code ec;
    if (n == 0) ec = reset_at_end ? std::error_code(asio::error::connection_reset) : std::error_code(asio::error::eof);
    asio::post(io, [h = std::move(h), ec, n] { h(ec, n); });
  }
  void write_some(asio::const_buffer b, Handler h) override {
    if (fail_writes) return asio::post(io, [h = std::move(h)] { h(asio::error::broken_pipe, 0); });
    writes.emplace_back(static_cast<const char*>(b.data()), b.size());
    const size_t n = b.size();
    asio::post(io, [h = std::move(h), n] { h({}, n); });
  }
  void cancel() override {}
  std::string written() const {
    std::string s;
    for (auto& w : writes) s += w;
    return s;
  }
};

struct Run {
  asio::io_context io;
  MemoryPipe* in = nullptr;
  MemoryPipe* out = nullptr;
  Stream src_stream, dst_stream;
  Buffer buf{4096};
  Deadline dl{io.get_executor(), [] {}};
  std::string trailers_seen;
  Run(std::string input, size_t piece = 1 << 20)
      : src_stream(io.get_executor(), make(in, std::move(input), piece)), dst_stream(io.get_executor(), make(out, "", 1)) {}
  std::unique_ptr<PipeEnd> make(MemoryPipe*& p, std::string s, size_t piece) {
    auto u = std::make_unique<MemoryPipe>(io, std::move(s), piece);
    p = u.get();
    return u;
  }
  http::BodyResult pump(http::Framing f, uint64_t len, bool chunk_out, http::PumpOptions o = {},
                        const std::string* ext_trailers = nullptr) {
    http::BodyResult r;
    http1::StreamBodySource src(src_stream, buf, f, len, dl, std::chrono::seconds(5), 0, ext_trailers);
    http1::StreamBodySink sink(dst_stream, chunk_out, dl, std::chrono::seconds(5));
    asio::co_spawn(io, http::pump_body(src, sink, o), [&r](std::exception_ptr, http::BodyResult br) { r = br; });
    io.run();
    return r;
  }
};

}  // namespace

TEST_CASE("pump: content-length in, raw out, in pieces; the rest stays in the buffer", "[body]") {
  Run t("hello world!NEXT", 5);
  auto r = t.pump(http::Framing::content_length, 12, false);
  CHECK(r.ok());
  CHECK(r.bytes == 12);
  CHECK(t.out->written() == "hello world!");
  CHECK(t.buf.data() == "NEX");  // read with the body's end, not consumed: the next message's
}

TEST_CASE("pump: chunked in, chunked out keeps allowed trailers and batches small chunks", "[body]") {
  Run t("3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nGrpc-Status: 0\r\nContent-Length: 9\r\n\r\n");
  auto r = t.pump(http::Framing::chunked, 0, true);
  CHECK(r.ok());
  CHECK(r.bytes == 5);
  CHECK(t.out->written() == "3\r\nabc\r\n2\r\nde\r\n0\r\nGrpc-Status: 0\r\n\r\n");
  CHECK(t.out->writes.size() == 1);  // all of it was here: one write
}

TEST_CASE("pump: chunked in, raw out (an HTTP/2 stream or an HTTP/1.0 client)", "[body]") {
  Run t("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 4);
  auto r = t.pump(http::Framing::chunked, 0, false);
  CHECK(r.ok());
  CHECK(t.out->written() == "abcde");
}

TEST_CASE("pump: until-close in, chunked out, with the trailers an HTTP/2 upstream sent", "[body]") {
  std::string trailers = "grpc-status: 0\r\ntransfer-encoding: x\r\n";
  Run t("raw bytes", 4);
  auto r = t.pump(http::Framing::until_close, 0, true, {}, &trailers);
  CHECK(r.ok());
  CHECK(r.bytes == 9);
  CHECK(t.out->written() == "4\r\nraw \r\n4\r\nbyte\r\n1\r\ns\r\n0\r\ngrpc-status: 0\r\n\r\n");
}

TEST_CASE("pump: the cap, the tee and the source-end hook", "[body]") {
  SECTION("over the cap: too_large, nothing more written") {
    Run t("0123456789", 4);
    auto r = t.pump(http::Framing::content_length, 10, false, {6});
    CHECK(r.error == http::BodyResult::Error::too_large);
    CHECK(t.out->written() == "0123");
  }
  SECTION("the tee gets the raw payload of a chunked body; the hook runs before the last write") {
    Run t("3\r\nabc\r\n0\r\n\r\n");
    http::BodyTee tee;
    tee.max = 100;
    size_t writes_at_end = 99;
    MemoryPipe* out = t.out;
    auto r = t.pump(http::Framing::chunked, 0, true, {0, &tee, [&] { writes_at_end = out->writes.size(); }});
    CHECK(r.ok());
    CHECK(tee.data == "abc");
    CHECK(writes_at_end == 0);
  }
}

TEST_CASE("pump: errors on each side", "[body]") {
  SECTION("a source that ends early is a read error") {
    Run t("abc");
    CHECK(t.pump(http::Framing::content_length, 10, false).error == http::BodyResult::Error::read);
  }
  SECTION("a reset ends an until-close body with an error, not as complete") {
    Run t("abc");
    t.in->reset_at_end = true;
    CHECK(t.pump(http::Framing::until_close, 0, false).error == http::BodyResult::Error::read);
  }
  SECTION("broken chunked framing is malformed") {
    Run t("zz\r\nabc\r\n");
    CHECK(t.pump(http::Framing::chunked, 0, false).error == http::BodyResult::Error::malformed);
  }
  SECTION("a sink that cannot write") {
    Run t("abc");
    t.out->fail_writes = true;
    CHECK(t.pump(http::Framing::content_length, 3, false).error == http::BodyResult::Error::write);
  }
}

TEST_CASE("poll: buffered body bytes are given without waiting; missing ones say wait", "[body]") {
  using E = http::BodyResult::Error;
  auto put = [](Buffer& b, std::string_view s) {
    std::copy(s.begin(), s.end(), b.space());
    b.commit(s.size());
  };
  std::string_view data;
  bool end = false;
  E e = E::read;
  SECTION("content-length, all here") {
    Run t("", 1);
    put(t.buf, "hello world");
    http1::StreamBodySource src(t.src_stream, t.buf, http::Framing::content_length, 8, t.dl, std::chrono::seconds(5));
    REQUIRE(src.poll(data, end, e));
    CHECK(e == E::none);
    CHECK(data == "hello wo");
    CHECK(end);
    REQUIRE(src.poll(data, end, e));  // the end again, nothing more
    CHECK(data.empty());
    CHECK(end);
  }
  SECTION("chunked, a chunk cut short: its first bytes, then wait") {
    Run t("", 1);
    put(t.buf, "5\r\nhel");
    http1::StreamBodySource src(t.src_stream, t.buf, http::Framing::chunked, 0, t.dl, std::chrono::seconds(5));
    REQUIRE(src.poll(data, end, e));
    CHECK(e == E::none);
    CHECK(data == "hel");
    CHECK_FALSE(end);
    CHECK_FALSE(src.poll(data, end, e));
    CHECK(data.empty());
  }
  SECTION("nothing buffered: wait, and the awaited next() still reads it all") {
    Run t("abc", 2);
    {
      http1::StreamBodySource src(t.src_stream, t.buf, http::Framing::content_length, 3, t.dl, std::chrono::seconds(5));
      CHECK_FALSE(src.poll(data, end, e));
    }
    auto r = t.pump(http::Framing::content_length, 3, false);
    CHECK(r.ok());
    CHECK(t.out->written() == "abc");
  }
}

namespace {
// A sink that takes spans without waiting (as an HTTP/2 stream's response queue does) unless
// `wait_writes`: then each write must be awaited.
struct QueueSink final : http::BodySink {
  bool wait_writes = false;
  std::string got;
  int awaited = 0;
  bool finished = false;
  bool poll_write(std::string_view data, bool, http::BodyResult::Error& e) override {
    if (wait_writes) return false;
    got.append(data);
    e = http::BodyResult::Error::none;
    return true;
  }
  bool poll_finish(std::string_view, http::BodyResult::Error& e) override {
    finished = true;
    e = http::BodyResult::Error::none;
    return true;
  }
  awaitable<http::BodyResult::Error> write(std::string_view data, bool) override {
    ++awaited;
    got.append(data);
    co_return http::BodyResult::Error::none;
  }
  awaitable<http::BodyResult::Error> finish(std::string_view) override {
    finished = true;
    co_return http::BodyResult::Error::none;
  }
};
}  // namespace

TEST_CASE("BodyPump: a body that is here moves in run(); one that must wait goes on in rest()", "[body]") {
  Run t("", 1);
  const std::string_view body = "hello world";
  std::copy(body.begin(), body.end(), t.buf.space());
  t.buf.commit(body.size());
  QueueSink sink;
  SECTION("all buffered, a sink that need not wait: done without a coroutine") {
    http1::StreamBodySource src(t.src_stream, t.buf, http::Framing::content_length, 11, t.dl, std::chrono::seconds(5));
    http::BodyPump pump(src, sink);
    REQUIRE(pump.run());
    CHECK(pump.result().ok());
    CHECK(pump.result().bytes == 11);
    CHECK(sink.got == "hello world");
    CHECK(sink.finished);
    CHECK(sink.awaited == 0);
  }
  SECTION("a sink that must wait: run() stops at the write, rest() finishes it with the same span") {
    sink.wait_writes = true;
    http1::StreamBodySource src(t.src_stream, t.buf, http::Framing::content_length, 11, t.dl, std::chrono::seconds(5));
    http::BodyPump pump(src, sink);
    REQUIRE_FALSE(pump.run());
    CHECK(sink.got.empty());
    bool done = false;
    asio::co_spawn(t.io, pump.rest(), [&](std::exception_ptr) { done = true; });
    t.io.run();
    REQUIRE(done);
    CHECK(pump.result().ok());
    CHECK(pump.result().bytes == 11);
    CHECK(sink.got == "hello world");
    CHECK(sink.awaited == 1);
    CHECK(sink.finished);
  }
  SECTION("over the cap in run(): too_large, nothing written") {
    http1::StreamBodySource src(t.src_stream, t.buf, http::Framing::content_length, 11, t.dl, std::chrono::seconds(5));
    http::BodyPump pump(src, sink, {5});
    REQUIRE(pump.run());
    CHECK(pump.result().error == http::BodyResult::Error::too_large);
    CHECK(sink.got.empty());
  }
}
