#include "request/replay.h"

#include <algorithm>

#include "http/fields.h"
#include "http1/body.h"
#include "log/log.h"
#include "request/common.h"
#include "routing/hints.h"

namespace ferry::proxy {
namespace {

// A discarded response body up to this size is read and dropped so that its connection can
// go back to the pool; a larger (or close-delimited) one closes the connection instead.
constexpr uint64_t kDrainMax = 64 * 1024;

// A sink that drops what it is given.
struct Discard final : http::BodySink {
  awaitable<http::BodyResult::Error> write(std::string_view, bool) override { co_return http::BodyResult::Error::none; }
  awaitable<http::BodyResult::Error> finish(std::string_view) override { co_return http::BodyResult::Error::none; }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Reads and drops the rest of the answered response in `x` (head included), then pools the
// connection when it is clean and reusable, else closes it. x.resp's views die here.
awaitable<void> discard_response(Exchange& x) {
  const Plan& plan = *x.wp.plan;
  const PlanBackend& pb = plan.backends[x.backend];
  const config::Backend& be = *pb.cfg;
  const config::Server& srv = *pb.servers[x.server].cfg;
  UpstreamConn& up = *x.up;
  const http::Framing framing = x.resp.framing;
  const uint64_t length = x.resp.content_length;
  const bool reusable = x.resp.keep_alive && srv.send_proxy == config::ProxyProtocol::none;
  up.buf.consume(x.resp.head_size);
  x.resp.headers.clear();

  // Small bodies only (a close-delimited one is never clean: the connection ends with it).
  bool clean = framing == http::Framing::none;
  if (framing == http::Framing::chunked || (framing == http::Framing::content_length && length <= kDrainMax)) {
    http1::StreamBodySource src(up.sock, up.buf, framing, length, x.dl, be.timeouts.server);
    Discard sink;
    clean = (co_await http::pump_body(src, sink, {kDrainMax})).ok();
  }
  if (clean && reusable && up.buf.empty())
    x.w.pool().put(std::move(x.up), be.pool_max_idle, be.pool_idle_timeout);
  else
    x.up.reset();
}

int find_app(const Plan& plan, std::string_view name) {
  for (size_t i = 0; i < plan.apps.size(); ++i)
    if (plan.apps[i].cfg->name == name && plan.apps[i].cfg->mode == config::Mode::http) return static_cast<int>(i);
  return -1;
}

// Ends the replay with an error answer: the response is discarded, x.server < 0.
awaitable<void> fail(Exchange& x, ReplayState& rs, int status, const char* reason, const char* term) {
  co_await discard_response(x);
  x.server = -1;
  x.inflight.drop();
  x.fail_status = status;
  x.fail_reason = reason;
  rs.termination = term;
}

}  // namespace

const char* parse_replay(std::string_view value, ReplayTarget& out) {
  out = {};
  const size_t semi = value.find(';');
  std::string_view target = trim(value.substr(0, semi));
  const size_t eq = target.find('=');
  if (eq == std::string_view::npos) return "expected region=, instance= or app=";
  const std::string_view key = trim(target.substr(0, eq)), name = trim(target.substr(eq + 1));
  if (http::iequals(key, "region")) out.kind = ReplayKind::region;
  else if (http::iequals(key, "instance")) out.kind = ReplayKind::instance;
  else if (http::iequals(key, "app")) out.kind = ReplayKind::app;
  else return "unknown target (expected region, instance or app)";
  if (!valid_hint_value(name)) return "invalid target name";
  out.name = name;
  // Parameters: state=S runs to the end of the value; others are skipped.
  std::string_view rest = semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
  while (!rest.empty()) {
    std::string_view param = trim(rest);
    if (param.size() >= 6 && http::iequals(param.substr(0, 6), "state=")) {
      std::string_view st = param.substr(6);
      if (st.size() > kMaxReplayState) return "state too long";
      for (char c : st)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return "invalid byte in state";
      out.state = st;
      break;
    }
    const size_t next = rest.find(';');
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  return nullptr;
}

int find_replay(const std::vector<http::Header>& headers) {
  for (size_t i = 0; i < headers.size(); ++i)
    if (headers[i].name.size() == 12 && http::iequals(headers[i].name, "Ferry-Replay")) return static_cast<int>(i);
  return -1;
}

void append_replay_src(std::string& out, std::string_view app, std::string_view instance, std::string_view region,
                       std::string_view state) {
  out.append("app=").append(app).append(";instance=").append(instance);
  if (!region.empty()) out.append(";region=").append(region);
  if (!state.empty()) out.append(";state=").append(state);
}

void explain_forced_hints(Exchange& x) {
  if (x.server >= 0 || x.last >= 0 || x.abandoned || !x.body.ok() || x.hints == nullptr) return;
  if (const char* why = forced_hint_reason(*x.hints)) x.fail_reason = why;
}

ReplayState::~ReplayState() {
  for (int i = 0; i < nbudgets_; ++i) budgets_[i]->release();
}

awaitable<void> follow_replays(Exchange& x, const UpstreamRequest& req, ExchangeDownstream& down,
                               const http::BodyTee* tee, int first_app, ReplayState& rs) {
  const Plan& plan = *x.wp.plan;
  while (x.server >= 0) {
    const int idx = find_replay(x.resp.headers);
    if (idx < 0) co_return;
    const std::string_view value = x.resp.headers[idx].value;
    const PlanApp& pa = plan.apps[x.app];
    const PlanBackend& pb = plan.backends[x.backend];
    const config::Server& srv = *pb.servers[x.server].cfg;
    ReplayTarget t;
    if (const char* why = parse_replay(value, t)) {
      log(config::LogLevel::warning, "app " + pa.cfg->name + ": ignoring Ferry-Replay '" +
                                         std::string(value.substr(0, 100)) + "' from " + pb.cfg->name + "/" +
                                         srv.name + ": " + why);
      // The response goes to the client, without the header.
      auto& hs = x.resp.headers;
      hs.erase(std::remove_if(hs.begin(), hs.end(),
                              [](const http::Header& h) { return h.name.size() == 12 && http::iequals(h.name, "Ferry-Replay"); }),
               hs.end());
      co_return;
    }
    if (rs.hops >= kMaxReplays) {
      co_await fail(x, rs, 502, "too many replays", "too-many-replays");
      co_return;
    }
    // The body: complete in memory already (checked against the cap too, for one rule), or
    // the tee's copy of what was streamed.
    std::string_view body = req.replayable ? req.body : std::string_view();
    const bool too_large = req.replayable ? body.size() > plan.apps[first_app].cfg->replay_max_body
                                          : tee == nullptr || tee->overflow;
    if (too_large && !req.replayable && tee != nullptr && tee->over_budget) {
      co_await fail(x, rs, 502, "replay requested but the request body was not kept (this worker's "
                    "replay-buffer-budget was in use)", "replay-budget");
      co_return;
    }
    if (too_large) {
      co_await fail(x, rs, 502, "replay requested but the request body exceeds replay-max-body",
                    "replay-body-too-large");
      co_return;
    }
    if (!req.replayable) body = tee->data;
    // The head for the target: the original plus Ferry-Replay-Src (views above die below).
    const std::string_view region = !srv.region.empty() ? std::string_view(srv.region)
                                                        : std::string_view(plan.config->global.region);
    rs.src_.clear();
    append_replay_src(rs.src_, pa.cfg->name, srv.name, region, t.state);
    rs.target_.assign(t.name);
    const ReplayKind kind = t.kind;
    int app = x.app;
    if (kind == ReplayKind::app) {
      app = find_app(plan, rs.target_);
      if (app < 0) {
        log(config::LogLevel::warning, "app " + pa.cfg->name + ": Ferry-Replay names unknown app '" + rs.target_ + "'");
        co_await fail(x, rs, 502, "replay target app not found", "replay-bad-target");
        co_return;
      }
      // Only the apps the replaying app lists in `replay-to` (and itself).
      const auto& allowed = pa.cfg->replay_to;
      if (app != x.app && std::find(allowed.begin(), allowed.end(), app) == allowed.end()) {
        log(config::LogLevel::warning, "app " + pa.cfg->name + ": Ferry-Replay names app '" + rs.target_ +
                                           "', which is not in its replay-to");
        co_await fail(x, rs, 502, "replay target app not allowed (not in the app's replay-to)", "replay-bad-target");
        co_return;
      }
      // The body must fit the target's own limit.
      const uint64_t size = req.replayable ? body.size() : tee->payload;
      if (const uint64_t limit = plan.apps[app].cfg->max_body_size; limit && size > limit) {
        co_await fail(x, rs, 413, "request body exceeds the replay target's max-body-size", "body-too-large");
        co_return;
      }
    }
    co_await discard_response(x);
    x.inflight.drop();
    ++rs.hops;
    rs.retries += x.attempts;

    // A target app other than the client's is entered through its own budget.
    const PlanApp& ta = plan.apps[app];
    bool held = app == first_app;
    for (int i = 0; i < rs.nbudgets_ && !held; ++i) held = rs.budgets_[i] == ta.budget.get();
    if (!held) {
      bool queued = false;
      const auto asked = SteadyClock::now();
      auto granted = co_await ta.budget->acquire(plan.backends[ta.backend].cfg->timeouts.queue, &queued);
      count_budget(x.w, plan, app, granted, queued, asked);
      if (granted != BudgetResult::granted) {
        x.server = -1;
        x.fail_status = 503;
        x.fail_reason = granted == BudgetResult::queue_full ? "replay target app concurrency limit reached (queue full)"
                                                            : "replay target app concurrency limit reached (queue timeout)";
        rs.termination = granted == BudgetResult::queue_full ? "queue-full" : "queue-timeout";
        co_return;
      }
      rs.budgets_[rs.nbudgets_++] = ta.budget.get();
    }

    rs.hints_ = {};
    if (kind == ReplayKind::region) rs.hints_.force_region = rs.target_;
    else if (kind == ReplayKind::instance) rs.hints_.force_instance = rs.target_;
    x.app = app;
    x.backend = ta.backend;  // a replay goes to the app's own backend (no use-backend there)
    x.hints = kind == ReplayKind::app ? nullptr : &rs.hints_;
    x.server = x.last = -1;
    x.attempts = 0;
    x.free_retries = 0;
    x.fail_status = 503;
    x.fail_reason = "no server available";
    const http::Header src{"Ferry-Replay-Src", rs.src_};
    UpstreamRequest again{req.head, body, true, req.idempotent, req.method, false, std::span(&src, 1)};
    co_await run_exchange(x, again, down);
    if (x.server < 0 && x.last < 0 && !x.abandoned && x.hints) {
      x.fail_reason = kind == ReplayKind::region ? "replay target region has no eligible server"
                                                 : "replay target instance has no eligible server";
      rs.termination = "replay-no-server";
    }
    // Followed by the next check of the (new) response for Ferry-Replay.
  }
}

}  // namespace ferry::proxy
