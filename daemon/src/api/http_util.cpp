#include "api/http_util.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <istream>

#include "ferry/util/json.h"
#include "services/logging.h"

namespace ferry::daemon::api {

void send_json(Poco::Net::HTTPServerResponse& resp, int status, const std::string& body) {
  resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  resp.setContentType("application/json");
  resp.set("Cache-Control", "no-store");
  std::string b = body;
  if (b.empty() || b.back() != '\n') b += '\n';
  resp.sendBuffer(b.data(), b.size());
}

void send_error(Poco::Net::HTTPServerResponse& resp, int status, const std::string& message) {
  send_json(resp, status, "{\"error\":" + util::json_string(message) + "}");
}

namespace {

std::string decode(const std::string& s) {
  std::string out;
  try {
    Poco::URI::decode(s, out);
  } catch (...) {
    return s;
  }
  return out;
}

std::string path_of(const std::string& uri) {
  size_t q = uri.find_first_of("?#");
  return q == std::string::npos ? uri : uri.substr(0, q);
}

}  // namespace

std::vector<std::string> path_segments(const std::string& uri, const std::string& prefix) {
  std::string path = path_of(uri);
  std::vector<std::string> out;
  if (path.compare(0, prefix.size(), prefix) != 0) return out;
  std::string rest = path.substr(prefix.size());
  if (rest.empty()) return out;
  size_t pos = 0;
  for (;;) {
    size_t slash = rest.find('/', pos);
    out.push_back(decode(rest.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos)));
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return out;
}

std::string query_param(const std::string& uri, const std::string& name, const std::string& fallback) {
  size_t q = uri.find('?');
  if (q == std::string::npos) return fallback;
  std::string query = uri.substr(q + 1);
  if (size_t hash = query.find('#'); hash != std::string::npos) query.resize(hash);
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = part.find('=');
    if (decode(part.substr(0, eq)) == name) return eq == std::string::npos ? "" : decode(part.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return fallback;
}

bool read_body(Poco::Net::HTTPServerRequest& req, size_t limit, std::string& out) {
  out.clear();
  if (req.hasContentLength() && req.getContentLength64() > static_cast<Poco::Int64>(limit)) return false;
  std::istream& in = req.stream();
  char buf[16384];
  while (in) {
    in.read(buf, sizeof buf);
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    if (out.size() + static_cast<size_t>(n) > limit) return false;
    out.append(buf, static_cast<size_t>(n));
  }
  return true;
}

void log_action(const web::RequestContext& ctx, const std::string& what, const std::string& result) {
  web::log_action(ctx, "action=" + what + " result=" + result);  // adds user and address
}

}  // namespace ferry::daemon::api

namespace ferry::daemon::api {
int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace ferry::daemon::api
