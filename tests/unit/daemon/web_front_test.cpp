// The admin front's pure pieces (web/src/front/): connection accounting and eviction, request
// head framing, the chunked decoder, the buffered POCO exchange; then the AdminServer over raw
// sockets: keep-alive, pipelining, chunked bodies, Expect, framing errors and the per-address cap.
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include "ferry/web/admin_server.h"
#include "front/buffered_exchange.h"
#include "front/conn_table.h"
#include "front/request_head.h"

using namespace ferry::web::front;

TEST_CASE("client_key: IPv4 as is, v4-mapped as IPv4, IPv6 per /64", "[web][front]") {
  CHECK(client_key(asio::ip::make_address("192.0.2.7")) == "192.0.2.7");
  CHECK(client_key(asio::ip::make_address("::ffff:192.0.2.7")) == "192.0.2.7");
  CHECK(client_key(asio::ip::make_address("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64");
  CHECK(client_key(asio::ip::make_address("2001:db8:1:2:ffff::9")) == "2001:db8:1:2::/64");
  CHECK(client_key(asio::ip::make_address("2001:db8:1:3::1")) == "2001:db8:1:3::/64");
}

TEST_CASE("ConnTable: per-client cap closes that client's longest-waiting connection", "[web][front]") {
  ConnTable t(100, 3);
  ConnTable::Id a1 = t.add("a"), a2 = t.add("a"), a3 = t.add("a");
  ConnTable::Id b1 = t.add("b");
  CHECK(t.count("a") == 3);
  ConnTable::Admission ad = t.admit("a");
  CHECK(ad.accept);
  CHECK(ad.limit == ConnTable::Limit::per_client);
  REQUIRE(ad.evict);
  CHECK(*ad.evict == a1);
  CHECK(t.count("a") == 2);  // the victim is already out of the table
  t.add("a");
  // a2 is busy in a handler: a3 is the longest waiting now.
  t.set_waiting(a2, false);
  ad = t.admit("a");
  REQUIRE(ad.evict);
  CHECK(*ad.evict == a3);
  t.add("a");
  // Becoming waiting again makes a connection the newest.
  t.set_waiting(a2, true);
  ad = t.admit("a");
  REQUIRE(ad.evict);
  CHECK(*ad.evict != a2);
  CHECK(t.admit("b").limit == ConnTable::Limit::none);
  CHECK(t.count("b") == 1);
  (void)b1;
}

TEST_CASE("ConnTable: refuses only when every candidate is in a handler", "[web][front]") {
  ConnTable t(2, 10);
  ConnTable::Id x = t.add("x"), y = t.add("y");
  t.set_waiting(x, false);
  t.set_waiting(y, false);
  ConnTable::Admission ad = t.admit("z");
  CHECK_FALSE(ad.accept);
  CHECK(ad.limit == ConnTable::Limit::global);
  CHECK(t.size() == 2);
  t.set_waiting(y, true);
  ad = t.admit("z");
  CHECK(ad.accept);
  REQUIRE(ad.evict);
  CHECK(*ad.evict == y);
  CHECK(t.size() == 1);
  t.remove(y);  // already gone: ignored
  t.remove(x);
  CHECK(t.size() == 0);
  CHECK(t.count("x") == 0);
}

TEST_CASE("scan_head finds the end and refuses bare CR/LF, controls and obs-fold", "[web][front]") {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT";
  HeadScan s = scan_head(head, 0);
  CHECK(s.state == HeadScan::complete);
  CHECK(s.end == head.size() - 4);
  // Byte by byte, as a slow client sends it.
  size_t scanned = 0;
  for (size_t n = 1; n <= head.size() - 4; ++n) {
    s = scan_head(std::string_view(head).substr(0, n), scanned);
    scanned = s.scanned;
    if (n < head.size() - 4) {
      REQUIRE(s.state == HeadScan::incomplete);
    }
  }
  CHECK(s.state == HeadScan::complete);
  CHECK(scan_head("GET / HTTP/1.1\nHost: a\r\n\r\n", 0).state == HeadScan::bad);
  CHECK(scan_head("GET / HTTP/1.1\rHost: a\r\n\r\n", 0).state == HeadScan::bad);
  CHECK(scan_head(std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26), 0).state == HeadScan::bad);
  CHECK(scan_head("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 0).state == HeadScan::bad);
  CHECK(scan_head("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 0).state == HeadScan::bad);
  CHECK(scan_head("GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n", 0).state == HeadScan::complete);
  CHECK(skip_leading_crlf("\r\n\r\nGET") == 4);
  CHECK(skip_leading_crlf("\r") == 0);
}

namespace {

std::optional<HeadError> parse(const std::string& head, Framing& f, uint64_t max_body = 1000) {
  Poco::Net::HTTPRequest req;
  return parse_head(head, req, f, max_body);
}

}  // namespace

TEST_CASE("parse_head: framing rules", "[web][front]") {
  Framing f;
  CHECK_FALSE(parse("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", f));
  CHECK(f.length == 12);
  CHECK_FALSE(f.chunked);
  CHECK_FALSE(parse("POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", f));
  CHECK(f.chunked);
  CHECK_FALSE(parse("POST /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", f));
  CHECK(f.expect_continue);
  CHECK_FALSE(parse("GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", f));
  CHECK_FALSE(f.expect_continue);  // nothing to continue with

  auto status = [](const std::string& head) {
    Framing f2;
    auto e = parse(head, f2);
    return e ? e->status : 0;
  };
  CHECK(status("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n") == 413);
  CHECK(status("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 501);
  CHECK(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\n: a\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nNoColon\r\n\r\n") == 400);
  CHECK(status("GET  / HTTP/1.1\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/2.0\r\n\r\n") == 505);
  CHECK(status("GET / HTTPS/1.1\r\n\r\n") == 400);
  CHECK(status("GET /\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nExpect: something\r\n\r\n") == 417);
  CHECK(status("GET /a?b HTTP/1.0\r\nX: y\r\n\r\n") == 0);
}

TEST_CASE("ChunkedDecoder: sizes, extensions, trailers, limits, byte by byte", "[web][front]") {
  const std::string body = "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
  {
    ChunkedDecoder d(1000);
    std::string out;
    size_t used = 0;
    CHECK(d.feed(body, used, out) == ChunkedDecoder::Result::done);
    CHECK(out == "Wikipedia in\r\n\r\nchunks.");
    CHECK(body.substr(used) == "NEXT");
  }
  {
    ChunkedDecoder d(1000);
    std::string out;
    size_t pos = 0;
    ChunkedDecoder::Result r = ChunkedDecoder::Result::more;
    while (r == ChunkedDecoder::Result::more) {
      size_t used = 0;
      r = d.feed(std::string_view(body).substr(pos, 1), used, out);
      pos += used;
    }
    CHECK(r == ChunkedDecoder::Result::done);
    CHECK(out == "Wikipedia in\r\n\r\nchunks.");
    CHECK(body.substr(pos) == "NEXT");
  }
  auto result = [](const std::string& in, uint64_t max = 1000) {
    ChunkedDecoder d(max);
    std::string out;
    size_t used = 0;
    return d.feed(in, used, out);
  };
  CHECK(result("5\r\nab") == ChunkedDecoder::Result::more);
  CHECK(result("x\r\n") == ChunkedDecoder::Result::bad);
  CHECK(result("5 x\r\nabcde\r\n0\r\n\r\n") == ChunkedDecoder::Result::bad);
  CHECK(result("5\nabcde\r\n0\r\n\r\n") == ChunkedDecoder::Result::bad);
  CHECK(result("5\r\nabcdeXY0\r\n\r\n") == ChunkedDecoder::Result::bad);
  CHECK(result("0\r\nX: 1\n\r\n") == ChunkedDecoder::Result::bad);
  CHECK(result("3e9\r\n", 1000) == ChunkedDecoder::Result::too_large);
  CHECK(result("ffffffffffffffffff\r\n") == ChunkedDecoder::Result::too_large);
  CHECK(result("200\r\n" + std::string(0x200, 'a') + "\r\n200\r\n", 1000) == ChunkedDecoder::Result::too_large);
  CHECK(result(std::string(2000, '0')) == ChunkedDecoder::Result::too_large);
}

TEST_CASE("error_response is a complete JSON answer", "[web][front]") {
  std::string r = error_response(408, "too \"slow\"", true, 0);
  CHECK(r.rfind("HTTP/1.1 408 ", 0) == 0);
  CHECK(r.find("Connection: Close\r\n") != std::string::npos);
  CHECK(r.find("Content-Type: application/json\r\n") != std::string::npos);
  const std::string body = R"({"error":"too \"slow\""})";
  CHECK(r.substr(r.size() - body.size() - 4) == "\r\n\r\n" + body);
  CHECK(r.find("Content-Length: " + std::to_string(body.size()) + "\r\n") != std::string::npos);
  CHECK(error_response(503, "busy", true, 1).find("Retry-After: 1\r\n") != std::string::npos);
}

namespace {

// A factory whose handler runs a lambda.
class LambdaFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  using Fn = std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;
  explicit LambdaFactory(Fn fn) : fn_(std::move(fn)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    struct H : Poco::Net::HTTPRequestHandler {
      Fn fn;
      void handleRequest(Poco::Net::HTTPServerRequest& q, Poco::Net::HTTPServerResponse& r) override { fn(q, r); }
    };
    auto* h = new H;
    h->fn = fn_;
    return h;
  }

 private:
  Fn fn_;
};

Reply run(const std::string& method, LambdaFactory::Fn fn, std::string body = "") {
  LambdaFactory f(std::move(fn));
  PendingRequest p;
  p.head.setMethod(method);
  p.head.setURI("/x");
  p.head.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
  p.body = std::move(body);
  p.client = Poco::Net::SocketAddress("192.0.2.9", 4321);
  p.keep_alive = true;
  return run_request(f, p);
}

}  // namespace

TEST_CASE("buffered exchange: body in, length, HEAD, chunked, close-delimited, exceptions", "[web][front]") {
  Reply r = run("POST", [](Poco::Net::HTTPServerRequest& q, Poco::Net::HTTPServerResponse& s) {
    std::string in((std::istreambuf_iterator<char>(q.stream())), std::istreambuf_iterator<char>());
    std::string out = in + " from " + q.clientAddress().host().toString();
    s.setContentLength(static_cast<std::streamsize>(out.size()));
    s.send() << out;
  }, "hello");
  CHECK(r.keep_alive);
  CHECK(r.bytes.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(r.bytes.find("Server: ferryd/") != std::string::npos);
  CHECK(r.bytes.substr(r.bytes.size() - 24) == "\r\n\r\nhello from 192.0.2.9");

  auto buffer = [](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& s) { s.sendBuffer("abc", 3); };
  r = run("HEAD", buffer);
  CHECK(r.keep_alive);
  CHECK(r.bytes.find("Content-Length: 3\r\n") != std::string::npos);
  CHECK(r.bytes.substr(r.bytes.size() - 4) == "\r\n\r\n");

  r = run("GET", [](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& s) {
    s.setChunkedTransferEncoding(true);
    s.send() << "chunk";
  });
  CHECK(r.keep_alive);
  CHECK(r.bytes.substr(r.bytes.size() - 15) == "5\r\nchunk\r\n0\r\n\r\n");

  r = run("GET", [](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& s) { s.send() << "until close"; });
  CHECK_FALSE(r.keep_alive);
  CHECK(r.bytes.find("Connection: Close\r\n") != std::string::npos);

  r = run("GET", [](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& s) {
    s.setContentLength(10);
    s.send() << "short";  // a broken handler: the client learns at the close
  });
  CHECK_FALSE(r.keep_alive);

  r = run("GET", [](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) { throw std::runtime_error("x"); });
  CHECK_FALSE(r.keep_alive);
  CHECK(r.bytes.rfind("HTTP/1.1 500 ", 0) == 0);

  r = run("GET", [](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& s) {
    s.setKeepAlive(false);
    s.sendBuffer("x", 1);
  });
  CHECK_FALSE(r.keep_alive);
}

namespace {

// A blocking client socket from `source` (a loopback address) to 127.0.0.1:port.
int dial(uint16_t port, const char* source = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    off += static_cast<size_t>(n);
  }
}

// Reads until `count` complete responses with Content-Length bodies arrived, or EOF/timeout.
std::string read_responses(int fd, int count) {
  std::string in;
  char buf[4096];
  auto complete = [&] {
    size_t pos = 0;
    for (int i = 0; i < count; ++i) {
      size_t end = in.find("\r\n\r\n", pos);
      if (end == std::string::npos) return false;
      size_t cl = in.find("Content-Length: ", pos);
      size_t len = cl != std::string::npos && cl < end ? std::stoul(in.substr(cl + 16)) : 0;
      if (in.size() < end + 4 + len) return false;
      pos = end + 4 + len;
    }
    return true;
  };
  while (!complete()) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  return in;
}

bool closed_by_peer(int fd) {
  char c;
  ssize_t n = ::recv(fd, &c, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("admin front: keep-alive, pipelining, chunked and Expect bodies, framing errors", "[web][front]") {
  ferry::web::AdminServer server;
  server.add_route("POST", "/echo", ferry::web::Access::open,
                   [](const ferry::web::RequestContext&, Poco::Net::HTTPServerRequest& q, Poco::Net::HTTPServerResponse& s) {
                     std::string in((std::istreambuf_iterator<char>(q.stream())), std::istreambuf_iterator<char>());
                     s.sendBuffer(in.data(), in.size());
                   });
  std::string error;
  auto port = server.start({"127.0.0.1", 0}, error);
  REQUIRE(port);
  const std::string host = "Host: 127.0.0.1:" + std::to_string(*port) + "\r\n";

  // Three pipelined requests on one connection, the middle one chunked, answered in order.
  int fd = dial(*port);
  send_all(fd, "GET /healthz HTTP/1.1\r\n" + host + "\r\n" +
                   "POST /echo HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" +
                   "POST /echo HTTP/1.1\r\n" + host + "Content-Length: 4\r\n\r\nwxyz");
  std::string in = read_responses(fd, 3);
  CHECK(count(in, "HTTP/1.1 200 OK") == 3);
  size_t a = in.find("ok\n"), b = in.find("abcde"), c = in.find("wxyz");
  CHECK(a != std::string::npos);
  CHECK(b != std::string::npos);
  CHECK(c != std::string::npos);
  CHECK((a < b && b < c));
  // Expect: 100-continue gets its interim answer before the body is sent.
  send_all(fd, "POST /echo HTTP/1.1\r\n" + host + "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  in = read_responses(fd, 1);
  CHECK(in.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);
  send_all(fd, "hi");
  in = read_responses(fd, 1);
  CHECK(in.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(in.substr(in.size() - 2) == "hi");
  ::close(fd);

  // Framing errors are answered and close the connection.
  for (const auto& [request, status] : std::vector<std::pair<std::string, std::string>>{
           {"GET /healthz HTTP/1.1\n" + host + "\n", "400"},
           {"POST /echo HTTP/1.1\r\n" + host + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "400"},
           {"POST /echo HTTP/1.1\r\n" + host + "Content-Length: 2000000\r\n\r\n", "413"},
           {"GET / HTTP/1.1\r\nX: " + std::string(40000, 'a') + "\r\n\r\n", "431"},
           {"GET / HTTP/3.0\r\n\r\n", "505"}}) {
    fd = dial(*port);
    send_all(fd, request);
    in = read_responses(fd, 1);
    CHECK(in.rfind("HTTP/1.1 " + status + " ", 0) == 0);
    CHECK(in.find("Connection: Close") != std::string::npos);
    CHECK(closed_by_peer(fd));
    ::close(fd);
  }
  server.stop();
}

TEST_CASE("admin front: one address holds at most 32 connections, the oldest waiting goes", "[web][front]") {
  ferry::web::AdminServer server;
  std::string error;
  auto port = server.start({"127.0.0.1", 0}, error);
  REQUIRE(port);
  std::vector<int> fds;
  for (int i = 0; i < 40; ++i) fds.push_back(dial(*port, "127.0.0.5"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int closed = 0;
  for (int i = 0; i < 8; ++i) closed += closed_by_peer(fds[static_cast<size_t>(i)]) ? 1 : 0;
  CHECK(closed == 8);
  // The newest ones still work, and so does another address.
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  send_all(fds.back(), req);
  CHECK(read_responses(fds.back(), 1).rfind("HTTP/1.1 200 OK", 0) == 0);
  int other = dial(*port, "127.0.0.6");
  send_all(other, req);
  CHECK(read_responses(other, 1).rfind("HTTP/1.1 200 OK", 0) == 0);
  ::close(other);
  for (int fd : fds) ::close(fd);
  server.stop();
}

// ---- AdminFront directly, with short limits ------------------------------------------------

#include <Poco/Message.h>

#include <atomic>
#include <mutex>

#include "front/admin_front.h"

namespace {

struct LogSink {
  std::mutex mu;
  std::vector<std::string> lines;
  std::shared_ptr<const ferry::web::LogFunction> fn() {
    return std::make_shared<const ferry::web::LogFunction>([this](int, const std::string& l) {
      std::lock_guard lock(mu);
      lines.push_back(l);
    });
  }
  size_t matching(const std::string& what) {
    std::lock_guard lock(mu);
    size_t n = 0;
    for (const std::string& l : lines) n += l.find(what) != std::string::npos ? 1 : 0;
    return n;
  }
};

Limits short_limits() {
  Limits l;
  l.head_deadline = std::chrono::milliseconds(300);
  l.idle_timeout = std::chrono::milliseconds(300);
  l.body_deadline = std::chrono::milliseconds(300);
  l.linger = std::chrono::milliseconds(300);
  return l;
}

uint16_t start_front(AdminFront& front) {
  std::string error;
  auto ep = front.start(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), nullptr, error);
  REQUIRE(ep);
  return ep->port();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("admin front deadlines: partial head 408, silent close, idle close, slow body 408", "[web][front]") {
  LogSink log;
  auto factory = std::make_shared<LambdaFactory>([](Poco::Net::HTTPServerRequest& q, Poco::Net::HTTPServerResponse& s) {
    std::string in((std::istreambuf_iterator<char>(q.stream())), std::istreambuf_iterator<char>());
    s.sendBuffer(in.data(), in.size());
  });
  AdminFront front(short_limits(), factory, log.fn());
  uint16_t port = start_front(front);

  auto t0 = std::chrono::steady_clock::now();
  int partial = dial(port), silent = dial(port), idle = dial(port), body = dial(port);
  send_all(partial, "GET / HTTP/1.1\r\nHo");
  send_all(idle, "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
  CHECK(read_responses(idle, 1).find("\r\n\r\nok") != std::string::npos);
  send_all(body, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  // A byte now and then does not extend the head deadline.
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    send_all(partial, "s");
  }
  std::string answer = read_responses(partial, 1);
  CHECK(answer.rfind("HTTP/1.1 408 ", 0) == 0);
  CHECK(answer.find("request head not received in time") != std::string::npos);
  CHECK(seconds_since(t0) < 1.0);
  CHECK(closed_by_peer(partial));
  CHECK(read_responses(silent, 1).empty());  // closed, no answer
  CHECK(closed_by_peer(idle));
  CHECK(read_responses(body, 1).rfind("HTTP/1.1 408 ", 0) == 0);
  CHECK(seconds_since(t0) < 2.0);
  for (int fd : {partial, silent, idle, body}) ::close(fd);
  // One line per reason and second; the rest counted when the second is over.
  CHECK(log.matching("reason=head-timeout address=127.0.0.1") == 1);
  CHECK(log.matching("reason=body-timeout address=127.0.0.1") == 1);

  std::vector<int> many;
  for (int i = 0; i < 5; ++i) {
    many.push_back(dial(port));
    send_all(many.back(), "G");
  }
  for (int fd : many) CHECK(read_responses(fd, 1).rfind("HTTP/1.1 408 ", 0) == 0);
  for (int fd : many) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  CHECK(log.matching("reason=head-timeout") >= 2);
  CHECK(log.matching("like it in the last second)") >= 1);
  front.stop();
}

TEST_CASE("admin front: queue and body budget give 503; stop waits for a running handler", "[web][front]") {
  std::atomic<int> started{0};
  std::atomic<bool> release{false};
  auto factory = std::make_shared<LambdaFactory>([&](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& s) {
    ++started;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s.sendBuffer("done", 4);
  });
  Limits l = short_limits();
  l.handler_threads = 1;
  l.max_queued = 1;
  l.max_body = 100;
  l.body_budget = 10;
  AdminFront front(l, factory, nullptr);
  uint16_t port = start_front(front);

  int a = dial(port), b = dial(port), c = dial(port), d = dial(port);
  send_all(a, "GET / HTTP/1.1\r\n\r\n");
  for (int i = 0; i < 200 && started == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(started == 1);
  send_all(b, "GET / HTTP/1.1\r\n\r\n");  // queued
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  send_all(c, "GET / HTTP/1.1\r\n\r\n");  // the queue is full
  std::string busy = read_responses(c, 1);
  CHECK(busy.rfind("HTTP/1.1 503 ", 0) == 0);
  CHECK(busy.find("Retry-After: 1") != std::string::npos);
  send_all(d, "POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n");  // over the body budget
  CHECK(read_responses(d, 1).rfind("HTTP/1.1 503 ", 0) == 0);
  // The running handler is not waited on by the connections: stop() waits for it.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    release = true;
  });
  auto t0 = std::chrono::steady_clock::now();
  front.stop();
  CHECK(seconds_since(t0) >= 0.15);
  releaser.join();
  CHECK(started == 1);  // the queued one was cancelled, not run
  CHECK(read_responses(a, 1).empty());
  CHECK(read_responses(b, 1).empty());
  for (int fd : {a, b, c, d}) ::close(fd);
}
