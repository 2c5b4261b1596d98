// Opening the control plane's database: <state_dir>/ferry.db.
//
// open_store() makes the state directory private (0700; created if missing, tightened if it
// is group/world accessible), creates ferry.db as 0600 before SQLite touches it (independent
// of the umask; SQLite gives the -wal/-shm files the database file's mode), configures the
// connection and migrates the schema to latest_schema_version().
//
// Connection settings: journal_mode=WAL (readers never block the writer; a killed process
// leaves a consistent database), synchronous=NORMAL (with WAL this is crash-safe: a process
// crash loses nothing committed, a power loss can lose the last transactions but never
// corrupts), foreign_keys=ON, busy_timeout (5 s by default) for locks held by another process.
//
// Ownership: the caller owns the returned Db; see store/sqlite.h for its thread rules.
// Thread: the control thread, at startup; it does blocking file I/O.
#pragma once

#include <string>
#include <vector>

#include "store/migrations.h"
#include "store/sqlite.h"

namespace ferry::store {

inline constexpr const char* kDatabaseFileName = "ferry.db";

struct OpenOptions {
  int busy_timeout_ms = 5000;
};

// What open_store found and did, for the log.
struct OpenReport {
  std::string db_path;               // <state_dir>/ferry.db
  std::vector<std::string> changes;  // e.g. "tightened mode of state directory /x from 0755 to 0700"
  MigrationReport schema;            // versions before and after migrating
};

// On success `db` is open, configured and at latest_schema_version(). On failure `db` is closed
// and the Status message names the path and the cause, e.g.
//   "cannot create state directory /var/lib/ferry: Permission denied"
//   "database /var/lib/ferry/ferry.db is not an SQLite database or is corrupt (...)"
//   "database /var/lib/ferry/ferry.db is locked by another process (waited 5000 ms) (...)"
//   "/var/lib/ferry/ferry.db: database schema version 3 is newer than this ferryd supports (1)"
// `code` is an errno value for file-system errors, an SQLite result code otherwise.
Status open_store(const std::string& state_dir, Db& db, OpenReport& report, const OpenOptions& options = {});

}  // namespace ferry::store
