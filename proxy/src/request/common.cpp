#include "request/common.h"

#include <algorithm>

#include "http/fields.h"
#include "observe/access_log.h"

namespace ferry::proxy {

void make_request_id(WorkerContext& w, const std::vector<http::Header>& headers, bool trusted, std::string_view alias,
                     std::string& id) {
  if (trusted) {
    std::string_view found, aliased;
    for (const auto& h : headers) {
      if (found.empty() && http::iequals(h.name, "Ferry-Request-Id")) found = h.value;
      else if (aliased.empty() && !alias.empty() && http::iequals(h.name, alias)) aliased = h.value;
    }
    for (std::string_view v : {found, aliased}) {
      if (v.empty() || v.size() > 128) continue;
      bool clean = true;
      for (unsigned char c : v) clean = clean && c > 0x20 && c < 0x7f;
      if (clean) {
        id.assign(v);
        return;
      }
    }
  }
  static const char* hex = "0123456789abcdef";
  id.assign(32, '0');
  uint64_t a = w.random(), b = w.random();
  for (int i = 0; i < 16; ++i) {
    id[i] = hex[(a >> (i * 4)) & 15];
    id[16 + i] = hex[(b >> (i * 4)) & 15];
  }
}

void start_trace(WorkerContext& w, const config::Config& cfg, const std::vector<http::Header>& headers, bool trusted,
                 trace::TraceState& t, std::string& traceparent) {
  t.on = cfg.tracing.has_value();
  if (!t.on) return;
  t.has_parent = t.tracestate = false;
  uint8_t flags = 0;
  if (trusted) {
    bool state = false;
    for (const auto& h : headers) {
      if (!t.has_parent && http::iequals(h.name, "traceparent"))
        t.has_parent = trace::parse_traceparent(h.value, t.trace, t.parent, flags);
      else if (http::iequals(h.name, "tracestate"))
        state = true;
    }
    t.tracestate = t.has_parent && state;
  }
  auto fill = [&](uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
      uint64_t r = w.random();
      for (size_t k = 0; k < 8 && i + k < n; ++k) p[i + k] = static_cast<uint8_t>(r >> (8 * k));
    }
  };
  if (t.has_parent) {
    t.sampled = (flags & 1) != 0;
  } else {
    fill(t.trace.data(), t.trace.size());
    t.trace[0] |= t.trace[0] == 0 ? 1 : 0;  // never all zeros
    // The ratio against 53 random bits: 0 never, 1 always.
    t.sampled = static_cast<double>(w.random() >> 11) < cfg.tracing->sample * 9007199254740992.0;
  }
  fill(t.span.data(), t.span.size());
  t.span[0] |= t.span[0] == 0 ? 1 : 0;
  t.start_unix_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  trace::format_traceparent(t, traceparent);
}

std::string fallback_host(const config::App& app, const PeerInfo& peer) {
  for (const std::string& h : app.hosts)
    if (!h.starts_with("*.")) return h;
  std::string ip = format_ip(&peer.local);
  if (peer.local.family() == AF_INET6) ip = "[" + ip + "]";
  return ip + ":" + std::to_string(peer.local_port);
}

void log_request(WorkerContext& w, const Plan& plan, const config::Frontend& fe, const PeerInfo& peer,
                 const RequestInfo& info, int status, uint64_t in, uint64_t out, std::string_view server,
                 double upstream_ms, int retries, std::string_view termination, StatsProtocol proto) {
  const auto now = SteadyClock::now();
  if (info.app >= 0) plan.apps[info.app].stats->record_request(w.id(), proto, status, in, out, now - info.started);
  const trace::TraceState& t = info.trace;
  const bool exported = t.on && (t.sampled || (plan.config->tracing->errors && (status >= 500 || status == 0)));
  if (exported) {
    trace::SpanFacts f;
    f.trace = &t;
    f.method = info.method.empty() ? std::string_view("HTTP") : std::string_view(info.method);
    f.path = info.path;
    f.host = info.host;
    f.app = info.app >= 0 ? std::string_view(plan.apps[info.app].cfg->name) : std::string_view();
    f.server = server;
    f.node = plan.config->global.node;
    f.region = plan.config->global.region;
    const std::string client_ip = format_ip(&peer.client);
    f.client_ip = client_ip;
    f.termination = termination;
    f.protocol = proto == StatsProtocol::http2 ? "2" : info.minor == 0 ? "1.0" : "1.1";
    f.status = status;
    f.retries = retries;
    f.backhaul = fe.backhaul;
    f.end_unix_ns = t.start_unix_ns + static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - info.started).count());
    w.spans().add(f);
  }
  if (t.on && now - info.started >= plan.config->tracing->slow && info.app >= 0) {
    SlowRequest sr;
    sr.app = plan.apps[info.app].cfg->name;
    sr.method = info.method;
    sr.path = std::string_view(info.path).substr(0, std::min<size_t>(info.path.find('?'), 256));
    sr.request_id = info.request_id;
    trace::append_hex(t.trace.data(), t.trace.size(), sr.trace_id);
    sr.status = status;
    sr.exported = exported;
    sr.duration_ms = std::chrono::duration<double, std::milli>(now - info.started).count();
    sr.unix_ms = static_cast<int64_t>(t.start_unix_ns / 1000000);
    w.shared().slow.add(std::move(sr));
  }
  auto& al = w.access_log();
  if (!al.enabled()) return;
  AccessRecord r;
  r.client = &peer.client;
  r.frontend = fe.name;
  r.app = info.app >= 0 ? std::string_view(plan.apps[info.app].cfg->name) : std::string_view();
  r.server = server;
  r.method = info.method;
  r.path = info.path;
  r.host = info.host;
  r.request_id = info.request_id;
  r.termination = termination;
  r.status = status;
  r.bytes_in = in;
  r.bytes_out = out;
  r.duration_ms = std::chrono::duration<double, std::milli>(now - info.started).count();
  r.upstream_ms = upstream_ms;
  r.retries = retries;
  char ids[48];  // trace id and span id, hex
  if (t.on) {
    trace::hex_into(t.trace.data(), t.trace.size(), ids);
    trace::hex_into(t.span.data(), t.span.size(), ids + 32);
    r.trace_id = std::string_view(ids, 32);
    r.span_id = std::string_view(ids + 32, 16);
  }
  al.add(r);
}

void count_budget(WorkerContext& w, const Plan& plan, int app, BudgetResult r, bool queued, SteadyClock::time_point since) {
  if (r == BudgetResult::granted && !queued) return;  // the fast path: nothing to count
  plan.apps[app].stats->record_budget(r, queued, SteadyClock::now() - since);
}

}  // namespace ferry::proxy
