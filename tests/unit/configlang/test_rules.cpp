// Request rules in `app` and `frontend` sections: acl criteria, conditions, actions, and the
// errors (with positions and HAProxy hints) a mistyped rule gets.
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace cfgtest;

namespace {
std::string with(const std::string& extra) { return std::string(kBase) + extra; }  // extra starts at line 11
const App& app(const LoadResult& r, const std::string& name) { return r.config->apps[r.config->app_index.at(name)]; }
}  // namespace

TEST_CASE("rules: acls, conditions and actions compile into the app's RuleSet", "[configlang][rules]") {
  const std::string shop =
      "backend api\n"
      "    server a1 127.0.0.1:9002\n"
      "app shop\n"
      "    hosts shop.example.com\n"
      "    backend pool\n"
      "    acl api path-prefix /api/ /v2/\n"
      "    acl office src 10.0.0.0/8 192.168.1.7\n"
      "    acl beta cookie beta -i yes\n"
      "    acl debug header X-Debug\n"
      "    acl old path-regex ^/old/[0-9]+$\n"
      "    acl h2 http-version 2\n"
      "    use-backend api if api\n"
      "    deny if !office debug or beta !h2\n"
      "    deny 401 unless office\n"
      "    redirect prefix https://new.example.com/ code 308 drop-query if old\n";  // lines 11-25
  // An anonymous acl is refused with a hint.
  auto r = load(with(shop + "    return 200 content-type text/plain body \"pong\" if { path /ping }\n"));
  CHECK(where(r, "anonymous acls") == "26:55");
  auto ok = load(with(shop +
                      "    request-header set X-Client %{client-ip}\n"
                      "    response-header del Server\n"
                      "    strip-prefix /api/\n"
                      "    replace-prefix /v2 /v3\n"
                      "    return 204\n"));
  INFO(format(ok.diagnostics));
  REQUIRE(ok.ok());
  const RuleSet& rs = app(ok, "shop").rules;
  REQUIRE(rs.acls.size() == 6);
  CHECK(rs.acls[0].criterion == AclCriterion::path_prefix);
  CHECK(rs.acls[0].values == std::vector<std::string>{"/api/", "/v2/"});
  CHECK(rs.acls[1].cidrs == std::vector<std::string>{"10.0.0.0/8", "192.168.1.7/32"});
  CHECK(rs.acls[2].field == "beta");  // cookie: a flag may come before the name
  CHECK(rs.acls[2].ignore_case);
  CHECK(rs.acls[3].field == "x-debug");
  CHECK(rs.acls[3].mode == MatchMode::present);
  CHECK(rs.acls[4].mode == MatchMode::regex);
  REQUIRE(rs.rules.size() == 9);
  CHECK(rs.rules[0].kind == Rule::Kind::use_backend);
  CHECK(rs.rules[0].backend == ok.config->backend_index.at("api"));
  const Condition& c = rs.rules[1].cond;
  REQUIRE(c.any.size() == 2);
  CHECK(c.any[0].size() == 2);
  CHECK(c.any[0][0].acl == 1);
  CHECK(c.any[0][0].negate);
  CHECK(c.any[0][1].acl == 3);
  CHECK_FALSE(c.any[0][1].negate);
  CHECK(c.any[1][1].acl == 5);
  CHECK(c.any[1][1].negate);
  CHECK_FALSE(c.unless);
  CHECK(rs.rules[1].status == 403);
  CHECK(rs.rules[2].status == 401);
  CHECK(rs.rules[2].cond.unless);
  CHECK(rs.rules[3].status == 308);
  CHECK(rs.rules[3].drop_query);
  CHECK(rs.rules[3].target == "https://new.example.com");
  CHECK(rs.rules[4].value == "%{client-ip}");
  CHECK(rs.rules[5].op == Rule::HeaderOp::del);
  CHECK(rs.rules[6].target == "/api");
  CHECK(rs.rules[7].value == "/v3");
  CHECK(rs.rules[8].kind == Rule::Kind::return_);
  CHECK(rs.rules[8].status == 204);
}

TEST_CASE("rules: a frontend's rules, and none on tcp sections", "[configlang][rules]") {
  auto r = load(with("frontend web2\n"
                     "    bind 127.0.0.1:0\n"
                     "    default-app hello\n"
                     "    acl blocked src 203.0.113.0/24\n"
                     "    deny if blocked\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  const Frontend& fe = r.config->frontends[r.config->frontend_index.at("web2")];
  REQUIRE(fe.rules.rules.size() == 1);
  CHECK(fe.rules.rules[0].cond.any[0][0].acl == 0);

  auto tcp = load(with("app raw\n"
                       "    mode tcp\n"
                       "    backend pool\n"
                       "    deny\n"));
  CHECK(where(tcp, "request rules apply to HTTP requests; app 'raw' is 'mode tcp'") == "14:5");
}

TEST_CASE("rules: every mistake reported at its column, with HAProxy hints", "[configlang][rules]") {
  auto r = load(with("app shop\n"                                  // 11
                     "    hosts shop.example.com\n"                 // 12
                     "    backend pool\n"                           // 13
                     "    acl api path_beg /api\n"                  // 14
                     "    acl h hdr(host) x\n"                      // 15
                     "    acl p path api\n"                         // 16
                     "    acl re path-regex (unclosed\n"            // 17
                     "    acl v http-version 3\n"                   // 18
                     "    acl m path -m prefix /x\n"                // 19
                     "    acl ok path /ok\n"                        // 20
                     "    acl ok path /ok2\n"                       // 21
                     "    deny if okk\n"                            // 22
                     "    deny if ok or\n"                          // 23
                     "    deny 200 if ok\n"                         // 24
                     "    redirect scheme ftp\n"                    // 25
                     "    redirect location /x code 305\n"         // 26
                     "    use-backend nope if ok\n"                 // 27
                     "    use_backend pool\n"                       // 28
                     "    request-header set Host x\n"              // 29
                     "    request-header set X-A %{nope}\n"         // 30
                     "    response-header del X-A v\n"              // 31
                     "    strip-prefix api\n"                       // 32
                     "    return 200 body a file b\n"               // 33
                     "    deny if\n"));                             // 34
  CHECK(where(r, "unknown acl criterion 'path_beg' (HAProxy's 'path_beg' is written 'path-prefix' in Ferry)") == "14:13");
  CHECK(where(r, "unknown acl criterion 'hdr(host)' (HAProxy's 'hdr(host)' is written 'host' in Ferry)") == "15:11");
  CHECK(where(r, "a path starts with '/'") == "16:16");
  CHECK(where(r, "invalid regex: missing closing parenthesis") == "17:23");
  CHECK(where(r, "invalid HTTP version '3'") == "18:24");
  CHECK(where(r, "'-m' is for header, query and cookie") == "19:16");
  CHECK(where(r, "acl 'ok' is defined twice in app 'shop'") == "21:9");
  CHECK(where(r, "unknown acl 'okk' in app 'shop'; did you mean 'ok'?") == "22:13");
  CHECK(where(r, "missing condition after 'or'") == "23:18");
  CHECK(where(r, "400..599") == "24:10");
  CHECK(where(r, "redirect scheme is 'https' or 'http'") == "25:21");
  CHECK(where(r, "invalid redirect code '305'") == "26:31");
  CHECK(where(r, "unknown backend 'nope'") == "27:17");
  CHECK(where(r, "use_backend") == "28:5");
  CHECK(find(r, "did you mean 'use-backend'?") != nullptr);
  CHECK(where(r, "'Host' is stated by Ferry itself") == "29:24");
  CHECK(where(r, "unknown variable '%{nope}'") == "30:28");
  CHECK(where(r, "'del' takes no value") == "31:29");
  CHECK(where(r, "expected a path prefix starting with '/'") == "32:18");
  CHECK(where(r, "a return has one body") == "33:23");
  CHECK(where(r, "missing condition after 'if'") == "34:12");
}

TEST_CASE("HAProxy habits outside rules get a hint", "[configlang][rules]") {
  auto r = load(with("frontend f2\n"                                // 11
                     "    bind *:8080\n"                            // 12
                     "backend b2\n"                                 // 13
                     "    server s 127.0.0.1:9 check\n"));          // 14
  CHECK(where(r, "write ':8080' for every IPv4 address ('*' is HAProxy's spelling)") == "12:10");
  CHECK(where(r, "unknown server option 'check' (HAProxy habit: in Ferry health checks are set per backend") == "14:26");
}

TEST_CASE("automatic HTTPS, hsts and frontends scoping", "[configlang][rules][https]") {
  const std::string fronts =
      "frontend tls\n"                        // 11
      "    bind 127.0.0.1:8443 tls\n"         // 12
      "    bind 127.0.0.1:443 tls\n"          // 13
      "frontend inner\n"                      // 14
      "    bind 127.0.0.1:8081\n";            // 15
  auto r = load(with(fronts +
                     "app shop\n"                                   // 16
                     "    hosts shop.example.com\n"                 // 17
                     "    backend pool\n"                           // 18
                     "    certificate shop.pem\n"                   // 19
                     "    hsts 365d include-subdomains preload\n"   // 20
                     "app plain\n"                                  // 21
                     "    hosts plain.example.com\n"                // 22
                     "    backend pool\n"                           // 23
                     "app off\n"                                    // 24
                     "    hosts off.example.com\n"                  // 25
                     "    backend pool\n"                           // 26
                     "    certificate off.pem\n"                    // 27
                     "    https-redirect off\n"                     // 28
                     "app internal\n"                               // 29
                     "    hosts internal.example.com\n"             // 30
                     "    backend pool\n"                           // 31
                     "    certificate internal.pem\n"               // 32
                     "    frontends inner web\n"));                 // 33
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(app(r, "shop").https_port == 443);  // a certificate and a tls bind: on, 443 preferred
  CHECK(app(r, "shop").hsts == "max-age=31536000; includeSubDomains; preload");
  CHECK(app(r, "plain").https_port == 0);   // no certificate: off unless asked
  CHECK(app(r, "off").https_port == 0);
  CHECK(app(r, "internal").https_port == 0);  // scoped away from every tls bind
  CHECK(app(r, "internal").frontends.size() == 2);

  auto bad = load(with(fronts +
                       "app a2\n"                                    // 16
                       "    hosts a2.example.com\n"                  // 17
                       "    backend pool\n"                          // 18
                       "    frontends inner nope\n"                  // 19
                       "    https-redirect on\n"                     // 20
                       "    hsts 1d\n"                               // 21
                       "frontend f3\n"                               // 22
                       "    bind 127.0.0.1:0\n"                      // 23
                       "    default-app a2\n"));                     // 24
  CHECK(where(bad, "unknown frontend 'nope'") == "19:21");
  CHECK(where(bad, "https-redirect on: no http frontend reaching app 'a2' has a 'tls' bind") == "20:20");
  CHECK(warn_where(bad, "'hsts' has no effect") == "21:5");
  CHECK(where(bad, "app 'a2' is not reached through frontend 'f3'") == "24:17");
}

TEST_CASE("automatic HTTPS needs a tls bind with a known port", "[configlang][rules][https]") {
  auto r = load(with("frontend tls\n"
                     "    bind 127.0.0.1:0 tls\n"
                     "app shop\n"
                     "    hosts shop.example.com\n"
                     "    backend pool\n"
                     "    certificate shop.pem\n"));
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(app(r, "shop").https_port == 0);
}

TEST_CASE("rate-limit: rates, burst, keys and mistakes", "[configlang][rules][rate]") {
  auto r = load(with("app shop\n"                                     // 11
                     "    hosts shop.example.com\n"                   // 12
                     "    backend pool\n"                             // 13
                     "    acl api path-prefix /api/\n"                // 14
                     "    rate-limit 600/m if api\n"                  // 15
                     "    rate-limit 5/s burst 20 key header X-Api-Key\n"  // 16
                     "    rate-limit 100/h key app\n"));              // 17
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  const auto& rs = app(r, "shop").rules.rules;
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].per_hour == 36000);
  CHECK(rs[0].burst == 10);
  CHECK(rs[0].key == Rule::LimitKey::client);
  CHECK(rs[0].status == 429);
  CHECK(rs[1].burst == 20);
  CHECK(rs[1].key == Rule::LimitKey::header);
  CHECK(rs[1].name == "X-Api-Key");
  CHECK(rs[2].burst == 1);
  CHECK(rs[2].key == Rule::LimitKey::app);

  auto bad = load(with("app shop\n"                                   // 11
                       "    hosts shop.example.com\n"                 // 12
                       "    backend pool\n"                           // 13
                       "    rate-limit 10/d\n"                        // 14
                       "    rate-limit 10/s burst 0\n"                // 15
                       "    rate-limit 10/s key cookie\n"             // 16
                       "    rate-limit 10/s brust 5\n"));             // 17
  CHECK(where(bad, "invalid rate '10/d'") == "14:16");
  CHECK(where(bad, "out of range (1..100000)") == "15:27");
  CHECK(where(bad, "invalid rate-limit key 'cookie'") == "16:25");
  CHECK(where(bad, "unknown rate-limit option 'brust'") == "17:21");
}

TEST_CASE("basic-auth and auth-user: users, realms and mistakes", "[configlang][rules][auth]") {
  const std::string hash = "$pbkdf2-sha256$i=600000$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg";
  auto r = load(with("app shop\n"                                     // 11
                     "    hosts shop.example.com\n"                   // 12
                     "    backend pool\n"                             // 13
                     "    acl admin path-prefix /admin\n"             // 14
                     "    auth-user alice " + hash + "\n"             // 15
                     "    auth-user bob " + hash + "\n"               // 16
                     "    basic-auth \"Shop admin\" if admin\n"       // 17
                     "    request-header set X-User %{auth-user}\n"));  // 18
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  const auto& rs = app(r, "shop").rules;
  REQUIRE(rs.users.size() == 2);
  CHECK(rs.users[0].name == "alice");
  CHECK(rs.users[1].password_hash == hash);
  REQUIRE(rs.rules.size() == 2);
  CHECK(rs.rules[0].kind == Rule::Kind::basic_auth);
  CHECK(rs.rules[0].value == "Shop admin");
  CHECK(rs.rules[0].status == 401);

  auto bad = load(with("app shop\n"                                   // 11
                       "    hosts shop.example.com\n"                 // 12
                       "    backend pool\n"                           // 13
                       "    auth-user alice notahash\n"               // 14
                       "    auth-user a:b " + hash + "\n"             // 15
                       "    basic-auth \"bad\\\"realm\"\n"            // 16
                       "    basic-auth Ops extra\n"                   // 17
                       "app other\n"                                  // 18
                       "    hosts other.example.com\n"                // 19
                       "    backend pool\n"                           // 20
                       "    basic-auth Ops\n"                         // 21
                       "app third\n"                                  // 22
                       "    hosts third.example.com\n"                // 23
                       "    backend pool\n"                           // 24
                       "    auth-user carol " + hash + "\n"           // 25
                       "    auth-user carol " + hash + "\n"));        // 26
  CHECK(where(bad, "unknown password hash format") == "14:21");
  CHECK(where(bad, "invalid user name 'a:b'") == "15:15");
  CHECK(where(bad, "invalid realm") == "16:16");
  CHECK(where(bad, "unexpected argument 'extra'") == "17:20");
  CHECK(where(bad, "basic-auth in app 'other' has no user to accept") == "21:16");
  CHECK(where(bad, "auth user 'carol' is already defined") == "26:15");
  CHECK(warn_where(bad, "auth-user in app 'third' is unused") == "25:5");
}

TEST_CASE("a rule dropped for a bad condition leaves nothing behind", "[configlang][rules]") {
  // Found by the config fuzzer: use-backend recorded its backend before its condition failed,
  // and the resolve pass then wrote past the end of the rules (ASan: heap-buffer-overflow).
  auto r = load(with("backend api\n"                                  // 11
                     "    server a1 127.0.0.1:9002\n"                 // 12
                     "app shop\n"                                     // 13
                     "    hosts shop.example.com\n"                   // 14
                     "    backend pool\n"                             // 15
                     "    acl here region yyz\n"                      // 16
                     "    use-backend api if here unless here\n"      // 17
                     "    use-backend api if\n"                       // 18
                     "    basic-auth Ops if here unless here\n"));    // 19
  CHECK(where(r, "a rule has one 'unless'") == "17:29");
  CHECK(where(r, "missing condition after 'if'") == "18:23");
  // The failed basic-auth is not a rule: no "has no user" error for it.
  CHECK(where(r, "has no user to accept") == "none");
  INFO(format(r.diagnostics));
  CHECK(r.diagnostics.size() == 3);
}

TEST_CASE("tracing section and request-id-header", "[configlang][tracing]") {
  auto r = load(with("tracing\n"                                               // 11
                     "    endpoint http://127.0.0.1:4318/v1/traces\n"          // 12
                     "    sample 25%\n"                                        // 13
                     "    errors off\n"                                        // 14
                     "    service-name edge-proxy\n"                           // 15
                     "    queue 1000\n"                                        // 16
                     "    interval 500ms\n"                                    // 17
                     "    ui-url https://jaeger.example.com/trace/%{trace-id}\n"));  // 18
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  REQUIRE(r.config->tracing);
  const auto& t = *r.config->tracing;
  CHECK(t.endpoint_host == "127.0.0.1");
  CHECK(t.endpoint_port == 4318);
  CHECK(t.endpoint_path == "/v1/traces");
  CHECK(t.sample == Approx(0.25));
  CHECK_FALSE(t.errors);
  CHECK(t.service_name == "edge-proxy");
  CHECK(t.queue == 1000);
  CHECK(t.interval == std::chrono::milliseconds(500));
  CHECK(r.config->global.request_id_header == "x-request-id");
  auto v6 = load(with("tracing\n    endpoint http://[::1]:4318\n"));
  INFO(format(v6.diagnostics));
  REQUIRE(v6.ok());
  CHECK(v6.config->tracing->endpoint_host == "::1");
  CHECK(v6.config->tracing->endpoint_path == "/v1/traces");
  CHECK(v6.config->tracing->sample == Approx(0.05));

  auto bad = load(with("tracing\n"                                             // 11
                       "    endpoint https://collector:4318/v1/traces\n"       // 12
                       "    sample 1.5\n"                                      // 13
                       "    ui-url https://jaeger/trace/\n"                    // 14
                       "tracing\n"));                                          // 15
  CHECK(where(bad, "https is not supported") == "12:14");
  CHECK(where(bad, "invalid sample '1.5'") == "13:12");
  CHECK(where(bad, "invalid ui-url") == "14:12");
  CHECK(where(bad, "duplicate 'tracing' section") == "15:1");
  CHECK(where(load(with("tracing\n    endpoint http://host:99999/x\n")), "the port is not 1..65535") == "12:14");
  auto none = load(with("tracing\n    sample 1\n"));
  CHECK(where(none, "the 'tracing' section needs 'endpoint URL'") == "11:1");

  std::string g = kBase;
  g.insert(g.find("defaults"), "global\n    request-id-header X-Correlation-ID\n");
  auto alias = load(g);
  INFO(format(alias.diagnostics));
  REQUIRE(alias.ok());
  CHECK(alias.config->global.request_id_header == "x-correlation-id");
  std::string off = kBase;
  off.insert(off.find("defaults"), "global\n    request-id-header off\n");
  CHECK(load(off).config->global.request_id_header.empty());
  std::string taken = kBase;
  taken.insert(taken.find("defaults"), "global\n    request-id-header traceparent\n");
  CHECK(where(load(taken), "invalid request-id-header") == "2:23");
}
