// Crash safety: a writer killed with SIGKILL at random points must leave a database that
// passes integrity_check and holds only whole certificates (chain and key of the same write).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <sstream>
#include <thread>

#include "store/cert_store.h"
#include "store/open.h"
#include "store_test_support.h"

using namespace ferry::store;
using ferry::store::test::TempDir;

namespace {

constexpr int kNames = 7;

// Sizes vary from a few hundred bytes to several pages, so rows use overflow pages.
std::string filler(const std::string& name, int64_t gen, char salt) {
  const size_t size = 200 + static_cast<size_t>(gen * 7919 % 9000);
  std::string s(size, salt);
  for (size_t i = 0; i < size; i += 64) s[i] = static_cast<char>('a' + (gen + static_cast<int64_t>(i)) % 26);
  return s + name;
}

CertificateRecord generation(const std::string& name, int64_t gen) {
  CertificateRecord c;
  c.name = name;
  c.hosts = {name + ".example.com", "gen-" + std::to_string(gen) + ".example.com"};
  c.chain_pem = "CHAIN " + name + " " + std::to_string(gen) + "\n" + filler(name, gen, 'c');
  c.key_pem = "KEY " + name + " " + std::to_string(gen) + "\n" + filler(name, gen, 'k');
  c.not_before = gen;
  c.not_after = gen + 90 * 86400;
  c.issuer = "CN=crash test";
  c.updated_at = gen;
  return c;
}

// Child: writes certificates until killed. Signals `ready_fd` after its first commit.
[[noreturn]] void writer(const std::string& state, int ready_fd, int64_t first_gen) {
  Db db;
  OpenReport report;
  if (!open_store(state, db, report)) ::_exit(2);
  CertStore store(db);
  for (int64_t gen = first_gen;; ++gen) {
    if (!store.upsert_certificate(generation("app" + std::to_string(gen % kNames), gen))) ::_exit(3);
    if (gen == first_gen && ::write(ready_fd, "r", 1) != 1) ::_exit(4);
  }
}

// Starts a writer, waits for its first commit, lets it run `delay`, then SIGKILLs it.
void run_and_kill(const std::string& state, int64_t first_gen, std::chrono::milliseconds delay) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    writer(state, fds[1], first_gen);
  }
  ::close(fds[1]);
  char c = 0;
  ssize_t n = ::read(fds[0], &c, 1);
  ::close(fds[0]);
  if (n == 1) std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(n == 1);  // else the child failed before its first write (see its exit status)
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

void check_complete(const CertificateRecord& c) {
  // The generation is in the key's first line; every other column must match that write.
  std::istringstream first_line(c.key_pem.substr(0, c.key_pem.find('\n')));
  std::string tag, name;
  int64_t gen = -1;
  first_line >> tag >> name >> gen;
  INFO("certificate " << c.name << " key header: " << tag << " " << name << " " << gen);
  REQUIRE(gen >= 0);
  CertificateRecord expected = generation(c.name, gen);
  CHECK(name == c.name);
  CHECK(c.chain_pem == expected.chain_pem);
  CHECK(c.key_pem == expected.key_pem);
  CHECK(c.hosts == expected.hosts);
  CHECK(c.not_before == expected.not_before);
  CHECK(c.not_after == expected.not_after);
  CHECK(c.updated_at == expected.updated_at);
}

}  // namespace

TEST_CASE("store crash: SIGKILL during certificate writes leaves only whole rows", "[store]") {
  TempDir tmp;
  const std::string state = tmp / "state";
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(1, 60);
  for (int round = 0; round < 8; ++round) {
    run_and_kill(state, int64_t{round} * 1000000, std::chrono::milliseconds(delay_ms(rng)));
  }

  Db db;
  OpenReport report;
  Status s = open_store(state, db, report);
  INFO(s.message);
  REQUIRE(s.ok);
  std::string integrity;
  REQUIRE(db.query_text("PRAGMA integrity_check", integrity).ok);
  CHECK(integrity == "ok");

  std::vector<CertificateRecord> all;
  CertStore store(db);
  REQUIRE(store.load_certificates(all).ok);
  CHECK_FALSE(all.empty());
  CHECK(all.size() <= kNames);
  bool saw_last_round = false;
  for (const CertificateRecord& c : all) {
    check_complete(c);
    saw_last_round |= c.updated_at >= 7000000;  // the last writer's first commit survived
  }
  CHECK(saw_last_round);
}
