#include "store/cert_store.h"

#include <sqlite3.h>

#include "store/hosts_json.h"

namespace ferry::store {
namespace {

constexpr std::string_view kCertColumns =
    "id, name, source, hosts, chain_pem, key_pem, not_before, not_after, issuer, updated_at";
constexpr std::string_view kOrderColumns =
    "id, certificate_name, hosts, status, order_url, error, created_at, updated_at";

std::string select_from(std::string_view columns, std::string_view rest) {
  return "SELECT " + std::string(columns) + " " + std::string(rest);
}

AcmeAccount read_account(const Stmt& st) {
  AcmeAccount a;
  a.id = st.column_int64(0);
  a.directory_url = st.column_text(1);
  a.account_url = st.column_text(2);
  a.key_pem = st.column_text(3);
  a.created_at = st.column_int64(4);
  return a;
}

// Columns in kCertColumns order.
Status read_certificate(const Stmt& st, HostsDecoder& hosts, CertificateRecord& c) {
  c.id = st.column_int64(0);
  c.name = st.column_text(1);
  c.source = st.column_text(2) == "file" ? CertSource::file : CertSource::acme;  // CHECKed column
  c.chain_pem = st.column_text(4);
  c.key_pem = st.column_text(5);
  c.not_before = st.column_int64(6);
  c.not_after = st.column_int64(7);
  c.issuer = st.column_text(8);
  c.updated_at = st.column_int64(9);
  return hosts.decode(st.column_text(3), c.hosts);
}

// Columns in kOrderColumns order.
Status read_order(const Stmt& st, HostsDecoder& hosts, AcmeOrder& o) {
  o.id = st.column_int64(0);
  o.certificate_name = st.column_text(1);
  o.status = st.column_text(3);
  o.order_url = st.column_text(4);
  o.error = st.column_text(5);
  o.created_at = st.column_int64(6);
  o.updated_at = st.column_int64(7);
  return hosts.decode(st.column_text(2), o.hosts);
}

// Steps `st` to the end, reading each row with `read` into a new element of `out`.
template <class Record, class Read>
Status collect(Stmt& st, Read read, std::vector<Record>& out) {
  std::vector<Record> rows;
  bool row = false;
  Status s = st.step(row);
  for (; s && row; s = st.step(row)) {
    rows.emplace_back();
    s = read(st, rows.back());
    if (!s) return s;
  }
  if (s) out = std::move(rows);
  return s;
}

// Steps `st` once: `out` is the row read with `read`, or empty when there is none.
template <class Record, class Read>
Status collect_one(Stmt& st, Read read, std::optional<Record>& out) {
  bool row = false;
  Status s = st.step(row);
  if (!s || !row) {
    if (s) out.reset();
    return s;
  }
  Record r;
  s = read(st, r);
  if (s) out = std::move(r);
  return s;
}

}  // namespace

std::string_view to_string(CertSource source) { return source == CertSource::file ? "file" : "acme"; }

// ---- accounts ----

Status CertStore::save_account(const AcmeAccount& a) {
  Stmt st;
  Status s = db_.prepare(
      "INSERT INTO acme_account (directory_url, account_url, key_pem, created_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (directory_url) DO UPDATE SET account_url = excluded.account_url, "
      "key_pem = excluded.key_pem, created_at = excluded.created_at",
      st);
  if (!s) return s;
  return st.bind(1, a.directory_url).bind(2, a.account_url).bind(3, a.key_pem).bind(4, a.created_at).run();
}

Status CertStore::load_account(std::string_view directory_url, std::optional<AcmeAccount>& out) {
  Stmt st;
  bool row = false;
  Status s = db_.prepare(
      "SELECT id, directory_url, account_url, key_pem, created_at FROM acme_account WHERE directory_url = ?1",
      st);
  if (s) s = st.bind(1, directory_url).step(row);
  if (s) out = row ? std::optional(read_account(st)) : std::nullopt;
  return s;
}

// ---- certificates ----

Status CertStore::upsert_certificate(const CertificateRecord& c) {
  Stmt st;
  Status s = db_.prepare(
      "INSERT INTO certificates (name, source, hosts, chain_pem, key_pem, not_before, not_after, issuer, "
      "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
      "ON CONFLICT (name) DO UPDATE SET source = excluded.source, hosts = excluded.hosts, "
      "chain_pem = excluded.chain_pem, key_pem = excluded.key_pem, not_before = excluded.not_before, "
      "not_after = excluded.not_after, issuer = excluded.issuer, updated_at = excluded.updated_at",
      st);
  if (!s) return s;
  st.bind(1, c.name).bind(2, to_string(c.source)).bind(3, encode_hosts(c.hosts));
  st.bind(4, c.chain_pem).bind(5, c.key_pem).bind(6, c.not_before).bind(7, c.not_after);
  return st.bind(8, c.issuer).bind(9, c.updated_at).run();
}

Status CertStore::load_certificates(std::vector<CertificateRecord>& out) {
  HostsDecoder hosts;
  Stmt st;
  Status s = hosts.prepare(db_);
  if (s) s = db_.prepare(select_from(kCertColumns, "FROM certificates ORDER BY name"), st);
  if (!s) return s;
  auto read = [&hosts](const Stmt& row, CertificateRecord& c) { return read_certificate(row, hosts, c); };
  return collect(st, read, out);
}

Status CertStore::load_certificate(std::string_view name, std::optional<CertificateRecord>& out) {
  HostsDecoder hosts;
  Stmt st;
  Status s = hosts.prepare(db_);
  if (s) s = db_.prepare(select_from(kCertColumns, "FROM certificates WHERE name = ?1"), st);
  if (!s) return s;
  st.bind(1, name);
  auto read = [&hosts](const Stmt& row, CertificateRecord& c) { return read_certificate(row, hosts, c); };
  return collect_one(st, read, out);
}

Status CertStore::delete_certificate(std::string_view name) {
  Stmt st;
  Status s = db_.prepare("DELETE FROM certificates WHERE name = ?1", st);
  return s ? st.bind(1, name).run() : s;
}

// ---- orders ----

Status CertStore::record_order(const AcmeOrder& o, int64_t& id) {
  Stmt st;
  Status s = db_.prepare(
      "INSERT INTO acme_orders (certificate_name, hosts, status, order_url, error, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
      st);
  if (!s) return s;
  st.bind(1, o.certificate_name).bind(2, encode_hosts(o.hosts)).bind(3, o.status).bind(4, o.order_url);
  s = st.bind(5, o.error).bind(6, o.created_at).bind(7, o.updated_at).run();
  if (s) id = db_.last_insert_rowid();
  return s;
}

Status CertStore::update_order(const AcmeOrder& o) {
  Stmt st;
  Status s = db_.prepare(
      "UPDATE acme_orders SET status = ?2, order_url = ?3, error = ?4, updated_at = ?5 WHERE id = ?1", st);
  if (s) s = st.bind(1, o.id).bind(2, o.status).bind(3, o.order_url).bind(4, o.error).bind(5, o.updated_at).run();
  if (s && db_.changes() == 0)
    return Status::failure("update_order (" + db_.path() + "): no acme order with id " + std::to_string(o.id),
                           SQLITE_NOTFOUND);
  return s;
}

Status CertStore::recent_orders(int limit, std::vector<AcmeOrder>& out) {
  HostsDecoder hosts;
  Stmt st;
  Status s = hosts.prepare(db_);
  if (s) s = db_.prepare(select_from(kOrderColumns, "FROM acme_orders ORDER BY id DESC LIMIT ?1"), st);
  if (!s) return s;
  st.bind(1, static_cast<int64_t>(limit));
  auto read = [&hosts](const Stmt& row, AcmeOrder& o) { return read_order(row, hosts, o); };
  return collect(st, read, out);
}

Status CertStore::latest_order(std::string_view certificate_name, std::optional<AcmeOrder>& out) {
  HostsDecoder hosts;
  Stmt st;
  Status s = hosts.prepare(db_);
  if (s)
    s = db_.prepare(select_from(kOrderColumns, "FROM acme_orders WHERE certificate_name = ?1 ORDER BY id DESC LIMIT 1"),
                    st);
  if (!s) return s;
  st.bind(1, certificate_name);
  auto read = [&hosts](const Stmt& row, AcmeOrder& o) { return read_order(row, hosts, o); };
  return collect_one(st, read, out);
}

}  // namespace ferry::store
