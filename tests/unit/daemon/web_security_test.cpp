// web/ security building blocks: sessions (idle expiry with injected time, reload retention),
// the failed-login limiter, and the Host / Origin / Sec-Fetch-Site rules.
#include <catch2/catch.hpp>

#include "login_limiter.h"
#include "request_guard.h"
#include "sessions.h"

using namespace ferry::web;
using namespace std::chrono_literals;

TEST_CASE("sessions: random tokens, idle expiry, touch, remove", "[web][sessions]") {
  SessionStore store;
  auto t0 = SessionStore::Clock::time_point{} + 1h;
  auto a = store.create("ops", "h1", t0, 30s);
  auto b = store.create("dev", "h2", t0, 30s);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->token.size() == 64);
  CHECK(a->csrf.size() == 64);
  CHECK(a->token != b->token);
  CHECK(a->csrf != a->token);

  auto s = store.find(a->token, t0 + 20s, 30s);
  REQUIRE(s);
  CHECK(s->user == "ops");
  CHECK(s->csrf == a->csrf);
  CHECK(store.find(a->token, t0 + 45s, 30s));            // touched at +20s: still fresh
  CHECK_FALSE(store.find(b->token, t0 + 45s, 30s));      // idle for 45s: expired and removed
  CHECK_FALSE(store.find(b->token, t0 + 46s, 1h));       // stays gone
  CHECK_FALSE(store.find("", t0, 30s));
  CHECK_FALSE(store.find(a->token + "0", t0 + 45s, 30s));
  CHECK(store.find(a->token, t0 + 46s, 30s, /*touch=*/false));
  CHECK(store.remove(a->token));
  CHECK_FALSE(store.remove(a->token));
  CHECK(store.size() == 0);
}

TEST_CASE("sessions: reload drops removed users and changed hashes", "[web][sessions]") {
  SessionStore store;
  auto t0 = SessionStore::Clock::time_point{} + 1h;
  auto ops = store.create("ops", "h1", t0, 1h);
  auto dev = store.create("dev", "h2", t0, 1h);
  auto qa = store.create("qa", "h3", t0, 1h);
  std::vector<ferry::config::AdminUser> users = {{"ops", "h1"}, {"qa", "h3-new"}};
  auto dropped = store.retain(users);
  std::sort(dropped.begin(), dropped.end());
  CHECK(dropped == std::vector<std::string>{"dev", "qa"});
  CHECK(store.find(ops->token, t0, 1h));
  CHECK_FALSE(store.find(dev->token, t0, 1h));
  CHECK_FALSE(store.find(qa->token, t0, 1h));
}

TEST_CASE("sessions: the cap drops the least recently used", "[web][sessions]") {
  SessionStore store(2);
  auto t0 = SessionStore::Clock::time_point{} + 1h;
  auto a = store.create("a", "h", t0, 1h);
  auto b = store.create("b", "h", t0 + 1s, 1h);
  REQUIRE(store.find(a->token, t0 + 2s, 1h));  // a is now the most recent
  auto c = store.create("c", "h", t0 + 3s, 1h);
  CHECK(store.size() == 2);
  CHECK(store.find(a->token, t0 + 4s, 1h));
  CHECK_FALSE(store.find(b->token, t0 + 4s, 1h));
  CHECK(store.find(c->token, t0 + 4s, 1h));
}

TEST_CASE("login limiter: 5 failures a minute per client, then Retry-After", "[web][limiter]") {
  LoginLimiter lim;
  auto t0 = LoginLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i) CHECK(lim.begin("10.0.0.1", t0 + i * 1s) == 0);
  CHECK(lim.begin("10.0.0.1", t0 + 5s) == 55);      // the first failure leaves at t0+60s
  CHECK(lim.begin("10.0.0.2", t0 + 5s) == 0);       // other clients are not affected
  CHECK(lim.begin("10.0.0.1", t0 + 59500ms) == 1);
  CHECK(lim.begin("10.0.0.1", t0 + 60s) == 0);      // one slot free again
  CHECK(lim.begin("10.0.0.1", t0 + 60s) > 0);

  // A successful attempt is forgiven: it does not use up the budget.
  LoginLimiter ok;
  for (int i = 0; i < 10; ++i) {
    auto t = t0 + i * 1s;
    REQUIRE(ok.begin("10.0.0.3", t) == 0);
    ok.forgive("10.0.0.3", t);
  }
  CHECK(ok.tracked() == 0);

  LoginLimiter small(5, 1min, 2);  // memory bound: idle clients are pruned
  CHECK(small.begin("a", t0) == 0);
  CHECK(small.begin("b", t0) == 0);
  CHECK(small.begin("c", t0 + 2min) == 0);
  CHECK(small.tracked() == 1);
}

TEST_CASE("Host rules", "[web][guard]") {
  HostRules loop{"127.0.0.1", 9900, false, {"admin.example.com"}};
  CHECK(host_allowed("127.0.0.1:9900", loop));
  CHECK(host_allowed("localhost:9900", loop));
  CHECK(host_allowed("LocalHost:9900", loop));
  CHECK(host_allowed("admin.example.com:9900", loop));
  CHECK(host_allowed("ADMIN.example.com:9900", loop));
  CHECK(host_allowed("127.0.0.1", loop));                // no port: the name decides
  CHECK(host_allowed("admin.example.com", loop));
  CHECK_FALSE(host_allowed("127.0.0.1:9901", loop));
  CHECK_FALSE(host_allowed("127.0.0.2:9900", loop));
  CHECK_FALSE(host_allowed("evil.example.com:9900", loop));
  CHECK_FALSE(host_allowed("admin.example.com.evil:9900", loop));
  CHECK_FALSE(host_allowed("", loop));
  CHECK_FALSE(host_allowed("127.0.0.1:", loop));
  CHECK_FALSE(host_allowed("127.0.0.1:9900x", loop));
  CHECK_FALSE(host_allowed("[::1]:9900", loop));

  HostRules v6{"::1", 443, true, {}};
  CHECK(host_allowed("[::1]:443", v6));
  CHECK(host_allowed("[::1]", v6));                      // default port for https
  CHECK(host_allowed("[0:0::1]", v6));
  CHECK(host_allowed("localhost", v6));
  CHECK_FALSE(host_allowed("::1", v6));
  CHECK_FALSE(host_allowed("[::1]x", v6));
  CHECK_FALSE(host_allowed("127.0.0.1:443", v6));

  HostRules any{"0.0.0.0", 80, false, {"console.internal"}};
  CHECK(host_allowed("192.0.2.7", any));
  CHECK(host_allowed("192.0.2.7:80", any));
  CHECK(host_allowed("localhost", any));
  CHECK(host_allowed("console.internal", any));
  CHECK_FALSE(host_allowed("[2001:db8::1]", any));        // 0.0.0.0 is IPv4 only
  CHECK_FALSE(host_allowed("rebind.attacker.example", any));

  HostRules public_ip{"192.0.2.7", 9900, true, {}};
  CHECK(host_allowed("192.0.2.7:9900", public_ip));
  CHECK_FALSE(host_allowed("localhost:9900", public_ip));

  // admin-host given as an IP literal: the address clients reach a NATed listener at.
  HostRules nat{"10.0.0.5", 9900, true, {"203.0.113.9", "console.internal"}};
  CHECK(host_allowed("203.0.113.9:9900", nat));
  CHECK(host_allowed("10.0.0.5:9900", nat));
  CHECK_FALSE(host_allowed("203.0.113.10:9900", nat));
  CHECK(origin_allowed("https://203.0.113.9:9900", nat));
  CHECK_FALSE(origin_allowed("https://203.0.113.9:9901", nat));
}

TEST_CASE("login limiter: an IPv6 client's budget is its /64", "[web][limiter]") {
  CHECK(LoginLimiter::client_key("192.0.2.1") == "192.0.2.1");
  CHECK(LoginLimiter::client_key("::ffff:192.0.2.1") == "192.0.2.1");
  CHECK(LoginLimiter::client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(LoginLimiter::client_key("2001:db8:1:2::7") == "2001:db8:1:2::/64");
  CHECK(LoginLimiter::client_key("::1") == "::/64");
  CHECK(LoginLimiter::client_key("not an address") == "not an address");

  LoginLimiter lim;
  auto t0 = LoginLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i) CHECK(lim.begin("2001:db8:1:2::" + std::to_string(i + 1), t0) == 0);
  CHECK(lim.begin("2001:db8:1:2:ffff::1", t0) > 0);   // another address of the same /64
  CHECK(lim.begin("2001:db8:1:3::1", t0) == 0);       // the next /64 has its own budget
  CHECK(lim.begin("::ffff:192.0.2.1", t0) == 0);
  for (int i = 0; i < 4; ++i) CHECK(lim.begin("192.0.2.1", t0) == 0);
  CHECK(lim.begin("192.0.2.1", t0) > 0);              // mapped and plain IPv4 share one budget
  lim.forgive("2001:db8:1:2::1", t0);                  // forgiving also goes by the /64
  CHECK(lim.begin("2001:db8:1:2::99", t0) == 0);
}

TEST_CASE("Origin and Sec-Fetch-Site rules", "[web][guard]") {
  HostRules plain{"127.0.0.1", 9900, false, {}};
  CHECK(origin_allowed("http://127.0.0.1:9900", plain));
  CHECK(origin_allowed("http://localhost:9900", plain));
  CHECK_FALSE(origin_allowed("https://127.0.0.1:9900", plain));
  CHECK_FALSE(origin_allowed("http://evil.example:9900", plain));
  CHECK_FALSE(origin_allowed("http://127.0.0.1:9900/", plain));
  CHECK_FALSE(origin_allowed("http://127.0.0.1", plain));     // port 80: another origin
  CHECK_FALSE(origin_allowed("http://127.0.0.1:8080", plain));
  CHECK_FALSE(origin_allowed("null", plain));
  CHECK_FALSE(origin_allowed("", plain));
  HostRules tls{"127.0.0.1", 443, true, {"admin.example.com"}};
  CHECK(origin_allowed("https://admin.example.com", tls));
  CHECK(origin_allowed("https://admin.example.com:443", tls));
  CHECK_FALSE(origin_allowed("http://admin.example.com", tls));

  CHECK(fetch_site_allowed(""));
  CHECK(fetch_site_allowed("same-origin"));
  CHECK(fetch_site_allowed("none"));
  CHECK_FALSE(fetch_site_allowed("cross-site"));
  CHECK_FALSE(fetch_site_allowed("Same-Site"));
}
