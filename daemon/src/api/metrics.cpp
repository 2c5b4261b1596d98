// GET /metrics: the Prometheus text exposition (format 0.0.4) of the data plane's counters
// (Engine::stats), the certificates, the mesh, config reloads, build info and the process.
// Every family is built at scrape time as plain prometheus::MetricFamily values (no registry:
// the numbers already live in the engine, summed from per-worker counters) and written by
// prometheus-cpp's TextSerializer, which escapes label values. docs/METRICS.md lists them.
//
// Thread: the handler runs on an admin server thread; everything it reads is thread-safe.
// Cost: one Engine::stats() plus O(apps + servers) families; a 10,000-app scrape stays well
// under a second (tests/integration/test_metrics.py measures it).
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <deque>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <utility>

#include "api/cert_status.h"
#include "api/process_metrics.h"
#include "api/routes.h"
#include "catalog/catalog.h"
#include "services/mesh_manager.h"
#include "tracing/exporter.h"

namespace ferry::daemon {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::initializer_list<std::pair<const char*, std::string_view>>;

// The families of one scrape. A deque: the references family() returns stay valid while
// more families are added (each section fills several families side by side).
class Families {
 public:
  MetricFamily& family(const char* name, const char* help, MetricType type) {
    MetricFamily& f = d_.emplace_back();
    f.name = name;
    f.help = help;
    f.type = type;
    return f;
  }
  // Moves them out in order, without the families that got no sample (no mesh, no
  // certificate): those are left out entirely.
  std::vector<MetricFamily> take() {
    std::vector<MetricFamily> out;
    out.reserve(d_.size());
    for (auto& f : d_)
      if (!f.metric.empty()) out.push_back(std::move(f));
    d_.clear();
    return out;
  }

 private:
  std::deque<MetricFamily> d_;
};

ClientMetric& sample(MetricFamily& f, Labels labels) {
  ClientMetric& m = f.metric.emplace_back();
  m.label.reserve(labels.size());
  for (const auto& [name, value] : labels) m.label.push_back(ClientMetric::Label{name, std::string(value)});
  return m;
}

void gauge(MetricFamily& f, Labels labels, double v) { sample(f, labels).gauge.value = v; }
void counter(MetricFamily& f, Labels labels, double v) { sample(f, labels).counter.value = v; }

void histogram(MetricFamily& f, Labels labels, const proxy::Histogram& h) {
  auto& out = sample(f, labels).histogram;
  out.sample_count = h.count;
  out.sample_sum = h.sum;
  out.bucket.reserve(proxy::kDurationBuckets.size() + 1);
  for (size_t i = 0; i < proxy::kDurationBuckets.size(); ++i)
    out.bucket.push_back({h.counts[i], proxy::kDurationBuckets[i]});
  out.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
}

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

void app_families(Families& fs, const proxy::EngineStats& st) {
  auto& requests = fs.family("ferry_app_requests_total",
                             "Finished requests (HTTP) or connections (TCP) by downstream protocol and status class "
                             "(none = no response sent, and every TCP connection).",
                             MetricType::Counter);
  auto& duration = fs.family("ferry_app_request_duration_seconds",
                             "Duration of requests (HTTP) and connections (TCP), from the request head to the end.",
                             MetricType::Histogram);
  auto& rx = fs.family("ferry_app_received_bytes_total", "Body bytes received from clients (TCP: all bytes).",
                       MetricType::Counter);
  auto& tx = fs.family("ferry_app_sent_bytes_total", "Body bytes sent to clients (TCP: all bytes).", MetricType::Counter);
  auto& inflight = fs.family("ferry_app_requests_in_flight", "Requests holding a unit of the app's concurrency budget.",
                             MetricType::Gauge);
  auto& queued = fs.family("ferry_app_queued_requests", "Requests waiting in the app's queue for a budget unit.",
                           MetricType::Gauge);
  auto& wait = fs.family("ferry_app_queue_wait_seconds",
                         "Time waited in the app's queue by requests that queued (granted or timed out).",
                         MetricType::Histogram);
  auto& rejected = fs.family("ferry_app_rejected_requests_total",
                             "Requests answered 503 by the concurrency budget (queue full or queue timeout).",
                             MetricType::Counter);
  auto& limited = fs.family("ferry_app_rate_limited_requests_total",
                            "Requests answered 429 by a `rate-limit` rule of the app or its frontend.", MetricType::Counter);
  auto& auth = fs.family("ferry_app_auth_rejected_requests_total",
                         "Requests a basic-auth rule refused: 401 without valid credentials (reason missing) or with "
                         "wrong ones (wrong), 503 while the password verifier was full (busy).",
                         MetricType::Counter);
  auto& held = fs.family("ferry_app_autostart_held_requests_total",
                         "Requests that found no started instance of an `autostart` app and waited for one.",
                         MetricType::Counter);
  auto& held_failed = fs.family("ferry_app_autostart_failed_requests_total",
                                "Held requests answered 503 because no instance started within `autostart-timeout`.",
                                MetricType::Counter);
  auto& waiting = fs.family("ferry_app_autostart_waiting_requests",
                            "Requests waiting now for an autostarted instance.", MetricType::Gauge);
  auto& soft = fs.family("ferry_app_concurrency_soft_limit", "Configured `concurrency soft` (0 = none).",
                         MetricType::Gauge);
  auto& hard = fs.family("ferry_app_concurrency_hard_limit", "Configured `concurrency hard` (0 = unlimited).",
                         MetricType::Gauge);
  for (const auto& a : st.apps) {
    for (int p = 0; p < proxy::kStatsProtocols; ++p)
      for (int c = 0; c < proxy::kStatusClasses; ++c)
        // Only the combinations that happened: a scrape of 10,000 apps would otherwise carry
        // 18 series per app, most of them zero for ever (an http app never sees "tcp").
        if (a.requests[p][c] != 0)
          counter(requests,
                  {{"app", a.name}, {"protocol", proxy::kStatsProtocolNames[p]}, {"status_class", proxy::kStatusClassNames[c]}},
                  static_cast<double>(a.requests[p][c]));
    // Histograms appear with their first observation, like the request counts: 17 series per
    // app that never saw a request would dominate a scrape of 10,000 mostly idle apps (size,
    // serialisation time and the scraper's series count).
    if (a.duration.count > 0) histogram(duration, {{"app", a.name}}, a.duration);
    counter(rx, {{"app", a.name}}, static_cast<double>(a.bytes_in));
    counter(tx, {{"app", a.name}}, static_cast<double>(a.bytes_out));
    gauge(inflight, {{"app", a.name}}, a.inflight);
    gauge(queued, {{"app", a.name}}, a.queued);
    if (a.queue_wait.count > 0) histogram(wait, {{"app", a.name}}, a.queue_wait);
    counter(rejected, {{"app", a.name}}, static_cast<double>(a.rejected));
    if (a.rate_limited > 0) counter(limited, {{"app", a.name}}, static_cast<double>(a.rate_limited));
    for (int i = 0; i < proxy::kAuthRejections; ++i)
      if (a.auth_rejected[i] > 0)
        counter(auth, {{"app", a.name}, {"reason", proxy::kAuthRejectionNames[i]}}, static_cast<double>(a.auth_rejected[i]));
    if (a.autostart_held > 0) {  // only apps that ever held a request (an autostart app)
      counter(held, {{"app", a.name}}, static_cast<double>(a.autostart_held));
      counter(held_failed, {{"app", a.name}}, static_cast<double>(a.autostart_failed));
      gauge(waiting, {{"app", a.name}}, a.autostart_waiting);
    }
    gauge(soft, {{"app", a.name}}, a.soft);
    gauge(hard, {{"app", a.name}}, a.hard);
  }
  counter(fs.family("ferry_auth_verifications_total",
                    "Password checks run for basic-auth rules (scrypt or PBKDF2, on the verifier thread; each "
                    "worker then caches the verdict).",
                    MetricType::Counter),
          {}, static_cast<double>(st.auth_verifications));
  counter(fs.family("ferry_auth_verifications_refused_total",
                    "Password checks refused because the verifier's queue was full (the requests got 503).",
                    MetricType::Counter),
          {}, static_cast<double>(st.auth_refused));
}

void server_families(Families& fs, const proxy::EngineStats& st) {
  auto& info = fs.family("ferry_server_info", "A configured server: its address, hosting node (empty = this node) and region.",
                         MetricType::Gauge);
  auto& healthy = fs.family("ferry_server_healthy",
                            "1 when the server passes its active check (or has none), is not ejected and, when remote, "
                            "its hosting node reports it healthy.",
                            MetricType::Gauge);
  auto& ejected = fs.family("ferry_server_ejected", "1 while a passive-health ejection is in force.", MetricType::Gauge);
  auto& drained = fs.family("ferry_server_drained", "1 while drained from the admin API (no new requests).",
                            MetricType::Gauge);
  auto& disabled = fs.family("ferry_server_disabled", "1 when `disabled` in the configuration.", MetricType::Gauge);
  auto& inflight = fs.family("ferry_server_requests_in_flight", "Requests and TCP connections in flight from this node.",
                             MetricType::Gauge);
  auto& remote = fs.family("ferry_server_remote_requests_in_flight",
                           "Requests in flight from other edges, as the hosting node last reported.", MetricType::Gauge);
  auto& errors = fs.family("ferry_server_connect_errors_total", "Failed upstream connection attempts.", MetricType::Counter);
  auto& retries = fs.family("ferry_server_retries_total", "Attempts on this server that were retries of a request.",
                            MetricType::Counter);
  auto& responses = fs.family("ferry_server_responses_total", "Response heads received from the server.",
                              MetricType::Counter);
  auto& latency = fs.family("ferry_server_latency_ewma_seconds",
                            "Moving average (EWMA, alpha 1/8) of the response-head latency; 0 before the first response.",
                            MetricType::Gauge);
  for (const auto& s : st.servers) {
    Labels l = {{"backend", s.backend}, {"server", s.name}};
    gauge(info, {{"backend", s.backend}, {"server", s.name}, {"address", s.address}, {"node", s.node}, {"region", s.region}},
          1);
    gauge(healthy, l, s.healthy ? 1 : 0);
    gauge(ejected, l, s.ejected ? 1 : 0);
    gauge(drained, l, s.drained ? 1 : 0);
    gauge(disabled, l, s.disabled ? 1 : 0);
    gauge(inflight, l, s.inflight);
    gauge(remote, l, s.remote_inflight);
    counter(errors, l, static_cast<double>(s.connect_errors));
    counter(retries, l, static_cast<double>(s.retries));
    counter(responses, l, static_cast<double>(s.responses));
    gauge(latency, l, s.ewma_latency_us / 1e6);
  }
}

void frontend_families(Families& fs, const proxy::EngineStats& st) {
  auto& accepted = fs.family("ferry_frontend_connections_total", "Downstream connections accepted.", MetricType::Counter);
  auto& active = fs.family("ferry_frontend_active_connections", "Downstream connections open now.", MetricType::Gauge);
  auto& tls = fs.family("ferry_frontend_tls_handshakes_total", "Completed downstream TLS handshakes.", MetricType::Counter);
  auto& failed = fs.family("ferry_frontend_tls_handshake_failures_total",
                           "Failed downstream TLS handshakes by reason (no-certificate, protocol, timeout, other).",
                           MetricType::Counter);
  auto& refused = fs.family("ferry_frontend_refused_connections_total",
                            "Connections closed unserved because their source is not allowed (a PROXY header from "
                            "outside proxy-senders; a backhaul peer outside every mesh peer's allowed-ips).",
                            MetricType::Counter);
  for (const auto& f : st.frontends) {
    counter(accepted, {{"frontend", f.name}}, static_cast<double>(f.connections_total));
    counter(refused, {{"frontend", f.name}}, static_cast<double>(f.refused));
    gauge(active, {{"frontend", f.name}}, static_cast<double>(f.connections_active));
    counter(tls, {{"frontend", f.name}}, static_cast<double>(f.tls_handshakes));
    for (const auto& [reason, n] : f.tls_failures)
      counter(failed, {{"frontend", f.name}, {"reason", reason}}, static_cast<double>(n));
  }
  gauge(fs.family("ferry_active_connections", "Downstream connections open now, all frontends.", MetricType::Gauge), {},
        static_cast<double>(st.connections_active));
  gauge(fs.family("ferry_workers", "Data-plane worker threads.", MetricType::Gauge), {}, st.workers);
  auto& per_worker = fs.family("ferry_worker_connections", "Downstream connections each worker serves.",
                               MetricType::Gauge);
  for (size_t i = 0; i < st.worker_connections.size(); ++i)
    gauge(per_worker, {{"worker", std::to_string(i)}}, static_cast<double>(st.worker_connections[i]));
  counter(fs.family("ferry_worker_handoffs_total",
                    "Connections accepted by one worker and served by another that served clearly fewer.",
                    MetricType::Counter),
          {}, static_cast<double>(st.worker_handoffs));
}

void certificate_families(Families& fs, const ApiContext& ctx) {
  auto& expiry = fs.family("ferry_certificate_expiry_timestamp_seconds",
                           "notAfter of the certificate in use (Unix seconds); absent while none is loaded.",
                           MetricType::Gauge);
  auto& failures = fs.family("ferry_certificate_renewal_failures_total",
                             "Failed ACME orders for the app's certificate since start.", MetricType::Counter);
  for (const auto& c : certificate_status(ctx)) {
    if (c.not_after > 0)
      gauge(expiry, {{"app", c.app}, {"frontend", c.frontend}, {"source", c.source}}, static_cast<double>(c.not_after));
    if (c.source == "acme") counter(failures, {{"app", c.app}}, static_cast<double>(c.renewal_failures));
  }
}

void mesh_families(Families& fs, const ApiContext& ctx) {
  auto peers = ctx.engine->mesh_peers();
  auto& rtt = fs.family("ferry_mesh_peer_rtt_seconds",
                        "Backhaul round-trip time to the peer (PING EWMA, or the configured `latency`).",
                        MetricType::Gauge);
  auto& reachable = fs.family("ferry_mesh_peer_reachable", "1 while the peer answers backhaul PINGs.", MetricType::Gauge);
  auto& pings = fs.family("ferry_mesh_peer_pings_total", "Backhaul PINGs sent to the peer.", MetricType::Counter);
  auto& ping_failures =
      fs.family("ferry_mesh_peer_ping_failures_total", "Backhaul PINGs that got no answer.", MetricType::Counter);
  for (const auto& p : peers) {
    gauge(rtt, {{"peer", p.name}, {"region", p.region}}, p.rtt_us / 1e6);
    gauge(reachable, {{"peer", p.name}}, p.reachable ? 1 : 0);
    counter(pings, {{"peer", p.name}}, static_cast<double>(p.pings));
    counter(ping_failures, {{"peer", p.name}}, static_cast<double>(p.ping_failures));
  }
  if (!ctx.mesh) return;
  const mesh::MeshStatus ms = ctx.mesh->status();
  auto& age = fs.family("ferry_mesh_peer_handshake_age_seconds",
                        "Seconds since the last WireGuard handshake with the peer; absent before the first.",
                        MetricType::Gauge);
  auto& rx = fs.family("ferry_mesh_peer_received_bytes_total", "WireGuard bytes received from the peer.",
                       MetricType::Counter);
  auto& tx = fs.family("ferry_mesh_peer_sent_bytes_total", "WireGuard bytes sent to the peer.", MetricType::Counter);
  for (const auto& p : ms.peers) {
    if (p.name.empty()) continue;  // a device peer the configuration does not name
    if (p.handshake_age >= 0) gauge(age, {{"peer", p.name}}, static_cast<double>(p.handshake_age));
    counter(rx, {{"peer", p.name}}, static_cast<double>(p.rx_bytes));
    counter(tx, {{"peer", p.name}}, static_cast<double>(p.tx_bytes));
  }
}

// Tracing (tracing/exporter.h): spans exported and dropped, requests to the collector.
void trace_families(Families& fs, const ApiContext& ctx, const proxy::EngineStats& st) {
  if (ctx.tracing) {
    const TraceExporter::Counters t = ctx.tracing->counters();
    counter(fs.family("ferry_trace_spans_exported_total", "Spans the tracing collector accepted.", MetricType::Counter),
            {}, static_cast<double>(t.exported));
    auto& dropped = fs.family("ferry_trace_spans_dropped_total",
                              "Spans not exported: the queue was full (queue) or their POST to the collector failed (export).",
                              MetricType::Counter);
    counter(dropped, {{"reason", "queue"}}, static_cast<double>(st.trace_spans_dropped));
    counter(dropped, {{"reason", "export"}}, static_cast<double>(t.failed));
    auto& posts = fs.family("ferry_trace_export_requests_total", "OTLP/HTTP requests to the tracing collector by result.",
                            MetricType::Counter);
    counter(posts, {{"result", "ok"}}, static_cast<double>(t.requests_ok));
    counter(posts, {{"result", "error"}}, static_cast<double>(t.requests_failed));
  }
}

// The live instance catalog (catalog/catalog.h).
void catalog_families(Families& fs, const ApiContext& ctx) {
  if (!ctx.catalog) return;
  const catalog::Metrics m = ctx.catalog->metrics();
  auto& inst = fs.family("ferry_catalog_instances",
                         "Instances in the catalog by state; local=1 for those this node hosts.", MetricType::Gauge);
  for (const char* state : {"starting", "started", "stopping", "stopped"})
    for (const bool local : {true, false}) {
      auto it = m.instances.find({state, local});
      gauge(inst, {{"state", state}, {"local", local ? "1" : "0"}},
            it == m.instances.end() ? 0.0 : static_cast<double>(it->second));
    }
  gauge(fs.family("ferry_catalog_version", "This node's catalog version (one per change of its own instances).",
                  MetricType::Gauge),
        {}, static_cast<double>(m.version));
  counter(fs.family("ferry_catalog_changes_total", "Changes to this node's own instances since start.",
                    MetricType::Counter),
          {}, static_cast<double>(m.changes));
  histogram(fs.family("ferry_catalog_lag_seconds",
                      "From a change at its source node to its application here (peers' deltas).",
                      MetricType::Histogram),
            {}, m.lag);
  auto& errors = fs.family("ferry_catalog_sync_errors_total",
                           "Failed fetches of a peer's catalog feed and answers that could not be applied.",
                           MetricType::Counter);
  auto& stale = fs.family("ferry_catalog_peer_stale",
                          "1 while this node holds no current copy of the peer's instances (lost place or unreachable).",
                          MetricType::Gauge);
  auto& peer_instances = fs.family("ferry_catalog_peer_instances", "Instances this node holds from the peer.",
                                   MetricType::Gauge);
  gauge(fs.family("ferry_catalog_stale",
                  "1 while the catalog's picture of the other nodes is not current (etcd back end: etcd unreachable).",
                  MetricType::Gauge),
        {{"backend", m.etcd ? "etcd" : "embedded"}}, m.stale ? 1 : 0);
  if (m.etcd)
    counter(fs.family("ferry_catalog_etcd_errors_total", "Failed calls to etcd (lease, writes, range, watch).",
                      MetricType::Counter),
            {}, static_cast<double>(m.etcd_errors));
  if (!m.autoscale.empty()) {
    auto& calls = fs.family("ferry_autoscale_hook_calls_total",
                            "Calls of an app's autostart hook: action start (a request found no started instance) or "
                            "stop (autostop: an idle instance of this node), result ok or failed.",
                            MetricType::Counter);
    for (const auto& a : m.autoscale) {
      counter(calls, {{"app", a.app}, {"action", "start"}, {"result", "ok"}},
              static_cast<double>(a.start_ok));
      counter(calls, {{"app", a.app}, {"action", "start"}, {"result", "failed"}}, static_cast<double>(a.start_failures));
      counter(calls, {{"app", a.app}, {"action", "stop"}, {"result", "ok"}},
              static_cast<double>(a.stop_ok));
      counter(calls, {{"app", a.app}, {"action", "stop"}, {"result", "failed"}}, static_cast<double>(a.stop_failures));
    }
  }
  for (const auto& p : m.peers) {
    counter(errors, {{"peer", p.node}}, static_cast<double>(p.sync_errors));
    gauge(stale, {{"peer", p.node}}, p.stale ? 1 : 0);
    gauge(peer_instances, {{"peer", p.node}}, static_cast<double>(p.instances));
  }
}

void daemon_families(Families& fs, const ApiContext& ctx) {
  const DaemonSnapshot s = ctx.status->get();
  auto& reloads = fs.family("ferry_config_reloads_total", "Configuration reloads tried (signal or API) by result.",
                            MetricType::Counter);
  counter(reloads, {{"result", "success"}}, static_cast<double>(s.reload.attempts - s.reload.failures));
  counter(reloads, {{"result", "failure"}}, static_cast<double>(s.reload.failures));
  gauge(fs.family("ferry_config_last_reload_successful", "1 when the last reload (or the start-up load) succeeded.",
                  MetricType::Gauge),
        {}, s.reload.last_ok ? 1 : 0);
  gauge(fs.family("ferry_config_last_reload_timestamp_seconds",
                  "When the last reload attempt (or the start-up load) finished, Unix seconds.", MetricType::Gauge),
        {}, unix_seconds(s.reload.last_at));
  gauge(fs.family("ferry_config_generation", "Configurations loaded successfully (1 after start-up).", MetricType::Gauge),
        {}, static_cast<double>(s.generation));
  std::string_view node, region;
  if (s.config) node = s.config->global.node, region = s.config->global.region;
  gauge(fs.family("ferry_build_info", "Always 1: the version of ferryd and this node's name and region.",
                  MetricType::Gauge),
        {{"version", FERRY_VERSION}, {"node", node}, {"region", region}}, 1);
}

}  // namespace

void register_metrics_routes(web::AdminServer& server, const ApiContext& ctx) {
  server.add_route("GET", "/metrics", web::Access::user,
                   [ctx](const web::RequestContext&, Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& resp) {
                     Families fs;
                     const proxy::EngineStats st = ctx.engine->stats();
                     app_families(fs, st);
                     server_families(fs, st);
                     frontend_families(fs, st);
                     certificate_families(fs, ctx);
                     mesh_families(fs, ctx);
                     daemon_families(fs, ctx);
                     trace_families(fs, ctx, st);
                     catalog_families(fs, ctx);
                     std::vector<MetricFamily> families = fs.take();
                     append_process_metrics(families);
                     std::ostringstream out;
                     prometheus::TextSerializer().Serialize(out, families);
                     const std::string body = std::move(out).str();
                     resp.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
                     resp.setContentType("text/plain; version=0.0.4; charset=utf-8");
                     resp.set("Cache-Control", "no-store");
                     resp.sendBuffer(body.data(), body.size());
                   });
}

}  // namespace ferry::daemon
