// The ACME thread's decisions without a CA: renewal timing, back-off, what to do with a
// stored certificate, and the next step of an authorization or order.
#include <catch2/catch.hpp>

#include "acme/schedule.h"

using namespace ferry::acme;
using std::chrono::seconds;

TEST_CASE("renewal is due when one third of the lifetime is left", "[acme][schedule]") {
  CHECK(renewal_time(0, 90 * 86400) == 60 * 86400);  // a 90-day certificate: after 60 days
  CHECK(renewal_time(1000, 1045) == 1030);            // Pebble's 45 s test certificates
  CHECK(renewal_time(500, 500) == 500);               // empty lifetime: due at once
  CHECK(renewal_time(500, 100) == 500);
}

TEST_CASE("back-off doubles, is jittered into [d/2, d], and is capped at one day", "[acme][schedule]") {
  CHECK(backoff_delay(0, 0.5) == seconds(0));
  CHECK(backoff_delay(1, 0.999999) == seconds(29));  // floor(30 * ~1)
  CHECK(backoff_delay(1, 0.0) == seconds(15));
  CHECK(backoff_delay(2, 0.0) == seconds(30));
  CHECK(backoff_delay(3, 0.0) == seconds(60));
  for (int f = 1; f < 100; ++f)
    for (double u : {0.0, 0.3, 0.7, 0.9999}) {
      auto d = backoff_delay(f, u);
      CHECK(d >= seconds(1));
      CHECK(d <= kBackoffCap);
    }
  CHECK(backoff_delay(40, 0.0) == kBackoffCap / 2);
  CHECK(backoff_delay(1000, 1.0) == kBackoffCap);
  CHECK(backoff_delay(1, 7.0) == seconds(30));  // out-of-range randomness is clamped
}

TEST_CASE("plan_certificate: none, valid, renewal due, expired, new hosts", "[acme][schedule]") {
  const std::vector<std::string> hosts = {"a.example", "b.example"};
  auto none = plan_certificate(hosts, std::nullopt, 1000);
  CHECK(none.order_now);
  CHECK_FALSE(none.serve_stored);

  StoredCertificate c{hosts, 1000, 1000 + 90};
  auto fresh = plan_certificate(hosts, c, 1010);
  CHECK(fresh.serve_stored);
  CHECK_FALSE(fresh.order_now);
  CHECK(fresh.next_check == 1060);

  auto due = plan_certificate(hosts, c, 1060);
  CHECK(due.serve_stored);  // the old certificate keeps being served while renewing
  CHECK(due.order_now);
  CHECK(due.reason.find("renewal due") == 0);

  auto expired = plan_certificate(hosts, c, 1090);
  CHECK_FALSE(expired.serve_stored);
  CHECK(expired.order_now);

  auto grown = plan_certificate({"a.example", "b.example", "c.example"}, c, 1010);
  CHECK(grown.serve_stored);
  CHECK(grown.order_now);
  CHECK(grown.reason == "new hosts: c.example");

  auto shrunk = plan_certificate({"a.example"}, c, 1010);  // a removed host needs no new order
  CHECK_FALSE(shrunk.order_now);
  CHECK(shrunk.serve_stored);
}

TEST_CASE("retry state: back-off per host set, reset by new hosts", "[acme][schedule]") {
  RetryState r;
  const std::vector<std::string> hosts = {"b.example", "a.example"};
  CHECK(may_order(r, hosts, 0));
  record_failure(r, hosts, 1000, 0.0);
  CHECK(r.failures == 1);
  CHECK(r.next_attempt == 1015);
  CHECK_FALSE(may_order(r, hosts, 1014));
  CHECK(may_order(r, {"a.example", "b.example"}, 1015));  // order of hosts does not matter
  record_failure(r, hosts, 1015, 0.0);
  CHECK(r.failures == 2);
  CHECK(r.next_attempt == 1045);
  // A reload that changes the hosts may order at once, and starts a new count.
  CHECK(may_order(r, {"a.example", "b.example", "c.example"}, 1016));
  record_failure(r, {"a.example", "c.example"}, 1020, 0.0);
  CHECK(r.failures == 1);
}

TEST_CASE("authorization and order steps follow RFC 8555 statuses", "[acme][schedule]") {
  Authorization a;
  a.status = "valid";
  CHECK(authorization_step(a) == AuthzStep::done);
  a.status = "pending";
  CHECK(authorization_step(a) == AuthzStep::fail);  // no tls-alpn-01 challenge offered
  a.challenges.push_back(Challenge{"http-01", "u1", "pending", "t", {}, {}});
  CHECK(authorization_step(a) == AuthzStep::fail);
  a.challenges.push_back(Challenge{"tls-alpn-01", "u2", "pending", "t", {}, {}});
  CHECK(authorization_step(a) == AuthzStep::respond);
  CHECK(authorization_step(a, "http-01") == AuthzStep::respond);
  CHECK(authorization_step(a, "dns-01") == AuthzStep::fail);  // not offered
  a.challenges.erase(a.challenges.begin());
  CHECK(authorization_step(a, "http-01") == AuthzStep::fail);
  CHECK(authorization_step(a, "tls-alpn-01") == AuthzStep::respond);
  for (const char* s : {"invalid", "deactivated", "expired", "revoked"}) {
    a.status = s;
    CHECK(authorization_step(a) == AuthzStep::fail);
  }
  CHECK(order_step("pending") == OrderStep::authorize);
  CHECK(order_step("ready") == OrderStep::finalize);
  CHECK(order_step("processing") == OrderStep::wait);
  CHECK(order_step("valid") == OrderStep::download);
  CHECK(order_step("invalid") == OrderStep::fail);
  CHECK(order_step("bogus") == OrderStep::fail);
}

TEST_CASE("host lists compare as sets", "[acme][schedule]") {
  CHECK(normalized_hosts({"b", "a", "b"}) == std::vector<std::string>{"a", "b"});
  CHECK(covers_all({"a", "b"}, {"b"}));
  CHECK_FALSE(covers_all({"a"}, {"a", "b"}));
}
