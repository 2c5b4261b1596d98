// An ACME (RFC 8555) client for one directory: the account (newAccount) and one order at a
// time, with TLS-ALPN-01 (RFC 8737) or HTTP-01 (RFC 8555 §8.3) challenges, down to the issued
// chain.
//
// Ownership: Client borrows the Transport and the account key, which must outlive it; the
// hooks are called synchronously. Thread: one thread (the ACME thread); blocking. Every wait
// goes through `sleep`, which returns false when the caller wants to stop: the flow then
// fails with "stopped" at the next step. Errors are returned (Result), never thrown; messages
// name the step and the CA's problem document (type and detail).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "acme/challenge.h"
#include "acme/messages.h"
#include "acme/result.h"
#include "acme/transport.h"

namespace ferry::acme {

// Waits `d`; false = stop requested (the flow gives up).
using SleepFn = std::function<bool(std::chrono::milliseconds d)>;

struct OrderHooks {
  // The challenge answered for every pending authorization (its install hook below is used).
  ChallengeType challenge = ChallengeType::tls_alpn_01;
  // tls-alpn-01: serve `cert` for `identifier` on acme-tls/1 before the CA is told to validate.
  // False = the data plane could not (the order fails).
  std::function<bool(const std::string& identifier, const AlpnCertificate& cert)> install_challenge;
  // http-01: serve `key_authorization` at /.well-known/acme-challenge/<token> before the CA is
  // told to validate `identifier`. False = the data plane could not (the order fails).
  std::function<bool(const std::string& identifier, const std::string& token, const std::string& key_authorization)>
      install_http_token;
  // Stop serving the challenge of `identifier`, either type (called for every installed
  // challenge, success or failure, when the order ends).
  std::function<void(const std::string& identifier)> remove_challenge;
  // Progress of the order, for the order history: status and the order URL once known.
  std::function<void(const std::string& status, const std::string& order_url)> progress;
  // Progress messages for the log (info).
  std::function<void(const std::string& message)> log;
};

struct IssuedCertificate {
  std::string chain_pem;  // leaf first, then intermediates, as the CA sent it
  std::string key_pem;    // the certificate's fresh P-256 key, PKCS#8
  std::string order_url;
};

class Client {
 public:
  Client(Transport& transport, std::string directory_url, const EVP_PKEY& account_key, SleepFn sleep);

  // Fetches the directory (once) and registers or finds the account for the key (newAccount
  // with termsOfServiceAgreed; an existing account is returned by the CA as is). `email` may be
  // empty. Sets account_url().
  Result<std::string> ensure_account(const std::string& email);
  const std::string& account_url() const { return kid_; }

  // Orders a certificate for `hosts` (ensure_account first) and waits for it: newOrder, each
  // pending authorization's challenge of hooks.challenge (installed through the hooks, answered,
  // polled), finalize with a CSR of a fresh key, poll, download. Every poll is bounded
  // (`poll_limit` in total per wait).
  Result<IssuedCertificate> order(const std::vector<std::string>& hosts, const OrderHooks& hooks,
                                  std::chrono::seconds poll_limit = std::chrono::seconds(120));

 private:
  Result<HttpResponse> post(const std::string& url, const std::string& payload, bool use_jwk,
                            const std::string& accept = "");
  Result<bool> fetch_directory();
  Result<std::string> fresh_nonce();
  Result<bool> authorize(const Order& ord, const OrderHooks& hooks, std::vector<std::string>& installed,
                         std::chrono::seconds poll_limit);
  // Polls `url` (POST-as-GET) until `done(body)` says so; fails after the limit.
  Result<HttpResponse> poll(const std::string& url, const std::function<Result<bool>(const HttpResponse&)>& done,
                            std::chrono::seconds limit, const char* what);

  Transport& http_;
  std::string directory_url_;
  const EVP_PKEY& key_;
  SleepFn sleep_;
  Directory dir_;
  bool have_dir_ = false;
  std::string nonce_;
  std::string kid_;
};

// "urn:ietf:params:acme:error:badNonce: JWS has an invalid anti-replay nonce" from an error
// response (or "HTTP 500" when the body is not a problem document).
std::string describe_error(const HttpResponse& r);

}  // namespace ferry::acme
