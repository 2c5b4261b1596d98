// Source layer: reads the main text and every `include`d file (glob patterns via glob(3),
// relative to the including file's directory), lexes each line, and hands the non-empty lines
// to `on_line` in source order (so the caller can parse as it goes). Guards: include depth,
// cycles, file count, size per file and in total, regular files only, and for untrusted text
// the FileAccess rule. Errors go to Diags. Control thread only (reads files, calls getenv).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "file_access.h"
#include "lexer.h"

namespace ferry::config::detail {

struct SourceOptions {
  GetEnv getenv;
  bool allow_includes = true;
  bool placeholders = false;         // untrusted text: ${NAME} is not looked up
  const FileAccess* access = nullptr;  // which files may be included (null: any)
  size_t max_total_bytes = static_cast<size_t>(-1);
};

// `base_dir` resolves relative includes of the main text ("" = the cwd). `main_path` is the
// canonical path of the main file for cycle detection ("" for a string).
void read_sources(std::string_view main_text, const std::string& main_name, const std::string& base_dir,
                  const std::string& main_path, const SourceOptions& opts, SourceSet& src, Diags& diags,
                  const std::function<void(Line&&)>& on_line);

// Reads a whole regular file of at most `limit` bytes (default 16 MiB). Returns false and sets
// `why` on failure; `too_big` (if given) tells that the size was the reason.
bool read_text_file(const std::string& path, std::string& out, std::string& why, size_t limit = 16u << 20,
                    bool* too_big = nullptr);

// Directory part of a path ("" when it has none).
std::string dir_of(const std::string& path);

}  // namespace ferry::config::detail
