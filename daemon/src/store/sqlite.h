// A thin RAII layer over the sqlite3 C API: Db (a connection), Stmt (a prepared statement),
// Transaction (BEGIN IMMEDIATE ... COMMIT, rolled back unless committed) and Status.
//
// Why the C API and not POCO Data/SQLite: the store needs exact control over pragmas (WAL,
// synchronous, busy_timeout), over the transaction mode (IMMEDIATE, so a writer takes the
// write lock up front instead of failing with SQLITE_BUSY half-way), over open flags
// (NOFOLLOW, no implicit create) and over result codes (SQLITE_BUSY and SQLITE_NOTADB turn
// into specific messages). POCO's session layer hides all four.
//
// No exceptions: every fallible call returns a Status whose message names what failed, the
// sqlite3_errmsg text and the database path.
//
// Ownership and threads: a Db owns its sqlite3* and closes it on destruction; a Stmt owns its
// sqlite3_stmt* and must be destroyed before the Db it came from (it does not keep the Db
// alive). A Db and its statements are used by one thread at a time (the control plane's store
// thread); they may be moved, but not shared. The data plane never touches them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

struct sqlite3;
struct sqlite3_stmt;

namespace ferry::store {

// Result of a fallible store call. `code` is the SQLite extended result code when the error
// came from SQLite, an errno value when it came from the OS, 0 otherwise (and when ok).
struct Status {
  bool ok = true;
  int code = 0;
  std::string message;

  static Status success() { return {}; }
  static Status failure(std::string message, int code = 0) { return {false, code, std::move(message)}; }
  explicit operator bool() const { return ok; }
};

class Stmt;

class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens `path` with sqlite3_open_v2 `flags` (SQLITE_OPEN_*), with extended result codes on.
  // Closes a connection this object already held. On failure the object stays closed.
  Status open(const std::string& path, int flags);
  void close();
  bool is_open() const { return db_ != nullptr; }

  // Runs one or more statements that return no rows (DDL, pragmas that set, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  // Prepares exactly one statement into `out`.
  Status prepare(std::string_view sql, Stmt& out);
  // Runs a single-row, single-column query (e.g. "PRAGMA user_version") and returns column 0.
  // A query that returns no row is an error.
  Status query_int(std::string_view sql, int64_t& out);
  Status query_text(std::string_view sql, std::string& out);

  // Sets sqlite3_busy_timeout: how long a statement waits for another connection's lock.
  Status set_busy_timeout(int milliseconds);
  int64_t last_insert_rowid() const;
  int changes() const;  // rows changed by the most recent INSERT/UPDATE/DELETE
  bool in_transaction() const;

  // A failure Status for the connection's current error: "<what> (<path>): <errmsg>".
  Status error(std::string_view what, int code) const;
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement. Binding is chainable: bind() returns *this and remembers the first
// bind error, which step()/run() then report, so a call site reads
//   Status s = st.bind(1, name).bind(2, when).run();
// Parameter indexes are 1-based (SQLite's), column indexes are 0-based.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, std::string_view text);  // copied (SQLITE_TRANSIENT)
  Stmt& bind_null(int index);

  // Advances one row: `row` is true when a row is available, false when done.
  Status step(bool& row);
  // Steps until done, ignoring rows; for INSERT/UPDATE/DELETE.
  Status run();
  // Makes the statement runnable again and clears bindings and the remembered bind error.
  void reset();

  int64_t column_int64(int column) const;
  std::string column_text(int column) const;  // "" for NULL
  bool column_is_null(int column) const;

 private:
  friend class Db;
  Status error(std::string_view what, int code) const;

  sqlite3_stmt* stmt_ = nullptr;
  Status bind_status_;
};

// BEGIN IMMEDIATE on begin(); ROLLBACK on destruction unless commit() succeeded. Not nested:
// SQLite has no nested BEGIN, so begin() fails if the connection is already in a transaction.
// The Db must outlive the guard.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Waits up to the busy timeout for the write lock; SQLITE_BUSY when another process keeps it.
  Status begin();
  // On failure the transaction is still rolled back by the destructor.
  Status commit();

 private:
  Db& db_;
  bool active_ = false;
};

}  // namespace ferry::store
