// The mesh load report: what a node tells the edges about the instances it hosts, so that
// their balancers see load and health that other edges cause too.
//
// Served on the backhaul listener at `GET /.ferry/v1/load` (peers only), fetched by each
// edge's mesh prober every `ping-interval`. Text, one instance per line:
//   ferry-load 1
//   <app> <instance> <in-flight> <app queue length> <healthy 0|1>
//   @<backend> <instance> <in-flight> 0 <healthy 0|1>
// The `@` lines report the instances of backends that are no app's own (reached through an
// edge's `use-backend` rule); an edge that predates them skips them as an unknown app.
// Names are config names (no blanks). Unknown trailing fields are ignored (versioning: a new
// field is appended; an incompatible change bumps the version on the first line).
//
// Pure functions on the immutable plan and the shared atomics; any worker thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"

namespace ferry::proxy {

inline constexpr std::string_view kLoadReportPath = "/.ferry/v1/load";

// The report for every instance hosted here (servers without `node`) of every app.
std::string build_load_report(const Plan& plan, int64_t now);

// Our own load on one instance on another node, taken just before its report is fetched.
struct OursBefore {
  const ServerState* state = nullptr;
  int inflight = 0;
  uint64_t started = 0;
};
// The snapshot of every server this node knows on `peer`.
std::vector<OursBefore> ours_before_report(const Plan& plan, int peer);

// Applies a report from `peer` (index into plan.config->mesh->peers) to the ServerStates of
// the servers this node knows on that peer (matched by app and instance name); servers on that
// peer the report does not list become unhealthy. Returns the number of instances updated,
// or -1 when the report is not a version-1 report (nothing changes then).
//
// The report counts our own requests too, as they were at some moment between `before` (taken
// when the fetch began) and now: the ones in flight then plus the ones started since. Those are
// subtracted, so a request of ours that ended while the report travelled cannot make the
// instance look busy until the next report (with maxconn 1: full, 503 "no server available").
// The price: while we start requests during a fetch, the other edges' share may be
// under-counted until the next report. Without a snapshot of a server, its in-flight count
// now is subtracted.
int apply_load_report(const Plan& plan, int peer, std::string_view report,
                      const std::vector<OursBefore>& before = {});

}  // namespace ferry::proxy
