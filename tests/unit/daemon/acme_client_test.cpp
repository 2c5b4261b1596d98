// The ACME client's flow (acme/client.h) against an in-memory fake CA behind the Transport
// interface: every POST's JWS is verified (signature, single-use nonce, url, kid/jwk), a
// badNonce answer is retried, challenges are installed before they are answered and removed
// afterwards, authorizations already valid are skipped, failures name the step.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "acme/client.h"
#include "acme/json.h"
#include "acme/jws.h"
#include "acme/keys.h"
#include "ferry/util/base64.h"

using namespace ferry::acme;
using ferry::util::base64url_decode;
using ferry::util::base64url_encode;

namespace {

const std::string kBase = "https://ca.test";

class FakeCa final : public Transport {
 public:
  explicit FakeCa(const EVP_PKEY& account_key) : key_(account_key) {}

  // Knobs.
  int bad_nonces = 0;                  // answer this many POSTs with badNonce first
  std::set<std::string> prevalidated;  // identifiers whose authorization is already valid
  bool fail_validation = false;        // challenge answers make the authorization invalid
  bool never_validate = false;         // challenge answers leave the authorization pending
  std::string validated_type = "tls-alpn-01";  // the challenge whose answer validates
  // What the client installed for each identifier when it answered (checked by the CA).
  std::function<bool(const std::string&)> challenge_installed;
  // http-01: whether the data plane serves the right key authorization for (identifier, token).
  std::function<bool(const std::string&, const std::string&)> http_installed;

  // Observations.
  std::vector<std::string> posted_urls;
  int accounts = 0, finalized = 0;
  std::string csr_b64;

  Result<HttpResponse> get(const std::string& url) override {
    if (url != kBase + "/dir") return Result<HttpResponse>::ok(HttpResponse{404, "", "", "", "", ""});
    HttpResponse r{200, R"({"newNonce":")" + kBase + R"(/nonce","newAccount":")" + kBase +
                            R"(/acct","newOrder":")" + kBase + R"(/order","meta":{"termsOfService":"x"}})",
                   "application/json", "", "", ""};
    return Result<HttpResponse>::ok(r);
  }

  Result<HttpResponse> head(const std::string& url) override {
    REQUIRE(url == kBase + "/nonce");
    HttpResponse r;
    r.status = 200;
    r.replay_nonce = fresh_nonce();
    return Result<HttpResponse>::ok(r);
  }

  Result<HttpResponse> post_jose(const std::string& url, const std::string& body, const std::string&) override {
    posted_urls.push_back(url);
    auto verified = verify_es256(body, key_);
    REQUIRE(verified);
    auto header = parse_json(verified->protected_json);
    REQUIRE(header);
    const std::string* nonce = header->get_string("nonce");
    REQUIRE(nonce);
    REQUIRE(nonces_.erase(*nonce) == 1);  // issued by us, used once
    REQUIRE(*header->get_string("url") == url);
    const bool has_kid = header->get("kid") != nullptr;
    CHECK(has_kid == (url != kBase + "/acct"));  // jwk only for newAccount
    if (bad_nonces > 0) {
      --bad_nonces;
      return reply(400, R"({"type":"urn:ietf:params:acme:error:badNonce","detail":"stale"})");
    }
    const std::string& payload = verified->payload;
    if (url == kBase + "/acct") {
      ++accounts;
      return reply(201, R"({"status":"valid"})", kBase + "/acct/1");
    }
    if (url == kBase + "/order") {
      auto p = parse_json(payload);
      REQUIRE(p);
      for (const auto& id : *p->get("identifiers")->as_array()) {
        const std::string& v = *id.get_string("value");
        authz_[v] = prevalidated.count(v) ? "valid" : "pending";
      }
      return reply(201, order_json(), kBase + "/order/1");
    }
    if (url == kBase + "/order/1") return reply(200, order_json());
    if (url.rfind(kBase + "/authz/", 0) == 0) {
      std::string id = url.substr((kBase + "/authz/").size());
      return reply(200, authz_json(id));
    }
    if (url.rfind(kBase + "/chall/", 0) == 0) {
      std::string id = url.substr((kBase + "/chall/").size());
      CHECK(payload == "{}");
      // The CA validates now: the client must already serve the challenge certificate.
      bool served = challenge_installed && challenge_installed(id);
      CHECK(served);
      if (!never_validate) authz_[id] = (served && !fail_validation) ? "valid" : "invalid";
      return reply(200, R"({"type":"tls-alpn-01","url":")" + url + R"(","status":"processing","token":")" + token(id) + "\"}");
    }
    if (url.rfind(kBase + "/other/", 0) == 0) {  // the http-01 challenge
      std::string id = url.substr((kBase + "/other/").size());
      CHECK(payload == "{}");
      CHECK(validated_type == "http-01");
      // The CA fetches http://<id>/.well-known/acme-challenge/<token> now.
      bool served = http_installed && http_installed(id, token(id));
      CHECK(served);
      if (!never_validate) authz_[id] = (served && !fail_validation) ? "valid" : "invalid";
      return reply(200, R"({"type":"http-01","url":")" + url + R"(","status":"processing","token":")" + token(id) + "\"}");
    }
    if (url == kBase + "/finalize/1") {
      auto p = parse_json(payload);
      REQUIRE(p);
      csr_b64 = *p->get_string("csr");
      ++finalized;
      return reply(200, order_json());
    }
    if (url == kBase + "/cert/1") {
      HttpResponse r{200, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                     "application/pem-certificate-chain", "", fresh_nonce(), ""};
      return Result<HttpResponse>::ok(r);
    }
    return reply(404, R"({"type":"urn:ietf:params:acme:error:malformed","detail":"no such URL"})");
  }

 private:
  static std::string token(std::string id) {  // base64url alphabet only
    for (char& c : id)
      if (c == '.') c = '_';
    return "tok_" + id;
  }
  std::string fresh_nonce() {
    std::string n = "n" + std::to_string(++nonce_seq_);
    nonces_.insert(n);
    return n;
  }
  Result<HttpResponse> reply(int status, std::string body, std::string location = "") {
    HttpResponse r{status, std::move(body), "application/json", std::move(location), fresh_nonce(), ""};
    return Result<HttpResponse>::ok(r);
  }
  std::string status() const {
    bool all_valid = true;
    for (const auto& [id, st] : authz_) {
      if (st == "invalid") return "invalid";
      all_valid = all_valid && st == "valid";
    }
    if (finalized > 0) return "valid";
    return all_valid ? "ready" : "pending";
  }
  std::string order_json() const {
    std::string ids, authzs;
    for (const auto& [id, st] : authz_) {
      ids += std::string(ids.empty() ? "" : ",") + R"({"type":"dns","value":")" + id + "\"}";
      authzs += std::string(authzs.empty() ? "" : ",") + "\"" + kBase + "/authz/" + id + "\"";
    }
    std::string cert = status() == "valid" ? R"(,"certificate":")" + kBase + "/cert/1\"" : "";
    return R"({"status":")" + status() + R"(","identifiers":[)" + ids + R"(],"authorizations":[)" + authzs +
           R"(],"finalize":")" + kBase + "/finalize/1\"" + cert + "}";
  }
  std::string authz_json(const std::string& id) const {
    const std::string& st = authz_.at(id);
    std::string chall_status = st == "valid" ? "valid" : st == "invalid" ? "invalid" : "pending";
    std::string err = st == "invalid" ? R"(,"error":{"type":"urn:ietf:params:acme:error:unauthorized","detail":"bad cert"})" : "";
    const bool http = validated_type == "http-01";
    return R"({"status":")" + st + R"(","identifier":{"type":"dns","value":")" + id + R"("},"challenges":[)" +
           R"({"type":"http-01","url":")" + kBase + "/other/" + id + R"(","status":")" + (http ? chall_status : "pending") +
           R"(","token":")" + token(id) + "\"" + (http ? err : "") + "}," +
           R"({"type":"tls-alpn-01","url":")" + kBase + "/chall/" + id + R"(","status":")" + (http ? "pending" : chall_status) +
           R"(","token":")" + token(id) + "\"" + (http ? "" : err) + "}]}";
  }

  const EVP_PKEY& key_;
  std::set<std::string> nonces_;
  int nonce_seq_ = 0;
  std::map<std::string, std::string> authz_;  // identifier -> status
};

struct Hooks {
  std::map<std::string, AlpnCertificate> serving;
  std::map<std::string, std::string> http_serving;  // token -> key authorization
  std::map<std::string, std::string> http_token_of;  // identifier -> token
  std::vector<std::string> installed, removed, statuses;
  OrderHooks get() {
    OrderHooks h;
    h.install_http_token = [this](const std::string& id, const std::string& token, const std::string& ka) {
      http_serving[token] = ka;
      http_token_of[id] = token;
      installed.push_back(id);
      return true;
    };
    h.install_challenge = [this](const std::string& id, const AlpnCertificate& c) {
      serving[id] = c;
      installed.push_back(id);
      return true;
    };
    h.remove_challenge = [this](const std::string& id) {
      serving.erase(id);
      if (auto t = http_token_of.find(id); t != http_token_of.end()) {
        http_serving.erase(t->second);
        http_token_of.erase(t);
      }
      removed.push_back(id);
    };
    h.progress = [this](const std::string& s, const std::string&) { statuses.push_back(s); };
    return h;
  }
};

SleepFn no_wait() {
  return [](std::chrono::milliseconds) { return true; };
}

}  // namespace

TEST_CASE("ACME client: account, order, tls-alpn-01, finalize, download", "[acme][client]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  FakeCa ca(**key);
  Hooks hooks;
  ca.challenge_installed = [&](const std::string& id) {
    auto it = hooks.serving.find(id);
    return it != hooks.serving.end() && it->second.cert_pem.find("BEGIN CERTIFICATE") != std::string::npos;
  };
  ca.bad_nonces = 1;  // the very first POST (newAccount) is refused once: retried
  Client client(ca, kBase + "/dir", **key, no_wait());
  auto kid = client.ensure_account("ops@example.com");
  INFO(kid.error);
  REQUIRE(kid);
  CHECK(*kid == kBase + "/acct/1");
  CHECK(ca.accounts == 1);
  CHECK(client.ensure_account("ops@example.com"));  // cached: no second newAccount
  CHECK(ca.accounts == 1);

  ca.prevalidated = {"b.example.com"};
  auto issued = client.order({"a.example.com", "b.example.com"}, hooks.get());
  INFO(issued.error);
  REQUIRE(issued);
  CHECK(issued->order_url == kBase + "/order/1");
  CHECK(issued->chain_pem.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(private_key_from_pem(issued->key_pem));  // a fresh P-256 key
  CHECK(hooks.installed == std::vector<std::string>{"a.example.com"});  // b was already valid
  CHECK(hooks.removed == hooks.installed);
  CHECK(hooks.serving.empty());
  CHECK(ca.finalized == 1);
  CHECK(base64url_decode(ca.csr_b64));
  CHECK(hooks.statuses.front() == "pending");
  CHECK(hooks.statuses.back() == "valid");
}

TEST_CASE("ACME client: http-01 publishes the key authorization, answers, and withdraws it", "[acme][client]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  auto thumb = jwk_thumbprint(**key);
  REQUIRE(thumb);
  FakeCa ca(**key);
  ca.validated_type = "http-01";
  Hooks hooks;
  ca.http_installed = [&](const std::string&, const std::string& token) {
    auto it = hooks.http_serving.find(token);
    return it != hooks.http_serving.end() && it->second == token + "." + *thumb;  // RFC 8555 §8.1
  };
  Client client(ca, kBase + "/dir", **key, no_wait());
  REQUIRE(client.ensure_account(""));
  ca.prevalidated = {"b.example.com"};
  OrderHooks h = hooks.get();
  h.challenge = ChallengeType::http_01;
  h.install_challenge = [](const std::string&, const AlpnCertificate&) -> bool {
    FAIL("tls-alpn-01 installed for an http-01 order");
    return false;
  };
  auto issued = client.order({"a.example.com", "b.example.com", "c.example.com"}, h);
  INFO(issued.error);
  REQUIRE(issued);
  CHECK(hooks.installed == std::vector<std::string>{"a.example.com", "c.example.com"});
  CHECK(hooks.removed == hooks.installed);
  CHECK(hooks.http_serving.empty());
  for (const auto& u : ca.posted_urls) CHECK(u.find("/chall/") == std::string::npos);  // tls-alpn-01 never answered
  CHECK(ca.finalized == 1);

  // A failed http-01 validation names the CA's error and withdraws the response.
  FakeCa bad(**key);
  bad.validated_type = "http-01";
  bad.fail_validation = true;
  bad.http_installed = ca.http_installed;
  Client client2(bad, kBase + "/dir", **key, no_wait());
  REQUIRE(client2.ensure_account(""));
  hooks.installed.clear(), hooks.removed.clear();
  auto failed = client2.order({"a.example.com"}, h);
  REQUIRE_FALSE(failed);
  CHECK(failed.error.find("a.example.com: validation: authorization is invalid: urn:ietf:params:acme:error:unauthorized") !=
        std::string::npos);
  CHECK(hooks.removed == std::vector<std::string>{"a.example.com"});
  CHECK(hooks.http_serving.empty());

  // A data plane that cannot publish it: the challenge is never answered.
  FakeCa third(**key);
  third.validated_type = "http-01";
  Client client3(third, kBase + "/dir", **key, no_wait());
  REQUIRE(client3.ensure_account(""));
  h.install_http_token = [](const std::string&, const std::string&, const std::string&) { return false; };
  auto refused = client3.order({"d.example.com"}, h);
  REQUIRE_FALSE(refused);
  CHECK(refused.error.find("could not install the http-01 challenge response") != std::string::npos);
  for (const auto& u : third.posted_urls) CHECK(u.find("/other/") == std::string::npos);  // never answered
  CHECK(third.finalized == 0);
}

TEST_CASE("ACME client: a failed validation fails the order and removes the challenge", "[acme][client]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  FakeCa ca(**key);
  Hooks hooks;
  ca.challenge_installed = [&](const std::string& id) { return hooks.serving.count(id) == 1; };
  ca.fail_validation = true;
  Client client(ca, kBase + "/dir", **key, no_wait());
  REQUIRE(client.ensure_account(""));
  auto issued = client.order({"a.example.com"}, hooks.get());
  REQUIRE_FALSE(issued);
  CHECK(issued.error.find("a.example.com: validation: authorization is invalid") != std::string::npos);
  CHECK(issued.error.find("unauthorized") != std::string::npos);
  CHECK(hooks.serving.empty());
  CHECK(ca.finalized == 0);
}

TEST_CASE("ACME client: a stop request ends the polling; a data plane that cannot serve the challenge fails first",
          "[acme][client]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  FakeCa ca(**key);
  Hooks hooks;
  ca.challenge_installed = [&](const std::string& id) { return hooks.serving.count(id) == 1; };
  ca.never_validate = true;
  int sleeps = 0;
  Client client(ca, kBase + "/dir", **key, [&](std::chrono::milliseconds) { return ++sleeps < 3; });
  REQUIRE(client.ensure_account(""));
  auto stopped = client.order({"a.example.com"}, hooks.get());
  REQUIRE_FALSE(stopped);
  CHECK(stopped.error == "stopped");
  CHECK(sleeps == 3);
  CHECK(hooks.serving.empty());  // removed on the way out

  OrderHooks h = hooks.get();
  h.install_challenge = [](const std::string&, const AlpnCertificate&) { return false; };
  size_t posts = ca.posted_urls.size();
  auto refused = client.order({"b.example.com"}, h);
  REQUIRE_FALSE(refused);
  CHECK(refused.error.find("could not install the challenge certificate") != std::string::npos);
  for (size_t i = posts; i < ca.posted_urls.size(); ++i)
    CHECK(ca.posted_urls[i].find("/chall/") == std::string::npos);  // never answered
  CHECK(ca.finalized == 0);
}

TEST_CASE("ACME client: errors name the step and the CA's problem", "[acme][client]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  FakeCa ca(**key);
  Client wrong(ca, kBase + "/nodir", **key, no_wait());
  auto r = wrong.ensure_account("");
  REQUIRE_FALSE(r);
  CHECK(r.error.find("directory https://ca.test/nodir") == 0);
  Client client(ca, kBase + "/dir", **key, no_wait());
  auto no_account = client.order({"a.example.com"}, OrderHooks{});
  CHECK_FALSE(no_account);
  ca.bad_nonces = 10;  // more than the client retries
  auto gave_up = client.ensure_account("");
  REQUIRE_FALSE(gave_up);
  CHECK(gave_up.error.find("badNonce") != std::string::npos);
}
