// Loading a configuration: read files (following `include`), lex, parse with the section
// keyword tables, resolve and validate, then freeze into an immutable Config.
//
// Thread: any thread (the daemon calls it on the control thread). Pure apart from reading
// the named files and the environment (`${VAR}` expansion). Never throws.
#pragma once

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/configlang/config.h"

namespace ferry::config {

struct Diagnostic {
  enum class Severity { error, warning, note };
  Severity severity = Severity::error;
  std::string file;
  int line = 0;  // 1-based; 0 when the diagnostic has no position (e.g. unreadable file)
  int col = 0;   // 1-based
  std::string message;      // without the "error: " prefix
  std::string source_line;  // the offending line, for the caret display; may be empty
};

// "file:line:col: error: message\n    source line\n    ^\n" (no position part when line == 0).
std::string format(const Diagnostic& d);
std::string format(const std::vector<Diagnostic>& ds);

struct LoadOptions {
  // Environment lookup for ${VAR}; nullptr result = undefined (an error).
  std::function<const char*(const char*)> getenv = [](const char* n) { return ::getenv(n); };
  // false: an `include` line is an error and no other file is read (fuzzing, untrusted text).
  bool allow_includes = true;
  // load_string only: the directory relative `include` paths of the text resolve against
  // ("" = the cwd). Relative file paths in directives resolve against the directory part of
  // `name` (as for a file), so a text checked "as if" it were a file in DIR is named DIR/NAME.
  std::string base_dir;
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when any error was reported
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in source order
  std::string source_text;               // load_file: the main file's text as read; else empty
  bool ok() const { return config != nullptr; }
  size_t error_count() const;
  size_t warning_count() const;
};

LoadResult load_file(const std::string& path, const LoadOptions& opts = {});
// `name` is used as the file name in diagnostics; `include` paths resolve against
// opts.base_dir (default: the cwd).
LoadResult load_string(std::string_view text, const std::string& name = "<string>",
                       const LoadOptions& opts = {});

}  // namespace ferry::config
