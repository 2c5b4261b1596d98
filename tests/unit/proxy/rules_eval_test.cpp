// rules/eval.h: request rules compiled from a real configuration and evaluated against
// request facts: every criterion, conditions, the actions' outcome and edits, the path
// normalization an attacker would play with.
#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include <string>

#include "ferry/configlang/load.h"
#include "rules/eval.h"

using namespace ferry;
using namespace ferry::proxy;

namespace {

// An app "a" whose body is `rules` (one directive per line, indented by the caller).
struct Fixture {
  std::shared_ptr<const config::Config> cfg;
  std::shared_ptr<const rules::RuleProgram> prog;
  explicit Fixture(const std::string& rules) {
    const std::string text =
        "frontend web\n    bind 127.0.0.1:0\n    default-app a\n"
        "backend pool\n    server s1 127.0.0.1:9001\n"
        "backend api\n    server s2 127.0.0.1:9002\n"
        "app a\n    backend pool\n" + rules;
    auto r = config::load_string(text, "t.conf", {});
    INFO(config::format(r.diagnostics));
    REQUIRE(r.ok());
    cfg = r.config;
    prog = rules::compile_rules(cfg->apps[0].rules);
  }
};

struct Req {
  http::RequestHead head;
  SockAddr client{};
  rules::RequestFacts facts;
  explicit Req(std::string_view method, std::string_view path, std::vector<http::Header> headers = {},
               const char* ip = "192.0.2.1") {
    head.method = method;
    head.target = head.path = path;
    head.headers = std::move(headers);
    head.host = "Shop.Example.com:8080";
    client.in4.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &client.in4.sin_addr);
    facts.req = &head;
    facts.host = head.host;
    facts.client = &client;
    facts.client_ip = ip;
    facts.version = 11;
    facts.region = "yyz";
    facts.app = "a";
    facts.request_id = "rid-1";
  }
};

rules::Outcome run(const Fixture& f, const Req& q, rules::RuleScratch& s) {
  const rules::RuleProgram* p[] = {f.prog.get()};
  return rules::evaluate(p, 1, q.facts, s);
}

// The status of the answering rule, 0 when none answers.
int answer(const Fixture& f, const Req& q) {
  rules::RuleScratch s;
  auto o = run(f, q, s);
  return o.answer ? o.answer->status : 0;
}

}  // namespace

TEST_CASE("rules: normalize_path resolves what a backend would", "[rules]") {
  std::string out;
  auto n = [&](std::string_view p) {
    rules::normalize_path(p, out);
    return out;
  };
  CHECK(n("/admin") == "/admin");
  CHECK(n("/%61dmin") == "/admin");
  CHECK(n("//admin") == "/admin");
  CHECK(n("/public/../admin") == "/admin");
  CHECK(n("/public/..%2Fadmin") == "/admin");
  CHECK(n("/./admin/./x?y=/admin") == "/admin/x");
  CHECK(n("/a/b/") == "/a/b/");
  CHECK(n("/../../x") == "/x");
  CHECK(n("") == "/");
  CHECK(n("?q") == "/");
  CHECK(n("/%zz%4") == "/%zz%4");
}

TEST_CASE("rules: path criteria see the normalized path; deny by path cannot be dodged", "[rules]") {
  Fixture f("    acl admin path-prefix /admin\n"
            "    acl office src 10.0.0.0/8\n"
            "    deny if admin !office\n");
  CHECK(answer(f, Req("GET", "/admin")) == 403);
  CHECK(answer(f, Req("GET", "/%61dmin/x")) == 403);
  CHECK(answer(f, Req("GET", "//admin")) == 403);
  CHECK(answer(f, Req("GET", "/static/../admin")) == 403);
  CHECK(answer(f, Req("GET", "/admin", {}, "10.1.2.3")) == 0);
  CHECK(answer(f, Req("GET", "/public")) == 0);
}

TEST_CASE("rules: each criterion", "[rules]") {
  SECTION("method, host (port dropped, case folded), region, version, tls") {
    Fixture f("    acl post method POST\n"
              "    acl shop host *.example.com\n"
              "    acl here region yyz\n"
              "    acl h2 http-version 2\n"
              "    acl tls tls\n"
              "    deny 401 if post\n"
              "    deny 402 if h2\n"
              "    deny 403 if tls\n"
              "    deny 404 if shop here\n");
    CHECK(answer(f, Req("POST", "/")) == 401);
    Req h2("GET", "/");
    h2.facts.version = 20;
    CHECK(answer(f, h2) == 402);
    CHECK(answer(f, Req("GET", "/")) == 404);
    Req other("GET", "/");
    other.facts.host = "example.org";
    CHECK(answer(f, other) == 0);
  }
  SECTION("header: present, exact, -i, -m prefix/substring/regex") {
    Fixture f("    acl dbg header X-Debug\n"
              "    acl ua header User-Agent -m substring -i bot\n"
              "    acl tok header Authorization -m prefix Bearer\n"
              "    acl num header X-Id -m regex ^[0-9]+$\n"
              "    deny 401 if dbg\n"
              "    deny 402 if ua\n"
              "    deny 403 if tok\n"
              "    deny 404 if num\n");
    CHECK(answer(f, Req("GET", "/", {{"x-debug", ""}})) == 401);
    CHECK(answer(f, Req("GET", "/", {{"User-Agent", "GoodBOT/1"}})) == 402);
    CHECK(answer(f, Req("GET", "/", {{"authorization", "Bearer x"}})) == 403);
    CHECK(answer(f, Req("GET", "/", {{"authorization", "bearer x"}})) == 0);
    CHECK(answer(f, Req("GET", "/", {{"X-Id", "123"}})) == 404);
    CHECK(answer(f, Req("GET", "/", {{"X-Id", "12a"}})) == 0);
  }
  SECTION("query and cookie") {
    Fixture f("    acl pv query preview 1\n"
              "    acl any query debug\n"
              "    acl beta cookie beta yes\n"
              "    deny 401 if pv\n"
              "    deny 402 if any\n"
              "    deny 403 if beta\n");
    CHECK(answer(f, Req("GET", "/p?a=2&preview=1")) == 401);
    CHECK(answer(f, Req("GET", "/p?preview=10")) == 0);
    CHECK(answer(f, Req("GET", "/p?x&debug")) == 402);
    CHECK(answer(f, Req("GET", "/", {{"Cookie", "a=1; beta=yes"}})) == 403);
    CHECK(answer(f, Req("GET", "/", {{"cookie", "beta=no"}, {"cookie", "x=1"}})) == 0);
  }
}

TEST_CASE("rules: and/or/not/unless, allow ends the section's rules", "[rules]") {
  Fixture f("    acl a path /a\n"
            "    acl b method POST\n"
            "    acl ok header X-Ok\n"
            "    allow if ok\n"
            "    deny 401 if a b or !a !b\n"
            "    deny 402 unless a\n");
  CHECK(answer(f, Req("POST", "/a")) == 401);
  CHECK(answer(f, Req("GET", "/x")) == 401);
  CHECK(answer(f, Req("GET", "/a")) == 0);
  CHECK(answer(f, Req("POST", "/x")) == 402);
  CHECK(answer(f, Req("POST", "/a", {{"X-Ok", "1"}})) == 0);
}

TEST_CASE("rules: use-backend, header edits, path rewrites, redirects", "[rules]") {
  Fixture f("    acl api path-prefix /api\n"
            "    acl old path-prefix /old\n"
            "    use-backend api if api\n"
            "    request-header set X-Client \"%{client-ip} via %{app} 100%% %{request-id}\"\n"
            "    request-header del X-Secret\n"
            "    request-header add X-Region %{region}\n"
            "    response-header set X-Served-By ferry-%{region}\n"
            "    strip-prefix /api if api\n"
            "    redirect prefix https://new.example.com code 301 if old\n");
  rules::RuleScratch s;
  Req q("GET", "/api/v1/items?x=1", {{"X-Secret", "s"}, {"x-client", "forged"}, {"Accept", "*/*"}});
  auto o = run(f, q, s);
  REQUIRE(o.answer == nullptr);
  CHECK(o.backend == f.cfg->backend_index.at("api"));
  rules::apply_request_edits(s, q.head);
  CHECK(q.head.path == "/v1/items?x=1");
  REQUIRE(q.head.headers.size() == 3);
  CHECK(q.head.headers[0].name == "Accept");
  CHECK(q.head.headers[1].name == "X-Client");
  CHECK(q.head.headers[1].value == "192.0.2.1 via a 100% rid-1");
  CHECK(q.head.headers[2].value == "yyz");
  http::ResponseHead resp;
  resp.headers = {{"X-Served-By", "backend"}, {"Content-Type", "text/plain"}};
  rules::apply_response_edits(s, resp);
  REQUIRE(resp.headers.size() == 2);
  CHECK(resp.headers[1].name == "X-Served-By");
  CHECK(resp.headers[1].value == "ferry-yyz");

  Req old("GET", "/old/page?q=1");
  auto o2 = run(f, old, s);
  REQUIRE(o2.answer != nullptr);
  CHECK(o2.answer->status == 301);
  CHECK(rules::redirect_location(*o2.answer, old.facts) == "https://new.example.com/old/page?q=1");
  CHECK(o2.backend == -1);
}

TEST_CASE("rules: scheme redirects keep host and path, drop the port", "[rules]") {
  Fixture f("    redirect scheme https code 308 drop-query\n");
  rules::RuleScratch s;
  Req q("GET", "/x/y?z=1");
  auto o = run(f, q, s);
  REQUIRE(o.answer != nullptr);
  CHECK(rules::redirect_location(*o.answer, q.facts) == "https://Shop.Example.com/x/y");
}

TEST_CASE("rules: prefixes rewrite on segment boundaries only", "[rules]") {
  Fixture f("    strip-prefix /api\n"
            "    replace-prefix /v1/ /v2/\n");
  auto path_after = [&](std::string_view p) {
    rules::RuleScratch s;
    Req q("GET", p);
    run(f, q, s);
    rules::apply_request_edits(s, q.head);
    return std::string(q.head.path);
  };
  CHECK(path_after("/api") == "/");
  CHECK(path_after("/api?x") == "/?x");
  CHECK(path_after("/apix") == "/apix");
  CHECK(path_after("/api/v1/a") == "/v2/a");
}

TEST_CASE("rules: batched path and header acls agree with the single tests", "[rules]") {
  // Plain path acls and header acls are tested in batches on first need; -i path acls and
  // multi-term conditions go the other way. Both must give the same answers.
  Fixture f("    acl p1 path /x\n"
            "    acl p2 path-prefix /api/ /v2/\n"
            "    acl p3 path-suffix .php\n"
            "    acl pi path-prefix -i /ADMIN\n"
            "    acl h1 header X-A\n"
            "    acl h2 header X-B yes\n"
            "    deny 401 if p1\n"
            "    deny 402 unless !p2\n"
            "    deny 403 if !h2 p3\n"
            "    deny 404 if pi\n"
            "    deny 405 if h1 h2 or p3 h2\n"
            "    deny 406 unless h1 or h2\n");
  CHECK(answer(f, Req("GET", "/x", {{"x-a", ""}})) == 401);
  CHECK(answer(f, Req("GET", "/v2/q", {{"x-a", ""}})) == 402);
  CHECK(answer(f, Req("GET", "/a.php", {{"x-a", ""}})) == 403);
  CHECK(answer(f, Req("GET", "/admin/x", {{"x-a", ""}})) == 404);
  CHECK(answer(f, Req("GET", "/a.php", {{"X-B", "yes"}})) == 405);
  CHECK(answer(f, Req("GET", "/y", {{"X-B", "no"}})) == 406);
  CHECK(answer(f, Req("GET", "/y", {{"X-B", "yes"}})) == 0);
}

TEST_CASE("rules: the rules a request skips by its batched acls keep their order and effects", "[rules]") {
  // 70 rules over two bitmap words: batched acls (path, header) that hold or not, rules
  // without a condition, a negated acl, a regex, and an allow that ends the section.
  std::string text = "    acl api path-prefix /api/\n    acl none path-prefix /nothing/\n"
                     "    acl h header X-Flag\n    acl re path-regex ^/api/[0-9]+$\n";
  for (int i = 0; i < 66; ++i) {
    const char* cond = i % 5 == 0 ? "" : i % 5 == 1 ? " if api" : i % 5 == 2 ? " if none" : i % 5 == 3 ? " if !none" : " if h";
    text += "    request-header add X-Seq " + std::to_string(i) + cond + "\n";
  }
  text += "    request-header add X-Seq re if re\n";      // 66: an unbatched acl
  text += "    allow if api\n";                          // 67: ends the section
  text += "    request-header add X-Seq after-allow\n";  // 68
  text += "    deny if none\n";                          // 69
  Fixture fx(text);
  REQUIRE(fx.prog->indexed);
  REQUIRE(fx.prog->words == 2);
  auto seq = [&](Req& q) {
    rules::RuleScratch s;
    auto o = run(fx, q, s);
    CHECK(o.answer == nullptr);
    rules::apply_request_edits(s, q.head);
    std::string out;
    for (const auto& h : q.head.headers)
      if (h.name == "X-Seq") out += std::string(h.value) + ",";
    return out;
  };
  std::string want_api, want_other;
  for (int i = 0; i < 66; ++i) {
    const int k = i % 5;
    if (k == 0 || k == 1 || k == 3) want_api += std::to_string(i) + ",";
    if (k == 0 || k == 3 || k == 4) want_other += std::to_string(i) + ",";
  }
  Req api("GET", "/api/7");
  CHECK(seq(api) == want_api + "re,");  // the allow (67) ends it: no "after-allow"
  Req other("GET", "/other", {{"X-Flag", "1"}});
  CHECK(seq(other) == want_other + "after-allow,");
}

TEST_CASE("rules: a regex's literal start only skips what cannot match", "[rules]") {
  Fixture fx("    acl a path-regex ^/legacy/[0-9]+$\n"
             "    acl b path-regex ^/ab*c ^/xy?z ^/q{0}r\n"
             "    acl c path-regex ^/one|/two\n"
             "    acl d header X-V -m regex ^v[0-9]\n"
             "    acl e path-regex -i ^/CASE/\n"
             "    return 201 if a\n    return 202 if b\n    return 203 if c\n    return 204 if d\n    return 205 if e\n");
  CHECK(answer(fx, Req("GET", "/legacy/12")) == 201);
  CHECK(answer(fx, Req("GET", "/legacy/x")) == 0);
  CHECK(answer(fx, Req("GET", "/ac")) == 202);   // b* may be empty
  CHECK(answer(fx, Req("GET", "/xz")) == 202);   // y? may be empty
  CHECK(answer(fx, Req("GET", "/r")) == 202);    // q{0}
  CHECK(answer(fx, Req("GET", "/zz/two")) == 203);  // the other branch, unanchored
  CHECK(answer(fx, Req("GET", "/p", {{"X-V", "v1"}})) == 204);
  CHECK(answer(fx, Req("GET", "/p", {{"X-V", "w1"}})) == 0);
  CHECK(answer(fx, Req("GET", "/case/x")) == 205);  // caseless: no literal start assumed
}

TEST_CASE("rules: path values of every length and header names of every length are tested", "[rules]") {
  Fixture fx("    acl short path /\n    acl mid path-prefix /ab\n    acl long path-suffix /abcdefgh.txt\n"
             "    acl hlong header " + std::string(70, 'x') + "\n    acl h2 header X-B\n"
             "    return 201 if long\n    return 202 if mid\n    return 203 if short\n"
             "    return 204 if hlong\n    return 205 if h2\n");
  CHECK(answer(fx, Req("GET", "/")) == 203);
  CHECK(answer(fx, Req("GET", "/abc")) == 202);
  CHECK(answer(fx, Req("GET", "/z/abcdefgh.txt")) == 201);
  const std::string long_name(70, 'X');  // outlives the request's views
  CHECK(answer(fx, Req("GET", "/q", {{long_name, "1"}})) == 204);
  CHECK(answer(fx, Req("GET", "/q", {{"x-b", "1"}})) == 205);
  CHECK(answer(fx, Req("GET", "/q", {{"X-BB", "1"}})) == 0);
}

TEST_CASE("rules: a host acl is not dodged by a trailing dot the router ignores", "[rules]") {
  // The router sends "admin.example.com." to the app of admin.example.com; a rule written for
  // that name must see it too.
  Fixture f("    acl admin host admin.example.com\n"
            "    acl any host *.example.com\n"
            "    deny 403 if admin\n"
            "    deny 404 if any\n");
  for (const char* h : {"admin.example.com", "ADMIN.example.com.", "admin.example.com.:443"}) {
    Req q("GET", "/");
    q.facts.host = h;
    CHECK(answer(f, q) == 403);
  }
  Req w("GET", "/");
  w.facts.host = "www.example.com.";
  CHECK(answer(f, w) == 404);
}
