// The ACME status the admin API shows per app (acme/status.h).
#include <catch2/catch.hpp>

#include "acme/status.h"

using namespace ferry::acme;

TEST_CASE("acme app status: none, pending, valid, failed", "[acme][status]") {
  const int64_t now = 1000000;
  AppFacts f;
  f.hosts = {"a.example"};
  AppStatus s = app_status("a", f, now);
  CHECK(s.state == "none");
  CHECK(s.next_renewal == now);  // no certificate: ordered at once
  CHECK(s.not_after == 0);

  f.ordering = true;
  CHECK(app_status("a", f, now).state == "pending");

  f.ordering = false;
  f.stored = StoredCertificate{{"a.example"}, now - 100, now + 200};
  f.issuer = "CN=Test CA";
  s = app_status("a", f, now);
  CHECK(s.state == "valid");
  CHECK(s.issuer == "CN=Test CA");
  CHECK(s.not_before == now - 100);
  CHECK(s.not_after == now + 200);
  CHECK(s.next_renewal == renewal_time(now - 100, now + 200));
  CHECK(s.cert_hosts == std::vector<std::string>{"a.example"});

  record_failure(f.retry, f.hosts, now, 0.5);
  f.last_error = "urn:ietf:params:acme:error:connection";
  f.failed_orders = 1;
  s = app_status("a", f, now);
  CHECK(s.state == "failed");  // the old certificate is still served
  // A failed (forced) order of a certificate that is not due: the next order is at its renewal
  // point, not at the end of the back-off.
  CHECK(s.next_renewal == renewal_time(now - 100, now + 200));
  CHECK(s.last_error == f.last_error);
  CHECK(s.failed_orders == 1);

  f.stored = StoredCertificate{{"a.example"}, now - 300, now - 1};  // expired: an order is due
  s = app_status("a", f, now);
  CHECK(s.state == "failed");
  CHECK(s.next_renewal == f.retry.next_attempt);  // backing off
  CHECK(s.next_renewal > now);

  f.retry = RetryState{};
  f.last_error.clear();
  s = app_status("a", f, now);
  CHECK(s.state == "none");
  CHECK(s.next_renewal == now);
}

TEST_CASE("the status cell marks a renewal pending", "[acme][status]") {
  StatusCell cell;
  CHECK_FALSE(cell.mark_pending("a"));
  AppStatus s;
  s.app = "a";
  s.state = "valid";
  cell.set({{"a", s}});
  CHECK(cell.mark_pending("a"));
  CHECK(cell.get().at("a").state == "pending");
}
