// libFuzzer target for the mesh backhaul metadata (target "backhaul", scripts/fuzz.sh; seeds in
// tests/fuzz/corpus/backhaul/, dictionary backhaul.dict). Two plans are built once from real
// config text (an edge that reaches instances w1/w2 of app web on peer dfw, and the worker dfw
// that hosts them), then per input, chosen by its first byte:
//   L  mesh load report: apply_load_report (mesh/load_report.cpp) on the edge with the payload;
//      the result agrees with a model of the documented format, local servers are untouched,
//      then every server's load() and the four balancers run on the result (UBSan watches the
//      arithmetic); and build_load_report(worker) -> apply(edge) carries the worker's state over.
//   H  routing: the payload is an HTTP/1 request head; parse_client_hints (routing/hints.cpp)
//      takes the first valid value of each hint; route_request (routing/request_route.cpp) on
//      the worker's backhaul listener picks exactly the app / hosted instance Ferry-App /
//      Ferry-Instance name (else 421), and on an ordinary frontend ignores them.
//   T  the Ferry TLV of PROXY v2 on the backhaul: parse_ferry_tlv (net/proxy_protocol.cpp) of the
//      payload; ferry_tlv round trip; the value through build_v2 -> parse -> parse_ferry_tlv;
//      route_request in tcp mode as session/http1_session.cpp start_backhaul_tcp does.
//   M  the metadata chain: a client request (payload) at the edge, build_upstream_request
//      (http1/rewrite.cpp), Ferry-App/Ferry-Instance appended as request/exchange.cpp does,
//      the worker parses it (as H2ClientConn::submit and the HTTP/1 backhaul both start) and
//      routes it: the client can never choose the app or the instance; the worker's upstream
//      head carries the edge's client address once and no Ferry-App/Ferry-Instance.
// Line 1 of the input is "<mode><parameters>", the rest the payload (see each mode).
#include <arpa/inet.h>

#include <cctype>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "balance/balancer.h"
#include "ferry/configlang/load.h"
#include "http/fields.h"
#include "http/message.h"
#include "http1/request_parser.h"
#include "http1/rewrite.h"
#include "log/log.h"
#include "mesh/load_report.h"
#include "net/proxy_protocol.h"
#include "plan/plan.h"
#include "routing/hints.h"
#include "routing/request_route.h"

// Findings of issue 13 (reproducers in tests/fuzz/findings/) are fixed and checked here.

// Plans and configlang allocate a lot per input; a smaller ASan quarantine keeps the RSS low.
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=32"; }

using namespace ferry;
using namespace ferry::proxy;

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "backhaul invariant failed: %s\n", what);
  std::abort();
}

const char* kMesh =
    "global\n    node NODE\n    region NODE\n"
    "defaults\n    timeout client 1s\n    timeout connect 1s\n    timeout server 1s\n"
    "mesh\n    private-key k\n    address 10.99.0.1/24\n    backhaul 10.99.0.1:4280\n"
    "    peer PEER\n        public-key 3hW6ptq0l+Mx0a5Sh6x+E0V4mkXP3cdSAUH2bHq8Mww=\n"
    "        allowed-ips 10.99.0.2/32\n        backhaul 10.99.0.2:4280\n        region PEER\n        latency 30ms\n";

std::string mesh(std::string_view node, std::string_view peer) {
  std::string s = kMesh;
  for (auto [from, to] : {std::pair<std::string_view, std::string_view>{"NODE", node}, {"PEER", peer}})
    for (size_t at; (at = s.find(from)) != std::string::npos;) s.replace(at, from.size(), to);
  return s;
}

// The worker dfw hosts w1 and w2 of app web and t1 of the tcp app raw; r1 is on another node.
const std::string kWorker = mesh("dfw", "yyz") +
                            "backend b\n    server w1 127.0.0.1:9001\n    server w2 127.0.0.1:9002\n"
                            "    server r1 10.0.0.9:80 node yyz\n"
                            "backend t\n    server t1 127.0.0.1:9003\n"
                            "app web\n    hosts web.test *.web.test\n    backend b\n"
                            "app raw\n    mode tcp\n    backend t\n"
                            "frontend www\n    bind 127.0.0.1:0\n    default-app web\n";
// The edge yyz reaches w1 and w2 on dfw and has a local l1.
const std::string kEdge = mesh("yyz", "dfw") +
                          "backend b\n    server w1 10.0.0.1:80 node dfw maxconn 1000000\n"
                          "    server w2 10.0.0.2:80 node dfw weight 3\n    server l1 127.0.0.1:9001\n"
                          "app web\n    hosts web.test\n    backend b\n";

struct Plans {
  RuntimeRegistry wreg, ereg;
  std::shared_ptr<const Plan> worker, edge;
  const PlanFrontend* backhaul = nullptr;  // the worker's backhaul listener
  const PlanFrontend* www = nullptr;       // the worker's ordinary frontend
};

std::shared_ptr<const Plan> plan_of(const std::string& text, RuntimeRegistry& reg) {
  config::LoadOptions opts;
  opts.allow_includes = false;
  opts.getenv = [](const char*) -> const char* { return nullptr; };
  auto r = config::load_string(text, "fuzz.conf", opts);
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", config::format(r.diagnostics).c_str());
    std::abort();
  }
  TlsPlan tls;
  tls.fronts.resize(r.config->frontends.size());
  return build_plan(r.config, 1, reg, std::move(tls), nullptr);
}

Plans& plans() {
  static Plans* p = [] {
    auto* q = new Plans;
    q->worker = plan_of(kWorker, q->wreg);
    q->edge = plan_of(kEdge, q->ereg);
    for (const auto& fe : q->worker->frontends) (fe.cfg->backhaul ? q->backhaul : q->www) = &fe;
    check(q->backhaul && q->www, "test plans: frontends");
    // Debug logging on: parse_client_hints builds its message for invalid values.
    set_log_sink([](config::LogLevel, std::string_view) {}, config::LogLevel::debug);
    return q;
  }();
  return *p;
}

int app_index(const Plan& p, std::string_view name) {
  auto it = p.config->app_index.find(std::string(name));
  return it == p.config->app_index.end() ? -1 : it->second;
}

bool valid_name(std::string_view v) {  // the documented hint / name grammar, independently
  if (v.empty() || v.size() > 128) return false;
  for (unsigned char c : v)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::string_view first_header(const std::vector<http::Header>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (http::iequals(h.name, name)) return h.value;
  return {};
}

// ---------------------------------------------------------------------------------------------
// L: load reports. Parameters: digits = our in-flight count on edge servers w1, w2, l1; 's' =
// a snapshot (ours_before_report) taken before, then one more request started on w1.

// The documented format, implemented independently: "<app|@backend> <instance> <in-flight>
// <queue> <healthy>" (single spaces or more), ints in int range, trailing fields ignored.
bool model_line(std::string_view line, std::string& app, std::string& inst, long long v[3]) {
  std::vector<std::string_view> tok;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) tok.push_back(line.substr(i, j - i));
    i = j;
  }
  if (tok.size() < 5) return false;
  for (int k = 0; k < 3; ++k) {
    std::string_view t = tok[2 + k];
    const bool neg = !t.empty() && t[0] == '-';
    if (neg) t.remove_prefix(1);
    if (t.empty()) return false;
    long long n = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + (c - '0');
      if (n > 1LL + INT_MAX) return false;
    }
    v[k] = neg ? -n : n;
    if (v[k] < INT_MIN || v[k] > INT_MAX) return false;
  }
  app = tok[0], inst = tok[1];
  return true;
}

void run_load_report(std::string_view params, std::string_view report) {
  Plans& P = plans();
  const Plan& edge = *P.edge;
  const PlanBackend& pb = edge.backends[0];  // w1, w2 (on dfw), l1 (local)
  for (size_t i = 0; i < pb.servers.size(); ++i) {
    ServerState& st = *pb.servers[i].state;
    st.inflight = i < params.size() && params[i] >= '0' && params[i] <= '9' ? params[i] - '0' : 0;
    st.started = 100;
    st.remote_inflight = 0, st.remote_queue = 0, st.remote_healthy = true;
  }
  std::vector<OursBefore> before;
  if (params.find('s') != std::string_view::npos) {
    before = ours_before_report(edge, 0);
    check(before.size() == 2, "ours_before_report: the two servers on dfw");
    pb.servers[0].state->inflight += 1, pb.servers[0].state->started += 1;  // started during the fetch
  }
  const int got = apply_load_report(edge, 0, report, before);

  // Model.
  const size_t nl = report.find('\n');
  const std::string_view first = report.substr(0, nl);
  bool v1 = first.starts_with("ferry-load 1");
  v1 = v1 && (first.size() == 12 || first[12] == ' ' || first[12] == '\r');
  check((got >= 0) == v1, "load report: version-1 detection");
  if (got < 0) {
    for (const auto& s : pb.servers) check(s.state->remote_healthy && s.state->remote_inflight == 0, "rejected report changed state");
    return;
  }
  struct Want {
    bool listed = false;
    long long inflight = 0, queue = 0, healthy = 0;
  } want[2];
  int lines = 0;
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : report.substr(nl + 1);
  while (!rest.empty()) {
    const size_t e = rest.find('\n');
    const std::string_view line = rest.substr(0, e);
    rest.remove_prefix(e == std::string_view::npos ? rest.size() : e + 1);
    std::string app, inst;
    long long v[3];
    // An instance is named under its app, or under "@backend" (a worker reports a backend no
    // app of its own uses that way; the edge takes it for whichever backend has that name).
    if (!model_line(line, app, inst, v) || (app != "web" && app != "@b")) continue;
    for (int k = 0; k < 2; ++k)
      if (inst == pb.servers[k].cfg->name) want[k] = {true, v[0], v[1], v[2]}, ++lines;
  }
  check(got == lines, "load report: updated count differs from the model");
  for (int k = 0; k < 2; ++k) {
    const ServerState& st = *pb.servers[k].state;
    check(st.remote_healthy == (want[k].listed && want[k].healthy != 0), "load report: health differs from the model");
    if (!want[k].listed) continue;
    // Ours, as apply_load_report counts them: the snapshot plus those started since, else now.
    long long ours = st.inflight;
    if (!before.empty()) ours = before[k].inflight + static_cast<long long>(st.started - before[k].started);
    const long long others = want[k].inflight > ours ? want[k].inflight - ours : 0;
    check(st.remote_inflight == others && st.remote_queue == want[k].queue, "load report: load differs from the model");
    check(st.remote_inflight >= 0, "negative remote in-flight");
  }
  const ServerState& local = *pb.servers[2].state;
  check(local.remote_healthy && local.remote_inflight == 0 && local.remote_queue == 0, "a local server was changed");

  // The balancers on the result (load() sums ours and the others').
  std::vector<bool> tried(pb.servers.size(), false);
  for (auto kind : {config::Balance::random, config::Balance::roundrobin, config::Balance::leastconn, config::Balance::closest}) {
    auto bal = Balancer::make(kind, pb.servers.size(), 7);
    for (int round = 0; round < 3; ++round) {
      PickRequest pr{pb.servers, &tried, round == 2 ? 1 : 0, now_ms(), nullptr};
      const int i = bal->pick(pr);
      check(i >= -1 && i < static_cast<int>(pb.servers.size()), "balancer: index out of range");
      if (i >= 0) check(eligible(pb.servers[i], pr.now), "balancer picked an ineligible server");
    }
  }
  for (const auto& s : pb.servers) (void)s.state->load();
}

// Round trip: the worker's report (its state from the parameters) applied on the edge.
void run_report_round_trip(std::string_view params) {
  Plans& P = plans();
  const PlanBackend& wb = P.worker->backends[0];  // w1, w2 local; r1 remote
  for (size_t i = 0; i < 2; ++i) {
    ServerState& st = *wb.servers[i].state;
    const char c = i < params.size() ? params[i] : '0';
    st.inflight = c >= '0' && c <= '9' ? c - '0' : 0;
    st.healthy = c != '9';
  }
  const std::string report = build_load_report(*P.worker, now_ms());
  const PlanBackend& eb = P.edge->backends[0];
  for (const auto& s : eb.servers) s.state->inflight = 0;
  check(apply_load_report(*P.edge, 0, report) == 2, "round trip: w1 and w2 applied");
  for (size_t i = 0; i < 2; ++i) {
    check(eb.servers[i].state->remote_inflight == wb.servers[i].state->inflight, "round trip: in-flight");
    check(eb.servers[i].state->remote_healthy == wb.servers[i].state->healthy.load(), "round trip: health");
  }
}

// ---------------------------------------------------------------------------------------------
// H: hints and backhaul routing on a parsed request head.

void check_route_backhaul(const RequestRoute& r, std::string_view app, std::string_view inst, config::Mode mode) {
  const Plan& W = *plans().worker;
  int want_app = app.empty() ? -1 : app_index(W, app);
  if (want_app >= 0 && W.config->apps[want_app].mode != mode) want_app = -1;
  bool hosted = false;
  if (want_app >= 0)
    for (const auto& s : W.config->backends[W.config->apps[want_app].backend].servers)
      hosted = hosted || (!inst.empty() && s.name == inst && s.peer < 0);
  if (want_app >= 0 && hosted) {
    check(r.app == want_app && r.status == 0 && r.instance == inst, "backhaul route: not the named app / instance");
  } else {
    check(r.app == -1 && r.status == 421 && !r.reason.empty() && r.instance.empty(), "backhaul route: accepted an unhosted target");
  }
}

void run_hints_and_route(std::string_view head) {
  http::RequestHead req;
  if (http1::parse_request(head, http1::Limits{}, req).status != http1::ParseStatus::complete) return;
  const RoutingHints h = parse_client_hints(req.headers);
  const std::pair<std::string_view, std::string_view> slots[] = {{"Ferry-Force-Region", h.force_region},
                                                                 {"Ferry-Prefer-Region", h.prefer_region},
                                                                 {"Ferry-Force-Instance", h.force_instance},
                                                                 {"Ferry-Prefer-Instance", h.prefer_instance}};
  for (auto [name, got] : slots) {
    std::string_view want;  // the first valid value of that header
    for (const auto& hd : req.headers)
      if (http::iequals(hd.name, name) && valid_name(hd.value)) {
        want = hd.value;
        break;
      }
    check(got == want, "hint differs from the first valid header value");
    check(got.empty() || valid_hint_value(got), "hint value invalid");
  }
  OwnedHints owned;
  owned.assign(h);
  const RoutingHints v = owned.view();
  check(v.force_region == h.force_region && v.prefer_region == h.prefer_region && v.force_instance == h.force_instance &&
            v.prefer_instance == h.prefer_instance && owned.empty() == h.empty(),
        "OwnedHints copy differs");
  check((forced_hint_reason(h) != nullptr) == (!h.force_region.empty() || !h.force_instance.empty()), "forced_hint_reason");

  Plans& P = plans();
  const PeerInfo peer{};
  const RequestRoute rb = route_request(*P.worker, *P.backhaul, peer, req.host, req.headers);
  check(header_value(req.headers, "Ferry-App") == first_header(req.headers, "Ferry-App"), "header_value: not the first");
  check_route_backhaul(rb, first_header(req.headers, "Ferry-App"), first_header(req.headers, "Ferry-Instance"),
                       config::Mode::http);
  // An ordinary frontend routes by Host (default-app web) and ignores Ferry-App/Instance.
  const RequestRoute rw = route_request(*P.worker, *P.www, peer, req.host, req.headers);
  const int by_host = P.worker->router.find(req.host);
  check(rw.app == (by_host >= 0 ? by_host : P.www->cfg->app) && rw.instance.empty(), "frontend route: not by Host");
}

// ---------------------------------------------------------------------------------------------
// T: the Ferry TLV.

void run_tlv(std::string_view v) {
  std::string app, inst;
  const bool ok = pp::parse_ferry_tlv(v, app, inst);
  if (ok) {
    check(v.starts_with("ferry/1 app=") && !app.empty() && !inst.empty(), "parse_ferry_tlv: empty name accepted");
    check(inst.find(' ') == std::string::npos && app.find(" instance=") == std::string::npos, "parse_ferry_tlv: names");
    std::string a2, i2;
    check(pp::parse_ferry_tlv(pp::ferry_tlv(app, inst), a2, i2) && a2 == app && i2 == inst, "ferry_tlv round trip");
  }
  // Through a PROXY v2 header, as tcp/tcp_session.cpp sends it and the backhaul reads it.
  SockAddr src{}, dst{};
  src.in4.sin_family = dst.in4.sin_family = AF_INET;
  src.in4.sin_port = htons(40000), dst.in4.sin_port = htons(4280);
  src.in4.sin_addr.s_addr = htonl(0xcb007105), dst.in4.sin_addr.s_addr = htonl(0x0a630001);
  const std::string hdr = pp::build_v2(src, dst, v);
  pp::Endpoints ep;
  const auto r = pp::parse(hdr, ep);
  check(r.status == pp::Status::complete && r.consumed == hdr.size() && !ep.local, "build_v2 -> parse");
  if (v.size() <= 0xffff - 64) check(ep.ferry == v, "the Ferry TLV did not survive build_v2 -> parse");
  std::string a3, i3;
  check(pp::parse_ferry_tlv(ep.ferry, a3, i3) == ok && a3 == app && i3 == inst, "TLV parse differs after transport");
  if (!ok) return;
  // start_backhaul_tcp: the names become Ferry-App / Ferry-Instance, routed in tcp mode.
  const http::Header hs[2] = {{"Ferry-App", app}, {"Ferry-Instance", inst}};
  const RequestRoute rt = route_request(*plans().worker, *plans().backhaul, PeerInfo{}, {},
                                        std::vector<http::Header>(hs, hs + 2), config::Mode::tcp);
  check_route_backhaul(rt, app, inst, config::Mode::tcp);
}

// ---------------------------------------------------------------------------------------------
// M: edge -> worker. Parameters: a digit picks the edge's target; 't' = trusted edge frontend.

void run_chain(std::string_view params, std::string_view client) {
  static const std::pair<std::string_view, std::string_view> kTargets[] = {
      {"web", "w1"}, {"web", "w2"}, {"web", "r1"}, {"raw", "t1"}, {"nope", "w1"}, {"web", "l1"}};
  const auto& [app, inst] = kTargets[(params.empty() ? 0 : static_cast<unsigned char>(params[0])) % 6];
  const bool trusted = params.find('t') != std::string_view::npos;
  http::RequestHead req;
  if (http1::parse_request(client, http1::Limits{}, req).status != http1::ParseStatus::complete) return;
  // Edge.
  http1::ForwardContext ectx{"203.0.113.5", "http", 80, "edge-rid", trusted, {}, "yyz", false};
  ectx.fallback_host = "app.fallback.test";  // as request/pipeline.cpp sets it (fallback_host())
  std::string head;
  http1::build_upstream_request(req, ectx, head);
  std::string with_meta = head.substr(0, head.size() - 2);  // request/exchange.cpp
  with_meta.append("Ferry-App: ").append(app).append("\r\nFerry-Instance: ").append(inst).append("\r\n\r\n");
  // Worker.
  http::RequestHead w;
  const auto pr = http1::parse_request(with_meta, http1::Limits{64 * 1024, 256 * 1024, 1000}, w);
  if (pr.status != http1::ParseStatus::complete) std::fprintf(stderr, "%s\n%s\n", pr.reason, with_meta.c_str());
  check(pr.status == http1::ParseStatus::complete && w.head_size == with_meta.size(), "the edge's head does not parse at the worker");
  Plans& P = plans();
  const RequestRoute rt = route_request(*P.worker, *P.backhaul, PeerInfo{}, w.host, w.headers);
  check_route_backhaul(rt, app, inst, config::Mode::http);
  if (rt.app < 0) return;
  http1::ForwardContext wctx{"10.99.0.2", "http", 4280, "worker-rid", true, {}, "dfw", true};
  std::string out;
  http1::build_upstream_request(w, wctx, out);
  http::RequestHead u;
  check(http1::parse_request(out, http1::Limits{64 * 1024, 256 * 1024, 1000}, u).status == http1::ParseStatus::complete,
        "the worker's upstream head does not parse");
  int cip = 0, port = 0, region = 0;
  for (const auto& h : u.headers) {
    check(!http::iequals(h.name, "Ferry-App") && !http::iequals(h.name, "Ferry-Instance"), "Ferry-App/Instance reached the app");
    if (http::iequals(h.name, "Ferry-Client-IP")) ++cip, check(h.value == "203.0.113.5", "Ferry-Client-IP is not the client's");
    if (http::iequals(h.name, "Ferry-Forwarded-Port")) ++port, check(h.value == "80", "Ferry-Forwarded-Port not the edge's");
    if (http::iequals(h.name, "Ferry-Region")) ++region, check(h.value == "yyz", "Ferry-Region not the edge's");
    if (http::iequals(h.name, "X-Forwarded-For")) check(h.value.ends_with("203.0.113.5, 10.99.0.2"), "X-Forwarded-For chain");
  }
  check(cip == 1 && port == 1 && region == 1, "edge metadata not exactly once at the app");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const size_t nl = in.find('\n');
  const std::string_view params = in.substr(1, nl == std::string_view::npos ? 0 : nl - 1);
  const std::string_view payload = nl == std::string_view::npos ? in.substr(1) : in.substr(nl + 1);
  switch (in[0]) {
    case 'L': run_load_report(params, payload), run_report_round_trip(params); break;
    case 'H': run_hints_and_route(payload); break;
    case 'T': run_tlv(payload); break;
    case 'M': run_chain(params, payload); break;
    default: break;
  }
  return 0;
}
