// Parser: see parser.h.
#include "parser.h"

namespace ferry::config::detail {

namespace {

constexpr int kMaxNesting = 8;

// Moves the line's tokens into a directive (the keyword first, then the arguments).
Directive directive_of(Line& l) {
  Directive d;
  d.keyword = std::move(l.tokens[0]);
  l.tokens.erase(l.tokens.begin());
  d.args = std::move(l.tokens);
  d.indent = l.indent;
  return d;
}

// Appends to `out` every line from `i` indented deeper than `parent_indent`; returns the index
// of the first line that is not.
size_t parse_block(std::vector<Line>& lines, size_t i, int parent_indent, int depth, std::vector<Directive>& out) {
  while (i < lines.size() && lines[i].indent > parent_indent) {
    Directive d = directive_of(lines[i]);
    ++i;
    // Past the nesting limit deeper lines become siblings (bounded recursion on any input).
    if (depth < kMaxNesting) i = parse_block(lines, i, d.indent, depth + 1, d.children);
    out.push_back(std::move(d));
  }
  return i;
}

}  // namespace

void Parser::push(Line&& l) {
  if (l.indent > 0 && !in_section_) {
    if (!orphans_) {
      // Indented lines before the first section header: one error for the whole run.
      orphans_ = true;
      diags_.error(l.tokens[0].loc, "'" + l.tokens[0].text +
                                        "' is outside of any section (section headers start in column 0, "
                                        "directives are indented under them)");
    }
    return;
  }
  // A child of the pending directive: deeper than its first line.
  if (l.indent > 0 && !pending_.empty() && l.indent > pending_[0].indent) {
    pending_.push_back(std::move(l));
    return;
  }
  finish();
  if (l.indent > 0) {
    pending_.push_back(std::move(l));
    return;
  }
  in_section_ = true;
  orphans_ = false;
  Section s;
  s.loc = l.loc;
  s.kind = std::move(l.tokens[0]);
  l.tokens.erase(l.tokens.begin());
  s.args = std::move(l.tokens);
  on_section_(std::move(s));
}

void Parser::finish() {
  if (pending_.empty()) return;
  std::vector<Directive> out;
  parse_block(pending_, 0, 0, 0, out);
  pending_.clear();
  for (auto& d : out) on_directive_(std::move(d));
}

}  // namespace ferry::config::detail
