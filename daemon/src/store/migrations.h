// Versioned schema migrations for ferry.db.
//
// The schema version is PRAGMA user_version (0 = empty database). Migration N takes the
// database from version N-1 to N. Each migration runs in its own IMMEDIATE transaction
// together with the user_version bump, so a crash, a kill or a failing statement leaves the
// database at either the old or the new version, never in between (SQLite DDL is
// transactional and user_version lives in the database header, which the transaction covers).
// Migrations are append-only: a released migration is never edited, a change is a new one.
//
// Thread: the store thread that owns the Db (normally during open_store, before anything else
// uses the connection). Several processes may migrate the same file at once: the version is
// re-read inside each transaction, so a migration another process applied is skipped.
#pragma once

#include <span>
#include <string_view>

#include "store/sqlite.h"

namespace ferry::store {

struct Migration {
  int version;                   // 1, 2, 3, ... contiguous, ascending
  std::string_view description;  // for logs, e.g. "create acme_account, certificates, acme_orders"
  std::string_view sql;          // one or more statements
};

// The migrations this binary knows, ascending. Static storage; any thread.
std::span<const Migration> builtin_migrations();
// The version builtin_migrations() ends at: the newest schema this binary can use.
int latest_schema_version();

struct MigrationReport {
  int from_version = 0;  // user_version found on entry
  int to_version = 0;    // user_version on return (== from_version when nothing ran)
};

// Reads PRAGMA user_version into `version`. Fails when it is above `latest` ("<path>: database
// schema version N is newer than this ferryd supports (M)") or negative. Only reads.
Status read_schema_version(Db& db, int latest, int& version);

// Brings `db` up to the last version in `migrations` (which must be contiguous from 1).
// Fails, without touching the database, when its user_version is newer than the last
// migration: "database schema version N is newer than this ferryd supports (M)". On a
// failing migration the error names it, and the database stays at the version before it.
Status migrate(Db& db, std::span<const Migration> migrations, MigrationReport& report);
inline Status migrate(Db& db, MigrationReport& report) {
  return migrate(db, builtin_migrations(), report);
}

}  // namespace ferry::store
