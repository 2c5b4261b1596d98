// The admin surface's directives: admin-host, admin-tls, admin-session-timeout, metrics-public,
// admin-user HASH formats (password_hash.h) and the non-loopback admin address rule.
#include <catch2/catch.hpp>

#include "ferry/util/base64.h"
#include "ferry/util/password_hash.h"
#include "helpers.h"

using namespace cfgtest;
using namespace ferry::util;
using namespace std::chrono_literals;

namespace {
std::string with(const std::string& extra) { return std::string(kBase) + extra; }  // extra starts at line 11
const std::string kHash = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg";
}  // namespace

TEST_CASE("admin security directives and defaults", "[configlang][admin]") {
  auto d = load(kBase);
  REQUIRE(d.ok());
  const Global& g0 = d.config->global;
  CHECK(g0.admin_hosts.empty());
  CHECK(g0.admin_tls_cert.empty());
  CHECK(g0.admin_session_timeout == 30min);
  CHECK_FALSE(g0.metrics_public);

  auto r = load_string(with("global\n"
                            "    admin 0.0.0.0:9900\n"
                            "    admin-user ops " + kHash + "\n"
                            "    admin-host Admin.Example.com\n"
                            "    admin-host console.internal\n"
                            "    admin-tls admin.pem\n"
                            "    admin-session-timeout 2s\n"
                            "    metrics-public on\n"),
                       "/etc/ferry/t.conf", env());
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  const Global& g = r.config->global;
  CHECK(g.admin_hosts == std::vector<std::string>{"admin.example.com", "console.internal"});
  CHECK(g.admin_tls_cert == "/etc/ferry/admin.pem");
  CHECK(g.admin_tls_key == "/etc/ferry/admin.pem");
  CHECK(g.admin_session_timeout == 2s);
  CHECK(g.metrics_public);
  CHECK(g.admin_loc.line == 12);

  auto k = load(with("global\n    admin-tls /a/cert.pem key.pem\n    metrics-public off\n"));
  REQUIRE(k.ok());
  CHECK(k.config->global.admin_tls_cert == "/a/cert.pem");
  CHECK(k.config->global.admin_tls_key == "key.pem");  // t.conf has no directory
  CHECK_FALSE(k.config->global.metrics_public);
}

TEST_CASE("admin security errors with positions", "[configlang][admin]") {
  auto r = load(with("global\n"
                     "    admin-user ops plain\n"                        // 12
                     "    admin-user dev $md5$x$y$z\n"                   // 13
                     "    admin-user a $scrypt$ln=9,r=8,p=1$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg\n"  // 14
                     "    admin-user b $pbkdf2-sha256$i=10$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg\n"   // 15
                     "    admin-user c $pbkdf2-sha256$i=1000$c2F!dHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg\n" // 16
                     "    admin-host *.example.com\n"                    // 17
                     "    admin-session-timeout 0\n"                     // 18
                     "    metrics-public yes\n"                          // 19
                     "    admin-tls\n"));                                // 20
  CHECK(where(r, "unknown password hash format") == "12:20");
  CHECK(where(r, "unknown password hash scheme 'md5'") == "13:20");
  CHECK(where(r, "ln=9 is out of range (10..20)") == "14:18");
  CHECK(where(r, "i=10 is out of range (1000..10000000)") == "15:18");
  CHECK(where(r, "salt is not valid base64") == "16:18");
  CHECK(where(r, "admin-host takes a plain name") == "17:16");
  CHECK(where(r, "admin-session-timeout must be between 1s and 720h") == "18:27");
  CHECK(where(r, "invalid value 'yes'") == "19:20");
  CHECK(where(r, "missing argument: expected 'admin-tls CERT_PEM [KEY_PEM]'") != "none");
}

TEST_CASE("a non-loopback admin address needs admin-tls and a user", "[configlang][admin]") {
  auto bare = load(with("global\n    admin 0.0.0.0:9900\n"));
  CHECK(where(bare, "admin address 0.0.0.0:9900 is not loopback: it needs 'admin-tls CERT_PEM [KEY_PEM]' and at least one 'admin-user NAME HASH'") == "12:11");
  auto no_user = load(with("global\n    admin 192.0.2.1:9900\n    admin-tls /x.pem\n"));
  CHECK(where(no_user, "it needs at least one 'admin-user NAME HASH'") == "12:11");
  auto no_tls = load(with("global\n    admin [::]:9900\n    admin-user ops " + kHash + "\n"));
  CHECK(where(no_tls, "it needs 'admin-tls CERT_PEM [KEY_PEM]' (or use") == "12:11");
  auto wildcard = load(with("global\n    admin :9900\n"));
  CHECK(where(wildcard, "is not loopback") == "12:11");
  for (const char* ok : {"127.0.0.1:9900", "127.1.2.3:1", "[::1]:9900"}) {
    auto r = load(with(std::string("global\n    admin ") + ok + "\n"));
    INFO(ok << "\n" << format(r.diagnostics));
    CHECK(r.ok());
  }
  auto full = load(with("global\n    admin 0.0.0.0:9900\n    admin-tls /x.pem\n    admin-user ops " + kHash + "\n"));
  INFO(format(full.diagnostics));
  CHECK(full.ok());
}

TEST_CASE("password hash text format round-trips", "[configlang][admin]") {
  std::string why;
  auto h = parse_password_hash("$pbkdf2-sha256$i=600000$c2FsdHNhbHQ=$MDEyMzQ1Njc4OWFiY2RlZg==", why);
  REQUIRE(h);
  CHECK(h->kind == PasswordHash::Kind::pbkdf2_sha256);
  CHECK(h->iterations == 600000u);
  CHECK(h->salt == "saltsalt");
  CHECK(h->hash == "0123456789abcdef");
  CHECK(format_password_hash(*h) == "$pbkdf2-sha256$i=600000$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg");

  auto s = parse_password_hash(kHash, why);
  REQUIRE(s);
  CHECK(s->kind == PasswordHash::Kind::scrypt);
  CHECK(s->log2_n == 15);
  CHECK(s->r == 8u);
  CHECK(s->p == 1u);
  CHECK(format_password_hash(*s) == kHash);

  for (const char* bad : {"", "$scrypt$", "$scrypt$ln=15,r=8$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg",
                          "$scrypt$ln=15,r=8,p=1$c2FsdA$MDEyMzQ1Njc4OWFiY2RlZg",      // salt 4 bytes
                          "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$MDEy",                   // hash 3 bytes
                          "$scrypt$ln=20,r=32,p=1$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg",  // 4 GiB
                          "$scrypt$ln=17,r=8,p=16$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg",  // 64x the work
                          "$pbkdf2-sha256$i=20000000$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg",
                          "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHR$MDEyMzQ1Njc4OWFiY2RlZg",  // non-canonical
                          "$pbkdf2-sha256$i=1e6$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg",
                          "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$MDEyMzQ1Njc4OWFiY2RlZg$"}) {
    INFO(bad);
    CHECK_FALSE(parse_password_hash(bad, why));
  }
  for (std::string bytes : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
                            std::string("\xff\x00\x80", 3)}) {
    // The codec and policies password hashes use (ferry/util/base64.h).
    auto back = ferry::util::base64_decode(ferry::util::base64_encode(bytes, ferry::util::Base64Alphabet::standard, false),
                                           ferry::util::Base64Alphabet::standard, ferry::util::Base64Padding::optional);
    REQUIRE(back);
    CHECK(*back == bytes);
  }
}
