// Parser: lexed lines -> sections. A line in column 0 starts a section (`kind [args]`); indented
// lines are its directives; a line indented deeper than the directive above it is that
// directive's child (e.g. mesh `peer` blocks). Indented lines before any section are errors.
#pragma once

#include <vector>

#include "ast.h"
#include "diagnostics.h"

namespace ferry::config::detail {

std::vector<Section> parse(const std::vector<Line>& lines, Diags& diags);

}  // namespace ferry::config::detail
