// The syntax tree of a config: sections of directives, each token with its location.
// Produced by the parser (parser.cpp) from lexed lines (lexer.cpp, source.cpp); consumed by the
// keyword tables (build.cpp, sections/*.cpp). Private to configlang. Plain values, no ownership.
#pragma once

#include <string>
#include <vector>

namespace ferry::config::detail {

// A position in the flattened source. `seq` orders lines across included files (source order).
struct Loc {
  int seq = -1;   // -1: no position
  int file = -1;  // index into SourceSet::files
  int line = 0;   // 1-based
  int col = 0;    // 1-based byte column
};

struct Arg {
  std::string text;  // after unquoting and ${VAR} expansion
  Loc loc;           // first character of the token as written
  int end_col = 0;   // one past the last character as written
  bool quoted = false;
  bool bad = false;  // the lexer already reported an error inside this token
};

// One non-empty line after lexing.
struct Line {
  Loc loc;           // col = 1
  int indent = 0;    // leading blanks (spaces or tabs)
  std::vector<Arg> tokens;
};

struct Directive {
  Arg keyword;
  std::vector<Arg> args;
  std::vector<Directive> children;  // following lines indented deeper than this one
  int indent = 0;
  // Where a missing argument would go: one past the end of the line's last token.
  Loc end_loc() const {
    Loc l = args.empty() ? keyword.loc : args.back().loc;
    l.col = args.empty() ? keyword.end_col : args.back().end_col;
    return l;
  }
};

struct Section {
  Arg kind;               // "frontend", "global", ...
  std::vector<Arg> args;  // the NAME (if any) and anything after it
  Loc loc;
  std::vector<Directive> directives;
  Loc end_loc() const {
    Loc l = args.empty() ? kind.loc : args.back().loc;
    l.col = args.empty() ? kind.end_col : args.back().end_col;
    return l;
  }
};

}  // namespace ferry::config::detail
