#include "acme/client.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "acme/csr.h"
#include "acme/jws.h"
#include "acme/keys.h"
#include "acme/schedule.h"

namespace ferry::acme {

namespace {

constexpr int kMaxBadNonceRetries = 3;
constexpr std::chrono::milliseconds kPollStart{500};
constexpr std::chrono::milliseconds kPollMax{5000};

bool is_success(int status) { return status >= 200 && status < 300; }

// Retry-After in seconds (RFC 8555 §8.2 allows it on polls), bounded; else `fallback`.
std::chrono::milliseconds retry_after(const HttpResponse& r, std::chrono::milliseconds fallback) {
  if (r.retry_after.empty()) return fallback;
  char* end = nullptr;
  long s = std::strtol(r.retry_after.c_str(), &end, 10);
  if (end == r.retry_after.c_str() || s < 0) return fallback;
  return std::chrono::milliseconds(std::min<long>(s, 10) * 1000);
}

}  // namespace

std::string describe_error(const HttpResponse& r) {
  auto p = parse_problem(r.body);
  if (!p) return "HTTP " + std::to_string(r.status);
  std::string out = p->type.empty() ? "HTTP " + std::to_string(r.status) : p->type;
  if (!p->detail.empty()) out += ": " + p->detail;
  for (const auto& sub : p->subproblems)
    out += "; " + sub.identifier_value + (sub.identifier_value.empty() ? "" : ": ") + sub.type + " " + sub.detail;
  return out;
}

Client::Client(Transport& transport, std::string directory_url, const EVP_PKEY& account_key, SleepFn sleep)
    : http_(transport), directory_url_(std::move(directory_url)), key_(account_key), sleep_(std::move(sleep)) {}

Result<bool> Client::fetch_directory() {
  using R = Result<bool>;
  if (have_dir_) return R::ok(true);
  auto r = http_.get(directory_url_);
  if (!r) return R::fail("directory " + directory_url_ + ": " + r.error);
  if (!is_success(r->status)) return R::fail("directory " + directory_url_ + ": " + describe_error(*r));
  auto d = parse_directory(r->body);
  if (!d) return R::fail("directory " + directory_url_ + ": " + d.error);
  dir_ = std::move(*d);
  have_dir_ = true;
  return R::ok(true);
}

Result<std::string> Client::fresh_nonce() {
  using R = Result<std::string>;
  if (!nonce_.empty()) return R::ok(std::exchange(nonce_, {}));
  auto r = http_.head(dir_.new_nonce);
  if (!r) return R::fail("newNonce: " + r.error);
  if (r->replay_nonce.empty()) return R::fail("newNonce: the server sent no Replay-Nonce (HTTP " + std::to_string(r->status) + ")");
  return R::ok(r->replay_nonce);
}

Result<HttpResponse> Client::post(const std::string& url, const std::string& payload, bool use_jwk,
                                  const std::string& accept) {
  using R = Result<HttpResponse>;
  for (int attempt = 0;; ++attempt) {
    auto nonce = fresh_nonce();
    if (!nonce) return R::fail(nonce.error);
    JwsRequest req{url, *nonce, use_jwk ? std::string() : kid_, payload};
    auto jws = sign_jws(key_, req);
    if (!jws) return R::fail("signing a request to " + url + ": " + jws.error);
    auto r = http_.post_jose(url, *jws, accept);
    if (!r) return R::fail(url + ": " + r.error);
    nonce_ = r->replay_nonce;  // every response carries a fresh nonce (§6.5)
    if (r->status == 400 && attempt < kMaxBadNonceRetries) {
      auto p = parse_problem(r->body);
      if (p && p->type == "urn:ietf:params:acme:error:badNonce") continue;  // §6.5: retry with the new one
    }
    return r;
  }
}

Result<std::string> Client::ensure_account(const std::string& email) {
  using R = Result<std::string>;
  auto d = fetch_directory();
  if (!d) return R::fail(d.error);
  if (!kid_.empty()) return R::ok(kid_);
  if (dir_.external_account_required)
    return R::fail("the ACME server requires external account binding, which ferryd does not support");
  std::vector<std::string> emails;
  if (!email.empty()) emails.push_back(email);
  auto payload = new_account_payload(emails, /*terms_of_service_agreed=*/true);
  if (!payload) return R::fail("newAccount: " + payload.error);
  auto r = post(dir_.new_account, *payload, /*use_jwk=*/true);
  if (!r) return R::fail("newAccount: " + r.error);
  if (!is_success(r->status)) return R::fail("newAccount: " + describe_error(*r));
  if (r->location.empty()) return R::fail("newAccount: the server sent no account URL (Location)");
  auto acct = parse_account(r->body);
  if (acct && acct->status != "valid") return R::fail("newAccount: the account is " + acct->status);
  kid_ = r->location;
  return R::ok(kid_);
}

Result<HttpResponse> Client::poll(const std::string& url,
                                  const std::function<Result<bool>(const HttpResponse&)>& done,
                                  std::chrono::seconds limit, const char* what) {
  using R = Result<HttpResponse>;
  auto waited = std::chrono::milliseconds(0);
  auto interval = kPollStart;
  for (;;) {
    auto r = post(url, "", false);
    if (!r) return R::fail(std::string(what) + ": " + r.error);
    if (!is_success(r->status)) return R::fail(std::string(what) + ": " + describe_error(*r));
    auto finished = done(*r);
    if (!finished) return R::fail(std::string(what) + ": " + finished.error);
    if (*finished) return r;
    if (waited >= limit) return R::fail(std::string(what) + ": still not done after " + std::to_string(limit.count()) + " s");
    auto d = retry_after(*r, interval);
    if (!sleep_(d)) return R::fail("stopped");
    waited += d;
    interval = std::min(interval * 2, kPollMax);
  }
}

// Each authorization of `ord` that is pending: its challenge of hooks.challenge installed in
// the data plane (the ids appended to `installed`, which the caller removes), answered, then
// all polled until valid.
Result<bool> Client::authorize(const Order& ord, const OrderHooks& hooks, std::vector<std::string>& installed,
                               std::chrono::seconds poll_limit) {
  using R = Result<bool>;
  auto say = [&](const std::string& m) { if (hooks.log) hooks.log(m); };
  const std::string type(challenge_type_name(hooks.challenge));
  std::vector<std::pair<std::string, std::string>> pending;  // authz URL, identifier
  for (const auto& authz_url : ord.authorizations) {
    auto r = post(authz_url, "", false);
    if (!r) return R::fail("authorization: " + r.error);
    if (!is_success(r->status)) return R::fail("authorization " + authz_url + ": " + describe_error(*r));
    auto authz = parse_authorization(r->body);
    if (!authz) return R::fail("authorization " + authz_url + ": " + authz.error);
    const std::string& id = authz->identifier.value;
    switch (authorization_step(*authz, type)) {
      case AuthzStep::done:
        say(id + ": authorization already valid");
        continue;
      case AuthzStep::fail:
        return R::fail(id + ": authorization is " + authz->status +
                       (authz->find_challenge(type) ? "" : " (no " + type + " challenge offered)"));
      case AuthzStep::respond:
        break;
    }
    const Challenge& ch = *authz->find_challenge(type);
    auto ka = key_authorization(ch.token, key_);
    if (!ka) return R::fail(id + ": key authorization: " + ka.error);
    if (hooks.challenge == ChallengeType::http_01) {
      // The CA fetches http://<id>/.well-known/acme-challenge/<token> (§8.3).
      if (!hooks.install_http_token || !hooks.install_http_token(id, ch.token, *ka))
        return R::fail(id + ": could not install the http-01 challenge response in the data plane");
    } else {
      // The CA connects with ALPN acme-tls/1 (RFC 8737 §3).
      auto cert = make_tls_alpn01_certificate(id, *ka);
      if (!cert) return R::fail(id + ": challenge certificate: " + cert.error);
      if (!hooks.install_challenge || !hooks.install_challenge(id, *cert))
        return R::fail(id + ": could not install the challenge certificate in the data plane");
    }
    installed.push_back(id);
    // Answer the challenge: the CA validates now (§7.5.1).
    auto answered = post(ch.url, challenge_response_payload(), false);
    if (!answered) return R::fail(id + ": challenge: " + answered.error);
    if (!is_success(answered->status)) return R::fail(id + ": challenge: " + describe_error(*answered));
    say(id + ": " + type + " challenge answered");
    pending.emplace_back(authz_url, id);
  }
  for (const auto& [authz_url, id] : pending) {
    auto r = poll(authz_url, [&](const HttpResponse& resp) -> Result<bool> {
      auto a = parse_authorization(resp.body);
      if (!a) return Result<bool>::fail(a.error);
      if (a->status == "valid") return Result<bool>::ok(true);
      if (a->status == "pending") return Result<bool>::ok(false);
      std::string why = "authorization is " + a->status;
      if (const Challenge* c = a->find_challenge(type); c && c->error)
        why += ": " + c->error->type + (c->error->detail.empty() ? "" : ": " + c->error->detail);
      return Result<bool>::fail(why);
    }, poll_limit, (id + ": validation").c_str());
    if (!r) return R::fail(r.error);
    say(id + ": validated");
  }
  return R::ok(true);
}

Result<IssuedCertificate> Client::order(const std::vector<std::string>& hosts, const OrderHooks& hooks,
                                        std::chrono::seconds poll_limit) {
  using R = Result<IssuedCertificate>;
  auto say = [&](const std::string& m) { if (hooks.log) hooks.log(m); };
  auto progress = [&](const std::string& status, const std::string& url) { if (hooks.progress) hooks.progress(status, url); };
  if (kid_.empty()) return R::fail("no account (ensure_account first)");

  auto payload = new_order_payload(hosts);
  if (!payload) return R::fail("newOrder: " + payload.error);
  auto created = post(dir_.new_order, *payload, false);
  if (!created) return R::fail("newOrder: " + created.error);
  if (!is_success(created->status)) return R::fail("newOrder: " + describe_error(*created));
  const std::string order_url = created->location;
  if (order_url.empty()) return R::fail("newOrder: the server sent no order URL (Location)");
  auto ord = parse_order(created->body);
  if (!ord) return R::fail("newOrder: " + ord.error);
  progress(ord->status, order_url);
  say("order " + order_url + " created, status " + ord->status);

  // Challenges installed in the data plane, removed on every way out.
  std::vector<std::string> installed;
  struct Cleanup {
    std::vector<std::string>& ids;
    const OrderHooks& hooks;
    ~Cleanup() {
      if (hooks.remove_challenge)
        for (const auto& id : ids) hooks.remove_challenge(id);
    }
  } cleanup{installed, hooks};

  if (order_step(ord->status) == OrderStep::authorize) {
    auto authorized = authorize(*ord, hooks, installed, poll_limit);
    if (!authorized) return R::fail(authorized.error);
  }

  // Wait for "ready" (or later), then finalize.
  auto order_done = [&](std::initializer_list<const char*> wanted) {
    return [wanted, &ord](const HttpResponse& resp) -> Result<bool> {
      auto o = parse_order(resp.body);
      if (!o) return Result<bool>::fail(o.error);
      if (o->status == "invalid")
        return Result<bool>::fail("order is invalid" + (o->error ? ": " + o->error->type + " " + o->error->detail : ""));
      for (const char* w : wanted)
        if (o->status == w) {
          *ord = std::move(*o);
          return Result<bool>::ok(true);
        }
      return Result<bool>::ok(false);
    };
  };
  if (ord->status == "pending") {
    auto r = poll(order_url, order_done({"ready", "processing", "valid"}), poll_limit, "order");
    if (!r) return R::fail(r.error);
  }
  progress(ord->status, order_url);

  auto cert_key = generate_p256_key();
  if (!cert_key) return R::fail("certificate key: " + cert_key.error);
  auto key_pem = private_key_to_pem(**cert_key);
  if (!key_pem) return R::fail("certificate key: " + key_pem.error);
  if (order_step(ord->status) == OrderStep::finalize) {
    auto csr = make_csr_der(hosts, **cert_key);
    if (!csr) return R::fail("CSR: " + csr.error);
    auto fin = post(ord->finalize, finalize_payload(*csr), false);
    if (!fin) return R::fail("finalize: " + fin.error);
    if (!is_success(fin->status)) return R::fail("finalize: " + describe_error(*fin));
    auto o = parse_order(fin->body);
    if (!o) return R::fail("finalize: " + o.error);
    *ord = std::move(*o);
    say("order finalized, status " + ord->status);
    progress(ord->status, order_url);
  } else {
    // Already processing/valid without our CSR (not expected for a fresh order): the key of
    // its certificate is not ours, so it cannot be served.
    return R::fail("order is " + ord->status + " before ferryd finalized it");
  }
  if (ord->status != "valid") {
    auto r = poll(order_url, order_done({"valid"}), poll_limit, "order after finalize");
    if (!r) return R::fail(r.error);
  }
  progress(ord->status, order_url);
  if (!ord->certificate) return R::fail("order is valid but has no certificate URL");
  auto pem = post(*ord->certificate, "", false, "application/pem-certificate-chain");
  if (!pem) return R::fail("certificate download: " + pem.error);
  if (!is_success(pem->status)) return R::fail("certificate download: " + describe_error(*pem));
  if (pem->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return R::fail("certificate download: the response is not a PEM chain");
  return R::ok(IssuedCertificate{pem->body, *key_pem, order_url});
}

}  // namespace ferry::acme
