// web/ security building blocks: sessions (idle expiry with injected time, reload retention),
// the failed-login limiter, and the Host / Origin / Sec-Fetch-Site rules.
#include <catch2/catch.hpp>

#include "front/login_limiter.h"
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

namespace {
using Attempt = LoginLimiter::Attempt;
// Fails `n` attempts by `user` from `addr` at `t` (each must be let through).
void fail(LoginLimiter& lim, const std::string& user, const std::string& addr, LoginLimiter::Clock::time_point t,
          int n = 1) {
  for (int i = 0; i < n; ++i) REQUIRE(lim.begin(user, addr, t).wait == 0);
}
}  // namespace

TEST_CASE("login limiter: per (user, address) the delay doubles after 3 failures", "[web][limiter]") {
  LoginLimiter lim;
  auto t0 = LoginLimiter::Clock::time_point{} + 1h;
  fail(lim, "ops", "10.0.0.1", t0, 3);
  Attempt a = lim.begin("ops", "10.0.0.1", t0);
  CHECK(a.wait == 1);
  CHECK(std::string(a.by) == "pair");
  CHECK(lim.begin("ops", "10.0.0.1", t0 + 500ms).wait == 1);  // refused attempts count nothing
  fail(lim, "ops", "10.0.0.1", t0 + 1s);                       // the 4th failure, after 1 s
  CHECK(lim.begin("ops", "10.0.0.1", t0 + 1s).wait == 2);
  CHECK(lim.begin("ops", "10.0.0.1", t0 + 2500ms).wait == 1);  // 0.5 s left: rounded up
  fail(lim, "ops", "10.0.0.1", t0 + 3s);
  CHECK(lim.begin("ops", "10.0.0.1", t0 + 3s).wait == 4);
  // Doubling up to 5 minutes, never more.
  auto t = t0 + 7s;
  for (int i = 0; i < 12; ++i) {
    Attempt x = lim.begin("ops", "10.0.0.1", t);
    REQUIRE(x.wait == 0);
    t += 5min;
  }
  CHECK(lim.begin("ops", "10.0.0.1", t - 5min).wait == 300);
  // Forgotten after 15 minutes without a failure.
  CHECK(lim.begin("ops", "10.0.0.1", t - 5min + 15min).wait == 0);

  // Another user at the same address (a NAT, a reverse proxy) is not held; nor is the same
  // user at another address.
  LoginLimiter nat;
  fail(nat, "ops", "192.0.2.1", t0, 3);
  CHECK(nat.begin("ops", "192.0.2.1", t0).wait > 0);
  Attempt dev = nat.begin("dev", "192.0.2.1", t0);
  CHECK(dev.wait == 0);
  nat.succeeded(dev);
  CHECK(nat.begin("ops", "192.0.2.2", t0).wait == 0);
}

TEST_CASE("login limiter: a user's budget holds only addresses that failed for it", "[web][limiter]") {
  LoginLimiter lim;
  auto t0 = LoginLimiter::Clock::time_point{} + 1h;
  // 10 failures for ops from 4 addresses: its free budget is used up.
  for (int n = 1; n <= 3; ++n) fail(lim, "ops", "10.0.1." + std::to_string(n), t0, 3);
  fail(lim, "ops", "10.0.1.4", t0);
  Attempt held = lim.begin("ops", "10.0.1.4", t0);  // its pair has 2 free failures left ...
  CHECK(held.wait == 1);                             // ... but it failed for ops: the user's 1 s
  CHECK(std::string(held.by) == "user");
  // A fresh address: one try, at once, even while ops is under attack ...
  Attempt fresh = lim.begin("ops", "10.0.1.9", t0);
  CHECK(fresh.wait == 0);
  // ... which, when it fails, makes that address wait for the user's budget too (11: 2 s).
  Attempt again = lim.begin("ops", "10.0.1.9", t0);
  CHECK(again.wait == 2);
  CHECK(std::string(again.by) == "user");
  // The right password from a fresh address is let through and un-counted.
  Attempt real = lim.begin("ops", "10.0.1.10", t0 + 1s);
  REQUIRE(real.wait == 0);
  lim.succeeded(real);
  CHECK(lim.begin("ops", "10.0.1.4", t0 + 1s).wait == 1);  // still 11 failures for ops, the last at t0
}

TEST_CASE("login limiter: an address's budget across users, unknown users alike", "[web][limiter]") {
  LoginLimiter lim;
  auto t0 = LoginLimiter::Clock::time_point{} + 1h;
  // Spraying 20 user names (known or not, the limiter cannot tell) from one address.
  for (int i = 0; i < 20; ++i) fail(lim, "user" + std::to_string(i), "10.0.2.1", t0);
  Attempt a = lim.begin("someone-else", "10.0.2.1", t0);
  CHECK(a.wait == 1);
  CHECK(std::string(a.by) == "client");
  CHECK(lim.begin("user0", "10.0.2.2", t0).wait == 0);  // other addresses are not held
  // The same sequence for a known and an unknown name.
  LoginLimiter k, u;
  for (int i = 0; i < 6; ++i) {
    auto t = t0 + i * 1s;
    CHECK(k.begin("ops", "10.0.3.1", t).wait == u.begin("no-such-user", "10.0.3.1", t).wait);
  }
}

TEST_CASE("login limiter: success forgets the pair, un-counts itself; cancel un-counts", "[web][limiter]") {
  LoginLimiter lim;
  auto t0 = LoginLimiter::Clock::time_point{} + 1h;
  fail(lim, "ops", "10.0.4.1", t0, 2);
  for (int i = 0; i < 30; ++i) {  // many logins from one address use up no budget
    Attempt ok = lim.begin("ops", "10.0.4.1", t0 + 1s);
    REQUIRE(ok.wait == 0);
    lim.succeeded(ok);
  }
  CHECK(lim.tracked() == 2);  // ops's and the address's 2 failures; the pair is forgotten
  fail(lim, "ops", "10.0.4.1", t0 + 2s, 3);
  CHECK(lim.begin("ops", "10.0.4.1", t0 + 2s).wait == 1);
  Attempt c = lim.begin("ops", "10.0.4.1", t0 + 3s);
  REQUIRE(c.wait == 0);
  lim.cancel(c);  // not verified: as if it never happened (4th failure not counted)
  Attempt d = lim.begin("ops", "10.0.4.1", t0 + 3s);
  REQUIRE(d.wait == 0);
  // The failure is known 2.5 s later (a slow hash): the 2 s delay runs from then.
  lim.failed(d, t0 + 5500ms);
  CHECK(lim.begin("ops", "10.0.4.1", t0 + 5s).wait == 3);
  CHECK(lim.begin("ops", "10.0.4.1", t0 + 7500ms).wait == 0);

  // Memory bound: at most max_entries per budget kind.
  LoginLimiter::Policy p;
  p.max_entries = 4;
  LoginLimiter small(p);
  for (int i = 0; i < 50; ++i) fail(small, "u" + std::to_string(i), "10.1.0." + std::to_string(i), t0 + i * 1s);
  CHECK(small.tracked() <= 12);
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

  // Budgets go by the /64, and mapped IPv4 is plain IPv4.
  LoginLimiter::Policy p;
  p.client.free = 3;
  LoginLimiter lim(p);
  auto t0 = LoginLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) fail(lim, "u" + std::to_string(i), "2001:db8:1:2::" + std::to_string(i + 1), t0);
  CHECK(std::string(lim.begin("x", "2001:db8:1:2:ffff::1", t0).by) == "client");  // same /64
  CHECK(lim.begin("x", "2001:db8:1:3::1", t0).wait == 0);                         // the next /64
  for (int i = 0; i < 3; ++i) fail(lim, "v" + std::to_string(i), "::ffff:192.0.2.1", t0);
  CHECK(lim.begin("y", "192.0.2.1", t0).wait > 0);
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
