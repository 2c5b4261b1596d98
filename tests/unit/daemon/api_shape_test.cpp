// The admin API's object shapes (docs/API.md) from a configuration and EngineStats, the
// configuration text masking, listener matching and the validate answer.
#include <catch2/catch.hpp>

#include "api/shape.h"
#include "ferry/configlang/load.h"

using namespace ferry;
using util::JsonWriter;

namespace {

const char* kConfig = R"(global
    node         n1
    region       yyz
    workers      1
    admin        127.0.0.1:0
    admin-user   ops "$scrypt$ln=15,r=8,p=1$abcdefghijklmnopqrstug$MDEyMzQ1Njc4OWFiY2RlZg"

frontend web
    bind         127.0.0.1:0
    bind         127.0.0.1:8443 tls
    mode         http

backend pool
    server s1  127.0.0.1:8081
    server s2  127.0.0.1:8082 disabled

app shop
    hosts        shop.example.com www.example.com
    backend      pool
    concurrency  soft 5 hard 10 queue 20
)";

std::shared_ptr<const config::Config> load(const char* text) {
  config::LoadOptions opts;
  auto r = config::load_string(text, "test.conf", opts);
  INFO(config::format(r.diagnostics));
  REQUIRE(r.ok());
  return r.config;
}

}  // namespace

TEST_CASE("an app without stats has the documented members, all zero", "[api][shape]") {
  auto cfg = load(kConfig);
  JsonWriter w;
  w.begin_object();
  daemon::api::write_app_members(w, *cfg, cfg->apps[0], nullptr, 0.0, {});
  w.end_object();
  CHECK(w.str() ==
        R"({"name":"shop","mode":"http","hosts":["shop.example.com","www.example.com"],"backend":"pool",)"
        R"("inflight":0,"queued":0,"soft":5,"hard":10,"rejected":0,"requests":0,"rps":0,)"
        R"("status":{"1xx":0,"2xx":0,"3xx":0,"4xx":0,"5xx":0,"none":0},"spark":[]})");
}

TEST_CASE("an app's figures sum every protocol by status class", "[api][shape]") {
  auto cfg = load(kConfig);
  proxy::AppStats st;
  st.name = "shop";
  st.requests[0][2] = 10;  // http1 2xx
  st.requests[1][2] = 5;   // http2 2xx
  st.requests[0][5] = 2;   // http1 5xx
  st.requests[0][0] = 1;   // aborted
  st.inflight = 3;
  st.queued = 1;
  st.soft = 5;
  st.hard = 10;
  st.rejected = 4;
  CHECK(daemon::api::total_requests(st) == 18);
  CHECK(daemon::api::class_requests(st, 2) == 15);
  JsonWriter w;
  w.begin_object();
  daemon::api::write_app_members(w, *cfg, cfg->apps[0], &st, 12.5, {1, 2, 3});
  w.end_object();
  CHECK(w.str().find(R"("inflight":3,"queued":1,"soft":5,"hard":10,"rejected":4,"requests":18,"rps":12.5,)") !=
        std::string::npos);
  CHECK(w.str().find(R"("status":{"1xx":0,"2xx":15,"3xx":0,"4xx":0,"5xx":2,"none":1},"spark":[1,2,3]})") !=
        std::string::npos);
}

TEST_CASE("a server object merges config and stats", "[api][shape]") {
  auto cfg = load(kConfig);
  const auto& be = cfg->backends[0];
  JsonWriter w;
  daemon::api::write_server(w, *cfg, be, be.servers[1], nullptr, true);
  CHECK(w.str() == R"({"backend":"pool","name":"s2","address":"127.0.0.1:8082","node":"","region":"yyz",)"
                   R"("healthy":true,"ejected":false,"drained":true,"disabled":true,"inflight":0,)"
                   R"("remote_inflight":0,"ewma_latency_ms":0,"connect_errors":0,"retries":0,"responses":0})");
  proxy::ServerStats st;
  st.backend = "pool";
  st.name = "s1";
  st.address = "127.0.0.1:8081";
  st.healthy = false;
  st.drained = false;
  st.ewma_latency_us = 1250;
  st.responses = 7;
  JsonWriter w2;
  daemon::api::write_server(w2, *cfg, be, be.servers[0], &st, true);  // stats win over `drained`
  CHECK(w2.str().find(R"("healthy":false,"ejected":false,"drained":false,"disabled":false)") != std::string::npos);
  CHECK(w2.str().find(R"("ewma_latency_ms":1.25)") != std::string::npos);
  CHECK(w2.str().find(R"("responses":7})") != std::string::npos);
}

TEST_CASE("frontend binds are matched to the listeners as bound", "[api][shape]") {
  auto cfg = load(kConfig);
  const auto& fe = cfg->frontends[0];
  auto m = daemon::api::match_listeners(fe, {"127.0.0.1:8443", "127.0.0.1:41234"});
  REQUIRE(m.size() == 2);
  CHECK(m[0] == "127.0.0.1:41234");  // port 0: the other one
  CHECK(m[1] == "127.0.0.1:8443");
  CHECK(daemon::api::match_listeners(fe, {}) == std::vector<std::string>{"", ""});

  proxy::FrontendStats st;
  st.name = "web";
  st.connections_total = 9;
  st.connections_active = 2;
  st.tls_handshakes = 4;
  st.tls_failures = {{"timeout", 1}, {"weird", 2}};
  JsonWriter w;
  daemon::api::write_frontend(w, fe, &st, m);
  CHECK(w.str() == R"({"name":"web","mode":"http","binds":[{"address":"127.0.0.1:0","tls":false,)"
                   R"("listening":"127.0.0.1:41234"},{"address":"127.0.0.1:8443","tls":true,"listening":"127.0.0.1:8443"}],)"
                   R"("connections_total":9,"connections_active":2,"tls_handshakes":4,"tls_failures":)"
                   R"({"no-certificate":0,"protocol":0,"timeout":1,"other":0,"weird":2}})");
}

TEST_CASE("duration quantiles interpolate inside the bucket", "[api][shape]") {
  proxy::Histogram h;
  CHECK(daemon::api::quantile_ms(h, 0.5) == 0);
  // 10 observations <= 1 ms, 10 more <= 2.5 ms.
  h.counts.fill(20);
  h.counts[0] = 10;
  h.count = 20;
  CHECK(daemon::api::quantile_ms(h, 0.5) == Approx(1.0));
  CHECK(daemon::api::quantile_ms(h, 0.25) == Approx(0.5));
  CHECK(daemon::api::quantile_ms(h, 0.75) == Approx(1.75));
  // Everything above the last bound: the last bound.
  proxy::Histogram slow;
  slow.count = 3;
  CHECK(daemon::api::quantile_ms(slow, 0.99) == Approx(30000.0));
}

TEST_CASE("admin-user hashes are masked, nothing else changes", "[api][config]") {
  const std::string text =
      "global\n"
      "    admin-user ops \"$2y$10$secret\"   # the ops account\n"
      "    admin-user   dev $2y$10$other\n"
      "\tadmin-user q 'single quoted'\n"
      "    # admin-user in a comment $2y$ stays\n"
      "    node n1\n"
      "    admin-user incomplete\n"
      "no newline at end admin-user";
  const std::string masked = daemon::api::mask_admin_hashes(text);
  CHECK(masked ==
        "global\n"
        "    admin-user ops <hash>   # the ops account\n"
        "    admin-user   dev <hash>\n"
        "\tadmin-user q <hash>\n"
        "    # admin-user in a comment $2y$ stays\n"
        "    node n1\n"
        "    admin-user incomplete\n"
        "no newline at end admin-user");
  CHECK(masked.find("secret") == std::string::npos);
  CHECK(daemon::api::mask_admin_hashes(kConfig).find("abcdefghij") == std::string::npos);
  CHECK(daemon::api::mask_admin_hashes("") == "");

  // The keyword and the name as the config lexer reads them: quoted, or in joined pieces.
  const std::string quoted =
      "global\n"
      "    \"admin-user\" ops $2y$10$secret1\n"
      "    'admin-user' ops2 $2y$10$secret2\n"
      "    admin-\"user\" o\"p\"s3 $2y$10$secret3\n";
  const std::string masked_quoted = daemon::api::mask_admin_hashes(quoted);
  CHECK(masked_quoted.find("secret") == std::string::npos);
  CHECK(masked_quoted.find("admin-\"user\" o\"p\"s3 <hash>") != std::string::npos);
  const std::vector<config::AdminUser> running = {{"ops3", "$scrypt$running-ops3"}};
  CHECK(daemon::api::restore_admin_hashes(masked_quoted, running).find("o\"p\"s3 $scrypt$running-ops3") !=
        std::string::npos);
}

TEST_CASE("a masked candidate gets the running hashes back; other hashes stay", "[api][config]") {
  const std::vector<config::AdminUser> users = {{"ops", "$scrypt$running-ops"}, {"dev", "$scrypt$running-dev"}};
  const std::string text =
      "global\n"
      "    admin-user ops <hash>   # kept\n"
      "    admin-user \"dev\" <hash>\n"
      "    admin-user new <hash>\n"
      "    admin-user ops2 $scrypt$typed\n";
  CHECK(daemon::api::restore_admin_hashes(text, users) ==
        "global\n"
        "    admin-user ops $scrypt$running-ops   # kept\n"
        "    admin-user \"dev\" $scrypt$running-dev\n"
        "    admin-user new <hash>\n"
        "    admin-user ops2 $scrypt$typed\n");
  CHECK(daemon::api::restore_admin_hashes(daemon::api::mask_admin_hashes(text), users).find("$scrypt$typed") ==
        std::string::npos);
}

TEST_CASE("the validate answer lists diagnostics with positions", "[api][config]") {
  auto bad = config::load_string("global\n    bnd 1\n", "candidate");
  REQUIRE_FALSE(bad.ok());
  std::string j = daemon::api::diagnostics_json(bad);
  CHECK(j.rfind(R"({"ok":false,"errors":1,"warnings":1,"diagnostics":[{"file":"candidate","line":2,"col":5,)", 0) == 0);
  // The warning without a position: line and col 0, text without a position part.
  CHECK(j.find(R"({"file":"candidate","line":0,"col":0,"severity":"warning",)") != std::string::npos);
  CHECK(j.find(R"("text":"candidate: warning: no timeouts configured)") != std::string::npos);
  CHECK(j.find(R"("severity":"error")") != std::string::npos);
  CHECK(j.find(R"("text":"candidate:2:5: error: )") != std::string::npos);
  CHECK(j.find("\\n") == std::string::npos);  // the caret display is dropped

  auto good = config::load_string(kConfig, "candidate");
  REQUIRE(good.ok());
  CHECK(daemon::api::diagnostics_json(good).rfind(R"({"ok":true,"errors":0,)", 0) == 0);
}

TEST_CASE("StatsIndex finds apps and servers by name", "[api][shape]") {
  proxy::EngineStats s;
  s.apps.resize(2);
  s.apps[0].name = "a";
  s.apps[1].name = "b";
  s.servers.resize(2);
  s.servers[0].backend = "p";
  s.servers[0].name = "s1";
  s.servers[1].backend = "p1";  // "p" + "1s1" must not collide with "p1" + "s1"
  s.servers[1].name = "s1";
  daemon::api::StatsIndex idx(s);
  CHECK(idx.app("b") == &s.apps[1]);
  CHECK(idx.app("c") == nullptr);
  CHECK(idx.server("p", "s1") == &s.servers[0]);
  CHECK(idx.server("p1", "s1") == &s.servers[1]);
  CHECK(idx.server("p", "1s1") == nullptr);
  CHECK(daemon::api::find_server(s, "p1", "s1") == &s.servers[1]);
}
