#include "services/acme_manager.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "acme/cert_info.h"
#include "acme/client.h"
#include "acme/keys.h"
#include "acme/schedule.h"
#include "ferry/proxy/certificates.h"
#include "services/acme_https.h"
#include "services/logging.h"
#include "store/cert_store.h"
#include "store/open.h"

namespace ferry::daemon {

namespace {

using Clock = std::chrono::system_clock;

int64_t unix_now() { return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count(); }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string utc(int64_t t) {
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Apps with `certificate acme`: name -> normalized hosts.
std::map<std::string, std::vector<std::string>> acme_apps(const config::Config& cfg) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& app : cfg.apps)
    if (app.certificate == "acme" && !app.hosts.empty()) out[app.name] = acme::normalized_hosts(app.hosts);
  return out;
}

// Orders left pending by a process that died (kill -9, power loss) cannot be resumed: their
// certificate key was in memory only.
constexpr const char* kAbandoned = "abandoned: ferryd stopped during the order";

}  // namespace

// Everything the ACME thread owns. Only that thread touches it after start().
struct AcmeManager::State {
  std::string state_dir;  // of the open store
  store::Db db;
  std::unique_ptr<store::CertStore> certs;
  std::map<std::string, store::CertificateRecord> stored;  // app name -> current certificate
  std::map<std::string, acme::RetryState> retry;           // app name -> back-off
  std::map<std::string, std::string> installed;             // what set_dynamic_certificates got last
  // The CA connection, rebuilt when the acme section changes.
  std::string ca_key;  // directory + ca-bundle the client below was built for
  std::unique_ptr<PocoHttpsTransport> transport;
  acme::Key account_key;
  std::unique_ptr<acme::Client> client;
  std::map<std::string, acme::AlpnCertificate> challenges;  // identifier -> served now (tls-alpn-01)
  // identifier -> {token, key authorization} served now (http-01)
  std::map<std::string, std::pair<std::string, std::string>> http_tokens;
  std::shared_ptr<TransportCancel> cancel;                  // the manager's (stop interrupts I/O)
  // Status for the admin API: published into `cell` after every change.
  std::shared_ptr<acme::StatusCell> cell;
  std::set<std::string> forced;                  // apps to order now (renew_now), not started yet
  std::string ordering;                          // the app whose order runs now; "" = none
  std::map<std::string, std::string> last_error; // app -> error of its last failed order
  std::map<std::string, uint64_t> failed_orders; // app -> failed orders since start
  int64_t store_retry_at = 0;                    // unix seconds: the store may be opened again
  int store_failures = 0;                        // in a row
  std::mt19937_64 rng{std::random_device{}()};
};

AcmeManager::AcmeManager(proxy::Engine& engine)
    : engine_(engine),
      cell_(std::make_shared<acme::StatusCell>()),
      state_(std::make_unique<State>()),
      cancel_(std::make_shared<TransportCancel>()) {
  state_->cancel = cancel_;
  state_->cell = cell_;
}

AcmeManager::~AcmeManager() { stop(); }

static bool open_store(AcmeManager::State& st, const std::string& state_dir, std::string& error) {
  if (st.db.is_open() && st.state_dir == state_dir) return true;
  st.certs.reset();
  st.db = store::Db();
  store::OpenReport report;
  store::Status s = store::open_store(state_dir, st.db, report);
  if (!s) {
    error = "certificate store: " + s.message;
    return false;
  }
  for (const auto& c : report.changes) logger().information("certificate store: " + c);
  st.state_dir = state_dir;
  st.certs = std::make_unique<store::CertStore>(st.db);
  std::vector<store::CertificateRecord> all;
  s = st.certs->load_certificates(all);
  if (!s) {
    error = "certificate store: " + s.message;
    st.certs.reset();
    st.db = store::Db();
    return false;
  }
  st.stored.clear();
  for (auto& r : all)
    if (r.source == store::CertSource::acme) st.stored[r.name] = std::move(r);
  std::vector<store::AcmeOrder> recent;
  if (st.certs->recent_orders(1000, recent))
    for (auto& o : recent)
      if (o.status != "valid" && o.status != "invalid") {
        o.status = "invalid";
        o.error = kAbandoned;
        o.updated_at = unix_now();
        st.certs->update_order(o);
      }
  logger().information("certificate store " + report.db_path + ": " + std::to_string(st.stored.size()) +
                       " ACME certificates");
  return true;
}

namespace {
// Hands the Engine every stored certificate of a current acme app that is valid now (when that
// set changed since the last call).
void install_stored(AcmeManager::State& st_, proxy::Engine& engine_,
                  const std::map<std::string, std::vector<std::string>>& apps) {
  const int64_t now = unix_now();
  std::vector<proxy::AppCertificate> certs;
  std::map<std::string, std::string> installed;  // app -> its chain (identity of the certificate)
  for (const auto& [name, hosts] : apps) {
    auto it = st_.stored.find(name);
    if (it == st_.stored.end()) continue;
    const auto& r = it->second;
    if (now < r.not_before || now >= r.not_after) continue;
    if (auto was = st_.installed.find(name); was == st_.installed.end() || was->second != r.chain_pem) {
      // A stored certificate the data plane cannot serve (e.g. a damaged row) is forgotten, so
      // the next pass orders a new one instead of keeping the app without a certificate.
      proxy::CertificateCheck check = proxy::check_certificate_pem(r.chain_pem + r.key_pem, "stored certificate");
      if (!check.errors.empty()) {
        logger().warning("acme: app " + name + ": " + check.errors.front() + "; ordering a new one");
        st_.stored.erase(it);
        continue;
      }
    }
    certs.push_back(proxy::AppCertificate{name, r.hosts, r.chain_pem, r.key_pem});
    installed[name] = r.chain_pem;  // identity: two issued in the same second differ here
  }
  if (installed == st_.installed) return;
  std::string error;
  if (!engine_.set_dynamic_certificates(certs, error)) {
    logger().warning("acme: installing certificates failed: " + error);
    return;
  }
  for (const auto& c : certs)
    if (auto was = st_.installed.find(c.app); was == st_.installed.end() || was->second != installed[c.app])
      logger().information("acme: app " + c.app + ": serving certificate for " + join(c.hosts) + " (valid until " +
                           utc(st_.stored[c.app].not_after) + ")");
  for (const auto& [app, id] : st_.installed)
    if (!installed.count(app)) logger().information("acme: app " + app + ": no certificate served any more");
  st_.installed = std::move(installed);
}


// Publishes every acme app's status (what the thread knows now) for the admin API.
void publish_status(const AcmeManager::State& st, const std::map<std::string, std::vector<std::string>>& apps) {
  const int64_t now = unix_now();
  std::map<std::string, acme::AppStatus> all;
  for (const auto& [name, hosts] : apps) {
    acme::AppFacts f;
    f.hosts = hosts;
    if (auto it = st.stored.find(name); it != st.stored.end()) {
      f.stored = acme::StoredCertificate{it->second.hosts, it->second.not_before, it->second.not_after};
      f.issuer = it->second.issuer;
    }
    if (auto it = st.retry.find(name); it != st.retry.end()) f.retry = it->second;
    f.ordering = st.ordering == name || st.forced.count(name) > 0;
    if (auto it = st.last_error.find(name); it != st.last_error.end()) f.last_error = it->second;
    if (auto it = st.failed_orders.find(name); it != st.failed_orders.end()) f.failed_orders = it->second;
    all[name] = acme::app_status(name, f, now);
  }
  st.cell->set(std::move(all));
}

}  // namespace

bool AcmeManager::renew_now(const std::string& app) {
  if (follower_.stopping()) return false;
  std::optional<Snapshot> cfg = follower_.latest();
  if (!cfg || !*cfg || !(*cfg)->acme) return false;
  auto it = (*cfg)->app_index.find(app);
  if (it == (*cfg)->app_index.end()) return false;
  const config::App& a = (*cfg)->apps[static_cast<size_t>(it->second)];
  if (a.certificate != "acme" || a.hosts.empty()) return false;
  {
    std::lock_guard lock(renew_mu_);
    renew_requested_.insert(app);
  }
  cell_->mark_pending(app);
  follower_.poke();
  logger().information("acme: app " + app + ": renewal requested");
  return true;
}

bool AcmeManager::load(const config::Config& cfg, std::string& error) {
  if (!cfg.acme) return true;
  if (!open_store(*state_, cfg.global.state_dir, error)) return false;
  install_stored(*state_, engine_, acme_apps(cfg));
  return true;
}

void AcmeManager::start(std::shared_ptr<const config::Config> cfg) {
  follower_.post(std::move(cfg));
  follower_.start([this](const Snapshot& c, bool) { return step(c); }, [this](const Snapshot&) { finish(); });
}

void AcmeManager::update(std::shared_ptr<const config::Config> cfg) { follower_.post(std::move(cfg)); }

void AcmeManager::request_stop() {
  follower_.request_stop();
  cancel_->cancel();
}

void AcmeManager::stop() {
  request_stop();
  follower_.stop();
}

namespace {

// The thread's work, one pass at a time. `sleep` waits (false = stop); `engine` is borrowed.
class Pass {
 public:
  Pass(AcmeManager::State& st, proxy::Engine& engine, const config::Config& cfg, acme::SleepFn sleep)
      : st_(st), engine_(engine), cfg_(cfg), sleep_(std::move(sleep)) {}

  // Installs what the store has, then starts at most one order. Returns when to run again
  // (unix seconds; 0 = right away, as an order ran and the world may have changed).
  int64_t run() {
    const auto apps = acme_apps(cfg_);
    install_stored(st_, engine_, apps);
    std::erase_if(st_.forced, [&](const std::string& n) { return !apps.count(n); });
    publish_status(st_, apps);
    const int64_t now = unix_now();
    int64_t next = now + 24 * 3600;
    for (const auto& [name, hosts] : apps) {
      std::optional<acme::StoredCertificate> stored = stored_of(name);
      acme::CertificatePlan plan = acme::plan_certificate(hosts, stored, now);
      if (plan.next_check > 0) next = std::min(next, plan.next_check);
      if (stored && now < stored->not_after) next = std::min(next, stored->not_after);  // stop serving it
      const bool forced = st_.forced.count(name) > 0;
      if (forced) {
        plan.order_now = true;
        plan.reason = "renewal requested by an admin";
      }
      if (!plan.order_now) continue;
      acme::RetryState& retry = st_.retry[name];
      if (!forced && !acme::may_order(retry, hosts, now)) {
        next = std::min(next, retry.next_attempt);
        continue;
      }
      logger().information("acme: app " + name + ": ordering a certificate for " + join(hosts) + " (" + plan.reason + ")");
      st_.forced.erase(name);
      st_.ordering = name;
      publish_status(st_, apps);
      std::string error;
      bool ok = order(name, hosts, error);
      st_.ordering.clear();
      if (ok) {
        // A certificate that does not satisfy the plan (e.g. not valid yet by our clock) must
        // not make the next pass order again at once: treat it as a failure with back-off.
        auto again = acme::plan_certificate(hosts, stored_of(name), unix_now());
        if (again.order_now) {
          ok = false;
          error = "the issued certificate is not usable (" + again.reason + ")";
        }
      }
      if (ok) {
        retry = acme::RetryState{};
        st_.last_error.erase(name);
      } else if (st_.cancel->cancelled()) {
        logger().information("acme: app " + name + ": order interrupted by shutdown");
      } else {
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        acme::record_failure(retry, hosts, unix_now(), unit(st_.rng));
        st_.last_error[name] = error;
        ++st_.failed_orders[name];
        logger().warning("acme: app " + name + ": certificate order for " + join(hosts) + " failed: " + error +
                         "; attempt " + std::to_string(retry.failures) + ", next at " + utc(retry.next_attempt) +
                         (plan.serve_stored ? " (the current certificate keeps being served)" : ""));
      }
      return 0;
    }
    return next;
  }

 private:
  std::optional<acme::StoredCertificate> stored_of(const std::string& app) const {
    auto it = st_.stored.find(app);
    if (it == st_.stored.end()) return std::nullopt;
    return acme::StoredCertificate{it->second.hosts, it->second.not_before, it->second.not_after};
  }

  bool connect(std::string& error) {
    const config::Acme& a = *cfg_.acme;
    const std::string key = a.directory + "\n" + a.ca_bundle;
    if (st_.client && st_.ca_key == key) return true;
    st_.client.reset();
    st_.transport = std::make_unique<PocoHttpsTransport>(a.ca_bundle, st_.cancel);
    // The account key: created once per directory and kept in the store with the account.
    std::optional<store::AcmeAccount> account;
    store::Status s = st_.certs->load_account(a.directory, account);
    if (!s) {
      error = "certificate store: " + s.message;
      return false;
    }
    if (account) {
      auto k = acme::private_key_from_pem(account->key_pem);
      if (!k) {
        error = "the stored account key for " + a.directory + " is unusable: " + k.error;
        return false;
      }
      st_.account_key = std::move(*k);
    } else {
      auto k = acme::generate_p256_key();
      if (!k) {
        error = "account key: " + k.error;
        return false;
      }
      st_.account_key = std::move(*k);
    }
    auto client = std::make_unique<acme::Client>(*st_.transport, a.directory, *st_.account_key, sleep_);
    auto kid = client->ensure_account(a.email);
    if (!kid) {
      error = kid.error;
      return false;
    }
    if (!account || account->account_url != *kid) {
      auto pem = acme::private_key_to_pem(*st_.account_key);
      if (!pem) {
        error = "account key: " + pem.error;
        return false;
      }
      store::AcmeAccount rec{0, a.directory, *kid, *pem, unix_now()};
      if (store::Status w = st_.certs->save_account(rec); !w) {
        error = "certificate store: saving the account: " + w.message;
        return false;
      }
      logger().information("acme: account " + *kid + " registered with " + a.directory);
    }
    st_.client = std::move(client);
    st_.ca_key = key;
    return true;
  }

  void publish_challenges() {
    std::vector<proxy::AcmeChallengeCertificate> list;
    for (const auto& [id, c] : st_.challenges) list.push_back({id, c.cert_pem, c.key_pem});
    std::string error;
    if (!engine_.set_acme_challenges(list, error))
      logger().warning("acme: installing challenge certificates failed: " + error);
  }

  // Hands the Engine the current http-01 table (token -> key authorization).
  bool publish_http_tokens(std::string& error) {
    std::map<std::string, std::string> tokens;
    for (const auto& [id, t] : st_.http_tokens) tokens[t.first] = t.second;
    return engine_.set_acme_http_tokens(std::move(tokens), error);
  }

  bool order(const std::string& app, const std::vector<std::string>& hosts, std::string& error) {
    store::AcmeOrder rec;
    rec.certificate_name = app;
    rec.hosts = hosts;
    rec.status = "pending";
    rec.created_at = rec.updated_at = unix_now();
    if (store::Status s = st_.certs->record_order(rec, rec.id); !s) {
      error = "certificate store: " + s.message;
      return false;
    }
    auto finish = [&](const std::string& status, const std::string& why) {
      rec.status = status;
      rec.error = why;
      rec.updated_at = unix_now();
      if (store::Status s = st_.certs->update_order(rec); !s)
        logger().warning("acme: app " + app + ": recording the order: " + s.message);
    };
    if (!connect(error)) {
      finish("invalid", error);
      return false;
    }
    acme::OrderHooks hooks;
    hooks.install_challenge = [&](const std::string& id, const acme::AlpnCertificate& cert) {
      st_.challenges[id] = cert;
      std::vector<proxy::AcmeChallengeCertificate> list;
      for (const auto& [i, c] : st_.challenges) list.push_back({i, c.cert_pem, c.key_pem});
      std::string err;
      if (engine_.set_acme_challenges(list, err)) return true;
      logger().warning("acme: app " + app + ": host " + id + ": challenge certificate: " + err);
      st_.challenges.erase(id);
      return false;
    };
    hooks.challenge = cfg_.acme->challenge == config::AcmeChallenge::http_01 ? acme::ChallengeType::http_01
                                                                              : acme::ChallengeType::tls_alpn_01;
    hooks.install_http_token = [&](const std::string& id, const std::string& token, const std::string& key_authz) {
      st_.http_tokens[id] = {token, key_authz};
      std::string err;
      if (publish_http_tokens(err)) return true;
      logger().warning("acme: app " + app + ": host " + id + ": http-01 challenge response: " + err);
      st_.http_tokens.erase(id);
      return false;
    };
    hooks.remove_challenge = [&](const std::string& id) {
      if (st_.challenges.erase(id)) publish_challenges();
      if (st_.http_tokens.erase(id)) {
        std::string err;
        if (!publish_http_tokens(err)) logger().warning("acme: removing http-01 challenge responses failed: " + err);
      }
    };
    hooks.progress = [&](const std::string& status, const std::string& url) {
      if (status == rec.status && url == rec.order_url) return;
      rec.order_url = url;
      if (status == "pending" || status == "ready" || status == "processing") finish(status, "");
    };
    hooks.log = [&](const std::string& m) { logger().information("acme: app " + app + ": " + m); };
    auto issued = st_.client->order(hosts, hooks);
    if (!issued) {
      error = issued.error;
      // A transport-level or account problem may be fixed by a new connection next time.
      if (error.find("accountDoesNotExist") != std::string::npos || error.find("unauthorized") != std::string::npos)
        st_.client.reset();
      finish("invalid", error);
      return false;
    }
    auto info = acme::inspect_leaf(issued->chain_pem);
    if (!info) {
      error = "the issued certificate cannot be read: " + info.error;
      finish("invalid", error);
      return false;
    }
    store::CertificateRecord cert;
    cert.name = app;
    cert.source = store::CertSource::acme;
    cert.hosts = hosts;
    cert.chain_pem = issued->chain_pem;
    cert.key_pem = issued->key_pem;
    cert.not_before = info->not_before;
    cert.not_after = info->not_after;
    cert.issuer = info->issuer;
    cert.updated_at = unix_now();
    if (store::Status s = st_.certs->upsert_certificate(cert); !s) {
      error = "certificate store: saving the certificate: " + s.message;
      finish("invalid", error);
      return false;
    }
    finish("valid", "");
    logger().information("acme: app " + app + ": certificate issued for " + join(hosts) + " by " + cert.issuer +
                         ", valid " + utc(cert.not_before) + " to " + utc(cert.not_after));
    st_.stored[app] = std::move(cert);
    return true;
  }

  AcmeManager::State& st_;
  proxy::Engine& engine_;
  const config::Config& cfg_;
  acme::SleepFn sleep_;
};

}  // namespace

std::chrono::milliseconds AcmeManager::step(const Snapshot& cfg) {
  State& st = *state_;
  {
    std::lock_guard lock(renew_mu_);
    st.forced.merge(renew_requested_);
    renew_requested_.clear();
  }
  // Waits up to `d`; false when stopping. Reloads do not cut it short (an order in progress
  // completes with the hosts it started with).
  acme::SleepFn sleep = [this](std::chrono::milliseconds d) { return follower_.sleep_for(d); };
  int64_t next = unix_now() + 24 * 3600;
  try {
    if (cfg->acme && acme_apps(*cfg).size() > 0) {
      std::string error;
      if (unix_now() >= st.store_retry_at && !open_store(st, cfg->global.state_dir, error)) {
        ++st.store_failures;
        st.store_retry_at = unix_now() + acme::backoff_delay(st.store_failures, 0.5).count();
        logger().warning("acme: " + error + "; retrying at " + utc(st.store_retry_at));
      }
      if (st.certs) {
        st.store_failures = 0;
        next = Pass(st, engine_, *cfg, sleep).run();
      } else {
        next = st.store_retry_at;
      }
    } else {
      st.forced.clear();
      publish_status(st, {});
      if (!st.installed.empty()) {
        std::string error;
        if (engine_.set_dynamic_certificates({}, error)) st.installed.clear();
      }
    }
  } catch (const std::exception& e) {
    logger().warning(std::string("acme: unexpected error: ") + e.what());
    next = unix_now() + 60;
  }
  const auto until = Clock::from_time_t(static_cast<std::time_t>(next));
  return std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
}

void AcmeManager::finish() {
  State& st = *state_;
  // Leave nothing behind in the data plane that only this thread would remove.
  if (!st.challenges.empty()) {
    st.challenges.clear();
    std::string ignored;
    engine_.set_acme_challenges({}, ignored);
  }
  if (!st.http_tokens.empty()) {
    st.http_tokens.clear();
    std::string ignored;
    engine_.set_acme_http_tokens({}, ignored);
  }
}

}  // namespace ferry::daemon
