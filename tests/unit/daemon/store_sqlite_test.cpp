#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "store/sqlite.h"
#include "store_test_support.h"

using ferry::store::Db;
using ferry::store::Status;
using ferry::store::Stmt;
using ferry::store::Transaction;
using ferry::store::test::TempDir;

namespace {

Db open_scratch(const TempDir& dir) {
  Db db;
  Status s = db.open(dir / "scratch.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  REQUIRE(s.ok);
  REQUIRE(db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER) STRICT").ok);
  return db;
}

int64_t count_rows(Db& db) {
  int64_t n = -1;
  REQUIRE(db.query_int("SELECT count(*) FROM t", n).ok);
  return n;
}

}  // namespace

TEST_CASE("store sqlite: bind, step and columns round-trip text, integers and NULL", "[store]") {
  TempDir dir;
  Db db = open_scratch(dir);
  Stmt ins;
  REQUIRE(db.prepare("INSERT INTO t (k, v) VALUES (?1, ?2)", ins).ok);
  std::string with_nul("a\0b", 3);
  REQUIRE(ins.bind(1, with_nul).bind(2, int64_t{1} << 40).run().ok);
  ins.reset();
  REQUIRE(ins.bind(1, std::string_view()).bind_null(2).run().ok);

  Stmt sel;
  REQUIRE(db.prepare("SELECT k, v FROM t ORDER BY k", sel).ok);
  bool row = false;
  REQUIRE(sel.step(row).ok);
  REQUIRE(row);
  CHECK(sel.column_text(0) == "");  // '' (not NULL): empty views bind as empty text
  CHECK_FALSE(sel.column_is_null(0));
  CHECK(sel.column_is_null(1));
  REQUIRE(sel.step(row).ok);
  REQUIRE(row);
  CHECK(sel.column_text(0) == with_nul);
  CHECK(sel.column_int64(1) == int64_t{1} << 40);
  REQUIRE(sel.step(row).ok);
  CHECK_FALSE(row);
}

TEST_CASE("store sqlite: errors carry sqlite's message, the path and the result code", "[store]") {
  TempDir dir;
  Db db = open_scratch(dir);
  Stmt st;
  Status s = db.prepare("SELECT nope FROM t", st);
  CHECK_FALSE(s.ok);
  CHECK(s.code == SQLITE_ERROR);
  CHECK_THAT(s.message, Catch::Contains("no such column: nope") && Catch::Contains(dir / "scratch.db"));

  REQUIRE(db.prepare("INSERT INTO t (k, v) VALUES (?1, ?2)", st).ok);
  REQUIRE(st.bind(1, "x").bind(2, 1).run().ok);
  st.reset();
  s = st.bind(1, "x").bind(2, 2).run();
  CHECK(s.code == SQLITE_CONSTRAINT_PRIMARYKEY);
  CHECK_THAT(s.message, Catch::Contains("UNIQUE constraint failed: t.k"));

  st.reset();
  s = st.bind(7, "out of range").bind(1, "y").run();  // the first bind error sticks
  CHECK(s.code == SQLITE_RANGE);
  CHECK(count_rows(db) == 1);

  Db closed;
  CHECK_FALSE(closed.exec("SELECT 1").ok);
  Status missing = closed.open(dir / "no/such/dir.db", SQLITE_OPEN_READWRITE);
  CHECK_FALSE(missing.ok);
  CHECK_THAT(missing.message, Catch::Contains(dir / "no/such/dir.db"));
  CHECK_FALSE(closed.is_open());
}

TEST_CASE("store sqlite: a transaction rolls back unless committed", "[store]") {
  TempDir dir;
  Db db = open_scratch(dir);
  {
    Transaction tx(db);
    REQUIRE(tx.begin().ok);
    CHECK(db.in_transaction());
    REQUIRE(db.exec("INSERT INTO t VALUES ('a', 1)").ok);
  }
  CHECK_FALSE(db.in_transaction());
  CHECK(count_rows(db) == 0);
  {
    Transaction tx(db);
    REQUIRE(tx.begin().ok);
    Transaction nested(db);
    CHECK(nested.begin().code == SQLITE_MISUSE);
    REQUIRE(db.exec("INSERT INTO t VALUES ('a', 1)").ok);
    REQUIRE(tx.commit().ok);
    CHECK_FALSE(tx.commit().ok);  // nothing left to commit
  }
  CHECK(count_rows(db) == 1);
}

TEST_CASE("store sqlite: Db and Stmt move without double close", "[store]") {
  TempDir dir;
  Db a = open_scratch(dir);
  Db b = std::move(a);
  CHECK_FALSE(a.is_open());
  REQUIRE(b.is_open());
  Stmt s1;
  REQUIRE(b.prepare("SELECT 42", s1).ok);
  Stmt s2 = std::move(s1);
  bool row = false;
  REQUIRE(s2.step(row).ok);
  CHECK(s2.column_int64(0) == 42);
  int64_t v = 0;
  CHECK_FALSE(b.query_int("SELECT 1 WHERE 0", v).ok);  // no row is an error
}
