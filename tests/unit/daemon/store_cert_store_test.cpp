#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "store/cert_store.h"
#include "store/hosts_json.h"
#include "store/open.h"
#include "store_test_support.h"

using namespace ferry::store;
using ferry::store::test::TempDir;

namespace {

struct Fixture {
  TempDir tmp;
  Db db;
  Fixture() {
    OpenReport report;
    Status s = open_store(tmp / "state", db, report);
    INFO(s.message);
    REQUIRE(s.ok);
  }
};

CertificateRecord sample_cert(const std::string& name, int generation) {
  CertificateRecord c;
  c.name = name;
  c.source = CertSource::acme;
  c.hosts = {name + ".example.com", "*." + name + ".example.com"};
  c.chain_pem = "-----BEGIN CERTIFICATE-----\n" + name + std::to_string(generation) + "\n-----END CERTIFICATE-----\n";
  c.key_pem = "-----BEGIN PRIVATE KEY-----\n" + name + std::to_string(generation) + "\n-----END PRIVATE KEY-----\n";
  c.not_before = 1700000000 + generation;
  c.not_after = 1707776000 + generation;
  c.issuer = "CN=Test CA";
  c.updated_at = 1700000100 + generation;
  return c;
}

void check_same(const CertificateRecord& a, const CertificateRecord& b) {
  CHECK(a.name == b.name);
  CHECK(a.source == b.source);
  CHECK(a.hosts == b.hosts);
  CHECK(a.chain_pem == b.chain_pem);
  CHECK(a.key_pem == b.key_pem);
  CHECK(a.not_before == b.not_before);
  CHECK(a.not_after == b.not_after);
  CHECK(a.issuer == b.issuer);
  CHECK(a.updated_at == b.updated_at);
}

}  // namespace

TEST_CASE("store certs: accounts round-trip and are replaced per directory", "[store]") {
  Fixture f;
  CertStore store(f.db);
  std::optional<AcmeAccount> loaded;
  REQUIRE(store.load_account("https://ca.test/dir", loaded).ok);
  CHECK_FALSE(loaded.has_value());

  AcmeAccount a{0, "https://ca.test/dir", "https://ca.test/acct/1", "KEY-1", 1700000000};
  REQUIRE(store.save_account(a).ok);
  REQUIRE(store.save_account({0, "https://other.test/dir", "https://other.test/acct/9", "KEY-9", 5}).ok);
  REQUIRE(store.load_account(a.directory_url, loaded).ok);
  REQUIRE(loaded.has_value());
  CHECK(loaded->id > 0);
  CHECK(loaded->account_url == a.account_url);
  CHECK(loaded->key_pem == "KEY-1");
  CHECK(loaded->created_at == 1700000000);

  a.account_url = "https://ca.test/acct/2";
  a.key_pem = "KEY-2";
  REQUIRE(store.save_account(a).ok);
  std::optional<AcmeAccount> again;
  REQUIRE(store.load_account(a.directory_url, again).ok);
  REQUIRE(again.has_value());
  CHECK(again->id == loaded->id);
  CHECK(again->account_url == "https://ca.test/acct/2");
  CHECK(again->key_pem == "KEY-2");
  int64_t n = 0;
  REQUIRE(f.db.query_int("SELECT count(*) FROM acme_account", n).ok);
  CHECK(n == 2);
}

TEST_CASE("store certs: certificates round-trip, upsert replaces by name, delete removes", "[store]") {
  Fixture f;
  CertStore store(f.db);
  std::optional<CertificateRecord> one;
  REQUIRE(store.load_certificate("shop", one).ok);
  CHECK_FALSE(one.has_value());

  CertificateRecord shop = sample_cert("shop", 1);
  CertificateRecord blog = sample_cert("blog", 1);
  blog.source = CertSource::file;
  blog.hosts = {};  // an empty list is stored as [] and read back empty
  REQUIRE(store.upsert_certificate(shop).ok);
  REQUIRE(store.upsert_certificate(blog).ok);
  REQUIRE(store.load_certificate("shop", one).ok);
  REQUIRE(one.has_value());
  check_same(*one, shop);
  const int64_t id = one->id;

  CertificateRecord renewed = sample_cert("shop", 2);
  renewed.hosts = {"shop.example.com"};
  REQUIRE(store.upsert_certificate(renewed).ok);
  REQUIRE(store.load_certificate("shop", one).ok);
  REQUIRE(one.has_value());
  check_same(*one, renewed);
  CHECK(one->id == id);

  std::vector<CertificateRecord> all;
  REQUIRE(store.load_certificates(all).ok);
  REQUIRE(all.size() == 2);
  check_same(all[0], blog);  // ordered by name
  check_same(all[1], renewed);

  REQUIRE(store.delete_certificate("blog").ok);
  REQUIRE(store.delete_certificate("blog").ok);
  REQUIRE(store.load_certificates(all).ok);
  REQUIRE(all.size() == 1);
  CHECK(all[0].name == "shop");
}

TEST_CASE("store certs: hosts with JSON-special characters survive the round trip", "[store]") {
  Fixture f;
  CertStore store(f.db);
  CertificateRecord c = sample_cert("odd", 1);
  c.hosts = {"quote\"d", "back\\slash", "tab\there", "ünïcode.example", ""};
  REQUIRE(store.upsert_certificate(c).ok);
  std::optional<CertificateRecord> out;
  REQUIRE(store.load_certificate("odd", out).ok);
  REQUIRE(out.has_value());
  CHECK(out->hosts == c.hosts);
  CHECK(encode_hosts({"a", "b"}) == R"(["a","b"])");

  HostsDecoder decoder;
  REQUIRE(decoder.prepare(f.db).ok);
  std::vector<std::string> hosts{"kept"};
  CHECK_FALSE(decoder.decode(R"({"a":"b"})", hosts).ok);
  CHECK_FALSE(decoder.decode(R"(["a",1])", hosts).ok);
  CHECK_FALSE(decoder.decode("not json", hosts).ok);
  CHECK(hosts == std::vector<std::string>{"kept"});
}

TEST_CASE("store certs: the schema rejects what the records cannot express", "[store]") {
  Fixture f;
  Status s = f.db.exec(
      "INSERT INTO certificates (name, source, hosts, chain_pem, key_pem, not_before, not_after, issuer, "
      "updated_at) VALUES ('x', 'acme', 'not json', '', '', 0, 0, '', 0)");
  CHECK((s.code & 0xff) == SQLITE_CONSTRAINT);
  s = f.db.exec(
      "INSERT INTO certificates (name, source, hosts, chain_pem, key_pem, not_before, not_after, issuer, "
      "updated_at) VALUES ('x', 'manual', '[]', '', '', 0, 0, '', 0)");
  CHECK((s.code & 0xff) == SQLITE_CONSTRAINT);
  CertStore store(f.db);
  AcmeOrder bad;
  bad.certificate_name = "x";
  bad.status = "lost";
  int64_t id = 0;
  CHECK((store.record_order(bad, id).code & 0xff) == SQLITE_CONSTRAINT);
}

TEST_CASE("store certs: orders are recorded, updated and listed newest first", "[store]") {
  Fixture f;
  CertStore store(f.db);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    AcmeOrder o;
    o.certificate_name = "app" + std::to_string(i);
    o.hosts = {"app" + std::to_string(i) + ".example.com"};
    o.status = "pending";
    o.created_at = o.updated_at = 1000 + i;
    int64_t id = 0;
    REQUIRE(store.record_order(o, id).ok);
    ids.push_back(id);
  }
  AcmeOrder update;
  update.id = ids[3];
  update.status = "invalid";
  update.order_url = "https://ca.test/order/3";
  update.error = "urn:ietf:params:acme:error:rejectedIdentifier";
  update.updated_at = 2000;
  REQUIRE(store.update_order(update).ok);

  std::vector<AcmeOrder> recent;
  REQUIRE(store.recent_orders(3, recent).ok);
  REQUIRE(recent.size() == 3);
  CHECK(recent[0].id == ids[4]);
  CHECK(recent[1].id == ids[3]);
  CHECK(recent[2].id == ids[2]);
  CHECK(recent[1].certificate_name == "app3");
  CHECK(recent[1].hosts == std::vector<std::string>{"app3.example.com"});
  CHECK(recent[1].status == "invalid");
  CHECK(recent[1].order_url == "https://ca.test/order/3");
  CHECK(recent[1].error == update.error);
  CHECK(recent[1].created_at == 1003);
  CHECK(recent[1].updated_at == 2000);
  CHECK(recent[0].status == "pending");
  CHECK(recent[0].order_url.empty());

  std::optional<AcmeOrder> latest;
  REQUIRE(store.latest_order("app3", latest).ok);
  REQUIRE(latest.has_value());
  CHECK(latest->id == ids[3]);
  CHECK(latest->status == "invalid");
  AcmeOrder retry = *latest;
  retry.status = "pending";
  retry.error.clear();
  int64_t retry_id = 0;
  REQUIRE(store.record_order(retry, retry_id).ok);
  REQUIRE(store.latest_order("app3", latest).ok);
  REQUIRE(latest.has_value());
  CHECK(latest->id == retry_id);
  CHECK(latest->status == "pending");
  REQUIRE(store.latest_order("nobody", latest).ok);
  CHECK_FALSE(latest.has_value());

  update.id = 12345;
  Status s = store.update_order(update);
  CHECK_FALSE(s.ok);
  CHECK(s.code == SQLITE_NOTFOUND);
  REQUIRE(store.recent_orders(100, recent).ok);
  CHECK(recent.size() == 6);
}
