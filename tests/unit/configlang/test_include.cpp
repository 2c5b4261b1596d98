// `include` with globs, relative paths, cycles, errors; load_file.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "helpers.h"

using namespace cfgtest;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ferry-configlang-XXXXXX";
    path = ::mkdtemp(tmpl);
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

}  // namespace

TEST_CASE("include with a glob, relative to the including file", "[configlang][include]") {
  TempDir t;
  std::string main = t.write("ferry.conf",
                             "defaults\n    timeout client 5s\n"
                             "include conf.d/*.conf\n"
                             "include backends.conf\n");
  t.write("conf.d/10-web.conf", "frontend web\n    bind 127.0.0.1:0\n    default-app a\n");
  t.write("conf.d/20-app.conf", "app a\n    hosts a.example\n    backend pool\n");
  t.write("conf.d/ignored.txt", "this is not read\n");
  t.write("backends.conf", "backend pool\n    server s 127.0.0.1:1\n");
  auto r = load_file(main, env());
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  const Config& c = *r.config;
  REQUIRE(c.files.size() == 4);
  CHECK(c.files[0] == main);
  CHECK(c.files[1] == t.path + "/conf.d/10-web.conf");
  CHECK(c.files[2] == t.path + "/conf.d/20-app.conf");
  CHECK(c.files[3] == t.path + "/backends.conf");
  CHECK(c.frontends.at(0).loc.file == t.path + "/conf.d/10-web.conf");
  CHECK(c.apps.at(0).backend == 0);
}

TEST_CASE("include errors carry the included file's position", "[configlang][include]") {
  TempDir t;
  std::string main = t.write("ferry.conf",
                             "include missing.conf\n"      // 1: error
                             "include nothing/*.conf\n"    // 2: warning
                             "include sub/a.conf\n"        // 3
                             "include\n"                   // 4
                             "include a b\n");             // 5
  t.write("sub/a.conf", "global\n    workers lots\ninclude b.conf\n");
  t.write("sub/b.conf", "include a.conf\n");  // cycle: relative to sub/
  auto r = load_file(main, env());
  INFO(format(r.diagnostics));
  CHECK(where(r, "cannot include '" + t.path + "/missing.conf': No such file or directory") == "1:9");
  CHECK(warn_where(r, "include pattern 'nothing/*.conf' matched no files") == "2:9");
  const Diagnostic* w = find(r, "invalid number 'lots'");
  REQUIRE(w);
  CHECK(w->file == t.path + "/sub/a.conf");
  CHECK(w->line == 2);
  CHECK(w->col == 13);
  CHECK(w->source_line == "    workers lots");
  const Diagnostic* cyc = find(r, "include cycle");
  REQUIRE(cyc);
  CHECK(cyc->file == t.path + "/sub/b.conf");
  CHECK(cyc->line == 1);
  CHECK(where(r, "missing path: expected 'include PATH'") == "4:8");
  CHECK(where(r, "unexpected extra argument 'b': expected 'include PATH'") == "5:11");
  // Diagnostics in source order: main line 1, 2, then sub/a.conf, sub/b.conf, then main 4, 5.
  std::vector<std::string> order;
  for (const auto& d : r.diagnostics) order.push_back(d.file.substr(t.path.size()) + ":" + std::to_string(d.line));
  CHECK(order == std::vector<std::string>{"/ferry.conf:1", "/ferry.conf:2", "/sub/a.conf:2", "/sub/b.conf:1",
                                          "/ferry.conf:4", "/ferry.conf:5", "/ferry.conf:0"});
}

TEST_CASE("a file including itself, and include of a directory", "[configlang][include]") {
  TempDir t;
  std::string main = t.write("self.conf", "include self.conf\ninclude sub\n");
  t.write("sub/x.conf", "");
  auto r = load_file(main, env());
  CHECK(where(r, "include cycle") == "1:9");
  CHECK(where(r, "is a directory") == "2:9");
}

TEST_CASE("include can be disabled", "[configlang][include]") {
  LoadOptions o = env();
  o.allow_includes = false;
  auto r = load_string("include /etc/passwd\n", "x", o);
  CHECK(where(r, "include is disabled") == "1:9");
}

TEST_CASE("load_string includes resolve against the cwd; ${VAR} in include paths", "[configlang][include]") {
  TempDir t;
  t.write("inc.conf", "backend pool\n    server s 127.0.0.1:1\n");
  auto r = load("include ${DIR}/inc.conf\n", {{"DIR", t.path}});
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.config->backends.size() == 1);
  CHECK(r.config->files.at(0) == "t.conf");
}

TEST_CASE("load_file keeps the main file's text; load_string resolves against base_dir", "[configlang][include]") {
  TempDir t;
  const std::string text =
      "defaults\n    timeout client 5s\n"
      "include parts/app.conf\n"
      "frontend web\n    bind 127.0.0.1:0\n    default-app a\n"
      "backend pool\n    server s 127.0.0.1:1\n";
  std::string main = t.write("ferry.conf", text);
  t.write("parts/app.conf", "app a\n    hosts a.example\n    backend pool\n    certificate certs/a.pem\n");
  auto r = load_file(main, env());
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.source_text == text);  // the main file only, as read
  CHECK(r.config->apps.at(0).certificate == t.path + "/parts/certs/a.pem");

  // The same text given as a string "in" the directory: the include and relative paths
  // resolve as for the file.
  LoadOptions opts = env();
  opts.base_dir = t.path;
  auto s = load_string(text + "app b\n    hosts b.example\n    backend pool\n    certificate b.pem\n",
                       t.path + "/candidate", opts);
  INFO(format(s.diagnostics));
  REQUIRE(s.ok());
  CHECK(s.source_text.empty());
  CHECK(s.config->apps.at(0).certificate == t.path + "/parts/certs/a.pem");
  CHECK(s.config->apps.at(1).certificate == t.path + "/b.pem");
  // Without base_dir a relative include resolves against the cwd (unchanged behaviour).
  auto cwd = load_string(text, "candidate", env());
  CHECK_FALSE(cwd.ok());
}
