#include "front/buffered_exchange.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Timestamp.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <streambuf>

#include "front/request_head.h"

namespace ferry::web::front {

namespace {

constexpr size_t kMaxResponseBody = 64u << 20;

// Appends to a string up to a cap (then fails the stream); `discard`: counts only.
class CappedBuf : public std::streambuf {
 public:
  std::string data;
  bool discard = false;
  bool overflowed = false;

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    char c = traits_type::to_char_type(ch);
    return xsputn(&c, 1) == 1 ? ch : traits_type::eof();
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (discard) return n;
    if (data.size() + static_cast<size_t>(n) > kMaxResponseBody) {
      overflowed = true;
      return 0;
    }
    data.append(s, static_cast<size_t>(n));
    return n;
  }
};

class BufferedResponse : public Poco::Net::HTTPServerResponse {
 public:
  explicit BufferedResponse(bool head_request) : head_request_(head_request) {}

  void sendContinue() override {}  // the front answered `Expect: 100-continue` already

  std::ostream& send() override {
    if (sent_) throw Poco::IllegalStateException("response already sent");
    sent_ = true;
    int status = getStatus();
    if (head_request_ || status < 200 || status == HTTP_NO_CONTENT || status == HTTP_NOT_MODIFIED) {
      mode_ = Mode::none;
      buf_.discard = true;
    } else if (getChunkedTransferEncoding()) {
      mode_ = Mode::chunked;
    } else if (hasContentLength()) {
      mode_ = Mode::fixed;
      declared_ = static_cast<size_t>(getContentLength64());
    } else {
      mode_ = Mode::close;
      setKeepAlive(false);
    }
    keep_alive_ = getKeepAlive();
    std::ostringstream head;
    write(head);
    head_ = head.str();
    return body_;
  }

  void sendFile(const std::string& path, const std::string& media_type) override {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Poco::OpenFileException(path);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    setContentType(media_type);
    sendBuffer(data.data(), data.size());
  }

  void sendBuffer(const void* buffer, std::size_t length) override {
    setContentLength(static_cast<std::streamsize>(length));
    setChunkedTransferEncoding(false);
    send().write(static_cast<const char*>(buffer), static_cast<std::streamsize>(length));
  }

  void redirect(const std::string& uri, HTTPStatus status) override {
    setContentLength(0);
    setChunkedTransferEncoding(false);
    setStatusAndReason(status);
    set("Location", uri);
    send();
  }

  void requireAuthentication(const std::string& realm) override {
    setStatusAndReason(HTTP_UNAUTHORIZED);
    set("WWW-Authenticate", "Basic realm=\"" + realm + "\"");
    setContentLength(0);
    setChunkedTransferEncoding(false);
    send();
  }

  bool sent() const override { return sent_; }

  // The bytes to write; `keep_alive` is cleared when the connection must close after them.
  std::string finish(bool& keep_alive) {
    if (!sent_ || buf_.overflowed) {
      keep_alive = false;
      return error_response(500, sent_ ? "response too large" : "the handler sent no response", true);
    }
    keep_alive = keep_alive && keep_alive_;
    std::string out = std::move(head_);
    std::string& body = buf_.data;
    switch (mode_) {
      case Mode::none:
        break;
      case Mode::fixed:
        if (body.size() < declared_) keep_alive = false;  // a short body: the client learns at the close
        out.append(body, 0, std::min(body.size(), declared_));
        break;
      case Mode::chunked:
        if (!body.empty()) {
          char size[32];
          std::snprintf(size, sizeof size, "%zx\r\n", body.size());
          out += size;
          out += body;
          out += "\r\n";
        }
        out += "0\r\n\r\n";
        break;
      case Mode::close:
        keep_alive = false;
        out += body;
        break;
    }
    return out;
  }

 private:
  enum class Mode { none, fixed, chunked, close };
  bool head_request_;
  bool sent_ = false;
  bool keep_alive_ = false;
  Mode mode_ = Mode::none;
  size_t declared_ = 0;
  std::string head_;
  CappedBuf buf_;
  std::ostream body_{&buf_};
};

class BufferedRequest : public Poco::Net::HTTPServerRequest {
 public:
  BufferedRequest(PendingRequest& p, BufferedResponse& response)
      : body_(std::move(p.body)), client_(p.client), server_(p.server), secure_(p.secure), response_(response) {
    static_cast<Poco::Net::HTTPRequest&>(*this) = p.head;
  }

  std::istream& stream() override { return body_; }
  const Poco::Net::SocketAddress& clientAddress() const override { return client_; }
  const Poco::Net::SocketAddress& serverAddress() const override { return server_; }
  const Poco::Net::HTTPServerParams& serverParams() const override { return params(); }
  Poco::Net::HTTPServerResponse& response() const override { return response_; }
  bool secure() const override { return secure_; }

 private:
  static const Poco::Net::HTTPServerParams& params() {
    static const Poco::Net::HTTPServerParams::Ptr p = new Poco::Net::HTTPServerParams;  // defaults, unused
    return *p;
  }
  std::istringstream body_;
  Poco::Net::SocketAddress client_, server_;
  bool secure_;
  BufferedResponse& response_;
};

}  // namespace

Reply run_request(Poco::Net::HTTPRequestHandlerFactory& factory, PendingRequest& request) {
  Reply reply;
  reply.keep_alive = request.keep_alive;
  try {
    BufferedResponse resp(request.head.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD);
    BufferedRequest req(request, resp);
    resp.setVersion(req.getVersion());
    resp.setDate(Poco::Timestamp());
    resp.setKeepAlive(request.keep_alive);
    resp.set("Server", "ferryd/" FERRY_VERSION);
    try {
      std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(factory.createRequestHandler(req));
      if (handler)
        handler->handleRequest(req, resp);
      else if (!resp.sent())
        reply.bytes = error_response(501, "not implemented", true);
    } catch (...) {
      if (!resp.sent()) reply.bytes = error_response(500, "internal error", true);
    }
    if (!reply.bytes.empty()) {
      reply.keep_alive = false;
      return reply;
    }
    reply.bytes = resp.finish(reply.keep_alive);
  } catch (...) {
    reply.keep_alive = false;
    reply.bytes = error_response(500, "internal error", true);
  }
  return reply;
}

}  // namespace ferry::web::front
