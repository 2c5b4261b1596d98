#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>

#include "store/migrations.h"
#include "store/open.h"
#include "store_test_support.h"

using namespace ferry::store;
using ferry::store::test::mode_of;
using ferry::store::test::TempDir;

namespace {

Status open_in(const std::string& state, Db& db, OpenReport& report, int busy_ms = 5000) {
  OpenOptions options;
  options.busy_timeout_ms = busy_ms;
  return open_store(state, db, report, options);
}

bool mentions(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& line : lines)
    if (line.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("store open: creates the state dir 0700 and ferry.db 0600 whatever the umask", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "state";
  mode_t old = ::umask(0277);  // would give 0500 / 0400 if the modes were left to the umask
  Db db;
  OpenReport report;
  Status s = open_in(state, db, report);
  ::umask(old);
  REQUIRE(s.ok);
  CHECK(report.db_path == state + "/ferry.db");
  CHECK(mode_of(state) == 0700);
  CHECK(mode_of(report.db_path) == 0600);
  CHECK(mode_of(report.db_path + "-wal") == 0600);  // SQLite copies the database's mode
  CHECK(mentions(report.changes, "created state directory " + state));
  CHECK(mentions(report.changes, "created database " + report.db_path));
  CHECK(report.schema.from_version == 0);
  CHECK(report.schema.to_version == latest_schema_version());
}

TEST_CASE("store open: WAL, synchronous=NORMAL, foreign keys and busy timeout are set", "[store]") {
  TempDir tmp;
  Db db;
  OpenReport report;
  REQUIRE(open_in(tmp / "state", db, report).ok);
  std::string journal;
  int64_t sync = -1, fk = -1, busy = -1;
  REQUIRE(db.query_text("PRAGMA journal_mode", journal).ok);
  REQUIRE(db.query_int("PRAGMA synchronous", sync).ok);
  REQUIRE(db.query_int("PRAGMA foreign_keys", fk).ok);
  REQUIRE(db.query_int("PRAGMA busy_timeout", busy).ok);
  CHECK(journal == "wal");
  CHECK(sync == 1);  // NORMAL
  CHECK(fk == 1);
  CHECK(busy == 5000);
}

TEST_CASE("store open: reopening keeps data and does not rerun migrations", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "state";
  {
    Db db;
    OpenReport report;
    REQUIRE(open_in(state, db, report).ok);
    REQUIRE(db.exec("INSERT INTO acme_account (directory_url, account_url, key_pem, created_at) "
                    "VALUES ('https://ca/dir', 'https://ca/acct/1', 'KEY', 1)").ok);
  }
  Db db;
  OpenReport report;
  REQUIRE(open_in(state, db, report).ok);
  CHECK(report.changes.empty());
  CHECK(report.schema.from_version == latest_schema_version());
  CHECK(report.schema.to_version == latest_schema_version());
  int64_t n = 0;
  REQUIRE(db.query_int("SELECT count(*) FROM acme_account", n).ok);
  CHECK(n == 1);
}

TEST_CASE("store open: tightens a group/world accessible state dir and database", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "state";
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  REQUIRE(::chmod(state.c_str(), 0755) == 0);
  const std::string file = state + "/ferry.db";
  int fd = ::open(file.c_str(), O_CREAT | O_WRONLY, 0600);
  REQUIRE(fd >= 0);
  ::close(fd);
  REQUIRE(::chmod(file.c_str(), 0644) == 0);

  Db db;
  OpenReport report;
  REQUIRE(open_in(state, db, report).ok);
  CHECK(mode_of(state) == 0700);
  CHECK(mode_of(file) == 0600);
  CHECK(mentions(report.changes, "tightened mode of state directory " + state + " from 0755 to 0700"));
  CHECK(mentions(report.changes, "tightened mode of database " + file + " from 0644 to 0600"));
}

TEST_CASE("store open: a state dir that cannot be created is named with the cause", "[store]") {
  TempDir tmp;
  const std::string locked = tmp / "locked";
  REQUIRE(::mkdir(locked.c_str(), 0500) == 0);
  REQUIRE(::chmod(tmp.path().c_str(), 0755) == 0);
  const std::string state = locked + "/state";

  // Root ignores directory permissions: then try as "nobody" in a child process.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    Db db;
    OpenReport report;
    Status s = open_in(state, db, report);
    std::string out = std::to_string(s.code) + " " + s.message;
    ssize_t n = ::write(fds[1], out.data(), out.size());
    ::_exit(n == static_cast<ssize_t>(out.size()) ? 0 : 4);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(out == std::to_string(EACCES) + " cannot create state directory " + state + ": Permission denied");
}

TEST_CASE("store open: a state path that is a file is refused", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "file";
  std::ofstream(state) << "x";
  Db db;
  OpenReport report;
  Status s = open_in(state, db, report);
  CHECK_FALSE(s.ok);
  CHECK(s.code == ENOTDIR);
  CHECK_THAT(s.message, Catch::Contains(state));
}

TEST_CASE("store open: a file that is not a database is reported as such", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "state";
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  std::ofstream(state + "/ferry.db") << std::string(4096, 'x');
  Db db;
  OpenReport report;
  Status s = open_in(state, db, report);
  CHECK_FALSE(s.ok);
  CHECK((s.code & 0xff) == SQLITE_NOTADB);
  CHECK_THAT(s.message, Catch::Contains("database " + state + "/ferry.db is not an SQLite database or is corrupt") &&
                            Catch::Contains("file is not a database"));
  CHECK_FALSE(db.is_open());
}

TEST_CASE("store open: a database locked by another connection fails after the busy timeout", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "state";
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  // A rollback-journal database held under an exclusive lock: switching to WAL needs the lock.
  Db holder;
  REQUIRE(holder.open(state + "/ferry.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE).ok);
  REQUIRE(holder.exec("PRAGMA locking_mode = EXCLUSIVE; CREATE TABLE x (a); BEGIN EXCLUSIVE; "
                      "INSERT INTO x VALUES (1);").ok);
  Db db;
  OpenReport report;
  Status s = open_in(state, db, report, 50);
  CHECK_FALSE(s.ok);
  CHECK((s.code & 0xff) == SQLITE_BUSY);
  CHECK_THAT(s.message, Catch::Contains("is locked by another process (waited 50 ms)") &&
                            Catch::Contains(state + "/ferry.db"));
}

TEST_CASE("store open: refuses a database with a newer schema than this binary", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "state";
  {
    Db db;
    OpenReport report;
    REQUIRE(open_in(state, db, report).ok);
    REQUIRE(db.exec("PRAGMA user_version = 999").ok);
  }
  Db db;
  OpenReport report;
  Status s = open_in(state, db, report);
  CHECK_FALSE(s.ok);
  CHECK(s.message == state + "/ferry.db: database schema version 999 is newer than this ferryd supports (" +
                         std::to_string(latest_schema_version()) + ")");
  CHECK_FALSE(db.is_open());
  Db raw;  // and it left the database alone
  REQUIRE(raw.open(state + "/ferry.db", SQLITE_OPEN_READONLY).ok);
  int64_t v = 0;
  REQUIRE(raw.query_int("PRAGMA user_version", v).ok);
  CHECK(v == 999);
}

TEST_CASE("store open: a newer database is refused before anything is written to it", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "state";
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  {
    Db raw;  // rollback-journal mode, as a future schema might leave it
    REQUIRE(raw.open(state + "/ferry.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE).ok);
    const std::string next = std::to_string(latest_schema_version() + 1);
    REQUIRE(raw.exec("CREATE TABLE future (a); PRAGMA user_version = " + next + ";").ok);
  }
  Db db;
  OpenReport report;
  Status s = open_in(state, db, report);
  CHECK_THAT(s.message, Catch::EndsWith("database schema version " + std::to_string(latest_schema_version() + 1) +
                                        " is newer than this ferryd supports (" +
                                        std::to_string(latest_schema_version()) + ")"));
  Db raw;
  REQUIRE(raw.open(state + "/ferry.db", SQLITE_OPEN_READONLY).ok);
  std::string journal;
  REQUIRE(raw.query_text("PRAGMA journal_mode", journal).ok);
  CHECK(journal == "delete");
}
