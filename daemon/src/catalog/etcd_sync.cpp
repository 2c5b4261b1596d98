#include "catalog/etcd_sync.h"

#include <fstream>
#include <set>
#include <sstream>

#include "catalog/etcd_wire.h"
#include "ferry/util/number.h"
#include "services/logging.h"

namespace ferry::daemon::catalog {

namespace {

constexpr size_t kMaxTxnOps = 128;  // etcd's default --max-txn-ops
constexpr size_t kWrittenKept = 4096;  // (version, revision) pairs for version_at
constexpr std::chrono::milliseconds kQuietWatch{60'000};  // then resumed from the last revision
constexpr std::chrono::milliseconds kMinBackoff{200}, kMaxBackoff{2'000};

// The password file's content without its last newline; false with `error`.
bool read_password(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error = "catalog: cannot read etcd password-file " + path, false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  if (!out.empty() && out.back() == '\n') out.pop_back();
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return true;
}

}  // namespace

EtcdSync::EtcdSync(const config::Catalog& cfg, std::string node, EtcdSink& sink)
    : cfg_(cfg), node_(std::move(node)), sink_(sink) {
  std::string password;
  if (!cfg_.user.empty()) read_password(cfg_.password_file, password, password_error_);
  keeper_http_ = std::make_unique<EtcdHttp>(cfg_, password);
  watcher_http_ = std::make_unique<EtcdHttp>(cfg_, password);
  keeper_thread_ = std::thread([this] { keeper(); });
  watcher_thread_ = std::thread([this] { watcher(); });
}

EtcdSync::~EtcdSync() { stop(); }

void EtcdSync::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  keeper_http_->cancel(true);
  watcher_http_->cancel(true);
  if (keeper_thread_.joinable()) keeper_thread_.join();
  if (watcher_thread_.joinable()) watcher_thread_.join();
}

void EtcdSync::changed(const std::string& app, const std::string& id, std::optional<std::string> line, uint64_t version) {
  {
    std::lock_guard lock(mu_);
    pending_[app + "/" + id] = std::move(line);
    pending_version_ = std::max(pending_version_, version);
  }
  cv_.notify_all();
}

void EtcdSync::applied(int64_t revision) {
  {
    std::lock_guard lock(mu_);
    if (revision <= applied_) return;
    applied_ = revision;
  }
  cv_.notify_all();
}

uint64_t EtcdSync::version_at(int64_t revision) const {
  std::lock_guard lock(mu_);
  uint64_t v = 0;
  for (const auto& [version, rev] : written_) {
    if (rev > revision) break;
    v = version;
  }
  return v;
}

void EtcdSync::wrote(uint64_t version, int64_t revision) {
  std::lock_guard lock(mu_);
  if (!written_.empty() && written_.back().first >= version) return;
  written_.emplace_back(version, revision);
  while (written_.size() > kWrittenKept) written_.pop_front();
}

EtcdSync::Status EtcdSync::status() const {
  std::lock_guard lock(mu_);
  return Status{lease_held_, watcher_http_->endpoint(), errors_};
}

bool EtcdSync::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stop_; });
}

void EtcdSync::failed(const std::string& error) {
  uint64_t n = 0;
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    n = ++errors_;
  }
  // The first, then every 100th: etcd being down is reported by the catalog's health, not a flood.
  if (n == 1 || n % 100 == 0) logger().warning("catalog: " + error + " (" + std::to_string(n) + " etcd errors so far)");
}

namespace {

// Sends `ops` in transactions of at most kMaxTxnOps; `revision` = the last one's. False with
// `error` at the first failure.
bool send_ops(EtcdHttp& http, const std::vector<etcd::Op>& ops, int64_t lease, int64_t& revision, std::string& error) {
  for (size_t i = 0; i < ops.size(); i += kMaxTxnOps) {
    std::vector<etcd::Op> chunk(ops.begin() + static_cast<std::ptrdiff_t>(i),
                                ops.begin() + static_cast<std::ptrdiff_t>(std::min(ops.size(), i + kMaxTxnOps)));
    EtcdHttp::Reply r;
    if (!http.call("/v3/kv/txn", etcd::txn_body(chunk, lease), r)) return error = r.error, false;
    if (!etcd::parse_txn(r.body, revision, error)) return false;
  }
  return true;
}

}  // namespace

// A new lease (or a failure before): every registered instance is written bound to it, and
// this node's keys that name no registered instance (removed while etcd was away) go.
bool EtcdSync::write_all(EtcdHttp& http, int64_t lease, std::string& error) {
  int64_t applied = 0;
  {
    std::lock_guard lock(mu_);
    pending_.clear();  // before the snapshot: a change after it is in both, written twice at worst
    applied = applied_;
  }
  const std::string own = cfg_.prefix + node_ + "/";
  std::vector<etcd::Op> ops;
  std::set<std::string> keys;
  uint64_t version = 0;
  for (auto& [app_id, line] : sink_.etcd_local(version)) {
    ops.push_back(etcd::Op{own + app_id, std::move(line), false});
    keys.insert(ops.back().key);
  }
  if (applied > 0) {
    ops.push_back(etcd::Op{etcd::ack_key(cfg_.prefix, node_), std::to_string(applied), false});
    keys.insert(ops.back().key);
  }
  EtcdHttp::Reply r;
  int64_t revision = 0;
  std::vector<etcd::Kv> kvs;
  if (!http.call("/v3/kv/range", etcd::range_body(own, true), r)) return error = r.error, false;
  if (!etcd::parse_range(r.body, revision, kvs, error)) return false;
  for (const auto& kv : kvs)
    if (!keys.count(kv.key)) ops.push_back(etcd::Op{kv.key, {}, true});
  if (!send_ops(http, ops, lease, revision, error)) return false;
  {
    std::lock_guard lock(mu_);
    applied_written_ = applied;
  }
  wrote(version, revision);  // everything up to `version` is in etcd at `revision`
  return true;
}

bool EtcdSync::write_pending(EtcdHttp& http, int64_t lease, std::string& error) {
  std::map<std::string, std::optional<std::string>> batch;
  uint64_t version = 0;
  int64_t applied = 0;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
    version = pending_version_;
    applied = applied_ != applied_written_ ? applied_ : 0;
  }
  if (batch.empty() && applied == 0) return true;
  std::vector<etcd::Op> ops;
  const std::string own = cfg_.prefix + node_ + "/";
  for (auto& [app_id, line] : batch) ops.push_back(etcd::Op{own + app_id, line ? std::move(*line) : std::string(), !line});
  if (applied > 0) ops.push_back(etcd::Op{etcd::ack_key(cfg_.prefix, node_), std::to_string(applied), false});
  int64_t revision = 0;
  if (!send_ops(http, ops, lease, revision, error)) return false;  // the caller writes everything again
  if (applied > 0) {
    std::lock_guard lock(mu_);
    applied_written_ = applied;
  }
  if (!batch.empty()) wrote(version, revision);
  return true;
}

void EtcdSync::keeper() {
  EtcdHttp& http = *keeper_http_;
  const int64_t ttl_s = std::max<int64_t>(2, std::chrono::duration_cast<std::chrono::seconds>(cfg_.lease_ttl).count());
  const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.lease_ttl) / 3;
  int64_t lease = 0;
  bool resync = true;
  auto next_keepalive = std::chrono::steady_clock::now();
  auto backoff = kMinBackoff;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
      lease_held_ = lease != 0;
    }
    std::string error = password_error_;
    bool ok = error.empty();
    EtcdHttp::Reply r;
    if (ok && lease == 0) {
      ok = http.call("/v3/lease/grant", etcd::grant_body(ttl_s), r) && etcd::parse_grant(r.body, lease, error);
      if (ok) {
        resync = true;
        next_keepalive = std::chrono::steady_clock::now() + period;
      }
    }
    if (ok && resync) ok = write_all(http, lease, error), resync = !ok;
    if (ok) ok = write_pending(http, lease, error);
    if (ok && std::chrono::steady_clock::now() >= next_keepalive) {
      int64_t ttl = 0;
      ok = http.call("/v3/lease/keepalive", etcd::keepalive_body(lease), r) && etcd::parse_keepalive(r.body, ttl, error);
      if (ok && ttl <= 0) {  // gone (etcd was away longer than the TTL): a new one, everything again
        logger().warning("catalog: etcd lease expired; registering this node's instances again");
        lease = 0;
        continue;
      }
      if (ok) next_keepalive = std::chrono::steady_clock::now() + period;
    }
    if (!ok) {
      if (error.empty()) error = r.error;
      if (error.find("lease not found") != std::string::npos) lease = 0;
      resync = true;
      failed("etcd (keeping this node's lease): " + error);
      watcher_http_->cancel(false);  // the watcher tries again too (perhaps another endpoint)
      if (!sleep_for(backoff)) break;
      backoff = std::min(kMaxBackoff, backoff * 2);
      continue;
    }
    backoff = kMinBackoff;
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, next_keepalive, [this] { return stop_ || !pending_.empty() || applied_ != applied_written_; });
  }
}

void EtcdSync::watcher() {
  EtcdHttp& http = *watcher_http_;
  int64_t rev = 0;  // the last revision applied; 0 = range first
  auto backoff = kMinBackoff;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    std::string error = password_error_;
    if (error.empty() && rev == 0) {
      EtcdHttp::Reply r;
      int64_t revision = 0;
      std::vector<etcd::Kv> kvs;
      if (http.call("/v3/kv/range", etcd::range_body(cfg_.prefix), r) && etcd::parse_range(r.body, revision, kvs, error)) {
        std::vector<EtcdSink::Entry> entries;
        std::map<std::string, int64_t> acks;
        std::string node, app, id;
        for (auto& kv : kvs) {
          int64_t acked = 0;
          if (etcd::ack_key_node(cfg_.prefix, kv.key, node)) {
            if (node != node_ && util::parse_whole(kv.value, acked) && acked > 0) acks[node] = acked;
          } else if (etcd::split_key(cfg_.prefix, kv.key, node, app, id) && node != node_) {
            entries.push_back(EtcdSink::Entry{node, std::move(kv.value)});
          }
        }
        sink_.etcd_snapshot(std::move(entries), std::move(acks), revision);
        sink_.etcd_health(false, "");
        rev = revision;
        backoff = kMinBackoff;
      } else if (error.empty()) {
        error = r.error;
      }
    }
    if (!error.empty()) {
      sink_.etcd_health(true, error);
      failed("etcd (reading the catalog): " + error);
      if (!sleep_for(backoff)) break;
      backoff = std::min(kMaxBackoff, backoff * 2);
      continue;
    }
    const EtcdHttp::StreamEnd end = http.stream(
        "/v3/watch", etcd::watch_body(cfg_.prefix, rev + 1), kQuietWatch,
        [&](std::string_view line) {
          etcd::WatchMessage m;
          std::string why;
          if (!etcd::parse_watch(line, m, why) || m.canceled) {
            if (why.empty()) why = "watch cancelled" + (m.compact_revision ? " (compacted at revision " +
                                   std::to_string(m.compact_revision) + ")" : ": " + m.cancel_reason);
            failed("etcd (watching the catalog): " + why);
            return false;
          }
          std::string node, app, id;
          for (auto& ev : m.events) {
            rev = std::max(rev, ev.mod_revision);
            if (etcd::ack_key_node(cfg_.prefix, ev.key, node)) {
              int64_t acked = 0;
              if (node != node_) sink_.etcd_ack(node, !ev.remove && util::parse_whole(ev.value, acked) && acked > 0 ? acked : 0);
              continue;
            }
            if (!etcd::split_key(cfg_.prefix, ev.key, node, app, id) || node == node_) continue;
            sink_.etcd_event(node, app, id, ev.remove ? std::nullopt : std::optional<std::string>(std::move(ev.value)),
                             ev.mod_revision);
          }
          return true;
        },
        error);
    if (end == EtcdHttp::StreamEnd::timed_out) continue;  // quiet: resume from `rev`
    rev = 0;  // a closed, failed, interrupted or cancelled watch: a full picture again
    if (end == EtcdHttp::StreamEnd::failed || end == EtcdHttp::StreamEnd::closed) {
      sink_.etcd_health(true, error.empty() ? "the watch ended" : error);
      if (!error.empty()) failed("etcd (watching the catalog): " + error);
      if (!sleep_for(backoff)) break;
      backoff = std::min(kMaxBackoff, backoff * 2);
    }
  }
}

}  // namespace ferry::daemon::catalog
