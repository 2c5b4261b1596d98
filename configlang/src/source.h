// Source layer: reads the main text and every `include`d file (glob patterns via glob(3),
// relative to the including file's directory), lexes each line, and returns the flattened
// list of non-empty lines in source order. Guards: include depth, cycles, file count and size,
// regular files only. Errors go to Diags. Control thread only (reads files, calls getenv).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "lexer.h"

namespace ferry::config::detail {

struct SourceOptions {
  GetEnv getenv;
  bool allow_includes = true;
};

// `base_dir` resolves relative includes of the main text ("" = the cwd). `main_path` is the
// canonical path of the main file for cycle detection ("" for a string).
std::vector<Line> read_sources(std::string_view main_text, const std::string& main_name,
                               const std::string& base_dir, const std::string& main_path,
                               const SourceOptions& opts, SourceSet& src, Diags& diags);

// Reads a whole regular file (max 16 MiB). Returns false and sets `why` on failure.
bool read_text_file(const std::string& path, std::string& out, std::string& why);

// Directory part of a path ("" when it has none).
std::string dir_of(const std::string& path);

}  // namespace ferry::config::detail
