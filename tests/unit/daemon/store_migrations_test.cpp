#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "store/migrations.h"
#include "store/open.h"
#include "store_test_support.h"

using namespace ferry::store;
using ferry::store::test::TempDir;

namespace {

Db open_raw(const std::string& path) {
  Db db;
  REQUIRE(db.open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE).ok);
  return db;
}

int64_t user_version(Db& db) {
  int64_t v = -1;
  REQUIRE(db.query_int("PRAGMA user_version", v).ok);
  return v;
}

bool has_table(Db& db, const std::string& name) {
  int64_t n = 0;
  REQUIRE(db.query_int("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '" + name + "'", n).ok);
  return n == 1;
}

}  // namespace

TEST_CASE("store migrations: the built-in list is contiguous from 1", "[store]") {
  auto list = builtin_migrations();
  REQUIRE_FALSE(list.empty());
  for (size_t i = 0; i < list.size(); ++i) {
    CHECK(list[i].version == static_cast<int>(i) + 1);
    CHECK_FALSE(list[i].description.empty());
    CHECK_FALSE(list[i].sql.empty());
  }
  CHECK(latest_schema_version() == static_cast<int>(list.size()));
}

TEST_CASE("store migrations: upgrade from an empty version-0 database creates the schema", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "state";
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  {
    Db db = open_raw(state + "/ferry.db");
    REQUIRE(db.exec("CREATE TABLE tmp (a); DROP TABLE tmp;").ok);  // a real file, no tables
    CHECK(user_version(db) == 0);
  }
  Db db;
  OpenReport report;
  REQUIRE(open_store(state, db, report).ok);
  CHECK(report.schema.from_version == 0);
  CHECK(report.schema.to_version == latest_schema_version());
  CHECK(user_version(db) == latest_schema_version());
  for (const char* table : {"acme_account", "certificates", "acme_orders", "history_minute", "history_hour"})
    CHECK(has_table(db, table));
  std::string check;
  REQUIRE(db.query_text("PRAGMA integrity_check", check).ok);
  CHECK(check == "ok");
}

TEST_CASE("store migrations: running twice applies nothing the second time", "[store]") {
  TempDir tmp;
  Db db = open_raw(tmp / "m.db");
  MigrationReport first, second;
  REQUIRE(migrate(db, first).ok);
  REQUIRE(migrate(db, second).ok);
  CHECK(first.from_version == 0);
  CHECK(first.to_version == latest_schema_version());
  CHECK(second.from_version == latest_schema_version());
  CHECK(second.to_version == latest_schema_version());
}

TEST_CASE("store migrations: a failing migration leaves the previous version and no partial schema", "[store]") {
  TempDir tmp;
  Db db = open_raw(tmp / "m.db");
  const Migration list[] = {
      {1, "one", "CREATE TABLE one (a INTEGER);"},
      {2, "two, broken half-way", "CREATE TABLE two (a INTEGER); INSERT INTO one VALUES (1); SELEC 1;"},
  };
  MigrationReport report;
  Status s = migrate(db, list, report);
  CHECK_FALSE(s.ok);
  CHECK_THAT(s.message, Catch::Contains("migration 2 (two, broken half-way) failed, database left at version 1") &&
                            Catch::Contains("syntax error"));
  CHECK(report.to_version == 1);
  CHECK(user_version(db) == 1);
  CHECK(has_table(db, "one"));
  CHECK_FALSE(has_table(db, "two"));
  int64_t rows = -1;
  REQUIRE(db.query_int("SELECT count(*) FROM one", rows).ok);
  CHECK(rows == 0);
  CHECK_FALSE(db.in_transaction());

  const Migration fixed[] = {list[0], {2, "two", "CREATE TABLE two (a INTEGER);"}};
  REQUIRE(migrate(db, fixed, report).ok);
  CHECK(report.from_version == 1);
  CHECK(report.to_version == 2);
}

TEST_CASE("store migrations: a non-contiguous list and a newer database are refused", "[store]") {
  TempDir tmp;
  Db db = open_raw(tmp / "m.db");
  const Migration gap[] = {{1, "one", "CREATE TABLE one (a);"}, {3, "three", "CREATE TABLE three (a);"}};
  MigrationReport report;
  CHECK_FALSE(migrate(db, gap, report).ok);
  CHECK(user_version(db) == 0);

  REQUIRE(db.exec("PRAGMA user_version = 5").ok);
  Status s = migrate(db, report);
  CHECK_FALSE(s.ok);
  CHECK_THAT(s.message, Catch::EndsWith("database schema version 5 is newer than this ferryd supports (" +
                                        std::to_string(latest_schema_version()) + ")"));
  CHECK_FALSE(has_table(db, "certificates"));
}

TEST_CASE("store migrations: the store's lookups use indexes, not table scans", "[store]") {
  TempDir tmp;
  Db db = open_raw(tmp / "m.db");
  MigrationReport report;
  REQUIRE(migrate(db, report).ok);
  struct Lookup {
    const char* sql;
    bool searches;  // a keyed search (USING ...), not a walk in rowid order
  };
  const Lookup lookups[] = {
      {"SELECT * FROM acme_account WHERE directory_url = 'x'", true},
      {"SELECT * FROM certificates WHERE name = 'x'", true},
      {"SELECT * FROM acme_orders WHERE certificate_name = 'x' ORDER BY id DESC LIMIT 1", true},
      {"SELECT * FROM acme_orders ORDER BY id DESC LIMIT 10", false},  // rowid order, stops at 10
  };
  for (const auto& [sql, searches] : lookups) {
    Stmt plan;
    REQUIRE(db.prepare(std::string("EXPLAIN QUERY PLAN ") + sql, plan).ok);
    std::string details;
    bool row = false;
    while (plan.step(row).ok && row) details += plan.column_text(3) + "; ";
    REQUIRE_FALSE(details.empty());
    INFO(sql << " -> " << details);
    if (searches) CHECK(details.find("USING") != std::string::npos);  // USING (COVERING) INDEX
    CHECK(details.find("USE TEMP B-TREE") == std::string::npos);
  }
}
