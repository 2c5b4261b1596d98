#include "mesh/load_report.h"

#include <unordered_map>
#include <vector>

#include "ferry/util/number.h"

namespace ferry::proxy {

namespace {

// One line per instance this node hosts in `pb`, under `name` (an app, or "@backend").
void report_backend(std::string& out, std::string_view name, const PlanBackend& pb, int queued, int64_t now) {
  for (const ServerRef& s : pb.servers) {
    if (s.peer) continue;  // only what this node hosts
    // A drained instance is reported unhealthy: the edges stop sending to it too.
    const bool healthy = !s.cfg->disabled && s.state->healthy.load(std::memory_order_relaxed) &&
                         !s.state->drained.load(std::memory_order_relaxed) && !s.state->ejected(now);
    out += name;
    out += ' ';
    out += s.cfg->name;
    out += ' ';
    out += std::to_string(s.state->inflight.load(std::memory_order_relaxed));
    out += ' ';
    out += std::to_string(queued);
    out += healthy ? " 1\n" : " 0\n";
  }
}

}  // namespace

std::string build_load_report(const Plan& plan, int64_t now) {
  std::string out = "ferry-load 1\n";
  std::vector<bool> an_apps(plan.backends.size(), false);
  for (const PlanApp& pa : plan.apps) {
    an_apps[pa.backend] = true;
    report_backend(out, pa.cfg->name, plan.backends[pa.backend], pa.budget->queued(), now);
  }
  for (size_t b = 0; b < plan.backends.size(); ++b)
    if (!an_apps[b]) report_backend(out, "@" + plan.backends[b].cfg->name, plan.backends[b], 0, now);
  return out;
}

namespace {

std::string_view next_field(std::string_view& line) {
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  size_t sp = line.find(' ');
  std::string_view f = line.substr(0, sp);
  line.remove_prefix(sp == std::string_view::npos ? line.size() : sp);
  return f;
}

}  // namespace

std::vector<OursBefore> ours_before_report(const Plan& plan, int peer) {
  std::vector<OursBefore> out;
  for (const PlanBackend& pb : plan.backends)
    for (const ServerRef& s : pb.servers)
      if (s.cfg->peer == peer)
        out.push_back({s.state, s.state->inflight.load(std::memory_order_relaxed),
                       s.state->started.load(std::memory_order_relaxed)});
  return out;
}

int apply_load_report(const Plan& plan, int peer, std::string_view report, const std::vector<OursBefore>& before) {
  size_t nl = report.find('\n');
  std::string_view first = report.substr(0, nl);
  // Version 1, possibly followed by " ..." (a compatible extension); "ferry-load 10" is another.
  if (!first.starts_with("ferry-load 1") || (first.size() > 12 && first[12] != ' ' && first[12] != '\r')) return -1;
  report.remove_prefix(nl == std::string_view::npos ? report.size() : nl + 1);
  const config::Config& cfg = *plan.config;
  // This peer's servers, indexed by name, and the snapshot by state: one pass each, so a
  // report costs O(lines + servers) on the worker that applies it, also with thousands of
  // catalog instances in one backend.
  struct Mine {
    int backend;
    const ServerRef* server;
    bool listed = false;
  };
  std::vector<Mine> mine;
  for (size_t b = 0; b < plan.backends.size(); ++b)
    for (const ServerRef& s : plan.backends[b].servers)
      if (s.cfg->peer == peer) mine.push_back({static_cast<int>(b), &s});
  std::unordered_multimap<std::string_view, size_t> by_name;
  by_name.reserve(mine.size());
  for (size_t i = 0; i < mine.size(); ++i) by_name.emplace(mine[i].server->cfg->name, i);
  std::unordered_map<const ServerState*, const OursBefore*> snapshot;
  snapshot.reserve(before.size());
  for (const OursBefore& b : before) snapshot.emplace(b.state, &b);
  int updated = 0;
  while (!report.empty()) {
    nl = report.find('\n');
    std::string_view line = report.substr(0, nl);
    report.remove_prefix(nl == std::string_view::npos ? report.size() : nl + 1);
    std::string_view app = next_field(line), inst = next_field(line);
    int inflight = 0, queue = 0, healthy = 0;
    if (!util::parse_whole(next_field(line), inflight) || !util::parse_whole(next_field(line), queue) || !util::parse_whole(next_field(line), healthy))
      continue;
    int backend = -1;
    if (app.starts_with("@")) {
      auto it = cfg.backend_index.find(std::string(app.substr(1)));
      if (it != cfg.backend_index.end()) backend = it->second;
    } else if (auto it = cfg.app_index.find(std::string(app)); it != cfg.app_index.end()) {
      backend = plan.apps[it->second].backend;
    }
    if (backend < 0) continue;
    for (auto [it, last] = by_name.equal_range(inst); it != last; ++it) {
      Mine& m = mine[it->second];
      if (m.backend != backend) continue;
      ServerState& st = *m.server->state;
      // The report counts our own requests too: keep only the other edges' share.
      int64_t ours = st.inflight.load(std::memory_order_relaxed);
      if (auto b = snapshot.find(&st); b != snapshot.end())
        ours = b->second->inflight + static_cast<int64_t>(st.started.load(std::memory_order_relaxed) - b->second->started);
      st.remote_inflight.store(inflight > ours ? static_cast<int>(inflight - ours) : 0, std::memory_order_relaxed);
      st.remote_queue.store(queue, std::memory_order_relaxed);
      st.remote_healthy.store(healthy != 0, std::memory_order_relaxed);
      m.listed = true;
      ++updated;
    }
  }
  // This peer's servers that the report does not list (renamed, moved, not configured there)
  // cannot be served by it: unhealthy until a report lists them.
  for (const Mine& m : mine)
    if (!m.listed) m.server->state->remote_healthy.store(false, std::memory_order_relaxed);
  return updated;
}

}  // namespace ferry::proxy
