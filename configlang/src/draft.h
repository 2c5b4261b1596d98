// The mutable draft the keyword handlers fill while walking the AST; resolve.cpp turns it into
// the immutable Config. Values that inherit (defaults <- section) are optionals here so the
// resolve pass can tell "not set" from "set to the default". Private to configlang.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ast.h"
#include "ferry/configlang/config.h"

namespace ferry::config::detail {

enum TimeoutKind { kConnect, kClient, kServer, kHttpRequest, kHttpKeepAlive, kTunnel, kQueue, kDrain, kTimeoutCount };
inline constexpr const char* kTimeoutNames[kTimeoutCount] = {
    "connect", "client", "server", "http-request", "http-keep-alive", "tunnel", "queue", "drain"};
using TimeoutSet = std::array<std::optional<Duration>, kTimeoutCount>;

struct LimitsSet {
  std::optional<uint32_t> max_request_line, max_header_size, max_headers, h2_max_streams;
};

struct DefaultsDraft {
  TimeoutSet timeouts;
  LimitsSet limits;
  std::optional<int> retries;
  std::optional<uint64_t> max_body_size;
  std::optional<Balance> balance;
};

// The request rules of one section (sections/rules.cpp): the RuleSet as written, with the
// names its conditions and use-backend lines refer to, resolved in the `own` pass.
struct RulesDraft {
  RuleSet set;
  std::vector<Arg> acl_names;  // parallel to set.acls
  struct TermRef {
    Arg name;      // as written, without a leading '!'
    size_t rule;   // index into set.rules
    size_t group;  // index into that rule's cond.any
    size_t term;   // index into that group
  };
  std::vector<TermRef> terms;
  std::vector<std::pair<size_t, Arg>> backend_refs;  // (rule, NAME) of each use-backend
  std::vector<Loc> basic_auth;  // each basic-auth rule's realm (it needs an auth-user)
  std::optional<Loc> auth_user;  // the first auth-user (unused without a basic-auth rule)
  std::optional<Loc> first_kw;  // the first rule directive's keyword (a tcp section has none)
};

struct FrontendDraft {
  Frontend fe;
  Arg name;
  Loc loc;
  TimeoutSet timeouts;
  LimitsSet limits;
  std::optional<Arg> app_ref;          // `app NAME`
  std::optional<Arg> default_app_ref;  // `default-app NAME`
  std::optional<Arg> route_arg;        // `route sni`
  std::vector<Arg> bind_args;          // parallel to fe.binds
  std::optional<Arg> default_certificate_arg;
  std::optional<Loc> accept_proxy_loc;    // the first bind's `accept-proxy` option
  std::optional<Loc> proxy_senders_kw;    // the first `proxy-senders` keyword
  RulesDraft rules;
};

struct BackendDraft {
  Backend be;
  Arg name;
  Loc loc;
  TimeoutSet timeouts;
  std::optional<int> retries;
  std::optional<Balance> balance;
  std::vector<Arg> server_names;  // every `server` line's NAME, valid or not
  std::unordered_map<std::string, size_t> server_index;  // NAME -> its index in server_names
  std::vector<std::optional<Arg>> server_nodes;  // parallel to be.servers: the `node NAME` argument
};

struct AppDraft {
  App app;
  Arg name;
  Loc loc;
  std::optional<Arg> backend_ref;
  std::optional<uint64_t> max_body_size;
  std::vector<Arg> host_args;  // parallel to app.hosts
  // Keyword positions of directives that a `mode tcp` app cannot use.
  std::optional<Loc> certificate_kw, tls_min_kw, max_body_size_kw;
  std::optional<Arg> certificate_arg;  // `certificate acme|PATH`
  std::optional<Arg> ip_arg;           // `ip ADDR`
  std::vector<Arg> replay_to_args;     // `replay-to APP...`
  RulesDraft rules;
  std::optional<bool> https_redirect;  // `https-redirect on|off`
  std::optional<Arg> https_redirect_arg;
  std::optional<Loc> hsts_kw;
  std::vector<Arg> frontend_args;      // `frontends NAME...`
  std::optional<Loc> autostart_kw, autostart_timeout_kw, autostop_kw;  // scale-to-zero directives
};

struct AcmeDraft {
  Acme acme;
  Loc loc;                            // the section header
  std::optional<Arg> directory_arg;   // `directory URL`
  std::optional<Arg> challenge_arg;   // `challenge tls-alpn-01|http-01`
};

struct TracingDraft {
  Tracing tracing;
  Loc loc;                          // the section header
  std::optional<Arg> endpoint_arg;  // `endpoint URL`
};

struct CatalogDraft {
  Loc loc;  // the section header
  std::optional<Arg> user_arg, password_file_arg, cert_arg, key_arg;
};

struct MeshDraft {
  Mesh mesh;
  Loc loc;                       // the section header
  std::vector<Arg> peer_args;    // parallel to mesh.peers: each peer's NAME
  std::vector<std::optional<Loc>> peer_backhaul_locs;  // parallel: its valid `backhaul` value
  std::optional<Arg> private_key_arg, address_arg, backhaul_arg, driver_arg, peer_timeout_arg;
};

struct Draft {
  Global global;
  std::optional<Loc> global_loc;
  bool node_set = false;
  std::optional<Arg> admin_arg;  // `admin ADDR|off` (for the non-loopback check)
  DefaultsDraft defaults;
  bool any_timeout = false;  // a `timeout` directive appeared anywhere
  std::vector<FrontendDraft> frontends;
  std::vector<BackendDraft> backends;
  std::vector<AppDraft> apps;
  std::optional<AcmeDraft> acme;  // the `acme` section
  std::optional<TracingDraft> tracing;  // the `tracing` section
  std::optional<MeshDraft> mesh;  // the `mesh` section
  std::optional<CatalogDraft> catalog;  // the `catalog` section (its values land in cfg.catalog)
  Catalog catalog_cfg;
  std::vector<AnycastAddress> anycast;  // every `anycast` address line
  std::vector<Arg> anycast_args;        // parallel: the CIDR argument
};

}  // namespace ferry::config::detail
