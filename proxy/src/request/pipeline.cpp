#include "request/pipeline.h"

#include <algorithm>
#include <optional>
#include <string>

#include "acme/http01_tokens.h"
#include "auth/verifier.h"
#include "http/chars.h"
#include "http/error_pages.h"
#include "http/fields.h"
#include "http1/rewrite.h"
#include "log/log.h"
#include "mesh/catalog_feed.h"
#include "mesh/load_report.h"
#include "request/common.h"
#include "request/exchange.h"
#include "request/replay.h"
#include "routing/hints.h"
#include "routing/request_route.h"
#include "rules/eval.h"

namespace ferry::proxy {
namespace {

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

// The state of one request as it goes through the phases. Lives in run_request's frame.
struct Request {
  RequestDownstream& d;
  DownstreamConn& c;
  // The request finishes with the plan it started under (or, after waiting for an autostarted
  // instance, the newer plan of the same config that has it: hold_for_instance).
  std::shared_ptr<WorkerPlan> wp;
  const Plan* plan;
  const config::Frontend& fe;
  http::RequestHead& req;
  RequestScratch& sc;
  RequestInfo& info;
  bool has_body;
  bool ruled = false;  // request rules ran: their response edits apply (sc.rules)
  uint64_t retry_after_ms = 0;  // a rate-limit rule answered: until its bucket has a token
  bool auth_busy = false;  // a basic-auth rule's verification was refused (verifier queue full)
  int backend = -1;    // the routed app's backend, or the one a use-backend rule chose

  Request(RequestDownstream& d, http::RequestHead& req, RequestScratch& sc)
      : d(d),
        c(d.conn()),
        wp(c.wp_),
        plan(wp->plan.get()),
        fe(*c.fe_->cfg),
        req(req),
        sc(sc),
        info(sc.info),
        has_body(req.framing != http::Framing::none) {}

  void log(int status, uint64_t in, uint64_t out, std::string_view server, double up_ms, int retries,
           std::string_view term) {
    log_request(c.w_, *plan, fe, c.peer_, info, status, in, out, server, up_ms, retries, term, d.protocol());
  }
  // Whether the connection may go on after an answer that left the request body unread.
  bool may_continue_unread() const { return !has_body && req.keep_alive; }
};

// accept: the request's facts for retries and the access log.
void accept(Request& r) {
  RequestInfo& info = r.info;
  info.started = SteadyClock::now();
  info.minor = r.req.minor;
  info.keep_alive = r.req.keep_alive;
  info.idempotent = http::is_idempotent(r.req.method);
  info.app = -1;
  make_request_id(r.c.w_, r.req.headers, r.c.trusted_, r.plan->config->global.request_id_header, info.request_id);
  start_trace(r.c.w_, *r.plan->config, r.req.headers, r.c.trusted_, info.trace, r.sc.traceparent);
  if (r.c.w_.access_log().enabled() || info.trace.on) {
    info.method = r.req.method;
    info.path = r.req.target;
    info.host = r.req.host;
  } else {  // the scratch may carry another connection's request
    info.method.clear(), info.path.clear(), info.host.clear();
  }
}

// local: answers Ferry gives before routing, or nothing.
std::optional<LocalResponse> local_answer(Request& r) {
  if (r.has_body || r.req.method != "GET") return std::nullopt;
  // The mesh load report, for the edges' probers (backhaul peers only).
  if (r.fe.backhaul && r.req.target == kLoadReportPath)
    return LocalResponse{200, "text/plain", build_load_report(*r.plan, now_ms()), "", false};
  // ACME HTTP-01 (RFC 8555 §8.3): a pending token is answered here; an unknown one is routed
  // like any request (an app may answer its own). Only that path takes the table's lock
  // (acme/http01_tokens.h).
  auto& tokens = r.c.w_.shared().acme_http;
  if (std::string key_authz; tokens.maybe_any() && tokens.find(acme::acme_challenge_token(r.req.path), key_authz)) {
    log(config::LogLevel::info, "frontend " + r.fe.name + ": answered an ACME http-01 validation from " + r.c.client_ip_);
    return LocalResponse{200, "application/octet-stream", std::move(key_authz), "acme-http-01"};
  }
  return std::nullopt;
}

// The embedded catalog's long poll (mesh/catalog_feed.h), on the backhaul only; not logged.
awaitable<bool> answer_catalog_poll(Request& r) {
  std::string body = co_await serve_catalog_poll(r.c.w_, r.req.target, r.c.peer_.socket);
  const LocalResponse resp{200, "text/plain", std::move(body), "", false};
  const bool keep = r.req.keep_alive;
  const uint64_t n = co_await r.d.send_local(resp, !keep);
  co_return n != 0 && keep;
}

// Why Ferry answers a routed request itself instead of forwarding it: the answer and the
// access log's termination.
struct Refusal {
  int status = 0;
  std::string reason;
  const char* term = "";
  bool close = false;
  uint32_t retry_after = 0;  // seconds
};

// route: the app and its body limit. Returns the app, or -1 with `no` filled.
int route(Request& r, Refusal& no) {
  RequestRoute route = route_request(*r.plan, *r.c.fe_, r.c.peer_, r.req.host, r.req.headers, config::Mode::http,
                                     TlsOrigin{r.c.sock_.ssl(), r.c.tls_front_.get()});
  const int app = route.app;
  if (app < 0) {
    no = {route.status, std::move(route.reason), "no-app", !r.may_continue_unread()};
    return -1;
  }
  const PlanApp& pa = r.plan->apps[app];
  // `frontends`: an app scoped to other frontends is not here (as if it did not exist).
  if (!r.fe.backhaul && !pa.reached_from(static_cast<int>(r.c.fe_ - r.plan->frontends.data()))) {
    no = {404, "no app is configured for host '" + std::string(r.req.host.substr(0, 200)) + "'", "no-app",
          !r.may_continue_unread()};
    return -1;
  }
  r.info.instance.assign(route.instance);
  r.info.app = app;
  r.backend = route.backend >= 0 ? route.backend : pa.backend;
  if (pa.cfg->max_body_size && r.req.framing == http::Framing::content_length &&
      r.req.content_length > pa.cfg->max_body_size) {
    no = {413, "request body exceeds max-body-size", "body-too-large", true};
    return -1;
  }
  return app;
}

// rules: the client's address as the rules see it: the connection's (after a PROXY header),
// or, from a `trust-forwarded` peer, the last X-Forwarded-For entry (the client that peer saw).
void rule_client(const Request& r, SockAddr& addr, std::string_view& text) {
  addr = r.c.peer_.client;
  text = r.c.client_ip_;
  if (!r.c.trusted_) return;
  std::string_view xff;
  for (const auto& h : r.req.headers)
    if (http::iequals(h.name, "x-forwarded-for")) xff = h.value;  // the last field line
  const size_t comma = xff.rfind(',');
  std::string_view last = comma == std::string_view::npos ? xff : xff.substr(comma + 1);
  last = http::chars::trim_ows(last);
  SockAddr parsed{};
  if (parse_ip(last, AF_INET, 0, parsed) || parse_ip(last, AF_INET6, 0, parsed)) addr = parsed, text = last;
}

// rules: the request goes on; the rules' backend choice and request edits apply.
void ruled_on(Request& r, const rules::Outcome& out) {
  if (out.backend >= 0) r.backend = out.backend;
  rules::apply_request_edits(r.sc.rules, r.req);
}

// rules: the frontend's and the app's request rules (rules/eval.h). An Outcome with `answer`
// (deny, redirect, return, rate-limit, basic-auth) or `verify` (credentials to check first,
// verify_credentials) is left to the caller; otherwise the request is edited and r.backend set.
rules::Outcome run_rules(Request& r, int app, rules::RequestFacts& f, SockAddr& client) {
  const PlanApp& pa = r.plan->apps[app];
  const rules::RuleProgram* programs[2] = {r.c.fe_->rules.get(), pa.rules.get()};
  if ((programs[0] == nullptr && programs[1] == nullptr) || r.fe.backhaul) return {};  // the edge ran them
  f.req = &r.req;
  f.host = r.req.host;
  rule_client(r, client, f.client_ip);
  f.client = &client;
  f.ssl = r.c.sock_.ssl();
  f.version = r.d.protocol() == StatsProtocol::http2 ? 20 : 10 + r.req.minor;
  f.region = r.plan->config->global.region;
  f.app = pa.cfg->name;
  f.request_id = r.info.request_id;
  f.now_ms = static_cast<uint64_t>(now_ms());
  f.auth_cache = &r.c.w_.auth_cache();
  const rules::Outcome out = rules::evaluate(programs, 2, f, r.sc.rules);
  r.ruled = true;
  r.retry_after_ms = out.retry_after_ms;
  if (!out.answer && !out.verify) ruled_on(r, out);
  return out;
}

// basic-auth credentials this worker has no verdict on: the CredentialVerifier checks them
// (off this loop), the verdict goes into the worker's cache, and the rules go on from that
// rule. A full verifier queue answers the request 503. Rare: once per credentials and worker.
awaitable<rules::Outcome> verify_credentials(Request& r, int app, const rules::RequestFacts& f, rules::Outcome out) {
  const rules::RuleProgram* programs[2] = {r.c.fe_->rules.get(), r.plan->apps[app].rules.get()};
  auth::CredentialVerifier* verifier = r.c.w_.shared().verifier;
  // Each round settles one basic-auth rule; more rounds than rules would be a bug: refuse.
  for (int round = 0; out.verify && round < 16; ++round) {
    const auth::BasicScratch& s = r.sc.rules.auth;
    auto verdict = auth::CredentialVerifier::Verdict::busy;
    if (verifier) verdict = co_await verifier->verify(s.password, s.account, s.users->users.front());
    if (verdict == auth::CredentialVerifier::Verdict::busy) {
      r.auth_busy = true;
      out.answer = out.verify;
      out.verify = nullptr;
      co_return out;
    }
    r.c.w_.auth_cache().put(s.key, verdict == auth::CredentialVerifier::Verdict::ok, static_cast<uint64_t>(now_ms()));
    out = rules::resume(programs, 2, f, r.sc.rules, out);
  }
  if (out.verify) out.answer = out.verify, out.verify = nullptr;
  r.retry_after_ms = out.retry_after_ms;
  if (!out.answer) ruled_on(r, out);
  co_return out;
}

// Automatic HTTPS: a plain request to an app with `https_port` is redirected there (308),
// unless it is an ACME http-01 validation (answered, or routed, as it is) or a trusted proxy
// in front says the client's connection was HTTPS already (X-Forwarded-Proto).
bool wants_https(const Request& r, const PlanApp& pa) {
  if (pa.cfg->https_port == 0 || r.c.sock_.ssl() != nullptr || r.fe.backhaul || r.req.host.empty()) return false;
  if (r.req.path.substr(0, acme::kAcmeChallengePrefix.size()) == acme::kAcmeChallengePrefix) return false;
  if (r.c.trusted_)
    for (const auto& h : r.req.headers)
      if (http::iequals(h.name, "x-forwarded-proto") && http::iequals(http::chars::trim_ows(h.value), "https")) return false;
  return true;
}

// An answer of Ferry's own to a routed request (a redirect, a rule's return, a 401) with one
// `extra` field (a redirect's Location; none when its name is empty) and its log line.
// Returns whether the connection may go on.
awaitable<bool> answer_locally(Request& r, LocalResponse resp, http::Header extra) {
  if (!extra.name.empty()) resp.extra = std::span(&extra, 1);
  resp.head = r.req.method == "HEAD";
  const bool close = !r.may_continue_unread();
  const uint64_t n = co_await r.d.send_local(resp, close);
  r.log(resp.status, 0, n, {}, -1, 0, resp.termination);
  co_return n != 0 && !close;
}

awaitable<bool> redirect_to_https(Request& r, const PlanApp& pa) {
  std::string location = "https://" + std::string(http::host_without_port(r.req.host));
  if (pa.cfg->https_port != 443) location += ":" + std::to_string(pa.cfg->https_port);
  location += r.req.path.empty() || r.req.path[0] != '/' ? "/" + std::string(r.req.path) : std::string(r.req.path);
  // Named, not temporaries in the co_await: g++ 12 destroys such temporaries too early.
  const LocalResponse resp{308, {}, {}, "https-redirect"};
  const http::Header extra{"Location", location};
  co_return co_await answer_locally(r, resp, extra);
}

// The answer of a deny, redirect, return, rate-limit or basic-auth rule, and its log line.
awaitable<bool> rule_answer(Request& r, const config::Rule& rule, const rules::RequestFacts& f, bool auth_missing) {
  const bool close = !r.may_continue_unread();
  stats::AppCounters& stats = *r.plan->apps[r.info.app].stats;
  if (rule.kind == config::Rule::Kind::deny) {
    co_await r.d.send_error(rule.status, "denied by a rule", close);
    r.log(rule.status, 0, 0, {}, -1, 0, "rule-deny");
    co_return !close;
  }
  if (rule.kind == config::Rule::Kind::rate_limit) {
    stats.record_rate_limited();
    const auto secs = static_cast<uint32_t>((r.retry_after_ms + 999) / 1000);
    co_await r.d.send_error(429, "rate limit exceeded", close, secs);
    r.log(429, 0, 0, {}, -1, 0, "rate-limited");
    co_return !close;
  }
  if (rule.kind == config::Rule::Kind::basic_auth && r.auth_busy) {
    stats.record_auth_rejected(AuthRejection::busy);
    co_await r.d.send_error(503, "too many password checks at once; try again", close, 1);
    r.log(503, 0, 0, {}, -1, 0, "auth-busy");
    co_return !close;
  }
  if (rule.kind == config::Rule::Kind::basic_auth) {
    stats.record_auth_rejected(auth_missing ? AuthRejection::missing : AuthRejection::wrong);
    // Named, not temporaries in the co_await: g++ 12 destroys such temporaries too early.
    const std::string challenge = auth::challenge(rule.value);
    const http::Header extra{"WWW-Authenticate", challenge};
    const LocalResponse resp{401, "text/plain; charset=utf-8", error_body(401, "authentication required"),
                             auth_missing ? "auth-required" : "auth-failed"};
    co_return co_await answer_locally(r, resp, extra);
  }
  const bool redirect = rule.kind == config::Rule::Kind::redirect;
  const std::string location = redirect ? rules::redirect_location(rule, f) : std::string();
  const LocalResponse resp{rule.status, redirect ? std::string_view() : std::string_view(rule.content_type),
                           redirect ? std::string() : rule.body, redirect ? "rule-redirect" : "rule-return"};
  const http::Header extra{redirect ? "Location" : "", location};
  co_return co_await answer_locally(r, resp, extra);
}

// Whether the request's backend has a server to send it to: a `server` line or a started
// catalog instance, not disabled (an unhealthy one still counts: the exchange answers then).
bool has_started_instance(const Plan& plan, int backend) {
  for (const auto& s : plan.backends[backend].servers)
    if (!s.cfg->disabled && s.cfg->weight > 0) return true;
  return false;
}

// autostart (scale-to-zero): the app has no started instance. The daemon is asked to start
// one (its hook runs off this loop, once while a start is pending), and the request waits
// until a plan of the same config has one: it goes on with that plan. At `autostart-timeout`,
// at the drain, or when a reload changed the config meanwhile: 503 with Retry-After. Returns
// the app, or -1 with `no` filled.
awaitable<int> hold_for_instance(Request& r, int app, Refusal& no) {
  const config::App& cfg = *r.plan->apps[app].cfg;
  WorkerContext& w = r.c.w_;
  if (w.shared().autostart) w.shared().autostart(cfg.name);
  struct Ended {
    std::shared_ptr<stats::AppCounters> c;  // the app's, whatever plan the request ends with
    bool served = false;
    ~Ended() { c->autostart_wait_end(served); }
  } ended{r.plan->apps[app].stats};
  ended.c->autostart_wait_begin();
  const auto until = SteadyClock::now() + cfg.autostart_timeout;
  const uint32_t retry_after = 1;
  for (;;) {
    const std::shared_ptr<WorkerPlan>& now = w.plan();
    if (now->plan->config != r.plan->config) {
      no = {503, "the configuration changed while waiting for an instance of app '" + cfg.name + "'",
            "autostart-reload", !r.may_continue_unread(), retry_after};
      co_return -1;
    }
    if (now != r.wp && has_started_instance(*now->plan, r.backend) && r.c.refresh_plan()) {
      r.wp = r.c.wp_;
      r.plan = r.wp->plan.get();
      ended.served = true;
      co_return app;
    }
    if (w.draining() || SteadyClock::now() >= until || r.d.abandoned()) break;
    asio::steady_timer t(w.io());
    t.expires_at(until);
    co_await w.plan_waiters().wait(t);  // expiry, or woken by a new plan or the drain
  }
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(cfg.autostart_timeout).count();
  no = {503, "no instance of app '" + cfg.name + "' started within " + std::to_string(secs) + "s", "autostart-timeout",
        !r.may_continue_unread(), retry_after};
  co_return -1;
}

// budget, when the request has to queue for a unit of its app's concurrency budget (the
// free-unit case is AppBudget::try_acquire, without suspending). Returns the app, or -1 with
// `no` filled.
awaitable<int> queue_for_budget(Request& r, int app, Refusal& no) {
  const PlanApp& pa = r.plan->apps[app];
  const config::Backend& be = *r.plan->backends[pa.backend].cfg;
  bool queued = false;
  const auto asked = SteadyClock::now();
  auto granted = co_await pa.budget->acquire(be.timeouts.queue, &queued);
  count_budget(r.c.w_, *r.plan, app, granted, queued, asked);
  if (granted == BudgetResult::granted) co_return app;
  const bool full = granted == BudgetResult::queue_full;
  no = {503, full ? "app concurrency limit reached (queue full)" : "app concurrency limit reached (queue timeout)",
        full ? "queue-full" : "queue-timeout", !r.may_continue_unread(), true};
  co_return -1;
}

// The exchange failed on the request body (x.body): the answer and the log line.
awaitable<void> body_failed(Request& r, const Exchange& x, int retries) {
  using E = http::BodyResult::Error;
  const auto& pb = r.plan->backends[x.backend];
  const auto& br = x.body;
  std::string_view srv = x.last >= 0 ? std::string_view(pb.servers[x.last].cfg->name) : std::string_view();
  const double up_ms = ms_since(x.started);
  if (br.error == E::too_large) {
    co_await r.d.send_error(413, "request body exceeds max-body-size", true);
    r.log(413, br.bytes, 0, srv, up_ms, retries, "body-too-large");
  } else if (br.error == E::malformed) {
    co_await r.d.send_error(400, "malformed chunked request body", true);
    r.log(400, br.bytes, 0, srv, up_ms, retries, "bad-body");
  } else if (br.error == E::write || br.error == E::write_timeout) {
    const int status = br.error == E::write ? 502 : 504;
    co_await r.d.send_error(status, "upstream failed while receiving the request body", true);
    r.log(status, br.bytes, 0, srv, up_ms, retries, "upstream-body");
  } else {
    r.log(0, br.bytes, 0, srv, -1, retries, br.error == E::read_timeout ? "client-timeout" : "client-abort");
  }
}

// forward, first step: the upstream head (built now: the parsed views may die once the body
// moves on) into the scratch, and the client's routing hints (allow-routing-hints), copied
// into `hints` for the same reason. On the backhaul, the instance the edge chose is the only
// target (a hosted one).
RoutingHints upstream_head(Request& r, const PlanApp& pa, OwnedHints& hints) {
  const http::RequestHead& req = r.req;
  http::OutboundRequest& head = r.sc.head;  // borrowed scratch: keeps its capacity between requests
  http1::ForwardContext ctx{r.c.client_ip_, r.c.sock_.ssl() ? "https" : "http", r.c.peer_.local_port, r.info.request_id,
                            r.c.trusted_, r.d.via(), r.plan->config->global.region, r.fe.backhaul};
  ctx.request_id_alias = r.plan->config->global.request_id_header;
  if (r.info.trace.on) {
    ctx.traceparent = r.sc.traceparent;
    ctx.keep_tracestate = r.info.trace.tracestate;
  }
  std::string fallback;  // only for a request without a Host (HTTP/1.0): rare
  if (req.host.empty()) fallback = fallback_host(*pa.cfg, r.c.peer_);
  ctx.fallback_host = fallback;
  http1::build_upstream_request(req, ctx, head);
  if (pa.cfg->allow_routing_hints && !r.fe.backhaul) hints.assign(parse_client_hints(req.headers));
  RoutingHints view = hints.view();
  if (!r.info.instance.empty()) view.force_instance = r.info.instance;
  return view;
}

// What the respond step keeps of the request and of the response head (which the relay
// consumes).
struct Answered {
  bool reusable;  // the upstream connection may serve another request once this response is read
  int status;
  uint64_t bytes_in;
  int retries;
  double upstream_ms;  // from the answering attempt's start to its response head
};

// respond, last step: the upstream connection back to the pool when it may serve again, and
// the log line. Returns whether the downstream connection may go on.
bool responded(Request& r, Exchange& x, const RelayResult& rr, const ReplayState& rs, const Answered& a) {
  const PlanBackend& pb = r.plan->backends[x.backend];
  const config::Backend& be = *pb.cfg;
  const config::Server& srv = *pb.servers[x.server].cfg;
  // A connection that started with a PROXY header speaks for one client only: never shared.
  const bool reusable = a.reusable && srv.send_proxy == config::ProxyProtocol::none;
  x.inflight.drop();
  auto& up = r.d.upstream_slot();
  if (rr.keep_upstream && reusable && up) r.c.w_.pool().put(std::move(up), be.pool_max_idle, be.pool_idle_timeout);
  else up.reset();
  std::string_view term = rr.termination;
  if (term.empty() && rs.hops) term = "replayed";
  r.log(rr.status ? rr.status : a.status, a.bytes_in + rr.in_extra, rr.out, srv.name, a.upstream_ms, a.retries,
        term);
  return rr.keep_downstream;
}

}  // namespace

// One coroutine frame for the whole request: the phases are plain functions, and only the
// waits that the common case has (the body, the exchange, the relay) are awaited here; the
// rare answers (local, refused, queued, failed) are coroutines of their own.
awaitable<bool> run_request(RequestDownstream& d, http::RequestHead& req, RequestScratch& sc) {
  Request r(d, req, sc);
  RequestInfo& info = r.info;
  accept(r);
  if (r.fe.backhaul && !r.has_body && req.method == "GET" && req.path.substr(0, req.path.find('?')) == kCatalogPath)
    co_return co_await answer_catalog_poll(r);
  if (auto local = local_answer(r)) {
    const bool keep = req.keep_alive;
    const uint64_t n = co_await d.send_local(*local, !keep);
    if (local->logged) r.log(local->status, 0, n, {}, -1, 0, local->termination);
    co_return n != 0 && keep;
  }
  Refusal no;
  int app = route(r, no);
  if (app >= 0 && wants_https(r, r.plan->apps[app])) co_return co_await redirect_to_https(r, r.plan->apps[app]);
  if (app >= 0) {
    rules::RequestFacts facts;
    SockAddr client{};
    rules::Outcome ruled = run_rules(r, app, facts, client);
    if (ruled.verify) ruled = co_await verify_credentials(r, app, facts, ruled);
    if (ruled.answer) co_return co_await rule_answer(r, *ruled.answer, facts, ruled.auth_missing);
  }
  if (app >= 0 && r.plan->apps[app].cfg->autostart() && !r.fe.backhaul && !has_started_instance(*r.plan, r.backend))
    app = co_await hold_for_instance(r, app, no);
  if (app >= 0 && !r.plan->apps[app].budget->try_acquire()) app = co_await queue_for_budget(r, app, no);
  if (app < 0) {
    co_await d.send_error(no.status, no.reason, no.close, no.retry_after);
    r.log(no.status, 0, 0, {}, -1, 0, no.term);
    co_return !no.close;
  }
  struct Release {
    AppBudget& b;
    ~Release() { b.release(); }
  } release{*r.plan->apps[app].budget};
  if (d.abandoned()) {  // an HTTP/2 stream reset while it waited for the budget
    r.log(0, 0, 0, {}, -1, 0, "client-abort");
    co_return false;
  }
  const PlanApp& pa = r.plan->apps[app];
  d.routed(pa, *r.plan->backends[r.backend].cfg);

  // forward
  OwnedHints hints;
  RoutingHints hints_view = upstream_head(r, pa, hints);
  const bool upgrade = req.upgrade;
  const std::string method(req.method);
  d.head_done();
  // A small body still arriving is awaited whole, so the request can be replayed on another
  // server (or after an HTTP/2 server refused its stream).
  if (req.framing == http::Framing::content_length && req.content_length <= d.replayable_body_limit() &&
      !req.expect_continue) {
    BodyWait w;
    if (!co_await d.await_body(req, w)) {
      r.log(0, w.received, 0, {}, -1, 0, w.termination);
      co_return false;
    }
  }
  std::string_view body;
  const bool replayable = d.complete_body(req, body);
  // A streamed body is teed (up to replay-max-body, within the worker's replay-buffer-budget)
  // in case the answer is a Ferry-Replay; apps without replay-max-body keep nothing.
  http::BodyTee tee;
  const bool tee_on = !replayable && !r.fe.backhaul && pa.cfg->replay_max_body > 0;
  tee.max = pa.cfg->replay_max_body;
  tee.budget = &r.c.w_.replay_budget();  // the worker's, shared by all its requests
  d.set_tee(tee_on ? &tee : nullptr);
  Exchange x{r.c.w_, *r.wp, app, r.c.peer_, d.deadline(), d.upstream_slot(), r.sc.resp, r.sc.tried};
  x.backend = r.backend;
  if (!hints_view.empty()) x.hints = &hints_view;
  UpstreamRequest ur{r.sc.head, body, replayable, info.idempotent, method, upgrade};
  co_await run_exchange(x, ur, d);
  explain_forced_hints(x);
  ReplayState rs;
  if (replay_requested(x, r.fe)) co_await follow_replays(x, ur, d, tee_on ? &tee : nullptr, app, rs);
  d.set_tee(nullptr);
  tee.release();  // the budget's bytes back as soon as the replays are done
  info.app = x.app;  // after replays the answer may come from another app
  const int retries = rs.total_retries(x);
  const uint64_t bytes_in = body.size() + x.body.bytes;
  if (!x.body.ok()) {
    co_await body_failed(r, x, retries);
    co_return false;
  }
  d.complete_body_done();  // the next request starts after this body
  if (x.abandoned) {
    r.log(0, bytes_in, 0, {}, -1, retries, "client-abort");
    co_return false;
  }
  if (x.server < 0) {
    const bool keep = !x.body_sent && replayable && info.keep_alive;
    co_await d.send_error(x.fail_status, x.fail_reason, !keep);
    r.log(x.fail_status, 0, 0, {}, -1, retries, rs.termination ? rs.termination : "no-response");
    co_return keep;
  }

  // respond
  const config::Backend& be = *r.plan->backends[x.backend].cfg;
  const Answered a{x.resp.keep_alive && x.resp.framing != http::Framing::until_close, x.resp.status, bytes_in, retries,
                   ms_since(x.started)};
  if (r.ruled) rules::apply_response_edits(r.sc.rules, x.resp);
  if (!pa.cfg->hsts.empty() && r.c.sock_.ssl() != nullptr)
    rules::set_response_field(x.resp, "Strict-Transport-Security", pa.cfg->hsts);
  const RelayResult rr = co_await d.relay_response(x, info, be, upgrade);
  co_return responded(r, x, rr, rs, a);
}

}  // namespace ferry::proxy
