// Parser: see parser.h.
#include "parser.h"

namespace ferry::config::detail {

namespace {

constexpr int kMaxNesting = 8;

Directive directive_of(const Line& l) {
  Directive d;
  d.keyword = l.tokens[0];
  d.args.assign(l.tokens.begin() + 1, l.tokens.end());
  d.indent = l.indent;
  return d;
}

// Appends to `out` every line from `i` indented deeper than `parent_indent`; returns the index
// of the first line that is not.
size_t parse_block(const std::vector<Line>& lines, size_t i, int parent_indent, int depth,
                   std::vector<Directive>& out) {
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

std::vector<Section> parse(const std::vector<Line>& lines, Diags& diags) {
  std::vector<Section> out;
  size_t i = 0;
  while (i < lines.size()) {
    const Line& l = lines[i];
    if (l.indent > 0) {
      // Indented lines before the first section header: one error for the whole run.
      diags.error(l.tokens[0].loc, "'" + l.tokens[0].text +
                                       "' is outside of any section (section headers start in column 0, "
                                       "directives are indented under them)");
      while (i < lines.size() && lines[i].indent > 0) ++i;
      continue;
    }
    Section s;
    s.kind = l.tokens[0];
    s.args.assign(l.tokens.begin() + 1, l.tokens.end());
    s.loc = l.loc;
    i = parse_block(lines, i + 1, 0, 0, s.directives);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ferry::config::detail
