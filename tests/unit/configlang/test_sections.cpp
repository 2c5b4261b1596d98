// Directives of each section: values, defaults, arity and range errors.
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace cfgtest;
using namespace std::chrono_literals;

namespace {
std::string with(const std::string& extra) { return std::string(kBase) + extra; }  // extra starts at line 11
}  // namespace

TEST_CASE("global directives and defaults", "[configlang][global]") {
  auto d = load(kBase);
  REQUIRE(d.ok());
  const Global& g0 = d.config->global;
  CHECK_FALSE(g0.node.empty());  // gethostname
  CHECK(g0.workers == 0);
  CHECK(g0.admin == Address{"127.0.0.1", 9900});
  CHECK(g0.log_target == "stderr");
  CHECK(g0.log_level == LogLevel::info);
  CHECK(g0.access_log_format == AccessLogFormat::off);
  CHECK(g0.max_connections == 100000u);

  auto r = load(with("global\n"
                     "    node edge-1\n"
                     "    region yyz\n"
                     "    workers 4\n"
                     "    state-dir /tmp/ferry\n"
                     "    admin [::1]:0\n"
                     "    admin-user ops $pbkdf2-sha256$i=1000$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg\n"
                     "    admin-user dev '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg=='\n"
                     "    log /var/log/ferry.log debug\n"
                     "    access-log /var/log/access.log json\n"
                     "    maxconn 5000\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  const Global& g = r.config->global;
  CHECK(g.node == "edge-1");
  CHECK(g.region == "yyz");
  CHECK(g.workers == 4);
  CHECK(g.state_dir == "/tmp/ferry");
  CHECK(g.admin == Address{"::1", 0});
  REQUIRE(g.admin_users.size() == 2);
  CHECK(g.admin_users[0].name == "ops");
  CHECK(g.admin_users[0].password_hash == "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg");
  CHECK(g.admin_users[1].password_hash == "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg==");
  CHECK(g.log_target == "/var/log/ferry.log");
  CHECK(g.log_level == LogLevel::debug);
  CHECK(g.access_log_target == "/var/log/access.log");
  CHECK(g.access_log_format == AccessLogFormat::json);
  CHECK(g.max_connections == 5000u);

  auto off = load(with("global\n    admin off\n    access-log stderr\n    workers auto\n"));
  REQUIRE(off.ok());
  CHECK_FALSE(off.config->global.admin);
  CHECK(off.config->global.access_log_format == AccessLogFormat::common);
  CHECK(off.config->global.workers == 0);
}

TEST_CASE("global errors", "[configlang][global]") {
  auto r = load(with("global\n"
                     "    workers 0\n"         // 12
                     "    workers 300\n"       // 13
                     "    admin localhost:9900\n"  // 14
                     "    log stderr verbose\n"    // 15
                     "    access-log x yaml\n"     // 16
                     "    admin-user ops\n"        // 17
                     "    maxconn 0\n"             // 18
                     "    node a b\n"              // 19
                     "global\n"));                 // 20
  CHECK(where(r, "out of range (1..256)") == "12:13");
  CHECK(where(r, "'workers' is already set in this global section") == "13:5");
  CHECK(where(r, "must be an IP address (DNS names are not resolved)") == "14:11");
  CHECK(where(r, "invalid log level 'verbose'") == "15:16");
  CHECK(where(r, "invalid access log format 'yaml'") == "16:18");
  CHECK(where(r, "missing argument: expected 'admin-user NAME HASH'") == "17:19");
  CHECK(where(r, "out of range (1..10000000)") == "18:13");
  CHECK(where(r, "unexpected extra argument 'b': expected 'node NAME'") == "19:12");
  CHECK(where(r, "duplicate 'global' section") == "20:1");
  const Diagnostic* dup = find(r, "duplicate 'global' section");
  REQUIRE(dup);
  const Diagnostic& note = *(dup + 1);
  CHECK(note.severity == Diagnostic::Severity::note);
  CHECK(note.message == "first defined here");
  CHECK(note.line == 11);
  auto n = load(with("global\n    workers 2\n    workers 3\n"));
  const Diagnostic* rep = find(n, "already set");
  REQUIRE(rep);
  CHECK((rep + 1)->message == "first set here");
  CHECK((rep + 1)->line == 12);
  CHECK((rep + 1)->col == 5);
  const std::string h = "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg";
  auto u = load(with("global\n    admin-user a " + h + "\n    admin-user a " + h + "\n"));
  CHECK(where(u, "admin user 'a' is already defined") == "13:16");
}

TEST_CASE("defaults: timeouts, inheritance and merge order", "[configlang][defaults]") {
  auto r = load("defaults\n"
                "    timeout connect 1s\n"
                "    timeout client 2s\n"
                "    retries 3\n"
                "    http-max-request-line 4k\n"
                "    max-body-size 1m\n"
                "    balance leastconn\n"
                "frontend web\n"
                "    bind 127.0.0.1:0\n"
                "    timeout client 9s\n"
                "    http-max-headers 50\n"
                "    http2-max-concurrent-streams 7\n"
                "backend pool\n"
                "    server s1 127.0.0.1:1\n"
                "    timeout server 7s\n"
                "app a\n"
                "    hosts a.example\n"
                "    backend pool\n"
                "defaults\n"
                "    timeout connect 3s\n"
                "    http-max-header-size 64k\n"
                "    timeout drain 1m\n");
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  const Config& c = *r.config;
  CHECK(c.default_timeouts.connect == 3s);  // later defaults section wins
  CHECK(c.default_timeouts.client == 2s);
  CHECK(c.default_timeouts.drain == 1min);
  CHECK(c.default_timeouts.server == 60s);
  const Frontend& f = c.frontends.at(0);
  CHECK(f.timeouts.client == 9s);
  CHECK(f.timeouts.connect == 3s);
  CHECK(f.timeouts.http_request == 10s);
  CHECK(f.timeouts.http_keep_alive == 75s);
  CHECK(f.timeouts.tunnel == 1h);
  CHECK(f.limits.max_request_line == 4096u);
  CHECK(f.limits.max_header_size == 65536u);
  CHECK(f.limits.max_headers == 50u);
  CHECK(f.limits.h2_max_streams == 7u);
  const Backend& b = c.backends.at(0);
  CHECK(b.timeouts.server == 7s);
  CHECK(b.timeouts.connect == 3s);
  CHECK(b.timeouts.queue == 5s);
  CHECK(b.retries == 3);
  CHECK(b.balance == Balance::leastconn);
  CHECK(c.apps.at(0).max_body_size == 1048576u);
}

TEST_CASE("built-in defaults without a defaults section", "[configlang][defaults]") {
  auto r = load("frontend web\n    bind 127.0.0.1:0\n    default-app a\n"
                "backend pool\n    server s1 127.0.0.1:1\napp a\n    backend pool\n");
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.config->frontends[0].timeouts == Timeouts{});
  CHECK(r.config->frontends[0].limits == HttpLimits{});
  const Backend& b = r.config->backends[0];
  CHECK(b.retries == 2);
  CHECK(b.balance == Balance::random);
  CHECK(b.pool_max_idle == 64u);
  CHECK(b.pool_idle_timeout == 30s);
  CHECK(b.passive.consecutive_failures == 5);
  CHECK(b.passive.eject_time == 10s);
  CHECK(b.health.kind == HealthCheck::Kind::none);
  CHECK(r.config->apps[0].max_body_size == 0u);
  // The only warning: no timeouts anywhere.
  REQUIRE(r.warning_count() == 1);
  const Diagnostic* w = find(r, "no timeouts configured; using the built-in defaults (connect 5s, client 60s, server 60s",
                             Diagnostic::Severity::warning);
  REQUIRE(w);
  CHECK(w->line == 0);
  CHECK(w->file == "t.conf");
}

TEST_CASE("defaults errors and warnings", "[configlang][defaults]") {
  auto r = load(with("defaults\n"
                     "    timeout client 0\n"        // 12: warning
                     "    timeout server 5\n"        // 13
                     "    timeout bogus 5s\n"        // 14
                     "    timeout client 1s\n"       // 15: repeated
                     "    retries 11\n"              // 16
                     "    http-max-headers 0\n"      // 17
                     "    balance closest\n"         // 18
                     "    timeout\n"                 // 19
                     "    timeout tunnel 1s 2s\n"    // 20
                     "    http-max-request-line 1t\n"  // 21
                     "    timeout queue 0s\n"       // 22
                     "    http2-max-concurrent-streams 10001\n"));  // 23
  CHECK(warn_where(r, "'timeout client 0' disables this timeout for every frontend and backend") == "12:20");
  CHECK(warn_where(r, "'timeout queue 0' disables") == "22:19");
  CHECK(where(r, "invalid duration '5': missing unit, e.g. 5s") == "13:20");
  CHECK(where(r, "invalid timeout 'bogus'") == "14:13");
  CHECK(where(r, "'timeout client' is already set in this defaults section") == "15:5");
  CHECK(where(r, "number '11' is out of range (0..10)") == "16:13");
  CHECK(where(r, "number '0' is out of range (1..1000)") == "17:22");
  CHECK(where(r, "balance", Diagnostic::Severity::error) == "none");  // line 18: closest is valid
  CHECK(where(r, "missing argument: expected 'timeout connect|client|server|http-request|http-keep-alive|tunnel|queue|drain DURATION'") == "19:12");
  CHECK(where(r, "unexpected extra argument '2s'") == "20:23");
  CHECK(where(r, "invalid size '1t'") == "21:27");
  CHECK(where(r, "number '10001' is out of range (1..10000)") == "23:34");
  CHECK(find(r, "invalid timeout 'bogus' (expected connect|client|server|http-request|http-keep-alive|tunnel|queue|drain)"));
}

TEST_CASE("frontend directives", "[configlang][frontend]") {
  auto r = load("defaults\n    timeout client 1s\n"
                "frontend web\n"
                "    bind 127.0.0.1:8080 tls accept-proxy\n"
                "    proxy-senders 10.0.0.0/8 ::1\n"
                "    bind [::1]:8080\n"
                "    bind :0\n"
                "    mode http\n"
                "    default-app a\n"
                "    timeout http-request 3s\n"
                "    timeout tunnel 0\n"
                "    timeout drain 2s\n"
                "    http-max-request-line 2k\n"
                "    http-max-header-size 16k\n"
                "    http-max-headers 20\n"
                "    trust-forwarded 10.0.0.0/8 ::1/128\n"
                "    trust-forwarded 192.168.0.1\n"
                "frontend pg\n"
                "    bind :5432\n"
                "    mode tcp\n"
                "    app a\n"
                "backend pool\n    server s1 127.0.0.1:1\n"
                "app a\n    backend pool\n");
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  const Config& c = *r.config;
  REQUIRE(c.frontends.size() == 2);
  const Frontend& f = c.frontends[0];
  CHECK(f.name == "web");
  CHECK(c.frontend_index.at("web") == 0);
  CHECK(c.frontend_index.at("pg") == 1);
  REQUIRE(f.binds.size() == 3);
  CHECK(f.binds[0].addr == Address{"127.0.0.1", 8080});
  CHECK(f.binds[0].tls);
  CHECK(f.binds[0].accept_proxy);
  CHECK(f.binds[0].loc.file == "t.conf");
  CHECK(f.binds[0].loc.line == 4);
  CHECK(f.binds[0].loc.col == 10);
  CHECK_FALSE(f.binds[1].tls);
  CHECK(f.binds[1].addr.is_v6());
  CHECK(f.mode == Mode::http);
  CHECK(f.app == 0);
  CHECK(f.timeouts.client == 1s);
  CHECK(f.timeouts.http_request == 3s);
  CHECK(f.timeouts.tunnel == 0s);
  CHECK(f.timeouts.drain == 2s);
  CHECK(f.limits == HttpLimits{2048, 16384, 20});
  REQUIRE(f.trusted.size() == 3);
  CHECK(f.trusted[1].network == "::1");
  CHECK(f.trusted[2].prefix == 32);
  REQUIRE(f.proxy_senders.size() == 2);
  CHECK(f.proxy_senders[1].to_string() == "::1/128");
  CHECK(c.frontends[1].proxy_senders.empty());
  CHECK(f.loc.line == 3);
  CHECK(c.frontends[1].mode == Mode::tcp);
  CHECK(c.frontends[1].app == 0);
}

TEST_CASE("frontend errors and warnings", "[configlang][frontend]") {
  auto r = load(with("frontend f2\n"
                     "    bind 127.0.0.1:80 tsl\n"      // 12
                     "    bind 127.0.0.1:81 tls tls\n"  // 13
                     "    bind example.com:80\n"        // 14
                     "    mode htp\n"                   // 15
                     "    timeout connect 5s\n"         // 16: warning
                     "    timeout server 5s\n"          // 17: warning
                     "    timeout queue 5s\n"           // 18: warning
                     "    trust-forwarded 10.0.0.0/40\n"  // 19
                     "    bind\n"                       // 20
                     "    server s 1.2.3.4:5\n"         // 21
                     "    mode http\n"                  // 22
                     "    mode tcp\n"));                // 23
  CHECK(where(r, "unknown bind option 'tsl' (expected tls or accept-proxy); did you mean 'tls'?") == "12:23");
  CHECK(where(r, "bind option 'tls' is given twice") == "13:27");
  CHECK(where(r, "'example.com' must be an IP address (DNS names are not resolved)") == "14:10");
  CHECK(where(r, "invalid mode 'htp' (expected http|tcp); did you mean 'http'?") == "15:10");
  CHECK(warn_where(r, "'timeout connect' has no effect in a frontend") == "16:13");
  CHECK(warn_where(r, "'timeout server' has no effect in a frontend") == "17:13");
  CHECK(warn_where(r, "'timeout queue' has no effect in a frontend") == "18:13");
  CHECK(where(r, "invalid CIDR '10.0.0.0/40'") == "19:21");
  CHECK(where(r, "missing argument: expected 'bind ADDR [tls] [accept-proxy]'") == "20:9");
  CHECK(where(r, "'server' is not allowed in a frontend section (it belongs in a backend section)") == "21:5");
  CHECK(where(r, "'mode' is already set in this frontend section") == "22:5");
  CHECK(where(r, "'mode' is already set in this frontend section") != "23:5");  // the first repeat only
}

TEST_CASE("frontend app / default-app by mode", "[configlang][frontend]") {
  auto http_app = load(with("frontend f2\n    bind 127.0.0.1:1\n    app hello\n"));
  CHECK(where(http_app, "'app' is for tcp frontends; in an http frontend apps are picked by Host, use 'default-app hello'") == "13:9");
  auto tcp_noapp = load(with("frontend pg\n    bind 127.0.0.1:2\n    mode tcp\n"));
  CHECK(where(tcp_noapp, "tcp frontend 'pg' needs 'app NAME'") == "11:10");
  auto tcp_default = load(with("frontend pg\n    bind 127.0.0.1:2\n    mode tcp\n    app hello\n    default-app hello\n"));
  CHECK(where(tcp_default, "'default-app' is for http frontends; a tcp frontend uses 'app NAME'") == "15:17");
  auto unknown = load(with("frontend pg\n    bind 127.0.0.1:2\n    mode tcp\n    app helo\n"));
  CHECK(where(unknown, "unknown app 'helo'; did you mean 'hello'?") == "14:9");
  auto unknown_default = load(with("frontend f2\n    bind 127.0.0.1:2\n    default-app nothing-like-it\n"));
  const Diagnostic* d = find(unknown_default, "unknown app 'nothing-like-it'");
  REQUIRE(d);
  CHECK(d->message.find("did you mean") == std::string::npos);
}

TEST_CASE("frontend TLS: default-certificate, tls on tcp frontends", "[configlang][frontend][tls]") {
  auto ok = load_string(with("frontend f2\n    bind 127.0.0.1:1 tls\n    default-certificate certs/d.pem\n"),
                        "/etc/ferry/ferry.conf", env());
  INFO(format(ok.diagnostics));
  REQUIRE(ok.ok());
  const Frontend& fe = ok.config->frontends.at(ok.config->frontend_index.at("f2"));
  CHECK(fe.binds[0].tls);
  CHECK(fe.default_certificate == "/etc/ferry/certs/d.pem");
  CHECK(fe.default_certificate_loc.line == 13);
  CHECK(fe.default_certificate_loc.col == 25);
  auto plain = load(with("frontend f2\n    bind 127.0.0.1:1\n    default-certificate /d.pem\n"));
  CHECK(warn_where(plain, "'default-certificate' has no effect: frontend 'f2' has no 'bind ... tls'") == "13:25");
  auto tcp = load(with("frontend pg\n    bind 127.0.0.1:2 tls\n    mode tcp\n    app hello\n"));
  CHECK(where(tcp, "'tls' on a tcp frontend 'pg': terminating TLS for raw TCP is not supported") == "12:10");
  auto empty = load(with("frontend f2\n    bind 127.0.0.1:1 tls\n    default-certificate \"\"\n"));
  CHECK(where(empty, "empty certificate path") == "13:25");
}

TEST_CASE("frontend route sni and app mode (TLS passthrough)", "[configlang][frontend][tls]") {
  const std::string tcp_apps =
      "backend tpool\n    server t1 127.0.0.1:9443\n"
      "app a\n    mode tcp\n    hosts a.example.com *.w.example.com\n    backend tpool\n"
      "app fallback\n    mode tcp\n    backend tpool\n";
  auto ok = load(with("frontend pass\n    bind 127.0.0.1:3 accept-proxy\n    proxy-senders 127.0.0.1\n    mode tcp\n"
                      "    route sni\n    app fallback\n" +
                      tcp_apps));
  INFO(format(ok.diagnostics));
  REQUIRE(ok.ok());
  CHECK(ok.diagnostics.empty());
  const Config& c = *ok.config;
  const Frontend& fe = c.frontends.at(c.frontend_index.at("pass"));
  CHECK(fe.route_sni);
  CHECK(fe.app == c.app_index.at("fallback"));
  CHECK(c.apps.at(c.app_index.at("a")).mode == Mode::tcp);
  CHECK(c.apps.at(c.app_index.at("hello")).mode == Mode::http);
  CHECK_FALSE(c.frontends.at(c.frontend_index.at("web")).route_sni);

  // Without a default app: fine (unknown names are refused), no "needs 'app NAME'".
  auto no_default = load(with("frontend pass\n    bind 127.0.0.1:3\n    mode tcp\n    route sni\n" + tcp_apps));
  INFO(format(no_default.diagnostics));
  CHECK(no_default.ok());
  CHECK(find(no_default, "needs 'app NAME'") == nullptr);
  // ... but with no tcp app hosts either, nothing can ever be reached.
  auto nothing = load(with("frontend pass\n    bind 127.0.0.1:3\n    mode tcp\n    route sni\n"));
  CHECK(warn_where(nothing, "frontend 'pass' routes by SNI but no 'mode tcp' app has hosts") == "14:5");

  auto on_http = load(with("frontend f2\n    bind 127.0.0.1:1\n    route sni\n"));
  CHECK(where(on_http, "'route sni' is for tcp frontends (TLS passthrough, needs 'mode tcp')") == "13:5");
  auto with_tls = load(with("frontend pass\n    bind 127.0.0.1:3 tls\n    mode tcp\n    route sni\n" + tcp_apps));
  CHECK(where(with_tls, "'tls' on a 'route sni' frontend 'pass': TLS passthrough forwards") == "12:10");
  auto bad = load(with("frontend pass\n    bind 127.0.0.1:3\n    mode tcp\n    route host\n    app fallback\n" + tcp_apps));
  CHECK(where(bad, "invalid route 'host' (expected sni)") == "14:11");
  auto twice = load(with("frontend pass\n    bind 127.0.0.1:3\n    mode tcp\n    route sni\n    route sni\n" + tcp_apps));
  CHECK(find(twice, "route") != nullptr);
  CHECK_FALSE(twice.ok());

  // Mode-incompatible apps.
  auto http_default = load(with("frontend pass\n    bind 127.0.0.1:3\n    mode tcp\n    route sni\n    app hello\n" + tcp_apps));
  CHECK(where(http_default, "app 'hello' is an http app: the default app of a 'route sni' frontend") == "15:9");
  auto tcp_as_default_app = load(with("frontend f2\n    bind 127.0.0.1:1\n    default-app fallback\n" + tcp_apps));
  CHECK(where(tcp_as_default_app, "app 'fallback' is a tcp app (TLS passthrough): it cannot be the default-app") == "13:17");
  // A plain tcp frontend (no route sni) forwards bytes: its app may have either mode.
  auto plain_tcp = load(with("frontend pg\n    bind 127.0.0.1:2\n    mode tcp\n    app hello\n"
                             "frontend pg2\n    bind 127.0.0.1:4\n    mode tcp\n    app fallback\n" + tcp_apps));
  INFO(format(plain_tcp.diagnostics));
  CHECK(plain_tcp.ok());
  auto tls_settings = load(with("frontend pass\n    bind 127.0.0.1:3\n    mode tcp\n    route sni\n"
                                "backend tpool\n    server t1 127.0.0.1:9443\n"
                                "app a\n    mode tcp\n    hosts a.example.com\n    backend tpool\n"
                                "    certificate /x.pem\n    tls-min 1.3\n    max-body-size 1m\n"));
  CHECK(where(tls_settings, "'certificate' has no effect on a tcp app: its TLS connections pass through") == "21:5");
  CHECK(where(tls_settings, "'tls-min' has no effect on a tcp app") == "22:5");
  CHECK(warn_where(tls_settings, "'max-body-size' has no effect on a tcp app") == "23:5");
  auto bad_mode = load(with("backend tpool\n    server t1 127.0.0.1:9443\napp a\n    mode udp\n    backend tpool\n"));
  CHECK(where(bad_mode, "invalid mode 'udp' (expected http|tcp)") != "none");
  // Reachability: a tcp app's hosts are reached only through a 'route sni' frontend.
  auto unreached = load(with(tcp_apps));
  CHECK(warn_where(unreached, "app 'a' is not used by any frontend (no tcp frontend's 'app', and no hosts routed by a 'route sni' frontend)") == "13:5");
}

TEST_CASE("backend directives", "[configlang][backend]") {
  auto r = load(with("backend b2\n"
                     "    balance roundrobin\n"
                     "    health-check http GET /healthz host api.internal interval 5s timeout 2s rise 3 fall 4\n"
                     "    eject-after 0\n"
                     "    eject-time 30s\n"
                     "    server a 10.0.0.1:80 weight 0 maxconn 100 backup disabled send-proxy-v2 region iad\n"
                     "    server b [fd00::1]:8080 send-proxy\n"
                     "    server c 10.0.0.3:80 node w1\n"
                     "    server d 10.0.0.4:80 node w1 region ord\n"
                     "    timeout connect 2s\n"
                     "    timeout queue 1s\n"
                     "    retries 0\n"
                     "    pool-max-idle 8\n"
                     "    pool-idle-timeout 1m\n"
                     "app a2\n    hosts a2.example\n    backend b2\n"
                     "mesh\n    private-key k\n    address 10.99.0.1/24\n    backhaul 10.99.0.1:4280\n"
                     "    peer w1\n        public-key 3hW6ptq0l+Mx0a5Sh6x+E0V4mkXP3cdSAUH2bHq8Mww=\n"
                     "        allowed-ips 10.99.0.2/32\n"
                     "        backhaul 10.99.0.2:4280\n        region dfw\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  const Backend& b = r.config->backends.at(r.config->backend_index.at("b2"));
  CHECK(b.balance == Balance::roundrobin);
  CHECK(b.health.kind == HealthCheck::Kind::http);
  CHECK(b.health.method == "GET");
  CHECK(b.health.path == "/healthz");
  CHECK(b.health.host == "api.internal");
  CHECK(b.health.interval == 5s);
  CHECK(b.health.timeout == 2s);
  CHECK(b.health.rise == 3);
  CHECK(b.health.fall == 4);
  CHECK(b.passive.consecutive_failures == 0);
  CHECK(b.passive.eject_time == 30s);
  REQUIRE(b.servers.size() == 4);
  const Server& s = b.servers[0];
  CHECK(s.name == "a");
  CHECK(s.addr == Address{"10.0.0.1", 80});
  CHECK(s.weight == 0);
  CHECK(s.maxconn == 100);
  CHECK(s.backup);
  CHECK(s.disabled);
  CHECK(s.send_proxy == ProxyProtocol::v2);
  CHECK(s.node.empty());
  CHECK(s.peer == -1);
  CHECK(s.region == "iad");
  REQUIRE(b.servers.size() == 4);
  CHECK(b.servers[2].node == "w1");
  CHECK(b.servers[2].peer == 0);
  CHECK(b.servers[2].region == "dfw");  // the peer's
  CHECK(b.servers[3].region == "ord");
  CHECK(s.loc.line == 16);
  CHECK(b.servers[1].send_proxy == ProxyProtocol::v1);
  CHECK(b.servers[1].weight == 1);
  CHECK(b.timeouts.connect == 2s);
  CHECK(b.timeouts.queue == 1s);
  CHECK(b.timeouts.client == 30s);  // from kBase's defaults
  CHECK(b.retries == 0);
  CHECK(b.pool_max_idle == 8u);
  CHECK(b.pool_idle_timeout == 1min);
  CHECK(r.config->apps.at(1).backend == r.config->backend_index.at("b2"));

  auto tcp = load(with("backend b2\n    health-check tcp interval 1s\n    server a 10.0.0.1:80\n"));
  REQUIRE(tcp.ok());
  const HealthCheck& h = tcp.config->backends[1].health;
  CHECK(h.kind == HealthCheck::Kind::tcp);
  CHECK(h.interval == 1s);
  CHECK(h.timeout == 1s);
  CHECK(h.rise == 2);
  CHECK(h.fall == 3);
  CHECK(h.method == "GET");
  CHECK(h.path == "/");
}

TEST_CASE("backend errors and warnings", "[configlang][backend]") {
  auto r = load(with("backend b2\n"
                     "    balance closest\n"                            // 12
                     "    server a 10.0.0.1:0\n"                        // 13
                     "    server b 10.0.0.1:80 weight 257\n"            // 14
                     "    server c 10.0.0.1:80 wieght 3\n"              // 15
                     "    server d 10.0.0.1:80 send-proxy send-proxy-v2\n"  // 16
                     "    server e web.internal:80\n"                   // 17
                     "    server a 10.0.0.2:80\n"                       // 18
                     "    health-check http GET healthz\n"              // 19
                     "    timeout client 5s\n"                          // 20: warning
                     "    retries 20\n"                                 // 21
                     "    server f\n"                                   // 22
                     "    server g 10.0.0.1:80 weight\n"                // 23
                     "    eject-time 10\n"                              // 24
                     "backend empty\n"));                               // 25
  CHECK(where(r, "balance", Diagnostic::Severity::error) == "none");  // line 12: closest is valid
  CHECK(where(r, "server port must be 1..65535") == "13:14");
  CHECK(where(r, "number '257' is out of range (0..256)") == "14:33");
  CHECK(where(r, "unknown server option 'wieght'; did you mean 'weight'?") == "15:26");
  CHECK(where(r, "server option 'send-proxy-v2' is given twice (send-proxy and send-proxy-v2 exclude each other)") == "16:37");
  CHECK(where(r, "'web.internal' must be an IP address (DNS names are not resolved)") == "17:14");
  CHECK(where(r, "duplicate server 'a' in backend 'b2'") == "18:12");
  const Diagnostic* dup = find(r, "duplicate server 'a'");
  REQUIRE(dup);
  CHECK((dup + 1)->message == "first defined here");
  CHECK((dup + 1)->line == 13);
  CHECK(where(r, "invalid health check path 'healthz': it must start with '/'") == "19:27");
  CHECK(warn_where(r, "'timeout client' has no effect in a backend") == "20:13");
  CHECK(where(r, "number '20' is out of range (0..10)") == "21:13");
  CHECK(where(r, "missing argument: expected 'server NAME ADDR") == "22:13");
  CHECK(where(r, "missing value after 'weight'") == "23:32");
  CHECK(where(r, "missing unit") == "24:16");
  CHECK(warn_where(r, "backend 'empty' has no servers") == "25:9");
}

TEST_CASE("instances catalog", "[configlang][backend]") {
  auto r = load(with("backend live\n    instances catalog\n"
                     "backend both\n    instances catalog\n    server a 10.0.0.1:80\n"
                     "backend fixed\n    instances static\n    server a 10.0.0.1:80\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(warn_where(r, "backend 'live' has no servers") == "none");  // its instances come at run time
  CHECK(r.config->backends.at(r.config->backend_index.at("live")).catalog);
  CHECK(r.config->backends.at(r.config->backend_index.at("both")).catalog);
  CHECK_FALSE(r.config->backends.at(r.config->backend_index.at("fixed")).catalog);
  auto bad = load(with("backend b\n    instances etcd\n    server a 10.0.0.1:80\n"));
  CHECK_FALSE(bad.ok());
  CHECK(find(bad, "instance source") != nullptr);
}

TEST_CASE("health-check errors", "[configlang][backend]") {
  auto hc = [](const std::string& line) {
    return load(with("backend b2\n    server a 10.0.0.1:80\n    health-check " + line + "\n"));
  };
  CHECK(where(hc("udp"), "invalid health check kind 'udp' (expected tcp|http)") == "13:18");
  CHECK(where(hc("tcp GET /"), "a tcp health check takes no METHOD PATH") == "13:22");
  CHECK(where(hc("http get /"), "invalid HTTP method 'get'") == "13:23");
  CHECK(where(hc("http GET"), "missing PATH after the method") == "13:26");
  CHECK(where(hc("http interval"), "missing value after 'interval'") == "13:31");
  CHECK(where(hc("http rise 0"), "out of range (1..100)") == "13:28");
  CHECK(where(hc("http timeout 0"), "health-check timeout must be greater than 0") == "13:31");
  CHECK(where(hc("http fall 2 fall 3"), "health-check option 'fall' is given twice") == "13:30");
  CHECK(where(hc("http intervall 2s"), "unknown health-check option 'intervall'; did you mean 'interval'?") == "13:23");
  CHECK(where(hc("tcp host x"), "'host' applies only to http health checks") == "13:22");
  CHECK(where(hc(""), "missing argument: expected 'health-check tcp|http") == "13:17");
  CHECK(hc("http POST /check").ok());
}

TEST_CASE("app directives", "[configlang][app]") {
  auto r = load(with("app a2\n"
                     "    hosts API.Example.com *.api.example.com\n"
                     "    hosts other.example\n"
                     "    backend pool\n"
                     "    concurrency soft 20 hard 25 queue 100\n"
                     "    max-body-size 10m\n"
                     "    certificate a2.pem\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  const App& a = r.config->apps.at(r.config->app_index.at("a2"));
  CHECK(a.hosts == std::vector<std::string>{"api.example.com", "*.api.example.com", "other.example"});
  CHECK(a.backend == 0);
  CHECK(a.concurrency.soft == 20);
  CHECK(a.concurrency.hard == 25);
  CHECK(a.concurrency.queue == 100);
  CHECK(a.max_body_size == 10u * 1024 * 1024);
  CHECK(a.certificate == "a2.pem");
  CHECK(a.loc.line == 11);
  CHECK(a.tls_min == TlsVersion::v1_2);  // the default
  auto hard = load(with("app a2\n    backend pool\n    hosts x.example\n    concurrency hard 200\n    certificate /etc/c.pem\n"));
  REQUIRE(hard.ok());
  CHECK(hard.config->apps[1].concurrency.hard == 200);
  CHECK(hard.config->apps[1].concurrency.soft == 0);
  CHECK(hard.config->apps[1].certificate == "/etc/c.pem");
  CHECK(hard.config->apps[1].certificate_loc.line == 15);
  // A relative path is relative to the directory of the file that names it.
  const std::string rel = with("app a2\n    backend pool\n    hosts x.example\n    certificate certs/x.pem\n");
  auto in_dir = load_string(rel, "/etc/ferry/ferry.conf", env());
  REQUIRE(in_dir.ok());
  CHECK(in_dir.config->apps[1].certificate == "/etc/ferry/certs/x.pem");
  auto modern = load(with("app a2\n    backend pool\n    tls-min 1.3\n"));
  REQUIRE(modern.ok());
  CHECK(modern.config->apps[1].tls_min == TlsVersion::v1_3);
  CHECK(where(load(with("app a2\n    backend pool\n    tls-min 1.1\n")), "invalid TLS version '1.1' (expected 1.2|1.3)") == "13:13");
  auto bare = load(rel);  // "t.conf": no directory part, so relative to the working directory
  REQUIRE(bare.ok());
  CHECK(bare.config->apps[1].certificate == "certs/x.pem");
}

TEST_CASE("app errors", "[configlang][app]") {
  auto r = load(with("app a2\n"
                     "    hosts x.example:8080 a.*.example a..example *\n"  // 12
                     "    backend pol\n"                                   // 13
                     "    concurrency soft 10 hard 5\n"                    // 14
                     "app a3\n"                                            // 15
                     "    concurrency queue 5\n"                           // 16
                     "    hosts hello.example.com\n"                       // 17
                     "    hosts Y.example y.example\n"                     // 18
                     "app a4\n"                                            // 19
                     "    backend pool\n"                                  // 20
                     "    concurrency hard 2000000\n"                      // 21
                     "    concurrency soft 1\n"                            // 22
                     "    concurrency\n"                                   // 23
                     "app a5\n"                                            // 24
                     "    backend pool\n"                                  // 25
                     "    concurrency hard 1 hard 2\n"                     // 26
                     "    certificate\n"));                                // 27
  CHECK(where(r, "invalid host 'x.example:8080': hosts take no port") == "12:11");
  CHECK(where(r, "invalid host 'a.*.example': '*' is only allowed as a leading '*.' label") == "12:26");
  CHECK(where(r, "invalid host 'a..example': empty label") == "12:38");
  CHECK(where(r, "invalid host '*'") == "12:49");
  CHECK(where(r, "unknown backend 'pol'; did you mean 'pool'?") == "13:13");
  CHECK(where(r, "concurrency soft 10 is above hard 5") == "14:22");
  CHECK(where(r, "app 'a3' needs 'backend NAME'") == "15:5");
  CHECK(where(r, "concurrency queue needs a hard limit") == "16:23");
  CHECK(where(r, "host 'hello.example.com' is already served by app 'hello'") == "17:11");
  const Diagnostic* dup = find(r, "is already served by app 'hello'");
  REQUIRE(dup);
  CHECK((dup + 1)->message == "first listed here");
  CHECK((dup + 1)->line == 9);
  CHECK((dup + 1)->col == 11);
  CHECK(where(r, "host 'y.example' is listed twice in app 'a3'") == "18:21");
  CHECK(where(r, "number '2000000' is out of range (0..1000000)") == "21:22");
  CHECK(where(r, "'concurrency' is already set in this app section") == "22:5");
  CHECK(where(r, "concurrency option 'hard' is given twice") == "26:24");
  CHECK(where(r, "missing argument: expected 'certificate acme|PATH'") == "27:16");
}

TEST_CASE("acme section", "[configlang][acme]") {
  const std::string acme_app = "app a2\n"                       // 11
                               "    hosts a.example.com b.example.com\n"
                               "    backend pool\n"
                               "    certificate acme\n";      // 14
  auto r = load(with(acme_app + "acme\n"                       // 15
                                "    directory https://127.0.0.1:14000/dir\n"
                                "    email mailto:ops@example.com\n"
                                "    challenge tls-alpn-01\n"
                                "    ca-bundle certs/pebble.pem\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.warning_count() == 1);  // no tls bind (below)
  REQUIRE(r.config->acme);
  const Acme& a = *r.config->acme;
  CHECK(a.directory == "https://127.0.0.1:14000/dir");
  CHECK(a.email == "ops@example.com");
  CHECK(a.challenge == AcmeChallenge::tls_alpn_01);
  CHECK(a.ca_bundle == "certs/pebble.pem");  // "t.conf" has no directory part
  CHECK(a.loc.line == 15);
  CHECK(r.config->apps.at(1).certificate == "acme");

  // No tls bind anywhere: the challenge cannot be answered (a warning, once).
  CHECK(warn_where(r, "app 'a2': no frontend has a 'bind ... tls'") == "14:17");
  auto with_tls = load(with(acme_app + "acme\n    directory https://ca.example/dir\n") + "frontend t\n    bind 127.0.0.1:0 tls\n    default-app hello\n");
  INFO(format(with_tls.diagnostics));
  CHECK(with_tls.ok());
  CHECK(with_tls.diagnostics.empty());

  // Defaults: no email, tls-alpn-01, system CAs. No acme section: none in the Config.
  auto minimal = load(with("acme\n    directory https://ca.example/dir\n"));
  REQUIRE(minimal.ok());
  CHECK(minimal.config->acme->email.empty());
  CHECK(minimal.config->acme->ca_bundle.empty());
  CHECK(minimal.config->acme->challenge == AcmeChallenge::tls_alpn_01);
  CHECK_FALSE(load(kBase).config->acme);
  auto rel = load_string(with("acme\n    directory https://ca.example/dir\n    ca-bundle ca.pem\n"),
                         "/etc/ferry/ferry.conf", env());
  REQUIRE(rel.ok());
  CHECK(rel.config->acme->ca_bundle == "/etc/ferry/ca.pem");
}

TEST_CASE("acme section with challenge http-01", "[configlang][acme]") {
  const std::string acme = "app a2\n"                      // 11
                           "    hosts a.example.com\n"
                           "    backend pool\n"
                           "    certificate acme\n"       // 14
                           "acme\n"                        // 15
                           "    directory https://ca.example/dir\n"
                           "    challenge http-01\n";     // 17
  // kBase's frontend with its bind made tls (same line numbers): no plain bind left.
  auto tls_base = [](const std::string& extra) {
    std::string base = with(extra);
    const std::string plain = "    bind 127.0.0.1:0\n";
    base.replace(base.find(plain), plain.size(), "    bind 127.0.0.1:0 tls\n");
    return base;
  };
  // kBase's plain bind answers the challenge, a tls bind serves the certificate: no warning.
  auto ok = load(with(acme) + "frontend t\n    bind 127.0.0.1:0 tls\n    default-app hello\n");
  INFO(format(ok.diagnostics));
  REQUIRE(ok.ok());
  CHECK(ok.diagnostics.empty());
  CHECK(ok.config->acme->challenge == AcmeChallenge::http_01);
  // Only a tls bind: nothing can answer the challenge (one warning, at the challenge).
  auto tls_only = load(tls_base(acme));
  INFO(format(tls_only.diagnostics));
  REQUIRE(tls_only.ok());
  CHECK(tls_only.warning_count() == 1);
  CHECK(warn_where(tls_only, "challenge 'http-01': no http frontend has a plain (non-tls) 'bind'") == "17:15");
  // A plain bind on a tcp frontend does not answer HTTP.
  auto tcp_plain = load(tls_base(acme) + "frontend t\n    bind 127.0.0.1:0\n    mode tcp\n    app hello\n");
  INFO(format(tcp_plain.diagnostics));
  CHECK(warn_where(tcp_plain, "challenge 'http-01': no http frontend has a plain (non-tls) 'bind'") == "17:15");
  // No tls bind at all: the certificate cannot be served (the http-01 wording).
  auto no_tls = load(with(acme));
  CHECK(warn_where(no_tls, "app 'a2': no frontend has a 'bind ... tls': the certificate cannot be served") == "14:17");
  CHECK(no_tls.warning_count() == 1);
  // Wildcards cannot be validated by http-01 either.
  auto wild = load(with("app a2\n    hosts *.example.com\n    backend pool\n    certificate acme\n"
                        "acme\n    directory https://ca.example/dir\n    challenge http-01\n"));
  CHECK(where(wild, "(the http-01 challenge cannot validate wildcards)") == "12:11");
}

TEST_CASE("acme errors", "[configlang][acme]") {
  // `certificate acme` without an acme section.
  auto no_section = load(with("app a2\n    hosts a.example.com\n    backend pool\n    certificate acme\n"));
  CHECK(where(no_section, "app 'a2': 'certificate acme' needs an 'acme' section") == "14:17");
  // Wildcard and missing hosts.
  auto hosts = load(with("app a2\n"                                   // 11
                         "    hosts a.example.com *.b.example.com\n"  // 12
                         "    backend pool\n"
                         "    certificate acme\n"                     // 14
                         "app a3\n"                                   // 15
                         "    backend pool\n"
                         "    certificate acme\n"                     // 17
                         "acme\n"
                         "    directory https://ca.example/dir\n"));
  CHECK(where(hosts, "app 'a2': wildcard host '*.b.example.com' cannot get an automatic certificate") == "12:25");
  CHECK(where(hosts, "app 'a3': 'certificate acme' needs at least one name in 'hosts'") == "17:17");
  CHECK(hosts.error_count() == 2);
  // The section's own directives.
  auto bad = load(with("acme\n"                              // 11
                       "    directory http://ca.example/dir\n"  // 12
                       "    email nobody\n"                     // 13
                       "    challenge http-01\n"                // 14
                       "    challenge dns-01\n"                 // 15
                       "    ca-bundle\n"                        // 16
                       "    renew 30d\n"                        // 17
                       "acme\n"));                              // 18
  CHECK(where(bad, "invalid ACME directory 'http://ca.example/dir': expected an https:// URL") == "12:15");
  CHECK(where(bad, "invalid email address 'nobody' (expected local@domain)") == "13:11");
  CHECK(where(bad, "'challenge' is already set in this acme section") == "15:5");
  CHECK(where(bad, "missing argument: expected 'ca-bundle PATH'") == "16:14");
  CHECK(where(bad, "unknown directive 'renew' in an acme section") == "17:5");
  CHECK(where(bad, "duplicate 'acme' section (only one is allowed)") == "18:1");
  CHECK(where(bad, "the 'acme' section needs 'directory URL'") == "11:1");
  auto dns = load(with("acme\n    directory https://ca.example/dir\n    challenge dns-01\n"));
  CHECK(where(dns, "invalid ACME challenge 'dns-01' (expected tls-alpn-01|http-01)") == "13:15");
}

namespace {
const char* kPeerKey = "3hW6ptq0l+Mx0a5Sh6x+E0V4mkXP3cdSAUH2bHq8Mww=";
}  // namespace

TEST_CASE("mesh and anycast sections", "[configlang][mesh]") {
  auto r = load(with(std::string("global\n    node yyz-1\n    region yyz\n"
                                 "mesh\n"
                                 "    interface ferry-yyz\n"
                                 "    private-key keys/mesh.key\n"
                                 "    listen-port 51000\n"
                                 "    address 10.99.0.1/24\n"
                                 "    backhaul 10.99.0.1:4280\n"
                                 "    userspace /usr/bin/wireguard-go\n"
                                 "    ping-interval 500ms\n"
                                 "    peer-timeout 2s\n"
                                 "    peer dfw-1\n"
                                 "        public-key ") + kPeerKey + "\n"
                     "        endpoint 192.0.2.7:51820\n"
                     "        allowed-ips 10.99.0.2/32 fd00:2::/64\n"
                     "        backhaul 10.99.0.2:4280\n"
                     "        region dfw\n"
                     "        latency 30ms\n"
                     "        persistent-keepalive 25s\n"
                     "    peer syd-1\n"
                     "        public-key " + kPeerKey + "\n"
                     "        allowed-ips 10.99.0.3\n"
                     "        backhaul 10.99.0.3:4280\n"
                     "        region syd\n"
                     "anycast\n"
                     "    address 203.0.113.10/32 shared\n"
                     "    address 203.0.113.11/32 interface eth9\n"
                     "backend far\n    balance closest\n    server s1 10.1.0.1:80 node dfw-1\n"
                     "    server s2 10.1.0.2:80 node yyz-1\n"
                     "app far\n    hosts far.example\n    backend far\n    ip 203.0.113.11\n"
                     "    allow-routing-hints\n    replay-max-body 256k\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  const Config& c = *r.config;
  REQUIRE(c.mesh);
  const Mesh& m = *c.mesh;
  CHECK(m.interface == "ferry-yyz");
  CHECK(m.private_key_file == "keys/mesh.key");  // relative to t.conf's directory (none)
  CHECK(m.private_key_loc.line == 16);
  CHECK(m.listen_port == 51000);
  CHECK(m.address.to_string() == "10.99.0.1/24");
  CHECK(m.backhaul.to_string() == "10.99.0.1:4280");
  CHECK(m.driver == WgDriver::userspace);  // implied by `userspace`
  CHECK(m.userspace_command == std::vector<std::string>{"/usr/bin/wireguard-go"});
  CHECK(m.ping_interval == 500ms);
  CHECK(m.peer_timeout == 2s);
  REQUIRE(m.peers.size() == 2);
  CHECK(m.peer_index.at("syd-1") == 1);
  const MeshPeer& p = m.peers[0];
  CHECK(p.public_key == kPeerKey);
  CHECK(p.endpoint->to_string() == "192.0.2.7:51820");
  REQUIRE(p.allowed_ips.size() == 2);
  CHECK(p.allowed_ips[1].to_string() == "fd00:2::/64");
  CHECK(p.backhaul.to_string() == "10.99.0.2:4280");
  CHECK(p.region == "dfw");
  CHECK(p.latency == 30ms);
  CHECK(p.keepalive == 25s);
  CHECK_FALSE(m.peers[1].endpoint);
  CHECK(m.peers[1].latency == 0ms);
  REQUIRE(c.anycast.size() == 2);
  CHECK(c.anycast[0].cidr.to_string() == "203.0.113.10/32");
  CHECK(c.anycast[0].shared);
  CHECK(c.anycast[0].interface == "lo");
  CHECK(c.anycast[1].interface == "eth9");
  CHECK_FALSE(c.anycast[1].shared);
  const Backend& b = c.backends.at(c.backend_index.at("far"));
  CHECK(b.balance == Balance::closest);
  CHECK(b.servers[0].peer == 0);
  CHECK(b.servers[0].region == "dfw");
  CHECK(b.servers[1].node.empty());  // this node's own name: local
  CHECK(b.servers[1].peer == -1);
  CHECK(b.servers[1].region == "yyz");
  const App& a = c.apps.at(c.app_index.at("far"));
  CHECK(a.ip == "203.0.113.11");
  CHECK(a.allow_routing_hints);
  CHECK(a.replay_max_body == 256u * 1024);
  CHECK(c.apps.at(c.app_index.at("hello")).replay_max_body == 0);  // opt-in: nothing kept by default
  CHECK(c.apps.at(c.app_index.at("hello")).replay_to.empty());
  CHECK_FALSE(c.apps.at(c.app_index.at("hello")).allow_routing_hints);
}

TEST_CASE("mesh and anycast errors", "[configlang][mesh]") {
  auto r = load(with(std::string("mesh\n"                                    // 11: no private-key/address/backhaul
                                 "    interface a/b\n"                       // 12
                                 "    listen-port 0\n"                       // 13
                                 "    driver kernl\n"                        // 14
                                 "    peer p1\n"                             // 15: no backhaul
                                 "        public-key abc\n"                  // 16
                                 "        region dfw\n"                      // 17
                                 "        endpoint example.com:51820\n"      // 18
                                 "        colour red\n"                      // 19
                                 "    peer p1\n"                             // 20
                                 "        region x\n"
                                 "    peer lonely\n"                         // 22
                                 "mesh\n"                                    // 23
                                 "anycast\n"
                                 "    address 203.0.113.10/32 shared\n"      // 25
                                 "    address 203.0.113.10/32\n"             // 26
                                 "    address 10.0.0.1/32 shared wide\n"     // 27
                                 "backend far\n"
                                 "    server s1 10.1.0.1:80 node nowhere\n"  // 29
                                 "    server s2 10.1.0.1:81 node p1 proto h2c\n"  // 30
                                 "app far\n    hosts far.example\n    backend far\n"
                                 "    ip 203.0.113.10\n"                     // 34
                                 "    replay-max-body 1g\n")));              // 35
  CHECK(where(r, "the 'mesh' section needs 'private-key PATH'") == "11:1");
  CHECK(where(r, "the 'mesh' section needs 'address CIDR'") == "11:1");
  CHECK(where(r, "the 'mesh' section needs 'backhaul IP:PORT'") == "11:1");
  CHECK(where(r, "invalid interface name 'a/b'") == "12:15");
  CHECK(where(r, "out of range (1..65535)") == "13:17");
  CHECK(where(r, "invalid WireGuard driver 'kernl'") == "14:12");
  CHECK(where(r, "peer 'p1' needs 'backhaul IP:PORT'") == "15:10");
  CHECK(where(r, "invalid public key") == "16:20");
  CHECK(where(r, "example.com") == "18:18");
  CHECK(where(r, "unknown peer directive 'colour'") == "19:9");
  CHECK(where(r, "duplicate peer 'p1'") == "20:10");
  CHECK(where(r, "peer 'lonely' needs an indented block") == "22:16");
  CHECK(where(r, "duplicate 'mesh' section") == "23:1");
  CHECK(where(r, "anycast address 203.0.113.10 is listed twice") == "26:13");
  CHECK(where(r, "unknown anycast address option 'wide'") == "27:32");
  CHECK(where(r, "unknown mesh peer 'nowhere'") == "29:32");
  CHECK(where(r, "server 's2' is on node 'p1': proto and send-proxy") == "30:32");
  CHECK(where(r, "is a 'shared' anycast address") == "34:8");
  CHECK(where(r, "replay-max-body is at most 64m") == "35:21");

  // Names that travel in backhaul metadata.
  auto names = load(with(std::string("mesh\n    private-key k\n    address 10.99.0.1/24\n    backhaul 10.99.0.1:4280\n"
                                     "    ping-interval 2s\n"  // 15: default peer-timeout 3s < 2 intervals
                                     "backend \"b b\"\n    server \"s 1\" 10.1.0.1:80\n"  // 17
                                     "app \"my app\"\n    hosts x.example\n    backend \"b b\"\n")));  // 18
  CHECK(where(names, "server name 's 1': with a mesh") == "17:12");
  CHECK(where(names, "app name 'my app': with a mesh") == "18:5");
  CHECK(where(names, "peer-timeout 3s is shorter than two ping intervals") == "11:1");

  // `node` without a mesh section.
  auto n = load(with("backend far\n    server s1 10.1.0.1:80 node w9\n"
                     "app far\n    hosts far.example\n    backend far\n"));
  CHECK(where(n, "'node w9' needs a 'mesh' section with 'peer w9'") == "12:32");
}

TEST_CASE("edge trust: proxy-senders, replay-to, replay-buffer-budget", "[configlang][trust]") {
  auto r = load(with("frontend pp\n"
                     "    bind 127.0.0.1:1 accept-proxy\n"       // 12: needs proxy-senders
                     "    bind 127.0.0.1:2 tls accept-proxy\n"
                     "    default-app hello\n"
                     "frontend plain\n"                          // 15
                     "    bind 127.0.0.1:3\n"
                     "    proxy-senders 10.0.0.1\n"              // 17: no accept-proxy bind
                     "    default-app hello\n"
                     "app other\n    hosts o.example\n    backend pool\n"  // 19
                     "app t\n    mode tcp\n    backend pool\n"   // 22
                     "    replay-to other\n"                     // 25: tcp app
                     "app r\n    hosts r.example\n    backend pool\n"  // 26
                     "    replay-to other nope t\n"              // 29
                     "    replay-to other hello\n"));            // 30
  CHECK(where(r, "'accept-proxy' needs 'proxy-senders CIDR...' in frontend 'pp'") == "12:22");
  CHECK(warn_where(r, "'proxy-senders' has no effect: frontend 'plain' has no 'bind ... accept-proxy'") == "17:5");
  CHECK(where(r, "'replay-to' has no effect on a tcp app") == "25:15");
  CHECK(where(r, "unknown app 'nope'") == "29:21");
  CHECK(where(r, "replay-to app 't' is a tcp app") == "29:26");

  auto ok = load(with("global\n    replay-buffer-budget 8m\n"
                      "app other\n    hosts o.example\n    backend pool\n"
                      "app r\n    hosts r.example\n    backend pool\n    replay-max-body 1m\n"
                      "    replay-to other hello\n    replay-to other\n"));
  INFO(format(ok.diagnostics));
  REQUIRE(ok.ok());
  const Config& c = *ok.config;
  CHECK(c.global.replay_buffer_budget == 8u << 20);
  CHECK(load(kBase).config->global.replay_buffer_budget == 32u << 20);
  const App& a = c.apps.at(c.app_index.at("r"));
  CHECK(a.replay_max_body == 1u << 20);
  CHECK(a.replay_to == std::vector<int>{c.app_index.at("other"), c.app_index.at("hello")});
}

TEST_CASE("mesh backhaul addresses stay inside the mesh", "[configlang][mesh][trust]") {
  auto mesh = [](const std::string& own, const std::string& peer) {
    return with(std::string("mesh\n    private-key k\n    address 10.99.0.1/24\n"
                            "    backhaul ") + own + "\n"                 // 14
                "    peer w1\n        public-key 3hW6ptq0l+Mx0a5Sh6x+E0V4mkXP3cdSAUH2bHq8Mww=\n"
                "        allowed-ips 10.99.0.2/32 fd00:2::/64\n"
                "        backhaul " + peer + "\n"                       // 18
                "        region dfw\n");
  };
  auto ok = load(mesh("10.99.0.1:4280", "[fd00:2::7]:4280"));
  INFO(format(ok.diagnostics));
  CHECK(ok.ok());
  auto wild = load(mesh("[::]:4280", "10.99.0.2:4280"));  // 0.0.0.0 is refused by the parser already
  CHECK(where(wild, "mesh backhaul [::]:4280 is not this node's mesh address (10.99.0.1)") == "14:14");
  auto other = load(mesh("10.99.0.5:4280", "10.99.0.2:4280"));  // in the mesh subnet, not ours
  CHECK(where(other, "mesh backhaul 10.99.0.5:4280 is not this node's mesh address") == "14:14");
  auto v6 = load(mesh("[fd00:1::1]:4280", "10.99.0.2:4280"));
  CHECK(where(v6, "mesh backhaul [fd00:1::1]:4280 is not this node's mesh address") == "14:14");
  auto out = load(mesh("10.99.0.1:4280", "10.250.0.2:4280"));
  CHECK(where(out, "peer 'w1': its backhaul 10.250.0.2:4280 is not inside its allowed-ips") == "18:18");
  auto out6 = load(mesh("10.99.0.1:4280", "[fd00:3::1]:4280"));
  CHECK(where(out6, "peer 'w1': its backhaul [fd00:3::1]:4280 is not inside its allowed-ips") == "18:18");
}

TEST_CASE("catalog section", "[configlang][catalog]") {
  auto none = load(with(""));
  REQUIRE(none.ok());
  CHECK_FALSE(none.config->catalog.etcd_backend());  // embedded by default
  CHECK(none.config->catalog.prefix == "/ferry/catalog/");

  auto r = load(with("catalog\n    etcd http://10.0.0.1:2379 https://[fd00::1]:2379/ http://etcd-3.internal:2379\n"
                     "    prefix /fleet/a/\n    lease-ttl 3s\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  const auto& c = r.config->catalog;
  CHECK(c.etcd_backend());
  CHECK(c.etcd == std::vector<std::string>{"http://10.0.0.1:2379", "https://[fd00::1]:2379", "http://etcd-3.internal:2379"});
  CHECK(c.prefix == "/fleet/a/");
  CHECK(c.lease_ttl == std::chrono::seconds(3));

  auto bad = load(with("catalog\n    etcd ftp://10.0.0.1:2379\n    prefix fleet\n    lease-ttl 1s\n"
                       "    user ops\n    cert /nonexistent.pem\n"));
  CHECK_FALSE(bad.ok());
  CHECK(where(bad, "invalid etcd endpoint 'ftp://") == "12:10");
  CHECK(where(bad, "invalid prefix 'fleet'") == "13:12");
  CHECK(where(bad, "lease-ttl out of range") == "14:15");
  CHECK(find(bad, "'user' needs 'password-file PATH'") != nullptr);
  CHECK(find(bad, "'cert' needs 'key PATH'") != nullptr);
  CHECK(find(load(with("catalog\n    etcd http://10.0.0.1\n")), "the port is missing") != nullptr);
  CHECK(find(load(with("catalog\n    etcd http://10.0.0.1:2379/v3\n")), "no path") != nullptr);
  auto dup = load(with("catalog\n    prefix /a/\ncatalog\n    prefix /b/\n"));
  CHECK(find(dup, "duplicate 'catalog' section") != nullptr);
  CHECK(find(load(with("catalog\n    instances-dir /nonexistent/instances.d\n")), "is not a directory (it does not exist)") !=
        nullptr);
  auto dir = load(with("catalog\n    instances-dir /tmp\n"));
  REQUIRE(dir.ok());
  CHECK(dir.config->catalog.instances_dir == "/tmp");
  auto unused = load(with("catalog\n    user ops\n    password-file /dev/null\n"));
  CHECK(warn_where(unused, "etcd options but no 'etcd URL...'") != "none");
}

TEST_CASE("scale-to-zero directives", "[configlang][catalog]") {
  // Line 11 onwards: a catalog backend and an app using it.
  const std::string pool = "backend live\n    instances catalog\n";
  auto r = load(with(pool + "app a\n    hosts a.test\n    backend live\n    autostart http://127.0.0.1:9000/hook\n"
                            "    autostart-timeout 5s\n    autostop 10m keep 2\n"
                            "app b\n    hosts b.test\n    backend live\n    autostart start-app --fast\n"
                            "app c\n    hosts c.test\n    backend live\n    autostart ./bin/start\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  const App& a = r.config->apps[r.config->app_index.at("a")];
  CHECK(a.autostart());
  CHECK(a.autostart_url == "http://127.0.0.1:9000/hook");
  CHECK(a.autostart_timeout == std::chrono::seconds(5));
  CHECK(a.autostop_idle == std::chrono::minutes(10));
  CHECK(a.autostop_keep == 2);
  const App& b = r.config->apps[r.config->app_index.at("b")];
  CHECK(b.autostart_command == std::vector<std::string>{"start-app", "--fast"});  // a bare name: PATH at run time
  CHECK(b.autostart_timeout == std::chrono::seconds(30));
  CHECK(b.autostop_idle.count() == 0);
  const App& c = r.config->apps[r.config->app_index.at("c")];
  CHECK(c.autostart_command.front() == "./bin/start");  // a path: against the config's directory (t.conf has none)

  auto bad = load(with("backend fixed\n    server s 127.0.0.1:80\n"
                       "app a\n    hosts a.test\n    backend fixed\n    autostart http://127.0.0.1:9000/hook\n"
                       "app b\n    hosts b.test\n    backend fixed\n    autostop 10s\n    autostart-timeout 1h\n"
                       "app c\n    hosts c.test\n    backend fixed\n    autostart http:///x extra\n"
                       "    autostop 100ms keep\n"));
  CHECK_FALSE(bad.ok());
  CHECK(where(bad, "'autostart' in app 'a' needs 'instances catalog' in backend 'fixed'") == "16:5");
  CHECK(where(bad, "'autostop' needs 'autostart URL|COMMAND' in app 'b'") == "20:5");
  CHECK(where(bad, "autostart-timeout must be between 1s and 10m") == "21:23");
  CHECK(where(bad, "a webhook takes no arguments") == "25:25");
  CHECK(where(bad, "autostop IDLE must be at least 1s") == "26:14");
  auto tcp = load(with(pool + "app t\n    mode tcp\n    backend live\n    autostart /bin/true\n"));
  CHECK(find(tcp, "'autostart' applies to http apps") != nullptr);
}
