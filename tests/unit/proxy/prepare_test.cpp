// Engine::prepare / prepare_config (ferry/proxy/prepare.h): what can fail for a reason in the
// configuration is found before anything is installed, as diagnostics at the directive, and
// apply() installs a prepared configuration without reading any file.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "ferry/configlang/load.h"
#include "ferry/proxy/engine.h"
#include "ferry/proxy/prepare.h"
#include "tls_test_certs.h"

using namespace ferry;
using namespace ferry::proxy;
using namespace tls_test;

namespace {

std::shared_ptr<const config::Config> load(const std::string& text) {
  auto r = config::load_string(text, "t.conf", {});
  INFO(config::format(r.diagnostics));
  REQUIRE(r.ok());
  return r.config;
}

// `certificate PATH` is on line 13, PATH at column 17; `access-log` (line 4) at column 16.
std::string config_text(const std::string& cert, const std::string& access_log = "off") {
  return "global\n"
         "    workers 1\n"
         "    log stderr error\n"
         "    access-log " + access_log + "\n"
         "frontend web\n"
         "    bind 127.0.0.1:0 tls\n"
         "    default-app a\n"
         "backend b\n"
         "    server s1 127.0.0.1:9\n"
         "app a\n"
         "    hosts a.test\n"
         "    backend b\n"
         "    certificate " + cert + "\n";
}

struct Pems {
  Issued ca = make_ca("Prepare Test CA");
  Issued leaf = make_leaf(CertSpec{"a.test", {"a.test"}}, &ca);
  Issued other = make_leaf(CertSpec{"b.test", {"b.test"}}, &ca);
  TempFile good{pem(leaf.cert.get()) + pem(ca.cert.get()) + pem(leaf.key.get())};
  TempFile mismatch{pem(leaf.cert.get()) + pem(ca.cert.get()) + pem(other.key.get())};
};

std::vector<std::string> addresses(const Engine& e) {
  std::vector<std::string> out;
  for (const auto& l : e.listeners()) out.push_back(l.frontend + " " + l.address);
  return out;
}

}  // namespace

TEST_CASE("Engine::prepare: a bad certificate is a diagnostic at its directive; the live engine is untouched",
          "[prepare][engine]") {
  Pems pems;
  Engine engine;
  std::string error;
  Prepared first = engine.prepare(load(config_text(pems.good.path)));
  INFO(config::format(first.diagnostics));
  REQUIRE(first.ok());
  REQUIRE(first.ready);
  REQUIRE(engine.apply(first.ready, error));
  const auto listening = addresses(engine);
  const uint64_t generation = engine.stats().generation;
  REQUIRE(listening.size() == 1);

  Prepared bad = engine.prepare(load(config_text(pems.mismatch.path)));
  CHECK_FALSE(bad.ok());
  CHECK_FALSE(bad.ready);
  INFO(config::format(bad.diagnostics));
  REQUIRE(bad.diagnostics.size() == 1);
  const config::Diagnostic& d = bad.diagnostics[0];
  CHECK(d.severity == config::Diagnostic::Severity::error);
  CHECK(d.file == "t.conf");
  CHECK(d.line == 13);
  CHECK(d.col == 17);
  CHECK(d.message.rfind("app 'a': " + pems.mismatch.path + ": ", 0) == 0);
  CHECK(d.message.find("private key does not match the certificate") != std::string::npos);
  // Nothing live changed: same plan generation, same listeners.
  CHECK(engine.stats().generation == generation);
  CHECK(addresses(engine) == listening);

  // The check (`ferryd -c`, validate) reports the same and is never installable.
  Prepared check = prepare_config(load(config_text(pems.mismatch.path)));
  REQUIRE(check.diagnostics.size() == 1);
  CHECK(check.diagnostics[0].message == d.message);
  Prepared fine = prepare_config(load(config_text(pems.good.path)));
  CHECK(fine.ok());
  CHECK_FALSE(fine.ready);

  // A configuration prepared by another engine (other session ticket keys) is refused.
  Engine other;
  Prepared foreign = other.prepare(load(config_text(pems.good.path)));
  REQUIRE(foreign.ready);
  CHECK_FALSE(engine.apply(foreign.ready, error));
  CHECK(error == "the configuration was not prepared by this engine");
  CHECK(engine.stats().generation == generation);

  // apply() of the convenience form reports the preparation's errors with their position.
  CHECK_FALSE(engine.apply(load(config_text(pems.mismatch.path)), error));
  CHECK(error.rfind("t.conf:13:17: app 'a': ", 0) == 0);
  CHECK(engine.stats().generation == generation);
  engine.stop();
  other.stop();
}

TEST_CASE("Engine::apply reads no file: a certificate removed after prepare() still goes live", "[prepare][engine]") {
  Pems pems;
  auto copy = std::make_unique<TempFile>(pem(pems.leaf.cert.get()) + pem(pems.ca.cert.get()) + pem(pems.leaf.key.get()));
  Engine engine;
  const std::string path = copy->path;
  Prepared p = engine.prepare(load(config_text(path)));
  INFO(config::format(p.diagnostics));
  REQUIRE(p.ready);
  copy.reset();  // the file is gone
  std::string error;
  CHECK(engine.apply(p.ready, error));
  CHECK(engine.stats().generation >= 1);
  // Preparing again now fails: the file is read at prepare.
  CHECK_FALSE(engine.prepare(load(config_text(path))).ok());
  engine.stop();
}

TEST_CASE("prepare: the access-log file is opened, checked or left alone, at its directive", "[prepare]") {
  Pems pems;
  const std::string missing = "/nonexistent-ferry-dir/access.log";
  Prepared checked = prepare_config(load(config_text(pems.good.path, missing)));
  REQUIRE(checked.diagnostics.size() == 1);
  CHECK(checked.diagnostics[0].line == 4);
  CHECK(checked.diagnostics[0].col == 16);
  CHECK(checked.diagnostics[0].message == "access-log " + missing + ": No such file or directory");
  PrepareOptions skip;
  skip.outputs = PrepareOptions::OutputFiles::skip;  // untrusted text: the path is not probed
  CHECK(prepare_config(load(config_text(pems.good.path, missing)), skip).ok());

  // A check creates nothing; the engine's prepare creates the file (append, kept for apply).
  TempFile dir_probe("");
  const std::string fresh = dir_probe.path + ".access.log";
  CHECK(prepare_config(load(config_text(pems.good.path, fresh))).ok());
  CHECK(std::fopen(fresh.c_str(), "r") == nullptr);
  Engine engine;
  Prepared p = engine.prepare(load(config_text(pems.good.path, fresh)));
  CHECK(p.ready);
  FILE* f = std::fopen(fresh.c_str(), "r");
  CHECK(f != nullptr);
  if (f) std::fclose(f);
  std::remove(fresh.c_str());
  engine.stop();
}
