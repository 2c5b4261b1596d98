// Typed access to the certificate tables of ferry.db (schema: store/migrations.cpp): ACME
// accounts, the current certificate of each app, and the ACME order history.
//
// Ownership: CertStore borrows the Db (normally from open_store) and must not outlive it.
// Records are plain values the caller owns; PEM strings are copied in and out.
//
// Threads: CertStore is NOT thread-safe, like the Db under it. That is fine by design: the
// store is written only by the control plane's single store thread (the ACME client and the
// certificate loader post their writes there), and the data plane never reads SQLite — it
// gets certificates as immutable snapshots built from load_certificates(). Other processes
// (a second ferryd, the sqlite3 CLI) are handled by SQLite's file locks and the busy timeout.
//
// Errors: every call returns a Status (store/sqlite.h). "Not found" is not an error: the
// load_* calls then succeed with an empty optional. Each write is one statement, hence atomic.
// Times are unix seconds chosen by the caller (the store never reads the clock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite.h"

namespace ferry::store {

struct AcmeAccount {
  int64_t id = 0;             // assigned by the store; ignored by save_account
  std::string directory_url;  // the CA's directory; the key of this record
  std::string account_url;    // the account URL ("kid") the CA returned
  std::string key_pem;        // account private key
  int64_t created_at = 0;
};

enum class CertSource { acme, file };
std::string_view to_string(CertSource source);  // "acme" | "file"

struct CertificateRecord {
  int64_t id = 0;                  // assigned by the store; ignored by upsert_certificate
  std::string name;                // the app name; the key of this record
  CertSource source = CertSource::acme;
  std::vector<std::string> hosts;  // DNS names (and wildcards) the certificate covers
  std::string chain_pem;           // leaf first, then intermediates
  std::string key_pem;
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::string issuer;
  int64_t updated_at = 0;
};

struct AcmeOrder {
  int64_t id = 0;  // assigned by record_order
  std::string certificate_name;
  std::vector<std::string> hosts;
  std::string status;     // RFC 8555 §7.1.6: pending | ready | processing | valid | invalid
  std::string order_url;  // "" until the CA created the order
  std::string error;      // "" unless the order failed
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

class CertStore {
 public:
  explicit CertStore(Db& db) : db_(db) {}

  // Inserts, or replaces the account for the same directory_url.
  Status save_account(const AcmeAccount& account);
  Status load_account(std::string_view directory_url, std::optional<AcmeAccount>& out);

  // Inserts, or replaces every column of the row with the same name in one statement: a
  // reader (or a crash) sees the old certificate or the new one, never a mix of the two.
  Status upsert_certificate(const CertificateRecord& record);
  // All certificates, ordered by name.
  Status load_certificates(std::vector<CertificateRecord>& out);
  Status load_certificate(std::string_view name, std::optional<CertificateRecord>& out);
  // Removing a certificate that does not exist succeeds.
  Status delete_certificate(std::string_view name);

  // Inserts a new order (its id is ignored) and returns the id assigned.
  Status record_order(const AcmeOrder& order, int64_t& id);
  // Updates status, order_url, error and updated_at of the order with order.id; fails with
  // code SQLITE_NOTFOUND when there is no such order.
  Status update_order(const AcmeOrder& order);
  // The `limit` most recently recorded orders, newest first.
  Status recent_orders(int limit, std::vector<AcmeOrder>& out);
  // The most recently recorded order for one certificate (to resume it after a restart).
  Status latest_order(std::string_view certificate_name, std::optional<AcmeOrder>& out);

 private:
  Db& db_;
};

}  // namespace ferry::store
