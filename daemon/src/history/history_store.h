// The history tables in ferry.db (schema version 2, store/migrations.cpp): history_minute and
// history_hour, one row per (app, t) with the figures of history/rollup.h's Row and the
// duration histogram as text.
//
// Ownership: HistoryStore owns two connections to <state_dir>/ferry.db: the writer (opened by
// open_store, which creates, secures and migrates the file; WAL) and a read-only reader.
// Threads: the writer methods (load, upsert, rows_between, first_at_or_after, last_t, prune,
// writer()) belong to ONE thread, the sampler; query() may be called from any thread (a mutex
// serialises the reader connection; WAL: it never blocks the writer). open()/close() while
// no other thread uses the object.
// Errors: store::Status with a message naming the database and the SQLite error.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "history/rollup.h"
#include "store/sqlite.h"

namespace ferry::daemon::history {

enum class Table { minute, hour };

class HistoryStore {
 public:
  HistoryStore() = default;
  ~HistoryStore() { close(); }
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  store::Status open(const std::string& state_dir);
  void close();
  bool is_open() const { return writer_.is_open(); }
  const std::string& path() const { return writer_.path(); }

  // ---- writer (sampler thread) ----
  store::Db& writer() { return writer_; }
  // The stored row of (app, t); `found` false when there is none.
  store::Status load(Table table, const std::string& app, int64_t t, Row& row, bool& found);
  // Inserts or replaces the row of (r.app, r.t).
  store::Status upsert(Table table, const KeyedRow& r);
  // Every app's rows with from <= t < to, ordered by (app, t).
  store::Status rows_between(Table table, int64_t from, int64_t to, std::vector<KeyedRow>& out);
  // The smallest t >= `t` of any row (nullopt: none).
  store::Status first_at_or_after(Table table, int64_t t, std::optional<int64_t>& out);
  // The largest t of any row (nullopt: the table is empty).
  store::Status last_t(Table table, std::optional<int64_t>& out);
  // Deletes at most `limit` rows with t < before (oldest first); `deleted` = how many.
  store::Status prune(Table table, int64_t before, int limit, int& deleted);

  // ---- reader (any thread) ----
  // Rows of `app` with from <= t < to, oldest first. None while the store is not open.
  store::Status query(Table table, const std::string& app, int64_t from, int64_t to,
                      std::vector<KeyedRow>& out) const;

 private:
  store::Db writer_;
  mutable store::Db reader_;
  mutable std::mutex reader_mu_;
  // Cached writer statements (destroyed before writer_: declared after it).
  store::Stmt upsert_[2];
  store::Stmt load_[2];
};

}  // namespace ferry::daemon::history
