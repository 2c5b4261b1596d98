// Ferry-Replay: an upstream response that asks the edge to send the request again elsewhere
// (fly-proxy's "fly-replay"). Only an edge frontend acts on it; a `backhaul` frontend passes
// the header through untouched so that the edge that took the client's connection replays.
//
// Response header (from the upstream):
//   Ferry-Replay: region=R | instance=I | app=A  [ ;state=S ]
// region / instance: the same app again with a forced RoutingHints (force_region /
// force_instance); app: the app named A (its budget, its backend, no hints). R, I, A are
// names (routing/hints.h valid_hint_value); S is printable ASCII (0x20..0x7e), at most
// kMaxReplayState bytes, and runs to the end of the value. Unknown parameters are ignored.
// A malformed value is ignored (logged at warning) and the response goes to the client
// without the header.
//
// Request header (to the replay target), replacing nothing the client sent (rewrite.cpp
// drops Ferry-* from untrusted clients):
//   Ferry-Replay-Src: app=<app>;instance=<server>;region=<region>[;state=S]
// naming the app, instance and region that asked for the replay (region: the server's, or
// this node's global `region`; omitted when neither is set).
//
// Limits: at most kMaxReplays replays per request (then 502 "too many replays"); a body
// replays only if it is at most the client's app's `replay-max-body` (default 0: only
// requests without a body replay) and complete in memory or teed while it streamed (else 502
// "replay requested but the request body exceeds replay-max-body"); a tee that did not fit the
// worker's `replay-buffer-budget` kept nothing (502 "... replay-buffer-budget was in use").
// The answer with Ferry-Replay is then discarded, never passed to the client.
// `app=A` must name the replaying app itself or an app in its `replay-to` (else 502 "replay
// target app not allowed", logged), and the body must fit A's `max-body-size` (else 413).
//
// Thread: the worker's. Coroutines never throw.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "http1/body.h"
#include "http1/parse_result.h"
#include "request/exchange.h"

namespace ferry::proxy {

inline constexpr int kMaxReplays = 3;
inline constexpr size_t kMaxReplayState = 1024;

enum class ReplayKind { region, instance, app };

struct ReplayTarget {
  ReplayKind kind = ReplayKind::region;
  std::string_view name;   // the region, instance or app name
  std::string_view state;  // empty: none
};

// Parses a Ferry-Replay value into `out` (views into `value`). Returns null when valid, else
// a short reason (for the log line).
const char* parse_replay(std::string_view value, ReplayTarget& out);

// The index of the first Ferry-Replay field in `headers`, or -1. One length compare per field
// (the zero-cost check every response head pays).
int find_replay(const std::vector<http::Header>& headers);

// Appends a Ferry-Replay-Src value (without the name) to `out`.
void append_replay_src(std::string& out, std::string_view app, std::string_view instance, std::string_view region,
                       std::string_view state);

// One request's replay bookkeeping. Owned by the caller's frame and alive until the response
// is done: it holds the target apps' budgets and the storage the replayed exchange views.
class ReplayState {
 public:
  ReplayState() = default;
  ReplayState(const ReplayState&) = delete;
  ReplayState& operator=(const ReplayState&) = delete;
  ~ReplayState();  // releases the budgets taken for target apps

  int hops = 0;     // replays made
  int retries = 0;  // attempts of the exchanges before the last one (for the access log)
  // Set when following a replay failed (x.server < 0): the access log's termination.
  const char* termination = nullptr;

  // For the access log: the retries field counts replays too.
  int total_retries(const Exchange& x) const { return x.attempts + retries + hops; }

 private:
  friend awaitable<void> follow_replays(Exchange&, const UpstreamRequest&, ExchangeDownstream&, const http::BodyTee*,
                                        int, ReplayState&);
  std::string src_;   // the Ferry-Replay-Src value sent with the request again
  std::string target_, state_;
  RoutingHints hints_;
  std::array<AppBudget*, kMaxReplays> budgets_{};
  int nbudgets_ = 0;
};

// After a failed exchange under `x.hints` in which no server was ever picked: the 503 names
// the forced target (routing hints) instead of the generic "no server available".
void explain_forced_hints(Exchange& x);

// True when the answered exchange carries a Ferry-Replay the edge must act on. Inline and
// cheap: no replay header, no other cost.
inline bool replay_requested(const Exchange& x, const config::Frontend& fe) {
  return x.server >= 0 && !fe.backhaul && find_replay(x.resp.headers) >= 0;
}

// Follows Ferry-Replay responses for an answered exchange `x` (run_exchange with `req`):
// discards each such response (drained into the pool when small and complete, else the
// connection is closed), then runs the exchange again for the target with `req`'s head plus
// Ferry-Replay-Src and its body (req.body when replayable, else `tee`'s copy). `first_app` is
// the app the client's request was routed to (its budget is the caller's).
// Afterwards `x` is as after run_exchange: x.server >= 0 with x.resp free of Ferry-Replay and
// x.app the app that answered; or x.server < 0 with fail_status / fail_reason and
// rs.termination (null: an ordinary exchange failure).
awaitable<void> follow_replays(Exchange& x, const UpstreamRequest& req, ExchangeDownstream& down,
                               const http::BodyTee* tee, int first_app, ReplayState& rs);

}  // namespace ferry::proxy
