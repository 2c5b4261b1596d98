#include "front/request_head.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

#include "ferry/util/json.h"

namespace ferry::web::front {

namespace {

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  return true;
}

HeadScan bad_scan(std::string error) {
  HeadScan r;
  r.state = HeadScan::bad;
  r.error = std::move(error);
  return r;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// The request line: METHOD SP request-target SP HTTP/x.y, all three non-empty.
std::optional<HeadError> check_request_line(std::string_view line) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return HeadError{400, "malformed request line"};
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || target.find('\t') != std::string_view::npos)
    return HeadError{400, "malformed request line"};
  if (version == "HTTP/1.1" || version == "HTTP/1.0") return std::nullopt;
  if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && std::isdigit(static_cast<unsigned char>(version[5])) &&
      version[6] == '.' && std::isdigit(static_cast<unsigned char>(version[7])))
    return HeadError{505, "HTTP version not supported"};
  return HeadError{400, "malformed request line"};
}

}  // namespace

size_t skip_leading_crlf(std::string_view buf) {
  size_t n = 0;
  while (buf.size() >= n + 2 && buf[n] == '\r' && buf[n + 1] == '\n') n += 2;
  return n;
}

HeadScan scan_head(std::string_view buf, size_t from) {
  size_t i = from;
  for (; i < buf.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(buf[i]);
    if (c == '\r') {
      if (i + 1 >= buf.size()) break;  // the next byte decides
      if (buf[i + 1] != '\n') return bad_scan("bare CR in the request head");
      continue;
    }
    if (c == '\n') {
      if (i == 0 || buf[i - 1] != '\r') return bad_scan("bare LF in the request head");
      if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
        HeadScan r;
        r.state = HeadScan::complete;
        r.end = i + 1;
        r.scanned = i + 1;
        return r;
      }
      continue;
    }
    if (c == ' ' || c == '\t') {
      if (i == 0 || buf[i - 1] == '\n') return bad_scan("a line of the request head starts with white space");
      continue;
    }
    if (c < 0x20 || c == 0x7f) return bad_scan("control character in the request head");
  }
  HeadScan r;
  r.scanned = i;
  return r;
}

std::optional<HeadError> parse_head(std::string_view head, Poco::Net::HTTPRequest& req, Framing& framing,
                                    uint64_t max_body) {
  framing = Framing{};
  // Lines (the head ends with CRLF CRLF; scan_head checked the line endings).
  std::vector<std::string_view> lines;
  std::string_view rest = head.substr(0, head.size() >= 4 ? head.size() - 4 : 0);
  while (true) {
    size_t e = rest.find("\r\n");
    lines.push_back(rest.substr(0, e));
    if (e == std::string_view::npos) break;
    rest = rest.substr(e + 2);
  }
  if (auto err = check_request_line(lines.front())) return err;
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos || !is_token(lines[i].substr(0, colon)))
      return HeadError{400, "malformed header field"};
  }

  try {
    std::istringstream in{std::string(head)};
    req.read(in);
  } catch (const Poco::Exception& e) {
    return HeadError{400, "malformed request head: " + e.message()};
  }

  int lengths = 0, codings = 0, hosts = 0;
  std::string length_text, coding;
  for (const auto& [name, value] : req) {
    if (Poco::icompare(name, "Content-Length") == 0) {
      ++lengths;
      length_text = trim(value);
    } else if (Poco::icompare(name, "Transfer-Encoding") == 0) {
      ++codings;
      coding = trim(value);
    } else if (Poco::icompare(name, "Host") == 0) {
      ++hosts;
    } else if (Poco::icompare(name, "Expect") == 0) {
      if (Poco::icompare(trim(value), "100-continue") != 0) return HeadError{417, "unsupported expectation"};
      framing.expect_continue = true;
    }
  }
  if (hosts > 1) return HeadError{400, "more than one Host field"};
  if (lengths > 1 || codings > 1) return HeadError{400, "more than one Content-Length or Transfer-Encoding field"};
  if (codings) {
    if (lengths) return HeadError{400, "both Content-Length and Transfer-Encoding"};
    if (req.getVersion() == Poco::Net::HTTPMessage::HTTP_1_0) return HeadError{400, "Transfer-Encoding on HTTP/1.0"};
    if (Poco::icompare(coding, "chunked") != 0) return HeadError{501, "unsupported transfer coding"};
    framing.chunked = true;
  } else if (lengths) {
    if (length_text.empty() || length_text.size() > 18 ||
        length_text.find_first_not_of("0123456789") != std::string::npos)
      return HeadError{400, "malformed Content-Length"};
    framing.length = std::stoull(length_text);
    if (framing.length > max_body) return HeadError{413, "request body larger than the admin API accepts"};
  }
  if (framing.expect_continue && !framing.chunked && framing.length == 0) framing.expect_continue = false;
  return std::nullopt;
}

ChunkedDecoder::Result ChunkedDecoder::feed(std::string_view in, size_t& consumed, std::string& out) {
  constexpr size_t kMaxLine = 1024;        // a size line with its extensions
  constexpr size_t kMaxTrailers = 8192;
  size_t i = 0;
  auto finish = [&](Result r) {
    consumed = i;
    return r;
  };
  while (i < in.size()) {
    switch (state_) {
      case State::data: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
        out.append(in.substr(i, n));
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::data_crlf;
        break;
      }
      case State::data_crlf:
        line_ += in[i++];
        if (line_.size() == 2) {
          if (line_ != "\r\n") return finish(Result::bad);
          line_.clear();
          state_ = State::size;
        }
        break;
      case State::size:
      case State::trailer: {
        char c = in[i++];
        if (state_ == State::trailer && ++trailer_bytes_ > kMaxTrailers) return finish(Result::too_large);
        if (c == '\n') {
          if (line_.empty() || line_.back() != '\r') return finish(Result::bad);
          line_.pop_back();
          if (state_ == State::trailer) {
            if (line_.empty()) {
              state_ = State::done;
              return finish(Result::done);
            }
            line_.clear();
            break;
          }
          // chunk-size [ chunk-ext ]: hex digits, then nothing or ';' and extensions.
          size_t digits = 0;
          uint64_t size = 0;
          while (digits < line_.size() && std::isxdigit(static_cast<unsigned char>(line_[digits]))) {
            if (digits == 15) return finish(Result::too_large);
            char h = line_[digits];
            size = size * 16 + static_cast<uint64_t>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            ++digits;
          }
          if (digits == 0) return finish(Result::bad);
          size_t ext = line_.find_first_not_of(" \t", digits);
          if (ext != std::string::npos && line_[ext] != ';') return finish(Result::bad);
          line_.clear();
          if (size == 0) {
            state_ = State::trailer;
          } else {
            if (size > max_ - total_) return finish(Result::too_large);
            total_ += size;
            remaining_ = size;
            state_ = State::data;
          }
          break;
        }
        if (c != '\r' && c != '\t' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) return finish(Result::bad);
        if (!line_.empty() && line_.back() == '\r') return finish(Result::bad);  // bare CR
        line_ += c;
        if (line_.size() > kMaxLine) return finish(Result::too_large);
        break;
      }
      case State::done:
        return finish(Result::done);
    }
  }
  return finish(state_ == State::done ? Result::done : Result::more);
}

std::string error_response(int status, const std::string& message, bool close, int retry_after) {
  util::JsonWriter body;
  body.begin_object().field("error", message).end_object();
  Poco::Net::HTTPResponse r(Poco::Net::HTTPMessage::HTTP_1_1, static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  r.setDate(Poco::Timestamp());
  r.set("Server", "ferryd/" FERRY_VERSION);
  r.setContentType("application/json");
  r.setContentLength(static_cast<std::streamsize>(body.str().size()));
  r.setKeepAlive(!close);
  if (retry_after > 0) r.set("Retry-After", std::to_string(retry_after));
  std::ostringstream out;
  r.write(out);
  return out.str() + body.str();
}

}  // namespace ferry::web::front
