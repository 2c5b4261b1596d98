#include "history/history_store.h"

#include <sqlite3.h>

#include "store/open.h"

namespace ferry::daemon::history {
namespace {

const char* name_of(Table t) { return t == Table::minute ? "history_minute" : "history_hour"; }
int idx(Table t) { return t == Table::minute ? 0 : 1; }

constexpr const char* kColumns =
    "app, t, s_none, s1xx, s2xx, s3xx, s4xx, s5xx, bytes_in, bytes_out, rejected, peak_inflight, buckets";

int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t u64(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }

// Reads the columns of kColumns from `st` (app at column 0). A malformed buckets text reads
// as an empty histogram (the counts stay).
KeyedRow read_row(const store::Stmt& st) {
  KeyedRow r;
  r.app = st.column_text(0);
  r.t = st.column_int64(1);
  for (int c = 0; c < proxy::kStatusClasses; ++c) r.row.by_class[c] = u64(st.column_int64(2 + c));
  r.row.bytes_in = u64(st.column_int64(8));
  r.row.bytes_out = u64(st.column_int64(9));
  r.row.rejected = u64(st.column_int64(10));
  r.row.peak_inflight = static_cast<int>(st.column_int64(11));
  if (auto b = decode_buckets(st.column_text(12))) r.row.buckets = *b;
  return r;
}

store::Status read_rows(store::Stmt& st, std::vector<KeyedRow>& out) {
  for (;;) {
    bool row = false;
    store::Status s = st.step(row);
    if (!s || !row) return s;
    out.push_back(read_row(st));
  }
}

store::Status optional_int(store::Db& db, const std::string& sql, int64_t bind, bool with_bind,
                           std::optional<int64_t>& out) {
  out.reset();
  store::Stmt st;
  store::Status s = db.prepare(sql, st);
  if (s && with_bind) st.bind(1, bind);
  bool row = false;
  if (s) s = st.step(row);
  if (s && row && !st.column_is_null(0)) out = st.column_int64(0);
  return s;
}

}  // namespace

store::Status HistoryStore::open(const std::string& state_dir) {
  close();
  store::OpenReport report;
  store::Status s = store::open_store(state_dir, writer_, report);
  if (!s) return s;
  {
    std::lock_guard<std::mutex> lk(reader_mu_);  // query() may run on another thread
    s = reader_.open(report.db_path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW);
    if (s) s = reader_.set_busy_timeout(5000);
  }
  for (Table t : {Table::minute, Table::hour}) {
    const std::string table = name_of(t);
    if (s)
      s = writer_.prepare("INSERT INTO " + table + " (" + kColumns +
                              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                              " ON CONFLICT (app, t) DO UPDATE SET s_none = ?3, s1xx = ?4, s2xx = ?5,"
                              " s3xx = ?6, s4xx = ?7, s5xx = ?8, bytes_in = ?9, bytes_out = ?10,"
                              " rejected = ?11, peak_inflight = ?12, buckets = ?13",
                          upsert_[idx(t)]);
    if (s)
      s = writer_.prepare("SELECT " + std::string(kColumns) + " FROM " + table + " WHERE app = ?1 AND t = ?2",
                          load_[idx(t)]);
  }
  if (!s) close();
  return s;
}

void HistoryStore::close() {
  for (auto& st : upsert_) st = store::Stmt();
  for (auto& st : load_) st = store::Stmt();
  std::lock_guard<std::mutex> lk(reader_mu_);
  reader_.close();
  writer_.close();
}

store::Status HistoryStore::load(Table table, const std::string& app, int64_t t, Row& row, bool& found) {
  found = false;
  store::Stmt& st = load_[idx(table)];
  st.reset();
  st.bind(1, app).bind(2, t);
  bool has = false;
  store::Status s = st.step(has);
  if (s && has) {
    row = read_row(st).row;
    found = true;
  }
  st.reset();
  return s;
}

store::Status HistoryStore::upsert(Table table, const KeyedRow& r) {
  store::Stmt& st = upsert_[idx(table)];
  st.reset();
  st.bind(1, r.app).bind(2, r.t);
  for (int c = 0; c < proxy::kStatusClasses; ++c) st.bind(3 + c, i64(r.row.by_class[c]));
  st.bind(9, i64(r.row.bytes_in)).bind(10, i64(r.row.bytes_out)).bind(11, i64(r.row.rejected));
  st.bind(12, static_cast<int64_t>(r.row.peak_inflight)).bind(13, encode_buckets(r.row.buckets));
  store::Status s = st.run();
  st.reset();
  return s;
}

store::Status HistoryStore::rows_between(Table table, int64_t from, int64_t to, std::vector<KeyedRow>& out) {
  store::Stmt st;
  store::Status s = writer_.prepare("SELECT " + std::string(kColumns) + " FROM " + name_of(table) +
                                        " WHERE t >= ?1 AND t < ?2 ORDER BY app, t",
                                    st);
  if (s) st.bind(1, from).bind(2, to);
  if (s) s = read_rows(st, out);
  return s;
}

store::Status HistoryStore::first_at_or_after(Table table, int64_t t, std::optional<int64_t>& out) {
  return optional_int(writer_, std::string("SELECT min(t) FROM ") + name_of(table) + " WHERE t >= ?1", t, true, out);
}

store::Status HistoryStore::last_t(Table table, std::optional<int64_t>& out) {
  return optional_int(writer_, std::string("SELECT max(t) FROM ") + name_of(table), 0, false, out);
}

store::Status HistoryStore::prune(Table table, int64_t before, int limit, int& deleted) {
  deleted = 0;
  const std::string name = name_of(table);
  store::Stmt st;
  store::Status s = writer_.prepare("DELETE FROM " + name + " WHERE id IN (SELECT id FROM " + name +
                                        " WHERE t < ?1 ORDER BY t LIMIT ?2)",
                                    st);
  if (s) s = st.bind(1, before).bind(2, static_cast<int64_t>(limit)).run();
  if (s) deleted = writer_.changes();
  return s;
}

store::Status HistoryStore::query(Table table, const std::string& app, int64_t from, int64_t to,
                                  std::vector<KeyedRow>& out) const {
  std::lock_guard<std::mutex> lk(reader_mu_);
  if (!reader_.is_open()) return store::Status::success();  // not opened (history off): no rows
  store::Stmt st;
  store::Status s = reader_.prepare("SELECT " + std::string(kColumns) + " FROM " + name_of(table) +
                                        " WHERE app = ?1 AND t >= ?2 AND t < ?3 ORDER BY t",
                                    st);
  if (s) st.bind(1, app).bind(2, from).bind(3, to);
  if (s) s = read_rows(st, out);
  return s;
}

}  // namespace ferry::daemon::history
