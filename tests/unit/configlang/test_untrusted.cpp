// Untrusted text (LoadOptions::untrusted, the admin API's validate): no environment, files only
// under base_dir, one refusal message; and the bounds on any text: diagnostics cap, total
// bytes read, streaming (memory per line).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "file_access.h"
#include "helpers.h"

using namespace cfgtest;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ferry-untrusted-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    char buf[PATH_MAX];
    path = ::realpath(p, buf);
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    (void)std::system(cmd.c_str());
  }
  std::string write(const std::string& rel, const std::string& body) const {
    std::string p = path + "/" + rel;
    auto slash = p.rfind('/');
    ::mkdir(p.substr(0, slash).c_str(), 0755);
    std::ofstream(p) << body;
    return p;
  }
};

LoadOptions untrusted(const std::string& dir, std::map<std::string, std::string> vars = {}) {
  LoadOptions o = env(std::move(vars));
  o.base_dir = dir;
  o.untrusted = true;
  return o;
}

std::vector<std::string> messages(const LoadResult& r, Diagnostic::Severity sev) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics)
    if (d.severity == sev) out.push_back(d.message);
  return out;
}

}  // namespace

TEST_CASE("untrusted: ${VAR} is a placeholder, never a value; errors on it are warnings", "[configlang][untrusted]") {
  TempDir t;
  std::map<std::string, std::string> vars{{"SECRET", "hunter2-value"}, {"PORT", "8080"}};
  // Trusted: expanded.
  auto trusted = load_string(std::string(kBase) + "global\n    node ${SECRET}\n", "t.conf", env(vars));
  REQUIRE(trusted.ok());
  CHECK(trusted.config->global.node == "hunter2-value");
  // Untrusted: never looked up, not even through the given getenv.
  bool called = false;
  LoadOptions o = untrusted(t.path);
  o.getenv = [&](const char*) -> const char* {
    called = true;
    return "hunter2-value";
  };
  auto r = load_string(std::string(kBase) + "global\n    node x${SECRET}y\n    maxconn ${PORT}\n"
                       "backend more\n    balance \"${SECRET}\"\n    server s 127.0.0.1:${PORT}\n",
                       t.path + "/candidate", o);
  INFO(format(r.diagnostics));
  CHECK_FALSE(called);
  REQUIRE(r.ok());  // structurally valid: the placeholders' errors are warnings
  CHECK(r.config->global.node == "x${SECRET}y");
  CHECK(format(r.diagnostics).find("hunter2") == std::string::npos);
  auto warns = messages(r, Diagnostic::Severity::warning);
  REQUIRE(warns.size() == 4);
  CHECK(warns[0].find("not checked here: ${PORT}") != std::string::npos);    // maxconn
  CHECK(warns[1] == "backend 'more' has no servers");                        // the server was not kept
  CHECK(warns[2].find("'${SECRET}'") != std::string::npos);                  // balance
  CHECK(warns[2].find("not checked here: ${SECRET}") != std::string::npos);
  CHECK(warns[3].find("not checked here: ${PORT}") != std::string::npos);    // server address
  // Other errors stay errors; a broken ${ is still an error.
  auto bad = load_string(std::string(kBase) + "global\n    maxconn ${PORT}\n    nodee x\n    region ${A}${\n",
                         t.path + "/candidate", untrusted(t.path));
  CHECK_FALSE(bad.ok());
  CHECK(where(bad, "unknown directive 'nodee'") == "13:5");
  CHECK(where(bad, "unterminated '${'") == "14:16");
}

TEST_CASE("untrusted: files only under base_dir, one refusal whatever the reason", "[configlang][untrusted]") {
  TempDir t;
  TempDir outside;
  outside.write("secret.conf", "backend x\n    server s 127.0.0.1:1\n");
  t.write("inc/ok.conf", "backend pool2\n    server s 127.0.0.1:1\n");
  REQUIRE(::symlink((outside.path + "/secret.conf").c_str(), (t.path + "/link.conf").c_str()) == 0);
  REQUIRE(::symlink(outside.path.c_str(), (t.path + "/out").c_str()) == 0);
  REQUIRE(::symlink((outside.path + "/missing").c_str(), (t.path + "/dangling").c_str()) == 0);

  auto r = load_string(std::string(kBase) + "include inc/*.conf\ninclude inc/ok.conf\n", t.path + "/candidate",
                       untrusted(t.path));
  INFO(format(r.diagnostics));
  CHECK(messages(r, Diagnostic::Severity::error) == std::vector<std::string>{"duplicate backend 'pool2'"});

  const std::string refusal = "' is not allowed: validation through the admin API reads only files under the running "
                              "configuration's directory (`ferryd -c` on the host reads any file)";
  for (std::string p : {outside.path + "/secret.conf", outside.path + "/missing.conf", std::string("link.conf"),
                        std::string("out/secret.conf"), std::string("out/missing.conf"), std::string("dangling"),
                        std::string("dangling/x"), std::string("../" + outside.path.substr(5) + "/secret.conf"),
                        std::string("out/*.conf"), std::string("*/secret.conf"), outside.path + "/*",
                        std::string("/etc/passwd"), std::string("/nonexistent-dir-x/*"), std::string("${X}/../../etc")}) {
    auto x = load_string(std::string(kBase) + "include " + p + "\n", t.path + "/candidate", untrusted(t.path));
    INFO(p << "\n" << format(x.diagnostics));
    CHECK(messages(x, Diagnostic::Severity::error) == std::vector<std::string>{"'" + p + refusal});
  }
  // File-path directives that checks read: the same rule, and nothing is read.
  std::string fe_cert = kBase;
  fe_cert.insert(fe_cert.find("frontend web\n") + 13, "    default-certificate ../x.pem\n");
  for (const std::string& text : {std::string(kBase) + "    certificate /etc/ssl/private/x.pem\n",
                                  fe_cert,
                                  std::string(kBase) + "global\n    admin-tls link.conf out/secret.conf\n",
                                  std::string(kBase) + "backend b2\n    server s 127.0.0.1:1 proto h2 ca-file /etc/ssl/certs/ca-certificates.crt\n"}) {
    auto x = load_string(text, t.path + "/candidate", untrusted(t.path));
    INFO(text << "\n" << format(x.diagnostics));
    CHECK_FALSE(x.ok());
    auto errs = messages(x, Diagnostic::Severity::error);
    REQUIRE(!errs.empty());
    for (const auto& e : errs) CHECK(e.find(refusal) != std::string::npos);
  }
  // A missing file inside is not refused (the usual "No such file" comes from the reader).
  auto m = load_string(std::string(kBase) + "include nope.conf\n", t.path + "/candidate", untrusted(t.path));
  CHECK(messages(m, Diagnostic::Severity::error).at(0).find("No such file") != std::string::npos);
  // Trusted text reads what it names.
  auto tr = load_string(std::string(kBase) + "include link.conf\n", t.path + "/candidate", [&] {
    LoadOptions o = env();
    o.base_dir = t.path;
    return o;
  }());
  CHECK(tr.ok());
  // No base directory, a relative one or "/": nothing is allowed.
  for (std::string dir : {"", ".", "/"}) {
    auto none = load_string(std::string(kBase) + "include /etc/passwd\n", dir + "/candidate", untrusted(dir));
    INFO(dir);
    CHECK(messages(none, Diagnostic::Severity::error).at(0).find("is not allowed") != std::string::npos);
  }
}

TEST_CASE("FileAccess: lexical normal form", "[configlang][untrusted]") {
  using ferry::config::detail::lexically_normal;
  CHECK(lexically_normal("/a/./b//c/../d") == "/a/b/d");
  CHECK(lexically_normal("/../../etc") == "/etc");
  CHECK(lexically_normal("/") == "/");
  CHECK(lexically_normal("/a/b/..") == "/a");
}

TEST_CASE("diagnostics are capped, every error still counted", "[configlang][limits]") {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "a\n";
  auto r = load(text);
  CHECK_FALSE(r.ok());
  CHECK(r.diagnostics.size() == kMaxDiagnostics);
  CHECK(r.error_count() == 5000);
  CHECK(r.omitted_errors == 4000);
  CHECK(r.omitted_warnings == 1);  // no frontend/app: reported after the lines' errors
  CHECK(omitted_summary(r) == "4000 more errors and 1 more warning not shown (the first 1000 are listed)");
  // The kept ones are the first in source order.
  CHECK(r.diagnostics.front().line == 1);
  CHECK(r.diagnostics.back().line == 1000);

  LoadOptions o = env();
  o.max_diagnostics = 3;
  auto small = load_string(std::string(kBase) + "backend pool\n    server s 127.0.0.1:1\nx\ny\n", "t.conf", o);
  // duplicate backend (with its note), x, y: 3 kept (notes come along), nothing omitted.
  CHECK(small.error_count() == 3);
  CHECK(small.omitted_errors == 0);
  o.max_diagnostics = 1;
  small = load_string(std::string(kBase) + "backend pool\n    server s 127.0.0.1:1\nx\ny\n", "t.conf", o);
  CHECK(small.error_count() == 3);
  CHECK(small.omitted_errors == 2);

  // limit_diagnostics for diagnostics added after loading.
  LoadResult lr;
  for (int i = 0; i < 5; ++i) {
    lr.diagnostics.push_back(Diagnostic{Diagnostic::Severity::warning, "f", i + 1, 1, "w", ""});
    lr.diagnostics.push_back(Diagnostic{Diagnostic::Severity::note, "f", i + 1, 1, "n", ""});
  }
  limit_diagnostics(lr, 2);
  CHECK(lr.diagnostics.size() == 4);
  CHECK(lr.warning_count() == 5);
  CHECK(omitted_summary(lr) == "3 more warnings not shown (the first 4 are listed)");
}

TEST_CASE("the text read in total is capped", "[configlang][limits]") {
  TempDir t;
  t.write("big.conf", std::string(3000, '#') + "\n");
  LoadOptions o = env();
  o.base_dir = t.path;
  o.max_source_bytes = 8000;
  auto ok = load_string(std::string(kBase) + "include big.conf\ninclude big.conf\n", t.path + "/c", o);
  INFO(format(ok.diagnostics));
  CHECK(ok.ok());
  auto over = load_string(std::string(kBase) + "include big.conf\ninclude big.conf\ninclude big.conf\n", t.path + "/c", o);
  INFO(format(over.diagnostics));
  CHECK(where(over, "would exceed 8000 bytes in total") == "13:9");
  o.max_source_bytes = 10;
  auto main = load_string(kBase, "c", o);
  CHECK(find(main, "the configuration is larger than 10 bytes"));
}

TEST_CASE("directives are checked as they are parsed: the same results", "[configlang][structure]") {
  // Orphan lines, nested blocks, a section ended by the next header and by the end of text.
  auto r = load("    a\n    b\nglobal\n    node n\n        deeper\n    nodee x\nfrontend web\n"
                "    bind 127.0.0.1:0\n    default-app hello\nbackend pool\n    server s1 127.0.0.1:9001\n"
                "app hello\n    hosts hello.example.com\n    backend pool\n    retries 1\n");
  INFO(format(r.diagnostics));
  CHECK(where(r, "is outside of any section") == "1:5");
  CHECK(messages(r, Diagnostic::Severity::error).size() == 4);
  CHECK(where(r, "takes no block") == "5:9");
  CHECK(where(r, "unknown directive 'nodee'") == "6:5");
  CHECK(where(r, "'retries'") == "15:5");
}
