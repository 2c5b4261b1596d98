#include "store/sqlite.h"

#include <sqlite3.h>

#include <utility>

namespace ferry::store {

// ---- Db ----

Db::~Db() { close(); }

Db::Db(Db&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Status Db::open(const std::string& path, int flags) {
  close();
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "cannot open database " + path + ": " +
                      (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);  // a handle is returned even on failure (except out of memory)
    return Status::failure(std::move(msg), rc);
  }
  sqlite3_extended_result_codes(db, 1);
  db_ = db;
  path_ = path;
  return Status::success();
}

void Db::close() {
  // sqlite3_close_v2 defers the close if a statement is still alive instead of failing.
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Status Db::exec(std::string_view sql) {
  if (!db_) return Status::failure("database is not open", SQLITE_MISUSE);
  std::string text(sql);  // sqlite3_exec wants a NUL-terminated string
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::success() : error("exec", rc);
}

Status Db::prepare(std::string_view sql, Stmt& out) {
  out = Stmt();
  if (!db_) return Status::failure("database is not open", SQLITE_MISUSE);
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &out.stmt_, &tail);
  if (rc != SQLITE_OK) return error("prepare", rc);
  if (!out.stmt_) return Status::failure("prepare (" + path_ + "): empty statement", SQLITE_MISUSE);
  return Status::success();
}

Status Db::query_int(std::string_view sql, int64_t& out) {
  Stmt st;
  bool row = false;
  Status s = prepare(sql, st);
  if (s) s = st.step(row);
  if (s && !row) return Status::failure("query (" + path_ + ") returned no row: " + std::string(sql));
  if (s) out = st.column_int64(0);
  return s;
}

Status Db::query_text(std::string_view sql, std::string& out) {
  Stmt st;
  bool row = false;
  Status s = prepare(sql, st);
  if (s) s = st.step(row);
  if (s && !row) return Status::failure("query (" + path_ + ") returned no row: " + std::string(sql));
  if (s) out = st.column_text(0);
  return s;
}

Status Db::set_busy_timeout(int milliseconds) {
  if (!db_) return Status::failure("database is not open", SQLITE_MISUSE);
  int rc = sqlite3_busy_timeout(db_, milliseconds);
  return rc == SQLITE_OK ? Status::success() : error("busy_timeout", rc);
}

int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Db::changes() const { return sqlite3_changes(db_); }
bool Db::in_transaction() const { return db_ && !sqlite3_get_autocommit(db_); }

Status Db::error(std::string_view what, int code) const {
  std::string msg(what);
  msg += " (" + path_ + "): ";
  msg += db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
  return Status::failure(std::move(msg), code);
}

// ---- Stmt ----

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt::Stmt(Stmt&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), bind_status_(std::move(other.bind_status_)) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_status_ = std::move(other.bind_status_);
  }
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_) bind_status_ = error("bind", rc);
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  // A non-null pointer even for an empty view: a null one would bind SQL NULL, not ''.
  int rc = sqlite3_bind_text64(stmt_, index, text.empty() ? "" : text.data(), text.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_status_) bind_status_ = error("bind", rc);
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_) bind_status_ = error("bind", rc);
  return *this;
}

Status Stmt::step(bool& row) {
  row = false;
  if (!bind_status_) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) row = true;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return Status::success();
  return error("step", rc);
}

Status Stmt::run() {
  bool row = true;
  Status s;
  while (s && row) s = step(row);
  return s;
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = Status::success();
}

int64_t Stmt::column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Stmt::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);  // after column_text, as SQLite requires
  return text ? std::string(reinterpret_cast<const char*>(text), size) : std::string();
}

bool Stmt::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Status Stmt::error(std::string_view what, int code) const {
  sqlite3* db = stmt_ ? sqlite3_db_handle(stmt_) : nullptr;
  const char* path = db ? sqlite3_db_filename(db, "main") : nullptr;
  std::string msg(what);
  msg += " (" + std::string(path ? path : "?") + "): ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  if (stmt_) msg += " [" + std::string(sqlite3_sql(stmt_)).substr(0, 80) + "]";
  return Status::failure(std::move(msg), code);
}

// ---- Transaction ----

Transaction::~Transaction() {
  // After a failed COMMIT SQLite may already have rolled back; only roll back what is open.
  if (active_ && db_.in_transaction()) db_.exec("ROLLBACK");
}

Status Transaction::begin() {
  if (active_ || db_.in_transaction())
    return Status::failure("begin (" + db_.path() + "): a transaction is already open", SQLITE_MISUSE);
  Status s = db_.exec("BEGIN IMMEDIATE");
  active_ = s.ok;
  return s;
}

Status Transaction::commit() {
  if (!active_) return Status::failure("commit (" + db_.path() + "): no transaction", SQLITE_MISUSE);
  Status s = db_.exec("COMMIT");
  if (s) active_ = false;
  return s;
}

}  // namespace ferry::store
