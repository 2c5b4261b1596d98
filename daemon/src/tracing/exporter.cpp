#include "tracing/exporter.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Timespan.h>

#include <istream>
#include <ostream>

#include "ferry/util/json.h"
#include "services/logging.h"

namespace ferry::daemon {

namespace {

void resource_attr(std::string& out, std::string_view key, std::string_view value, bool& first) {
  if (value.empty()) return;
  if (!first) out += ',';
  first = false;
  out += "{\"key\":";
  util::append_json_string(out, key);
  out += ",\"value\":{\"stringValue\":";
  util::append_json_string(out, value);
  out += "}}";
}

}  // namespace

std::string TraceExporter::body(const config::Config& cfg, std::string_view spans) {
  std::string out = "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  bool first = true;
  resource_attr(out, "service.name", cfg.tracing ? cfg.tracing->service_name : "ferry", first);
  resource_attr(out, "service.version", FERRY_VERSION, first);
  resource_attr(out, "host.name", cfg.global.node, first);
  resource_attr(out, "cloud.region", cfg.global.region, first);
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"ferry\",\"version\":";
  util::append_json_string(out, FERRY_VERSION);
  out += "},\"spans\":[";
  out += spans;
  out += "]}]}]}";
  return out;
}

void TraceExporter::start(std::shared_ptr<const config::Config> cfg) {
  follower_.post(std::move(cfg));
  follower_.start([this](const Snapshot& cfg, bool) { return step(cfg); },
                  [this](const Snapshot& cfg) { step(cfg); });  // the last spans at shutdown
}

TraceExporter::Counters TraceExporter::counters() const {
  return {exported_.load(std::memory_order_relaxed), failed_.load(std::memory_order_relaxed),
          requests_ok_.load(std::memory_order_relaxed), requests_failed_.load(std::memory_order_relaxed)};
}

std::chrono::milliseconds TraceExporter::step(const Snapshot& cfg) {
  const size_t n = engine_.take_spans(spans_);
  if (!cfg || !cfg->tracing) return Follower<Snapshot>::kNever;  // tracing off: nothing more comes
  if (n != 0) send(*cfg->tracing, body(*cfg, spans_), n);
  return cfg->tracing->interval;
}

void TraceExporter::send(const config::Tracing& t, const std::string& payload, size_t n) {
  std::string why;
  try {
    Poco::Net::HTTPClientSession session(t.endpoint_host, t.endpoint_port);
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, t.endpoint_path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(payload.size()));
    req.set("User-Agent", "ferry/" FERRY_VERSION);
    session.sendRequest(req) << payload;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    in.ignore(1 << 20);
    const int status = static_cast<int>(resp.getStatus());
    if (status >= 200 && status < 300) {
      exported_.fetch_add(n, std::memory_order_relaxed);
      requests_ok_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    why = "HTTP " + std::to_string(status);
  } catch (const Poco::Exception& e) {
    why = e.displayText();
  } catch (const std::exception& e) {
    why = e.what();
  }
  failed_.fetch_add(n, std::memory_order_relaxed);
  requests_failed_.fetch_add(1, std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_complaint_ >= std::chrono::minutes(1)) {
    last_complaint_ = now;
    logger().warning("tracing: exporting " + std::to_string(n) + " spans to " + t.endpoint + " failed: " + why +
                     " (the spans are dropped; counted in ferry_trace_spans_dropped_total{reason=\"export\"})");
  }
}

}  // namespace ferry::daemon
