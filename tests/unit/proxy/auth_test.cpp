// auth/: Basic credentials parsing (RFC 7617) as an attacker would send them, the per-worker
// verdict cache, the off-loop CredentialVerifier (verdicts, the unknown-user path, a full
// queue, stop), and the basic-auth rule's verify → resume flow in rules/eval.h.
#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "auth/basic.h"
#include "auth/verifier.h"
#include "ferry/configlang/load.h"
#include "ferry/util/base64.h"
#include "ferry/util/password.h"
#include "ferry/util/password_hash.h"
#include "rules/eval.h"

using namespace ferry;
using namespace ferry::proxy;

namespace {

// A cheap hash (PBKDF2, 1000 iterations) of `password`, in the configuration's text format.
std::string cheap_hash(const std::string& password) {
  util::PasswordHash h;
  h.kind = util::PasswordHash::Kind::pbkdf2_sha256;
  h.iterations = 1000;
  h.salt = "saltsaltsalt";
  h.hash = *util::derive_pbkdf2_sha256(password, h.salt, 1000, 32);
  return util::format_password_hash(h);
}

std::string basic(std::string_view user_pass) { return "Basic " + util::base64_encode(user_pass); }

// Runs `io` until `done` or 10 s.
void run_until(asio::io_context& io, const bool& done) {
  for (int i = 0; i < 1000 && !done; ++i) {
    io.run_for(std::chrono::milliseconds(10));
    io.restart();
  }
}

}  // namespace

TEST_CASE("auth: parse_basic takes only a well-formed Basic credential", "[auth]") {
  auth::BasicScratch s;
  REQUIRE(auth::parse_basic(basic("alice:s3cret"), s));
  CHECK(s.user == "alice");
  CHECK(s.password == "s3cret");
  REQUIRE(auth::parse_basic("bAsIc   " + util::base64_encode("bob:a:b:c"), s));  // scheme any case
  CHECK(s.user == "bob");
  CHECK(s.password == "a:b:c");  // the first colon splits
  REQUIRE(auth::parse_basic("Basic " + util::base64_encode("carol:"), s));
  CHECK(s.password.empty());
  std::string unpadded = util::base64_encode("dave:pw", util::Base64Alphabet::standard, false);
  CHECK(auth::parse_basic("Basic " + unpadded, s));

  CHECK_FALSE(auth::parse_basic("", s));
  CHECK_FALSE(auth::parse_basic("Basic", s));
  CHECK_FALSE(auth::parse_basic("Basic ", s));
  CHECK_FALSE(auth::parse_basic("Bearer " + util::base64_encode("a:b"), s));
  CHECK_FALSE(auth::parse_basic("Basicx " + util::base64_encode("a:b"), s));
  CHECK_FALSE(auth::parse_basic("Basic " + util::base64_encode("nocolon"), s));
  CHECK_FALSE(auth::parse_basic("Basic " + util::base64_encode(":empty-user"), s));
  CHECK_FALSE(auth::parse_basic("Basic " + util::base64_encode(std::string("a:b\0c", 5)), s));  // NUL
  CHECK_FALSE(auth::parse_basic("Basic " + util::base64_encode("a\r\n:b"), s));                // CRLF
  CHECK_FALSE(auth::parse_basic("Basic YWxpY2U6czNjcmV0!", s));  // outside the alphabet
  CHECK_FALSE(auth::parse_basic("Basic YWxpY2U6czNjcmV0=", s));  // wrong padding
  CHECK_FALSE(auth::parse_basic("Basic " + std::string(5000, 'A'), s));  // over the bound
}

TEST_CASE("auth: the verdict cache keeps verdicts per key for their lifetime", "[auth]") {
  auth::CredentialCache cache;
  auth::CacheKey a{}, b{};
  a[0] = 7, a[5] = 1;
  b[0] = 7, b[5] = 2;  // the same set
  CHECK(cache.find(a, 1000) == auth::CredentialCache::Verdict::unknown);
  cache.put(a, true, 1000);
  cache.put(b, false, 1000);
  CHECK(cache.find(a, 1000) == auth::CredentialCache::Verdict::ok);
  CHECK(cache.find(b, 2000) == auth::CredentialCache::Verdict::wrong);
  CHECK(cache.find(a, 1000 + auth::CredentialCache::kLifetimeMs) == auth::CredentialCache::Verdict::unknown);
  // A set holds 4: a fifth key in the same set drops the oldest.
  for (uint8_t i = 10; i < 14; ++i) {
    auth::CacheKey k{};
    k[0] = 7, k[5] = i;
    cache.put(k, true, 1000 + i);
  }
  CHECK(cache.find(a, 2000) == auth::CredentialCache::Verdict::unknown);
  auth::CacheKey ones;
  ones.fill(0xff);  // the key of credentials too long to key: never stored
  cache.put(ones, true, 1000);
  CHECK(cache.find(ones, 1000) == auth::CredentialCache::Verdict::unknown);
}

TEST_CASE("auth: check_basic asks for a verification once, then answers from the cache", "[auth]") {
  config::AuthUser u{"alice", cheap_hash("s3cret")};
  const auth::UserList users = auth::compile_users({u});
  auth::CredentialCache cache;
  auth::BasicScratch s;
  http::RequestHead req;
  CHECK(auth::check_basic(users, req, cache, 1, s) == auth::BasicCheck::missing);
  const std::string good = basic("alice:s3cret"), bad = basic("alice:nope"), ghost = basic("mallory:s3cret");
  req.headers = {{"Authorization", good}};
  REQUIRE(auth::check_basic(users, req, cache, 1, s) == auth::BasicCheck::verify);
  CHECK(s.account == &users.users[0]);
  cache.put(s.key, true, 1);
  CHECK(auth::check_basic(users, req, cache, 2, s) == auth::BasicCheck::ok);

  req.headers = {{"authorization", bad}};
  REQUIRE(auth::check_basic(users, req, cache, 2, s) == auth::BasicCheck::verify);
  const auth::CacheKey bad_key = s.key;
  cache.put(s.key, false, 2);
  CHECK(auth::check_basic(users, req, cache, 3, s) == auth::BasicCheck::wrong);

  // An unknown user needs a verification too (its timing must not differ), and an "ok" under
  // its key can never let it in.
  req.headers = {{"Authorization", ghost}};
  REQUIRE(auth::check_basic(users, req, cache, 3, s) == auth::BasicCheck::verify);
  CHECK(s.account == nullptr);
  cache.put(s.key, true, 3);
  CHECK(auth::check_basic(users, req, cache, 3, s) == auth::BasicCheck::wrong);

  // The key depends on the configured hash: a new password hash forgets the old verdicts.
  config::AuthUser changed{"alice", cheap_hash("other")};
  const auth::UserList users2 = auth::compile_users({changed});
  req.headers = {{"Authorization", bad}};
  REQUIRE(auth::check_basic(users2, req, cache, 4, s) == auth::BasicCheck::verify);
  CHECK(s.key != bad_key);

  // Two Authorization fields are ambiguous: refused as missing.
  req.headers = {{"Authorization", good}, {"Authorization", good}};
  CHECK(auth::check_basic(users, req, cache, 4, s) == auth::BasicCheck::missing);
  CHECK(auth::challenge("Ops area") == "Basic realm=\"Ops area\", charset=\"UTF-8\"");
}

TEST_CASE("auth: CredentialVerifier gives verdicts off the loop and refuses past its queue", "[auth]") {
  config::AuthUser u{"alice", cheap_hash("s3cret")};
  const auth::UserList users = auth::compile_users({u});
  asio::io_context io;
  auth::CredentialVerifier v;
  using V = auth::CredentialVerifier::Verdict;
  std::vector<V> got;
  bool done = false;
  asio::co_spawn(io, [&]() -> awaitable<void> {
    got.push_back(co_await v.verify("s3cret", &users.users[0], users.users[0]));
    got.push_back(co_await v.verify("wrong", &users.users[0], users.users[0]));
    got.push_back(co_await v.verify("s3cret", nullptr, users.users[0]));  // unknown user
    done = true;
  }, asio::detached);
  run_until(io, done);
  REQUIRE(done);
  CHECK(got == std::vector<V>{V::ok, V::wrong, V::wrong});
  CHECK(v.verifications() == 3);

  // More checks at once than the queue holds: the excess is refused at once.
  config::AuthUser slow{"bob", util::format_password_hash([] {
                                 util::PasswordHash h;
                                 h.kind = util::PasswordHash::Kind::pbkdf2_sha256;
                                 h.iterations = 1000000;  // ~0.5 s each: the queue fills long before the first ends
                                 h.salt = "saltsaltsalt";
                                 h.hash = std::string(32, 'x');
                                 return h;
                               }())};
  const auth::UserList slow_users = auth::compile_users({slow});
  const size_t n = auth::CredentialVerifier::kQueueMax + 8;
  size_t finished = 0, busy = 0;
  auto check = [&]() -> awaitable<void> {
    if (co_await v.verify("pw", &slow_users.users[0], slow_users.users[0]) == V::busy) ++busy;
    ++finished;
  };
  // The first check is taken by the verifier's thread (and runs ~0.5 s) ...
  asio::co_spawn(io, check, asio::detached);
  io.poll(), io.restart();
  for (int i = 0; i < 1000 && v.running() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(v.running() == 1);
  // ... the next kQueueMax - 1 wait, and the rest are refused at once.
  for (size_t i = 1; i < n; ++i) asio::co_spawn(io, check, asio::detached);
  for (int i = 0; i < 20; ++i) io.poll(), io.restart();
  CHECK(v.queued() == auth::CredentialVerifier::kQueueMax - 1);
  CHECK(busy == 8);
  CHECK(v.refused() == 8);
  // Stop: the queued ones are answered busy and the running one finishes; none is lost.
  v.stop();
  bool all = false;
  for (int i = 0; i < 1000 && !all; ++i) {
    io.run_for(std::chrono::milliseconds(10));
    io.restart();
    all = finished == n;
  }
  CHECK(finished == n);
  CHECK(busy == n - 1);  // all but the one that ran
}

TEST_CASE("auth: a basic-auth rule stops for a verification and resumes after it", "[auth][rules]") {
  const std::string text =
      "frontend web\n    bind 127.0.0.1:0\n    default-app a\n"
      "backend pool\n    server s1 127.0.0.1:9001\n"
      "app a\n    backend pool\n"
      "    auth-user alice " + cheap_hash("s3cret") + "\n"
      "    acl admin path-prefix /admin\n"
      "    rate-limit 1000/s key app\n"
      "    basic-auth \"Admin\" if admin\n"
      "    request-header set X-User %{auth-user}\n";
  auto r = config::load_string(text, "t.conf", {});
  INFO(config::format(r.diagnostics));
  REQUIRE(r.ok());
  auto prog = rules::compile_rules(r.config->apps[0].rules);
  const rules::RuleProgram* p[] = {prog.get()};
  auth::CredentialCache cache;
  http::RequestHead head;
  head.method = "GET";
  head.target = head.path = "/admin/x";
  head.host = "a";
  rules::RequestFacts f;
  f.req = &head;
  f.host = head.host;
  f.now_ms = 5000;
  f.auth_cache = &cache;
  rules::RuleScratch s;

  // No credentials: 401, marked missing.
  auto o = rules::evaluate(p, 1, f, s);
  REQUIRE(o.answer != nullptr);
  CHECK(o.answer->kind == config::Rule::Kind::basic_auth);
  CHECK(o.auth_missing);
  CHECK(o.answer->value == "Admin");

  // Good credentials: a verification, then (verdict cached) the rules after it run.
  const std::string good = basic("alice:s3cret");
  head.headers = {{"Authorization", good}};
  o = rules::evaluate(p, 1, f, s);
  REQUIRE(o.verify != nullptr);
  CHECK(o.answer == nullptr);
  CHECK(util::verify_password(std::string(s.auth.password), s.auth.account->hash));
  cache.put(s.auth.key, true, f.now_ms);
  o = rules::resume(p, 1, f, s, o);
  CHECK(o.answer == nullptr);
  CHECK(o.verify == nullptr);
  rules::apply_request_edits(s, head);
  bool user_set = false;
  for (const auto& h : head.headers) user_set |= h.name == "X-User" && h.value == "alice";
  CHECK(user_set);

  // Cached now: no verification on the next request.
  head.headers = {{"Authorization", good}};
  o = rules::evaluate(p, 1, f, s);
  CHECK(o.verify == nullptr);
  CHECK(o.answer == nullptr);

  // A wrong password: 401 after its verification, not marked missing.
  const std::string bad = basic("alice:guess");
  head.headers = {{"Authorization", bad}};
  o = rules::evaluate(p, 1, f, s);
  REQUIRE(o.verify != nullptr);
  cache.put(s.auth.key, false, f.now_ms);
  o = rules::resume(p, 1, f, s, o);
  REQUIRE(o.answer != nullptr);
  CHECK(o.answer->kind == config::Rule::Kind::basic_auth);
  CHECK_FALSE(o.auth_missing);

  // Outside the acl the rule does not apply.
  head.path = head.target = "/public";
  head.headers.clear();
  o = rules::evaluate(p, 1, f, s);
  CHECK(o.answer == nullptr);
  CHECK(o.verify == nullptr);
}
