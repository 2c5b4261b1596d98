#include "store/migrations.h"

#include <cstdint>
#include <string>

namespace ferry::store {
namespace {

// Schema version 1.
//
// Times are unix seconds (INTEGER). PEM is text. `hosts` columns hold a JSON array of host
// names as text (e.g. ["example.com","*.example.com"]), checked by a constraint: a certificate
// is one row, so replacing it is one statement and a reader never sees half a host list; SNI
// lookups happen in memory on the data plane, not in SQL (json_each() can query it if needed).
// STRICT tables make SQLite enforce the column types.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE acme_account (
  id            INTEGER PRIMARY KEY,
  directory_url TEXT    NOT NULL UNIQUE,   -- one account per ACME directory (CA)
  account_url   TEXT    NOT NULL,          -- the "kid" the CA assigned
  key_pem       TEXT    NOT NULL,          -- account private key, PKCS#8 PEM
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE certificates (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE,      -- the app name; one current certificate per app
  source     TEXT    NOT NULL CHECK (source IN ('acme', 'file')),
  hosts      TEXT    NOT NULL CHECK (json_valid(hosts) AND json_type(hosts) = 'array'),
  chain_pem  TEXT    NOT NULL,             -- leaf first, then intermediates
  key_pem    TEXT    NOT NULL,
  not_before INTEGER NOT NULL,
  not_after  INTEGER NOT NULL,
  issuer     TEXT    NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE acme_orders (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: "recent" = highest ids
  certificate_name TEXT    NOT NULL,
  hosts            TEXT    NOT NULL CHECK (json_valid(hosts) AND json_type(hosts) = 'array'),
  status           TEXT    NOT NULL
                   CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
  order_url        TEXT    NOT NULL,       -- '' until the CA created the order
  error            TEXT    NOT NULL,       -- '' unless status = 'invalid'
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;

-- CertStore::latest_order: the newest order of one certificate (resuming after a restart).
CREATE INDEX acme_orders_by_certificate ON acme_orders (certificate_name, id);
)sql";

// Schema version 2: per-app traffic history (daemon/src/history).
//
// One row per (app, minute) and per (app, hour); `t` is the start of the minute / hour (unix
// seconds). Status classes as counted by the data plane ("none" = no response sent, or a TCP
// connection). `buckets` is the request-duration histogram of the row as 15 per-bucket (not
// cumulative) counts separated by ',' (bounds: proxy/stats.h kDurationBuckets, then +Inf), so
// percentiles of an hour come from the summed histogram, not from averaged percentiles. Rows
// are pruned by `t` (history-retention), hence the second index.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE history_minute (
  id            INTEGER PRIMARY KEY,
  app           TEXT    NOT NULL,
  t             INTEGER NOT NULL,
  s_none        INTEGER NOT NULL,
  s1xx          INTEGER NOT NULL,
  s2xx          INTEGER NOT NULL,
  s3xx          INTEGER NOT NULL,
  s4xx          INTEGER NOT NULL,
  s5xx          INTEGER NOT NULL,
  bytes_in      INTEGER NOT NULL,
  bytes_out     INTEGER NOT NULL,
  rejected      INTEGER NOT NULL,
  peak_inflight INTEGER NOT NULL,
  buckets       TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX history_minute_by_app ON history_minute (app, t);
CREATE INDEX history_minute_by_t ON history_minute (t);

CREATE TABLE history_hour (
  id            INTEGER PRIMARY KEY,
  app           TEXT    NOT NULL,
  t             INTEGER NOT NULL,
  s_none        INTEGER NOT NULL,
  s1xx          INTEGER NOT NULL,
  s2xx          INTEGER NOT NULL,
  s3xx          INTEGER NOT NULL,
  s4xx          INTEGER NOT NULL,
  s5xx          INTEGER NOT NULL,
  bytes_in      INTEGER NOT NULL,
  bytes_out     INTEGER NOT NULL,
  rejected      INTEGER NOT NULL,
  peak_inflight INTEGER NOT NULL,
  buckets       TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX history_hour_by_app ON history_hour (app, t);
CREATE INDEX history_hour_by_t ON history_hour (t);
)sql";

// Schema version 3: this node's own catalog instances (daemon/src/catalog), so a restart or a
// reload loses none of them. `record` is the catalog's line format (catalog/record.h) without
// its version; `version` is the catalog version of its last change. `catalog_meta` holds the
// feed's `epoch` and its current `version` (removals advance it without leaving a row).
constexpr std::string_view kSchemaV3 = R"sql(
CREATE TABLE catalog_instances (
  app     TEXT    NOT NULL,
  id      TEXT    NOT NULL,
  record  TEXT    NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (app, id)
) STRICT;
CREATE TABLE catalog_meta (
  key   TEXT    NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
)sql";

constexpr Migration kMigrations[] = {
    {1, "create acme_account, certificates, acme_orders", kSchemaV1},
    {2, "create history_minute, history_hour", kSchemaV2},
    {3, "create catalog_instances, catalog_meta", kSchemaV3},
};

Status check_list(const Db& db, std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1)
      return Status::failure("migration list for " + db.path() + " is not contiguous from 1 at index " +
                             std::to_string(i));
  }
  return Status::success();
}

Status read_version(Db& db, int& version) {
  int64_t v = 0;
  Status s = db.query_int("PRAGMA user_version", v);
  version = static_cast<int>(v);  // user_version is a 32-bit signed header field
  return s;
}

Status apply(Db& db, const Migration& m) {
  Transaction tx(db);
  Status s = tx.begin();
  int current = 0;
  if (s) s = read_version(db, current);
  if (s && current >= m.version) return tx.commit();  // another process applied it meanwhile
  if (s) s = db.exec(m.sql);
  if (s) s = db.exec("PRAGMA user_version = " + std::to_string(m.version));
  if (s) s = tx.commit();
  if (!s)
    return Status::failure("migration " + std::to_string(m.version) + " (" + std::string(m.description) +
                               ") failed, database left at version " + std::to_string(m.version - 1) + ": " +
                               s.message,
                           s.code);
  return s;
}

}  // namespace

std::span<const Migration> builtin_migrations() { return kMigrations; }

int latest_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

Status read_schema_version(Db& db, int latest, int& version) {
  Status s = read_version(db, version);
  if (s && version < 0)
    return Status::failure(db.path() + ": invalid database schema version " + std::to_string(version));
  if (s && version > latest)
    return Status::failure(db.path() + ": database schema version " + std::to_string(version) +
                           " is newer than this ferryd supports (" + std::to_string(latest) + ")");
  return s;
}

Status migrate(Db& db, std::span<const Migration> migrations, MigrationReport& report) {
  Status s = check_list(db, migrations);
  if (s) s = read_schema_version(db, static_cast<int>(migrations.size()), report.from_version);
  if (!s) return s;
  report.to_version = report.from_version;
  for (const Migration& m : migrations) {
    if (m.version <= report.to_version) continue;
    s = apply(db, m);
    if (!s) return s;
    report.to_version = m.version;
  }
  return s;
}

}  // namespace ferry::store
