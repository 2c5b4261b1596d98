// The routing plan: everything a worker needs to route and balance, derived from one Config
// snapshot plus the live runtime state objects (server health/load, app budgets) that
// survive reloads.
//
// Ownership: built by build_plan() on the control thread, then immutable and shared
// (shared_ptr<const Plan>) by every worker; requests in flight keep the plan they started
// with. The ServerState / AppBudget objects it points to are shared and atomic.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <unordered_map>
#include <vector>

#include "balance/balancer.h"
#include "ferry/configlang/config.h"
#include "ferry/proxy/catalog.h"
#include "limits/app_budget.h"
#include "net/cidr.h"
#include "plan/host_router.h"
#include "plan/tls_plan.h"
#include "rules/program.h"
#include "runtime/counters.h"
#include "runtime/peer_state.h"
#include "runtime/server_state.h"

namespace ferry::proxy {

struct PlanBackend {
  const config::Backend* cfg = nullptr;
  // cfg->servers in order, then (`instances catalog`) the catalog's started instances of the
  // apps whose backend this is. A remote server's `cfg` is its entry in `owned`: a copy whose
  // address is the peer's backhaul and proto h2c (what the upstream path connects to); a
  // catalog instance's `cfg` is there too.
  std::vector<ServerRef> servers;
  std::vector<std::unique_ptr<config::Server>> owned;
  // Per server: as configured (the `server` line, or the catalog instance with its own address
  // and node), for stats and the API.
  std::vector<const config::Server*> configured;
  size_t static_servers = 0;  // servers[0, static_servers) are cfg->servers
  bool server_soft = false;   // some server has its own soft limit (config::Server::soft)
  std::vector<std::shared_ptr<ServerState>> states;   // keeps `servers[i].state` alive
  std::vector<std::shared_ptr<SSL_CTX>> tls;          // per server: client context of a `proto h2` server
};

struct PlanApp {
  const config::App* cfg = nullptr;
  int backend = -1;
  std::shared_ptr<AppBudget> budget;
  std::shared_ptr<stats::AppCounters> stats;  // per-worker request counters (by app name)
  std::shared_ptr<const rules::RuleProgram> rules;  // the app's request rules; null: none

  // `frontends`: whether the app is reached through the frontend `fi` (index into
  // Plan::frontends, the same as into Config::frontends).
  bool reached_from(int fi) const {
    const auto& in = cfg->frontends;
    return in.empty() || std::find(in.begin(), in.end(), fi) != in.end();
  }
};

struct PlanFrontend {
  const config::Frontend* cfg = nullptr;
  CidrSet trusted;
  std::shared_ptr<SSL_CTX> tls;  // connections on its `tls` binds start here; null without any
  std::shared_ptr<stats::FrontendCounters> stats;  // per-worker connection counters (by name)
  CidrSet proxy_senders;  // `proxy-senders`: who may send a PROXY header on `accept-proxy` binds
  std::shared_ptr<const rules::RuleProgram> rules;  // request rules for all its apps; null: none

  // `trust-forwarded` for a connection whose real source is `socket_peer` and whose client is
  // `client` (the same address unless a PROXY header claimed another): both must be listed,
  // so the real peer decides and a claim can only take trust away, never grant it.
  bool trusts(const SockAddr& socket_peer, const SockAddr& client) const {
    return trusted.contains(socket_peer) && trusted.contains(client);
  }
};

// Identifies a listening socket across reloads: "127.0.0.1:80"; port-0 binds also carry
// the frontend name and bind position so that each stays its own socket.
std::string listener_key(const config::Frontend& fe, size_t bind_index);

struct Plan {
  std::shared_ptr<const config::Config> config;  // keeps every cfg pointer below alive
  uint64_t generation = 0;
  std::vector<std::shared_ptr<PeerState>> peers;  // parallel to config->mesh->peers
  // `app ... ip ADDR`: connections to a dedicated address go to its app whatever their Host.
  std::unordered_map<std::string, int> app_by_ip;
  std::vector<PlanFrontend> frontends;
  std::vector<PlanBackend> backends;
  std::vector<PlanApp> apps;
  HostRouter router;      // hosts of `mode http` apps: Host routing on http frontends
  HostRouter sni_router;  // hosts of `mode tcp` apps: SNI routing on `route sni` frontends
  struct BindRef {
    int frontend;
    int bind;
  };
  std::unordered_map<std::string, BindRef> binds;  // listener_key -> frontend/bind
  std::shared_ptr<tls::TicketKeyRing> tickets;      // the engine's; rotated by worker 0
};

// Control-thread registry of the runtime objects that outlive a single plan. A server keeps
// its state while (backend name, server name, address) stay the same; an app keeps its
// budget and counters while its name stays, a frontend its counters. Not thread-safe:
// control thread only (the Engine calls it under its control mutex).
class RuntimeRegistry {
 public:
  // The number of workers: every counter object gets one slot per worker. Set before the
  // first build (the Engine's worker count never changes); default 1.
  void set_workers(int n) { workers_ = n > 0 ? n : 1; }
  // Also sets the state's `drained` flag from drained().
  std::shared_ptr<ServerState> server(const std::string& backend, const config::Server& s);
  std::shared_ptr<AppBudget> budget(const std::string& app);
  std::shared_ptr<stats::AppCounters> app_stats(const std::string& app);
  std::shared_ptr<stats::FrontendCounters> frontend_stats(const std::string& frontend);
  std::shared_ptr<PeerState> peer(const config::MeshPeer& p);
  // The buckets of a rate-limit rule, kept while `key` (its section, position and settings)
  // stays the same.
  std::shared_ptr<rules::RateLimiter> limiter(const std::string& key, const config::Rule& rule);
  // Drops entries not used by the latest build (called after each successful build).
  void retain_only_used();

  // Admin drain (Engine::set_server_drained): (backend name, server name) pairs, kept across
  // builds whether or not the configuration has them.
  std::set<std::pair<std::string, std::string>>& drained() { return drained_; }

 private:
  int workers_ = 1;
  // Servers by "backend/name@address", marked with the build that last used them (thousands
  // with a catalog: kept in place between builds rather than copied into a new map).
  struct ServerEntry {
    std::shared_ptr<ServerState> state;
    uint64_t build = 0;
  };
  std::unordered_map<std::string, ServerEntry> servers_;
  uint64_t build_ = 0;
  std::map<std::string, std::shared_ptr<AppBudget>> budgets_, budgets_used_;
  std::map<std::string, std::shared_ptr<stats::AppCounters>> app_stats_, app_stats_used_;
  std::map<std::string, std::shared_ptr<stats::FrontendCounters>> fe_stats_, fe_stats_used_;
  std::map<std::string, std::shared_ptr<PeerState>> peers_, peers_used_;
  std::map<std::string, std::shared_ptr<rules::RateLimiter>> limiters_, limiters_used_;
  std::set<std::pair<std::string, std::string>> drained_;
};

// `tls` from build_tls_plan for the same `cfg`; its contexts use `tickets`. `instances`: the
// catalog's instances (Engine::set_instances); the `started` ones of apps whose backend has
// `instances catalog` join that backend, after its `server` lines (an instance named like a
// server already there is skipped; one on a node that is neither this one nor a mesh peer too).
std::shared_ptr<const Plan> build_plan(std::shared_ptr<const config::Config> cfg, uint64_t generation,
                                       RuntimeRegistry& registry, TlsPlan tls,
                                       std::shared_ptr<tls::TicketKeyRing> tickets,
                                       const std::vector<Instance>* instances = nullptr);

}  // namespace ferry::proxy
