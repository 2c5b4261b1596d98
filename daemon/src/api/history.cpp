#include "api/history.h"

#include <Poco/Net/HTTPServerRequest.h>

#include <chrono>

#include "api/http_util.h"
#include "ferry/util/json.h"
#include "history/history.h"
#include "history/rollup.h"

namespace ferry::daemon {
namespace {

void write_point(util::JsonWriter& w, const HistoryPoint& p) {
  w.begin_object();
  w.field("t", p.t).field("requests", p.requests);
  w.field("s1xx", p.s1xx).field("s2xx", p.s2xx).field("s3xx", p.s3xx).field("s4xx", p.s4xx).field("s5xx", p.s5xx);
  w.field("bytes_in", p.bytes_in).field("bytes_out", p.bytes_out);
  w.field("p50_ms", p.p50_ms).field("p95_ms", p.p95_ms).field("p99_ms", p.p99_ms);
  w.field("peak_inflight", p.peak_inflight).field("rejected", p.rejected);
  w.end_object();
}

}  // namespace

void handle_history_request(const ApiContext& ctx, const std::string& app, Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& resp) {
  // No `range` parameter: the last hour. The text is the client's: the error message quotes it
  // through the JSON writer, which replaces invalid UTF-8.
  const std::string range_text = api::query_param(req.getURI(), "range", "1h");
  auto range = history::parse_history_range(range_text);
  if (!range) {
    api::send_error(resp, 400, "invalid range '" + range_text + "' (expected 15m, 1h, 6h, 24h, 48h, 7d or 30d)");
    return;
  }
  bool known = false;
  if (ctx.status)
    if (auto cfg = ctx.status->get().config)
      for (const config::App& a : cfg->apps) known = known || a.name == app;
  if (!known) {
    api::send_error(resp, 404, "no such app: " + app);
    return;
  }
  if (!ctx.history) {
    api::send_error(resp, 503, "history unavailable");
    return;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t from = now - range->seconds;
  // `to` includes the row holding `now` (the current minute while it fills).
  std::vector<HistoryPoint> points = ctx.history->query(app, from, now + 1, range->resolution);
  util::JsonWriter w;
  w.begin_object();
  w.field("app", app).field("resolution_s", range->resolution).field("from", from).field("to", now);
  w.key("points").begin_array();
  for (const HistoryPoint& p : points) write_point(w, p);
  w.end_array().end_object();
  api::send_json(resp, 200, w.take());
}

}  // namespace ferry::daemon
