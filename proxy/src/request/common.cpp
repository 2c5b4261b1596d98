#include "request/common.h"

#include "http/fields.h"
#include "observe/access_log.h"

namespace ferry::proxy {

void make_request_id(WorkerContext& w, const std::vector<http::Header>& headers, bool trusted, std::string& id) {
  if (trusted) {
    for (const auto& h : headers) {
      if (http::iequals(h.name, "Ferry-Request-Id") && !h.value.empty() && h.value.size() <= 128) {
        bool clean = true;
        for (unsigned char c : h.value) clean = clean && c > 0x20 && c < 0x7f;
        if (clean) {
          id.assign(h.value);
          return;
        }
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
  al.add(r);
}

void count_budget(WorkerContext& w, const Plan& plan, int app, BudgetResult r, bool queued, SteadyClock::time_point since) {
  if (r == BudgetResult::granted && !queued) return;  // the fast path: nothing to count
  plan.apps[app].stats->record_budget(r, queued, SteadyClock::now() - since);
}

}  // namespace ferry::proxy
