// Loading a configuration: read files (following `include`), lex, parse with the section
// keyword tables, resolve and validate, then freeze into an immutable Config.
//
// Thread: any thread (the daemon calls it on the control thread). Pure apart from reading
// the named files and the environment (`${VAR}` expansion). Never throws.
//
// Cost: memory is the text of the files read plus one section's lines at a time (sections are
// checked as they are parsed), the typed result, and at most `max_diagnostics` messages.
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

// Default cap on the diagnostics kept (errors and warnings; their notes come along).
constexpr size_t kMaxDiagnostics = 1000;
// Default cap on the configuration text read in total: the main text and every included file.
constexpr size_t kMaxSourceBytes = 64u << 20;

struct LoadOptions {
  // Environment lookup for ${VAR}; nullptr result = undefined (an error).
  std::function<const char*(const char*)> getenv = [](const char* n) { return ::getenv(n); };
  // false: an `include` line is an error and no other file is read (fuzzing, untrusted text).
  bool allow_includes = true;
  // load_string only: the directory relative `include` paths of the text resolve against
  // ("" = the cwd). Relative file paths in directives resolve against the directory part of
  // `name` (as for a file), so a text checked "as if" it were a file in DIR is named DIR/NAME.
  std::string base_dir;
  // The text comes from someone who is not the host's operator (the admin API's validate). It
  // then gets nothing of the host beyond the files under base_dir (load_string only):
  //  - ${NAME} is never looked up (`getenv` is not called): it stays in the token as written,
  //    and an error on such a token is a warning "not checked here" (the rest of the text is
  //    still validated);
  //  - `include` and the file-path directives read at check time (certificate,
  //    default-certificate, ca-file, ca-bundle, admin-tls, mesh private-key) may only name
  //    files whose real path is under base_dir; any other gets one "is not allowed" error
  //    whatever the reason (missing, outside, symlink), so nothing is revealed about them.
  // ferryd -c, start and reload load trusted files (false).
  bool untrusted = false;
  // Diagnostics kept in LoadResult::diagnostics; later ones are only counted (omitted_*).
  size_t max_diagnostics = kMaxDiagnostics;
  // Bytes of configuration text read in total (main text + includes); an include that would go
  // past it is an error at the include line.
  size_t max_source_bytes = kMaxSourceBytes;
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when any error was reported
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in source order (capped)
  size_t omitted_errors = 0;             // reported past the cap: counted, not listed
  size_t omitted_warnings = 0;
  std::string source_text;               // load_file: the main file's text as read; else empty
  bool ok() const { return config != nullptr; }
  // Every error / warning, listed or omitted.
  size_t error_count() const;
  size_t warning_count() const;
};

// Keeps the first `max` errors/warnings of `r` (with their notes) and counts the rest in
// omitted_*; for diagnostics appended after loading (the daemon's file checks).
void limit_diagnostics(LoadResult& r, size_t max = kMaxDiagnostics);
// "12 more errors and 1 more warning not shown (the first 1000 are listed)", or "".
std::string omitted_summary(const LoadResult& r);

LoadResult load_file(const std::string& path, const LoadOptions& opts = {});
// `name` is used as the file name in diagnostics; `include` paths resolve against
// opts.base_dir (default: the cwd).
LoadResult load_string(std::string_view text, const std::string& name = "<string>",
                       const LoadOptions& opts = {});

}  // namespace ferry::config
