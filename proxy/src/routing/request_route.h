// Which app an HTTP request goes to, the same for HTTP/1 sessions and HTTP/2 streams:
//   - on the mesh backhaul listener: the app named by the edge's Ferry-App metadata, and the
//     instance named by Ferry-Instance, which must be hosted here (never relayed onwards), in
//     the backend named by Ferry-Backend (an edge's `use-backend` choice) or the app's;
//   - on a dedicated anycast address (`app ... ip`): that app, whatever the Host;
//   - else by Host (exact, then wildcard), then the frontend's default-app.
//
// Pure lookups on the immutable plan; worker thread; no allocation unless an error message is
// built.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "net/connect.h"
#include "plan/plan.h"

namespace ferry::proxy {

struct RequestRoute {
  int app = -1;
  int status = 0;              // != 0: answer this status with `reason` (app stays -1)
  std::string reason;
  std::string_view instance;   // backhaul: the server (hosted here) to use; empty = any
  int backend = -1;            // backhaul: the backend an edge's `use-backend` chose; -1 = the app's
};

// A TLS connection's session and the front context its handshake started on (the plan of
// that moment: a reload does not change which certificates a connection was offered).
struct TlsOrigin {
  SSL* ssl = nullptr;          // null: a plain connection
  SSL_CTX* front = nullptr;
};

// `mode`: what the connection carries (HTTP requests, or raw TCP on the backhaul); a backhaul
// target app of the other mode is refused. `tls`: an app found by Host must be one the
// handshake could have been for (same certificate and TLS policy as the Host's SNI would have
// chosen, tls::host_matches_handshake), else 421 Misdirected Request, so that a client cannot
// reach a `tls-min 1.3` app over TLS 1.2 by naming another app in its SNI.
RequestRoute route_request(const Plan& plan, const PlanFrontend& fe, const PeerInfo& peer, std::string_view host,
                           const std::vector<http::Header>& headers, config::Mode mode = config::Mode::http,
                           TlsOrigin tls = {});

// The first header named `name` (case-insensitive), or an empty view.
std::string_view header_value(const std::vector<http::Header>& headers, std::string_view name);

// The app whose dedicated `ip` the connection was made to, or -1. Cheap when no app has one.
int app_for_local_address(const Plan& plan, const PeerInfo& peer);

}  // namespace ferry::proxy
