#include "api/history.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <chrono>
#include <cstdio>

#include "api/json_writer.h"
#include "history/history.h"
#include "history/rollup.h"

namespace ferry::daemon {
namespace {

using api::json_string;  // escapes, and replaces invalid UTF-8 (a `range` is client text)

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

void send(Poco::Net::HTTPServerResponse& resp, Poco::Net::HTTPResponse::HTTPStatus status, const std::string& body) {
  resp.setStatus(status);
  resp.setContentType("application/json");
  resp.sendBuffer(body.data(), body.size());
}

void send_error(Poco::Net::HTTPServerResponse& resp, Poco::Net::HTTPResponse::HTTPStatus status,
                const std::string& message) {
  send(resp, status, "{\"error\": " + json_string(message) + "}\n");
}

std::string point_json(const HistoryPoint& p) {
  std::string s = "{\"t\": " + std::to_string(p.t);
  s += ", \"requests\": " + std::to_string(p.requests);
  s += ", \"s1xx\": " + std::to_string(p.s1xx);
  s += ", \"s2xx\": " + std::to_string(p.s2xx);
  s += ", \"s3xx\": " + std::to_string(p.s3xx);
  s += ", \"s4xx\": " + std::to_string(p.s4xx);
  s += ", \"s5xx\": " + std::to_string(p.s5xx);
  s += ", \"bytes_in\": " + std::to_string(p.bytes_in);
  s += ", \"bytes_out\": " + std::to_string(p.bytes_out);
  s += ", \"p50_ms\": " + number(p.p50_ms);
  s += ", \"p95_ms\": " + number(p.p95_ms);
  s += ", \"p99_ms\": " + number(p.p99_ms);
  s += ", \"peak_inflight\": " + std::to_string(p.peak_inflight);
  s += ", \"rejected\": " + std::to_string(p.rejected) + "}";
  return s;
}

}  // namespace

void handle_history_request(const ApiContext& ctx, const std::string& app, Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& resp) {
  std::string range_text = "1h";  // no `range` parameter
  try {
    for (const auto& [key, value] : Poco::URI(req.getURI()).getQueryParameters())
      if (key == "range") range_text = value;
  } catch (const std::exception&) {
    send_error(resp, Poco::Net::HTTPResponse::HTTP_BAD_REQUEST, "malformed query string");
    return;
  }
  auto range = history::parse_history_range(range_text);
  if (!range) {
    send_error(resp, Poco::Net::HTTPResponse::HTTP_BAD_REQUEST,
               "invalid range '" + range_text + "' (expected 15m, 1h, 6h, 24h, 48h, 7d or 30d)");
    return;
  }
  bool known = false;
  if (ctx.status)
    if (auto cfg = ctx.status->get().config)
      for (const config::App& a : cfg->apps) known = known || a.name == app;
  if (!known) {
    send_error(resp, Poco::Net::HTTPResponse::HTTP_NOT_FOUND, "no such app: " + app);
    return;
  }
  if (!ctx.history) {
    send_error(resp, Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
               "history unavailable");
    return;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t from = now - range->seconds;
  // `to` includes the row holding `now` (the current minute while it fills).
  std::vector<HistoryPoint> points = ctx.history->query(app, from, now + 1, range->resolution);
  std::string body = "{\"app\": " + json_string(app) + ", \"resolution_s\": " + std::to_string(range->resolution) +
                     ", \"from\": " + std::to_string(from) + ", \"to\": " + std::to_string(now) + ",\n \"points\": [";
  for (size_t i = 0; i < points.size(); ++i) body += (i ? ",\n  " : "") + point_json(points[i]);
  body += "]}\n";
  send(resp, Poco::Net::HTTPResponse::HTTP_OK, body);
}

}  // namespace ferry::daemon
