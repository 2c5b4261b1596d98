// Lexer: tokens, columns, comments, quoting, ${VAR}.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "lexer.h"
#include "suggest.h"

using namespace ferry::config::detail;

namespace {
struct Lexed {
  int indent = 0;
  std::vector<Arg> toks;
  std::vector<std::pair<int, std::string>> errs;
};
Lexed lex(std::string_view s) {
  Lexed l;
  GetEnv env = [](const char* n) -> const char* { return std::string(n) == "HOME_DIR" ? "/home/x y" : nullptr; };
  lex_line(s, env, l.indent, l.toks, [&](int col, std::string m) { l.errs.emplace_back(col, m); });
  return l;
}
}  // namespace

TEST_CASE("lexer splits tokens with columns and drops comments", "[configlang][lexer]") {
  auto l = lex("    bind  :80 tls   # a comment");
  CHECK(l.indent == 4);
  REQUIRE(l.toks.size() == 3);
  CHECK(l.toks[0].text == "bind");
  CHECK(l.toks[0].loc.col == 5);
  CHECK(l.toks[0].end_col == 9);
  CHECK(l.toks[1].text == ":80");
  CHECK(l.toks[1].loc.col == 11);
  CHECK(l.toks[2].text == "tls");
  CHECK(l.errs.empty());
  CHECK(lex("# only a comment").toks.empty());
  CHECK(lex("   ").toks.empty());
  CHECK(lex("\tx").indent == 1);
  auto c = lex("a b#c");
  REQUIRE(c.toks.size() == 2);
  CHECK(c.toks[1].text == "b");
}

TEST_CASE("lexer quoting", "[configlang][lexer]") {
  auto l = lex(R"(x "a b" 'c "d' "e\"f\\g\n" pre"mid"'post' "#not")");
  REQUIRE(l.toks.size() == 6);
  CHECK(l.toks[1].text == "a b");
  CHECK(l.toks[1].quoted);
  CHECK(l.toks[2].text == "c \"d");
  CHECK(l.toks[3].text == "e\"f\\g\\n");
  CHECK(l.toks[4].text == "premidpost");
  CHECK(l.toks[5].text == "#not");
  CHECK(lex("''").toks.at(0).text.empty());
  CHECK(lex("'${HOME_DIR}'").toks.at(0).text == "${HOME_DIR}");
}

TEST_CASE("lexer errors", "[configlang][lexer]") {
  auto a = lex("x \"abc");
  REQUIRE(a.errs.size() == 1);
  CHECK(a.errs[0].first == 3);
  CHECK(a.errs[0].second == "unterminated double quote");
  CHECK(a.toks.at(1).bad);
  auto b = lex("x 'abc");
  REQUIRE(b.errs.size() == 1);
  CHECK(b.errs[0].second == "unterminated single quote");
  auto c = lex("x ${ABC");
  REQUIRE(c.errs.size() == 1);
  CHECK(c.errs[0].first == 3);
  CHECK(c.errs[0].second.find("unterminated '${'") != std::string::npos);
  auto d = lex("x ${1A}");
  REQUIRE(d.errs.size() == 1);
  CHECK(d.errs[0].second.find("invalid environment variable name") != std::string::npos);
}

TEST_CASE("lexer expands ${VAR} unquoted and in double quotes", "[configlang][lexer]") {
  auto l = lex("x ${HOME_DIR}/a \"${HOME_DIR}\" $HOME_DIR a$ ${NOPE}");
  REQUIRE(l.toks.size() == 6);
  CHECK(l.toks[1].text == "/home/x y/a");
  CHECK(l.toks[2].text == "/home/x y");
  CHECK(l.toks[3].text == "$HOME_DIR");
  CHECK(l.toks[4].text == "a$");
  REQUIRE(l.errs.size() == 1);
  CHECK(l.errs[0].first == 44);
  CHECK(l.errs[0].second == "environment variable 'NOPE' is not defined");
  CHECK(l.toks[5].bad);
}

TEST_CASE("${VAR} through load, undefined variable reported at its column", "[configlang][lexer]") {
  using namespace cfgtest;
  auto r = load(std::string(kBase) + "global\n    node ${NODE}\n    region \"r-${REGION}\"\n", {{"NODE", "edge-1"}, {"REGION", "yyz"}});
  INFO(format(r.diagnostics));
  REQUIRE(r.ok());
  CHECK(r.config->global.node == "edge-1");
  CHECK(r.config->global.region == "r-yyz");
  auto bad = load(std::string(kBase) + "global\n    node x${NODE}\n");
  CHECK(where(bad, "environment variable 'NODE' is not defined") == "12:11");
  CHECK(bad.error_count() == 1);  // no follow-up error for the same token
}

TEST_CASE("did-you-mean uses edit distance", "[configlang][suggest]") {
  CHECK(edit_distance("timeout", "timout") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("tsl", "tls") == 1);
  CHECK(closest("timout", {"timeout", "bind", "mode"}) == "timeout");
  CHECK(closest("zzzzzz", {"timeout", "bind"}).empty());
  CHECK(did_you_mean("frontned", {"frontend", "backend"}) == "; did you mean 'frontend'?");
}
