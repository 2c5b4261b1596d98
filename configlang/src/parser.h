// Parser: lexed lines -> sections. A line in column 0 starts a section (`kind [args]`); indented
// lines are its directives; a line indented deeper than the directive above it is that
// directive's child (e.g. mesh `peer` blocks). Indented lines before any section are errors.
//
// Streaming: lines are pushed one at a time. A section header is handed to `on_section` at
// once (its `directives` left empty), then each of its top-level directives, with its children,
// to `on_directive` as soon as the next line at its level or above (or finish()) ends it. Only
// one directive block is held at a time, whatever the size of the text. Owned by one load()
// call; single-threaded.
#pragma once

#include <functional>
#include <vector>

#include "ast.h"
#include "diagnostics.h"

namespace ferry::config::detail {

class Parser {
 public:
  Parser(Diags& diags, std::function<void(Section&&)> on_section, std::function<void(Directive&&)> on_directive)
      : diags_(diags), on_section_(std::move(on_section)), on_directive_(std::move(on_directive)) {}
  void push(Line&& line);
  // Ends the last directive block.
  void finish();

 private:
  Diags& diags_;
  std::function<void(Section&&)> on_section_;
  std::function<void(Directive&&)> on_directive_;
  bool in_section_ = false;    // a section header was seen
  bool orphans_ = false;       // inside a run of indented lines before any section header
  std::vector<Line> pending_;  // the current top-level directive's line, then its children's
};

}  // namespace ferry::config::detail
