// Mesh load reports: built by the hosting node, applied by the edge.
#include <catch2/catch.hpp>

#include "ferry/configlang/load.h"
#include "mesh/load_report.h"
#include "plan/plan.h"

using namespace ferry;
using namespace ferry::proxy;

namespace {

std::shared_ptr<const Plan> plan_of(const std::string& text, RuntimeRegistry& reg) {
  auto r = config::load_string(text, "t.conf", {});
  INFO(config::format(r.diagnostics));
  REQUIRE(r.ok());
  std::shared_ptr<const config::Config> cfg = r.config;
  TlsPlan tls;
  tls.fronts.resize(cfg->frontends.size());  // the backhaul listener is a frontend too
  return build_plan(cfg, 1, reg, std::move(tls), nullptr);
}

const char* kMesh =
    "global\n    node yyz\n    region yyz\n"
    "defaults\n    timeout client 1s\n"
    "mesh\n    private-key k\n    address 10.99.0.1/24\n    backhaul 10.99.0.1:4280\n"
    "    peer dfw\n        public-key 3hW6ptq0l+Mx0a5Sh6x+E0V4mkXP3cdSAUH2bHq8Mww=\n"
    "        allowed-ips 10.99.0.2/32\n"
    "        backhaul 10.99.0.2:4280\n        region dfw\n        latency 30ms\n";

}  // namespace

TEST_CASE("load report: hosted instances only, applied to the peer's servers", "[mesh]") {
  RuntimeRegistry wreg;
  // The worker: app web hosts w1 (and knows r1 on another node, not reported).
  auto worker = plan_of(std::string(kMesh) +
                            "backend b\n    server w1 127.0.0.1:9001\n    server w2 127.0.0.1:9002\n"
                            "    server r1 10.0.0.9:80 node dfw\n"
                            "app web\n    hosts web.test\n    backend b\n    concurrency hard 5 queue 3\n",
                        wreg);
  worker->backends[0].servers[0].state->inflight = 3;
  worker->backends[0].servers[1].state->healthy = false;
  const std::string report = build_load_report(*worker, 1000);
  CHECK(report == "ferry-load 1\nweb w1 3 0 1\nweb w2 0 0 0\n");

  // The edge: app web has w1 and w2 on peer dfw, plus a local one.
  RuntimeRegistry ereg;
  auto edge = plan_of(std::string(kMesh) +
                          "backend b\n    balance closest\n    server w1 10.0.0.1:80 node dfw\n"
                          "    server w2 10.0.0.2:80 node dfw\n    server l1 127.0.0.1:9001\n"
                          "app web\n    hosts web.test\n    backend b\n",
                      ereg);
  const PlanBackend& pb = edge->backends[0];
  REQUIRE(pb.servers[0].peer == edge->peers[0].get());
  CHECK(pb.servers[0].cfg->addr.to_string() == "10.99.0.2:4280");  // reached via the backhaul
  CHECK(pb.servers[0].cfg->proto == config::UpstreamProto::h2c);
  CHECK(pb.servers[2].peer == nullptr);
  CHECK(edge->peers[0]->rtt_us == 30'000u);  // `latency`
  pb.servers[0].state->inflight = 1;  // one of the 3 reported is ours
  CHECK(apply_load_report(*edge, 0, report) == 2);
  CHECK(pb.servers[0].state->remote_inflight == 2);
  CHECK(pb.servers[0].state->load() == 3);
  pb.servers[0].state->inflight = 0;  // ours ended: the others' 2 remain until the next report
  CHECK(pb.servers[0].state->load() == 2);
  CHECK(pb.servers[1].state->remote_healthy == false);
  CHECK(pb.servers[2].state->remote_inflight == 0);  // local: untouched
  CHECK(apply_load_report(*edge, 0, "ferry-load 2\nweb w1 0 0 1\n") == -1);
  CHECK(apply_load_report(*edge, 0, "ferry-load 1\nweb w1 x 0 1\nnope w1 1 1 1\nweb w2 1 0 1 extra\n") == 1);
  CHECK(pb.servers[1].state->remote_healthy == true);
  // A server the peer does not report (not hosted there): unhealthy until listed.
  CHECK(apply_load_report(*edge, 0, "ferry-load 1\nweb w1 0 0 1\n") == 1);
  CHECK(pb.servers[1].state->remote_healthy == false);
  CHECK(pb.servers[0].state->remote_healthy == true);
  CHECK(pb.servers[2].state->remote_healthy == true);  // local
}

TEST_CASE("load report: our requests that ended while the report travelled do not count", "[mesh]") {
  RuntimeRegistry ereg;
  auto edge = plan_of(std::string(kMesh) +
                          "backend b\n    server w1 10.0.0.1:80 node dfw maxconn 1\n"
                          "    server l1 127.0.0.1:9001\n"
                          "app web\n    hosts web.test\n    backend b\n",
                      ereg);
  ServerState& w1 = *edge->backends[0].servers[0].state;
  REQUIRE(edge->backends[0].servers[0].peer != nullptr);

  // One request of ours in flight when the fetch begins; it ends, and a second one starts and
  // ends, before the report (taken while one of them ran: "1") arrives.
  w1.inflight = 1;
  w1.started = 10;
  std::vector<OursBefore> before = ours_before_report(*edge, 0);
  REQUIRE(before.size() == 1);
  CHECK(before[0].inflight == 1);
  CHECK(before[0].started == 10);
  w1.inflight = 0;
  w1.started = 11;
  CHECK(apply_load_report(*edge, 0, "ferry-load 1\nweb w1 1 0 1\n", before) == 1);
  CHECK(w1.remote_inflight == 0);
  CHECK(w1.load() == 0);  // free for our next request
  // Without the snapshot, only our in-flight count now (0) is subtracted: the instance would
  // look full until the next report.
  CHECK(apply_load_report(*edge, 0, "ferry-load 1\nweb w1 1 0 1\n") == 1);
  CHECK(w1.load() == 1);

  // Another edge's requests still count: nothing of ours in flight or started meanwhile.
  before = ours_before_report(*edge, 0);
  CHECK(apply_load_report(*edge, 0, "ferry-load 1\nweb w1 2 0 1\n", before) == 1);
  CHECK(w1.remote_inflight == 2);
  // One of ours in flight throughout and counted in the report: the others' share is 1.
  w1.inflight = 1;
  w1.started = 12;
  before = ours_before_report(*edge, 0);
  CHECK(apply_load_report(*edge, 0, "ferry-load 1\nweb w1 2 0 1\n", before) == 1);
  CHECK(w1.remote_inflight == 1);
  CHECK(w1.load() == 2);
}

TEST_CASE("load report: instances of backends no app owns (use-backend targets) are reported too", "[mesh]") {
  RuntimeRegistry wreg;
  auto worker = plan_of(std::string(kMesh) +
                            "backend b\n    server w1 127.0.0.1:9001\n"
                            "backend api\n    server a1 127.0.0.1:9002\n"
                            "app web\n    hosts web.test\n    backend b\n",
                        wreg);
  const std::string report = build_load_report(*worker, 1000);
  CHECK(report == "ferry-load 1\nweb w1 0 0 1\n@api a1 0 0 1\n");

  RuntimeRegistry ereg;
  auto edge = plan_of(std::string(kMesh) +
                          "backend b\n    server w1 10.0.0.1:80 node dfw\n"
                          "backend api\n    server a1 10.0.0.2:80 node dfw\n"
                          "app web\n    hosts web.test\n    backend b\n    acl api path-prefix /api/\n"
                          "    use-backend api if api\n",
                      ereg);
  CHECK(apply_load_report(*edge, 0, report) == 2);
  CHECK(edge->backends[1].servers[0].state->remote_healthy == true);
  // Not listed: unhealthy, as for an app's instance.
  CHECK(apply_load_report(*edge, 0, "ferry-load 1\nweb w1 0 0 1\n") == 1);
  CHECK(edge->backends[1].servers[0].state->remote_healthy == false);
}
