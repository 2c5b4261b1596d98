// Pure shaping of the admin API's JSON objects (docs/API.md) from the configuration in force
// and the data plane's counters, plus the configuration text helpers. No I/O, no globals, so
// tests/unit/daemon checks the exact shapes without a daemon.
//
// The configuration decides which objects exist (apps, servers, frontends in config order);
// EngineStats adds the live figures when it has an entry of the same name (a missing entry,
// e.g. a stats plan one reload behind, gives zeros). Thread: any; pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/cert_status.h"
#include "ferry/configlang/config.h"
#include "ferry/configlang/load.h"
#include "ferry/proxy/stats.h"
#include "ferry/util/json.h"

namespace ferry::daemon::api {

// Lookups by name in an EngineStats (nullptr when absent). Linear: for one object.
const proxy::AppStats* find_app(const proxy::EngineStats& s, const std::string& name);
const proxy::ServerStats* find_server(const proxy::EngineStats& s, const std::string& backend, const std::string& name);
const proxy::FrontendStats* find_frontend(const proxy::EngineStats& s, const std::string& name);

// Hashed lookups for whole lists (10,000 apps stay linear). Borrows `s`, which must outlive it.
class StatsIndex {
 public:
  explicit StatsIndex(const proxy::EngineStats& s);
  const proxy::AppStats* app(const std::string& name) const;
  const proxy::ServerStats* server(const std::string& backend, const std::string& name) const;

 private:
  std::unordered_map<std::string, const proxy::AppStats*> apps_;
  std::unordered_map<std::string, const proxy::ServerStats*> servers_;  // key: backend + '\0' + name
};

// Finished requests (connections for tcp apps) of every protocol and status class.
uint64_t total_requests(const proxy::AppStats& a);
// Requests of status class `cls` (index into kStatusClassNames) over every protocol.
uint64_t class_requests(const proxy::AppStats& a, int cls);
// The q-quantile (0..1) of a cumulative duration histogram in milliseconds, interpolated
// linearly inside the bucket; the last finite bound when it falls in +Inf; 0 when empty.
double quantile_ms(const proxy::Histogram& h, double q);

// The members (without braces) of an app list entry: name, mode, hosts, backend, inflight,
// queued, soft, hard, rejected, requests, rps, status, spark.
void write_app_members(util::JsonWriter& w, const config::Config& cfg, const config::App& app, const proxy::AppStats* st,
                       double rps, const std::vector<uint64_t>& spark);
// One server object (GET /api/v1/servers, an app's instances). `drained`: the admin drain state
// when `st` is null (with stats, st->drained is used).
void write_server(util::JsonWriter& w, const config::Config& cfg, const config::Backend& be, const config::Server& sv,
                  const proxy::ServerStats* st, bool drained);
// One frontend object; `listening[i]`: the bound address of binds[i] ("" when not bound).
void write_frontend(util::JsonWriter& w, const config::Frontend& fe, const proxy::FrontendStats* st,
                    const std::vector<std::string>& listening);
// One certificate object (GET /api/v1/certificates).
void write_certificate(util::JsonWriter& w, const CertStatus& c);

// The bound address of each of `fe`'s binds given the engine's listeners of that frontend
// (addresses as bound, "127.0.0.1:41234"): a bind matches a listener on the same host and
// port, or any port when it asked for port 0; each listener is used once.
std::vector<std::string> match_listeners(const config::Frontend& fe, const std::vector<std::string>& bound);

// The configuration text with the HASH of every `admin-user NAME HASH` line replaced by
// "<hash>" (quoted or not; comments and other lines unchanged).
std::string mask_admin_hashes(std::string_view text);
// The reverse for a candidate sent back to validate: `admin-user NAME <hash>` gets the hash
// NAME has in `users` (the running configuration); other lines are unchanged.
std::string restore_admin_hashes(std::string_view text, const std::vector<config::AdminUser>& users);

// POST /api/v1/config/validate's answer for a load result.
std::string diagnostics_json(const config::LoadResult& r);

}  // namespace ferry::daemon::api
