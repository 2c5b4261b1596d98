#include "catalog/catalog.h"

#include <openssl/rand.h>

#include <unistd.h>

#include <chrono>
#include <tuple>

#include "catalog/clock.h"
#include "store/open.h"

namespace ferry::daemon::catalog {

namespace {

constexpr size_t kRecentChanges = 4096;  // deltas reach back this far; older readers get a full snapshot
constexpr int64_t kMaxPublishPause = 200;  // ms: the pacing never delays a change by more (docs/CATALOG.md)


void observe(proxy::Histogram& h, double seconds) {
  if (seconds < 0) seconds = 0;
  for (size_t i = 0; i < proxy::kDurationBuckets.size(); ++i)
    if (seconds <= proxy::kDurationBuckets[i]) ++h.counts[i];
  ++h.count;
  h.sum += seconds;
}

store::Status set_meta(store::Db& db, const char* key, uint64_t value) {
  store::Stmt st;
  store::Status s = db.prepare(
      "INSERT INTO catalog_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", st);
  if (s) s = st.bind(1, std::string_view(key)).bind(2, static_cast<int64_t>(value)).run();
  return s;
}

bool get_meta(store::Db& db, const char* key, uint64_t& value) {
  std::string sql = std::string("SELECT value FROM catalog_meta WHERE key = '") + key + "'";
  int64_t v = 0;
  if (!db.query_int(sql, v)) return false;
  value = static_cast<uint64_t>(v);
  return true;
}

}  // namespace

Catalog::Catalog(proxy::Engine& engine) : engine_(engine), autoscale_(std::make_unique<Autoscaler>(engine, *this)) {}

Catalog::~Catalog() { stop(); }

namespace {

// Whether `cfg` has a backend that takes catalog instances.
bool wants_catalog(const config::Config& cfg) {
  for (const auto& be : cfg.backends)
    if (be.catalog) return true;
  return !cfg.catalog.instances_dir.empty();
}

}  // namespace

bool Catalog::open_locked(std::string& error) {
  if (open_) return true;
  store::OpenReport report;
  store::Status s = store::open_store(cfg_->global.state_dir, db_, report);
  if (!s) {
    error = "catalog: " + s.message;
    return false;
  }
  if (!get_meta(db_, "epoch", epoch_) || epoch_ == 0) {
    uint64_t e = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&e), sizeof e) != 1) e = static_cast<uint64_t>(unix_ms());
    epoch_ = (e & ((uint64_t(1) << 53) - 1)) | 1;  // nonzero, exact as a JSON number
    version_ = 0;
    s = set_meta(db_, "epoch", epoch_);
    if (s) s = set_meta(db_, "version", 0);
    if (!s) {
      error = "catalog: " + s.message;
      db_.close();
      return false;
    }
  }
  get_meta(db_, "version", version_);
  store::Stmt st;
  s = db_.prepare("SELECT record FROM catalog_instances ORDER BY app, id", st);
  bool row = false;
  while (s && (s = st.step(row)) && row) {
    Record r;
    bool removal = false;
    std::string err;
    std::string line = st.column_text(0);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (!decode(line, r, removal, err) || removal) continue;  // cannot happen unless edited by hand
    local_[{r.inst.app, r.inst.id}] = std::move(r);
  }
  if (!s) {
    error = "catalog: " + s.message;
    db_.close();
    local_.clear();
    return false;
  }
  open_ = true;
  publish_feed_locked();
  dirty_ = true;
  return true;
}

bool Catalog::start(std::shared_ptr<const config::Config> cfg, std::string& error) {
  std::vector<proxy::Instance> instances;
  bool ok = true;
  {
    std::lock_guard lock(mu_);
    cfg_ = cfg;
    stop_ = false;
    // The store (and its file) only once a backend takes catalog instances, or when this node
    // registered instances before (they are served to the peers whatever this config says).
    const bool exists = ::access((cfg->global.state_dir + "/" + store::kDatabaseFileName).c_str(), F_OK) == 0;
    if (wants_catalog(*cfg) || exists) ok = open_locked(error);
    instances = merged_locked();
    dirty_ = false;
  }
  engine_.set_catalog_sink([this](const std::string& node, std::string body, bool reset) {
    return on_feed(node, std::move(body), reset);
  });
  engine_.set_catalog_acks(
      [this](const std::string& node, uint64_t epoch, uint64_t since) { on_ack(node, epoch, since); },
      [this](const std::string& node, uint64_t epoch) { return routed_version(node, epoch); });
  engine_.set_autostart([this](const std::string& app) { autoscale_->request_start(app); });
  engine_.set_instances(std::move(instances));
  thread_ = std::thread([this] { run(); });
  apply_backend(*cfg);
  autoscale_->configure(cfg);
  return ok;
}

std::string Catalog::configure(std::shared_ptr<const config::Config> cfg) {
  std::string error;
  {
    std::lock_guard lock(mu_);
    cfg_ = cfg;
    if (!open_ && wants_catalog(*cfg_)) open_locked(error);
    dirty_ = true;  // a renamed node changes what "local" means for the engine
    cv_.notify_all();
  }
  apply_backend(*cfg);
  autoscale_->configure(cfg);
  return error;
}

namespace {

bool same_etcd(const config::Catalog& a, const config::Catalog& b) {
  return a.etcd == b.etcd && a.prefix == b.prefix && a.lease_ttl == b.lease_ttl && a.ca_file == b.ca_file &&
         a.cert == b.cert && a.key == b.key && a.user == b.user && a.password_file == b.password_file;
}

}  // namespace

void Catalog::apply_backend(const config::Config& cfg) {
  if (files_dir_ != cfg.catalog.instances_dir) {
    files_.reset();  // joins its thread
    files_dir_ = cfg.catalog.instances_dir;
    if (!files_dir_.empty()) files_ = std::make_unique<FileProvider>(*this, files_dir_);
  }
  const bool want = cfg.catalog.etcd_backend();
  if (want && etcd_cfg_ && etcd_cfg_->second == cfg.global.node && same_etcd(etcd_cfg_->first, cfg.catalog)) return;
  if (!want && !etcd_cfg_) return;
  std::unique_ptr<EtcdSync> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(etcd_);
    // Another back end (or another etcd): the other nodes' instances come from it from now on.
    peers_.clear();
    inbox_.clear();
    etcd_stale_ = want;  // until the first range
    etcd_error_.clear();
    etcd_last_sync_ms_ = 0;
    etcd_seen_ = 0;
    etcd_acks_.clear();
    ++etcd_generation_;
    dirty_ = true;
  }
  old.reset();  // joins its threads (they may be calling into the catalog: mu_ is not held)
  etcd_cfg_.reset();
  if (!want) return;
  etcd_cfg_.emplace(cfg.catalog, cfg.global.node);
  // Created under mu_: no change can fall between its first snapshot of this node's instances
  // (its threads wait for mu_) and change_locked() forwarding changes to it.
  std::lock_guard lock(mu_);
  etcd_ = std::make_unique<EtcdSync>(cfg.catalog, cfg.global.node, *this);
}

void Catalog::stop() {
  autoscale_->stop();  // its calls change instances: first
  files_.reset();
  files_dir_.clear();
  std::unique_ptr<EtcdSync> etcd;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    etcd = std::move(etcd_);
  }
  etcd.reset();
  etcd_cfg_.reset();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string Catalog::check_app_locked(const std::string& app) const {
  if (!cfg_) return "no configuration";
  auto it = cfg_->app_index.find(app);
  if (it == cfg_->app_index.end()) return "no app '" + app + "' in the configuration";
  const config::App& a = cfg_->apps[it->second];
  if (a.backend < 0 || !cfg_->backends[a.backend].catalog)
    return "app '" + app + "': its backend '" + (a.backend < 0 ? std::string() : cfg_->backends[a.backend].name) +
           "' does not take catalog instances (add 'instances catalog' to it)";
  return {};
}

Catalog::Result Catalog::put(Record rec, Record& out, std::string& error) {
  std::lock_guard lock(mu_);
  if (!open_) return error = "the catalog is not available (its store did not open)", Result::unavailable;
  error = check(rec);
  if (error.empty()) error = check_app_locked(rec.inst.app);
  if (!error.empty()) return Result::invalid;
  return change_locked(std::move(rec), false, out, error);
}

Catalog::Result Catalog::set_state(const std::string& app, const std::string& id, proxy::InstanceState state,
                                   Record& out, std::string& error) {
  std::lock_guard lock(mu_);
  if (!open_) return error = "the catalog is not available (its store did not open)", Result::unavailable;
  auto it = local_.find({app, id});
  if (it == local_.end()) return error = "no instance " + app + "/" + id + " on this node", Result::not_found;
  Record rec = it->second;
  rec.inst.state = state;
  return change_locked(std::move(rec), false, out, error);
}

Catalog::Result Catalog::remove(const std::string& app, const std::string& id, Record& out, std::string& error) {
  std::lock_guard lock(mu_);
  if (!open_) return error = "the catalog is not available (its store did not open)", Result::unavailable;
  auto it = local_.find({app, id});
  if (it == local_.end()) return error = "no instance " + app + "/" + id + " on this node", Result::not_found;
  return change_locked(it->second, true, out, error);
}

Catalog::Result Catalog::change_locked(Record rec, bool removal, Record& out, std::string& error) {
  rec.inst.node.clear();
  rec.version = version_ + 1;
  rec.changed_ms = unix_ms();
  store::Transaction tx(db_);
  store::Status s = tx.begin();
  store::Stmt st;
  if (s && removal) {
    s = db_.prepare("DELETE FROM catalog_instances WHERE app = ? AND id = ?", st);
    if (s) s = st.bind(1, rec.inst.app).bind(2, rec.inst.id).run();
  } else if (s) {
    s = db_.prepare(
        "INSERT INTO catalog_instances (app, id, record, version) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (app, id) DO UPDATE SET record = excluded.record, version = excluded.version",
        st);
    if (s) s = st.bind(1, rec.inst.app).bind(2, rec.inst.id).bind(3, encode(rec)).bind(4, static_cast<int64_t>(rec.version)).run();
  }
  if (s) s = set_meta(db_, "version", rec.version);
  if (s) s = tx.commit();
  if (!s) {
    error = "catalog store: " + s.message;
    return Result::unavailable;
  }
  version_ = rec.version;
  ++changes_;
  recent_.push_back(proxy::CatalogFeed::Change{version_, removal ? encode_removal(rec) : encode(rec)});
  while (recent_.size() > kRecentChanges) recent_.pop_front();
  const auto key = std::make_pair(rec.inst.app, rec.inst.id);
  out = rec;
  if (cfg_) out.inst.node = cfg_->global.node;
  if (etcd_) {
    std::optional<std::string> line;
    if (!removal) line = encode(rec), line->pop_back();
    etcd_->changed(rec.inst.app, rec.inst.id, std::move(line), version_);
  }
  if (removal) local_.erase(key);
  else local_[key] = std::move(rec);
  publish_feed_locked();
  dirty_ = true;
  cv_.notify_all();
  return Result::ok;
}

void Catalog::publish_feed_locked() {
  auto feed = std::make_shared<proxy::CatalogFeed>();
  feed->epoch = epoch_;
  feed->version = version_;
  for (const auto& [key, r] : local_) feed->snapshot += encode(r);
  feed->changes.assign(recent_.begin(), recent_.end());
  engine_.set_catalog_feed(std::move(feed));
}

bool Catalog::on_feed(const std::string& node, std::string body, bool reset) {
  std::lock_guard lock(mu_);
  if (etcd_) return true;  // the peers' instances come from etcd
  Peer& p = peers_[node];
  if (reset) {
    ++p.sync_errors;
    p.stale = true;
    p.epoch = p.version = 0;
    return true;
  }
  proxy::FeedHead head;
  std::string_view rest;
  if (!proxy::parse_feed_head(body, head, rest)) {
    ++p.sync_errors;
    return false;
  }
  if (head.kind == proxy::FeedHead::Kind::delta && (head.epoch != p.epoch || head.from != p.version)) {
    ++p.sync_errors;  // does not continue from what we hold: the follower starts over
    p.epoch = p.version = 0;
    return false;
  }
  if (head.kind == proxy::FeedHead::Kind::same) return true;
  p.epoch = head.epoch;
  p.version = head.version;
  const size_t lines_at = body.size() - rest.size();  // `rest` points into body: its offset survives the move
  inbox_.push_back(Answer{node, std::move(body), head, lines_at});
  cv_.notify_all();
  return true;
}

void Catalog::on_ack(const std::string& node, uint64_t epoch, uint64_t since) {
  std::lock_guard lock(mu_);
  acks_[node] = Ack{epoch, since};
}

uint64_t Catalog::routed_version(const std::string& node, uint64_t epoch) const {
  std::lock_guard lock(mu_);
  auto it = peers_.find(node);
  return it != peers_.end() && it->second.routed_epoch == epoch ? it->second.routed_version : 0;
}

void Catalog::apply_answer_locked(const Answer& a, int64_t now_unix_ms) {
  Peer& p = peers_[a.node];
  const proxy::FeedHead& head = a.head;
  std::string_view rest = std::string_view(a.body).substr(a.lines_at);
  const bool full = head.kind == proxy::FeedHead::Kind::full;
  std::map<std::pair<std::string, std::string>, Record> fresh;
  auto& into = full ? fresh : p.records;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) continue;
    Record r;
    bool removal = false;
    std::string err;
    if (!decode(line, r, removal, err)) {
      ++p.sync_errors;
      continue;
    }
    if (!full) observe(lag_, static_cast<double>(now_unix_ms - r.changed_ms) / 1000.0);
    const auto key = std::make_pair(r.inst.app, r.inst.id);
    if (removal) {
      into.erase(key);
      continue;
    }
    r.inst.node = a.node;  // its node is the peer that served it, whatever the line says
    into[key] = std::move(r);
  }
  if (full) p.records = std::move(fresh);
  p.applied_epoch = head.epoch;
  p.applied_version = head.version;
  p.stale = false;
  p.last_sync_ms = steady_ms();
  dirty_ = true;
}

std::vector<proxy::Instance> Catalog::merged_locked() const {
  std::vector<proxy::Instance> out;
  const std::string self = cfg_ ? cfg_->global.node : std::string();
  for (const auto& [key, r] : local_) {
    out.push_back(r.inst);
    out.back().node = self;
  }
  for (const auto& [node, p] : peers_)
    for (const auto& [key, r] : p.records) out.push_back(r.inst);
  return out;
}

void Catalog::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_ || dirty_ || !inbox_.empty(); });
    if (stop_) break;
    lock.unlock();
    const std::vector<proxy::MeshPeerInfo> mesh = engine_.mesh_peers();
    lock.lock();
    const int64_t now = unix_ms();
    while (!inbox_.empty()) {
      Answer a = std::move(inbox_.front());
      inbox_.pop_front();
      apply_answer_locked(a, now);
    }
    // Peers the mesh no longer has, or that stayed unreachable for `peer-timeout`: their
    // instances go; the follower's next answer from them is a full snapshot. (With etcd a
    // dead node's instances go when its lease expires.)
    for (auto it = peers_.begin(); !etcd_ && it != peers_.end();) {
      const proxy::MeshPeerInfo* info = nullptr;
      for (const auto& m : mesh)
        if (m.name == it->first) info = &m;
      Peer& p = it->second;
      if (info == nullptr) {
        dirty_ = dirty_ || !p.records.empty();
        it = peers_.erase(it);
        continue;
      }
      if (!info->reachable && (!p.records.empty() || p.epoch != 0)) {
        dirty_ = dirty_ || !p.records.empty();
        p.records.clear();
        p.epoch = p.version = 0;
        p.stale = true;
      }
      ++it;
    }
    if (!dirty_) {
      // Nothing to build: every instance event seen so far is routed with (etcd's --wait).
      if (etcd_) etcd_->applied(etcd_seen_);
      continue;
    }
    if (const int64_t wait = next_publish_ms_ - steady_ms(); wait > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stop_; });
      continue;  // what came meanwhile is applied, then published together
    }
    dirty_ = false;
    publishing_ = true;
    const int64_t seen = etcd_seen_;
    const uint64_t generation = etcd_generation_;
    const uint64_t own = version_;
    std::vector<proxy::Instance> instances = merged_locked();
    std::vector<std::tuple<std::string, uint64_t, uint64_t>> applied;
    for (const auto& [node, p] : peers_) applied.emplace_back(node, p.applied_epoch, p.applied_version);
    lock.unlock();
    const int64_t began = steady_ms();
    engine_.set_instances(std::move(instances));
    const int64_t took = steady_ms() - began;
    lock.lock();
    publishing_ = false;
    next_publish_ms_ = began + took + std::min<int64_t>(3 * took, kMaxPublishPause);
    if (etcd_ && generation == etcd_generation_) etcd_->applied(seen);
    routed_self_ = own;
    for (const auto& [node, epoch, version] : applied)
      if (auto it = peers_.find(node); it != peers_.end()) {
        it->second.routed_epoch = epoch;
        it->second.routed_version = version;
      }
  }
}

View Catalog::view(const std::string* app) const {
  const std::vector<proxy::MeshPeerInfo> mesh = engine_.mesh_peers();
  View v;
  for (auto& a : autoscale_->view())
    if (!app || a.app == *app) v.autoscale.push_back(std::move(a));
  std::lock_guard lock(mu_);
  if (etcd_) {
    // Every node with an acknowledgement key (a live lease): our newest version written at or
    // before the revision it routes with.
    for (const auto& [node, revision] : etcd_acks_) v.acks.push_back(AckView{node, true, etcd_->version_at(revision)});
  } else {
    for (const auto& m : mesh) {
      auto it = acks_.find(m.name);
      const bool current = it != acks_.end() && it->second.epoch == epoch_;
      v.acks.push_back(AckView{m.name, m.reachable, current ? it->second.since : 0});
    }
  }
  v.node = cfg_ ? cfg_->global.node : std::string();
  v.backend = etcd_ ? "etcd" : "embedded";
  if (etcd_) {
    v.stale = etcd_stale_;
    v.error = etcd_error_;
    v.endpoint = etcd_->status().endpoint;
    v.last_sync_age_ms = etcd_last_sync_ms_ ? steady_ms() - etcd_last_sync_ms_ : -1;
  }
  v.epoch = epoch_;
  v.version = version_;
  v.routed_version = routed_self_;
  v.pending = dirty_ || publishing_;
  v.lag = lag_;
  v.peers = peer_views_locked();
  for (const auto& [key, r] : local_) {
    if (app && key.first != *app) continue;
    v.records.push_back(r);
    v.records.back().inst.node = v.node;
  }
  for (const auto& [node, p] : peers_)
    for (const auto& [key, r] : p.records)
      if (!app || key.first == *app) v.records.push_back(r);
  return v;
}

std::vector<Record> Catalog::local_records() const {
  std::lock_guard lock(mu_);
  std::vector<Record> out;
  out.reserve(local_.size());
  for (const auto& [key, r] : local_) {
    out.push_back(r);
    out.back().inst.node = cfg_ ? cfg_->global.node : std::string();
  }
  return out;
}

std::map<std::string, int> Catalog::started_by_app() const {
  std::lock_guard lock(mu_);
  std::map<std::string, int> out;
  for (const auto& [key, r] : local_)
    if (r.inst.state == proxy::InstanceState::started) ++out[key.first];
  for (const auto& [node, p] : peers_)
    for (const auto& [key, r] : p.records)
      if (r.inst.state == proxy::InstanceState::started) ++out[key.first];
  return out;
}

std::string Catalog::node() const {
  std::lock_guard lock(mu_);
  return cfg_ ? cfg_->global.node : std::string();
}

std::vector<PeerView> Catalog::peer_views_locked() const {
  std::vector<PeerView> out;
  const int64_t now = steady_ms();
  for (const auto& [node, p] : peers_)
    out.push_back(PeerView{node, p.epoch, p.version, p.routed_epoch == p.epoch ? p.routed_version : 0, p.records.size(),
                           p.last_sync_ms ? now - p.last_sync_ms : -1, p.stale, p.sync_errors});
  return out;
}

Metrics Catalog::metrics() const {
  Metrics m;
  m.autoscale = autoscale_->view();  // its own lock (never taken with mu_)
  std::lock_guard lock(mu_);
  m.etcd = etcd_ != nullptr;
  m.stale = etcd_ && etcd_stale_;
  if (etcd_) m.etcd_errors = etcd_->status().errors;
  m.version = version_;
  m.changes = changes_;
  m.lag = lag_;
  m.peers = peer_views_locked();
  // Counted in place: a scrape copies no record.
  for (const auto& [key, r] : local_) ++m.instances[{state_name(r.inst.state), true}];
  for (const auto& [node, p] : peers_)
    for (const auto& [key, r] : p.records) ++m.instances[{state_name(r.inst.state), false}];
  return m;
}

// --- the etcd back end (EtcdSink) -------------------------------------------------------------

namespace {

// Decodes an etcd value into a record of `node`; false when it is not a valid upsert line.
bool decode_entry(const std::string& node, std::string_view line, Record& r) {
  bool removal = false;
  std::string err;
  if (!decode(line, r, removal, err) || removal) return false;
  r.inst.node = node;
  return true;
}

}  // namespace

void Catalog::etcd_snapshot(std::vector<Entry> entries, std::map<std::string, int64_t> acks, int64_t revision) {
  std::lock_guard lock(mu_);
  etcd_seen_ = std::max(etcd_seen_, revision);
  etcd_acks_ = std::move(acks);
  std::map<std::string, Peer> fresh;
  const int64_t now = steady_ms();
  for (const Entry& e : entries) {
    Peer& p = fresh[e.node];
    p.stale = false;
    p.last_sync_ms = now;
    Record r;
    if (!decode_entry(e.node, e.line, r)) {
      ++p.sync_errors;
      continue;
    }
    auto key = std::make_pair(r.inst.app, r.inst.id);
    p.records[key] = std::move(r);
  }
  for (auto& [node, p] : fresh)
    if (auto old = peers_.find(node); old != peers_.end()) p.sync_errors += old->second.sync_errors;
  peers_ = std::move(fresh);
  etcd_last_sync_ms_ = now;
  dirty_ = true;
  cv_.notify_all();
}

void Catalog::etcd_event(const std::string& node, const std::string& app, const std::string& id,
                         std::optional<std::string> line, int64_t revision) {
  std::lock_guard lock(mu_);
  etcd_seen_ = std::max(etcd_seen_, revision);
  Peer& p = peers_[node];
  p.stale = etcd_stale_;
  p.last_sync_ms = etcd_last_sync_ms_ = steady_ms();
  const auto key = std::make_pair(app, id);
  if (!line) {
    p.records.erase(key);
    if (p.records.empty() && p.sync_errors == 0) peers_.erase(node);
  } else {
    Record r;
    // The key names the instance: a value for another one is refused.
    if (!decode_entry(node, *line, r) || r.inst.app != app || r.inst.id != id) {
      ++p.sync_errors;
      return;  // nothing to build: run()'s next tick (200 ms at most) acknowledges its revision
    }
    observe(lag_, static_cast<double>(unix_ms() - r.changed_ms) / 1000.0);
    p.records[key] = std::move(r);
  }
  dirty_ = true;
  cv_.notify_all();
}

void Catalog::etcd_ack(const std::string& node, int64_t revision) {
  std::lock_guard lock(mu_);
  if (revision > 0) etcd_acks_[node] = revision;
  else etcd_acks_.erase(node);
}

void Catalog::etcd_health(bool stale, const std::string& error) {
  std::lock_guard lock(mu_);
  etcd_stale_ = stale;
  etcd_error_ = stale ? error : std::string();
  for (auto& [node, p] : peers_) p.stale = stale;
}

std::vector<std::pair<std::string, std::string>> Catalog::etcd_local(uint64_t& version) {
  std::lock_guard lock(mu_);
  version = version_;
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(local_.size());
  for (const auto& [key, r] : local_) {
    std::string line = encode(r);
    line.pop_back();
    out.emplace_back(key.first + "/" + key.second, std::move(line));
  }
  return out;
}

}  // namespace ferry::daemon::catalog
