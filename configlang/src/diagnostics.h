// Diagnostics collection: every error/warning (with its notes) is kept as a group keyed by its
// source position, so load() can report them in source order. Also holds the text of every
// file read, for the caret display. Owned by one load() call; single-threaded.
//
// Bounds: at most `max` errors/warnings are kept (LoadOptions::max_diagnostics); later ones are
// only counted (omitted_errors/omitted_warnings), so a text with a million mistakes costs a
// counter, not a million messages. For untrusted text an error located on a token that holds
// an unexpanded ${NAME} becomes a warning ("not checked here"), except refusals (refuse()).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "ast.h"
#include "ferry/configlang/load.h"

namespace ferry::config::detail {

// One file's text as read, and where each line starts (4 bytes a line; files are < 4 GiB).
struct SourceFile {
  std::string name;
  std::string text;
  std::vector<uint32_t> line_starts;
  size_t line_count() const { return line_starts.size(); }
  // Line n (1-based) without its '\n' or "\r\n".
  std::string_view line(size_t n) const;
};

// A token of untrusted text holding unexpanded ${NAME}s (Arg::placeholders), by position.
struct PlaceholderSpan {
  int seq, col, end_col;
  std::string names;
};

struct SourceSet {
  // A deque: a SourceFile never moves, so views into its text stay valid while includes are added.
  std::deque<SourceFile> files;
  std::vector<PlaceholderSpan> placeholders;  // in seq order
  std::string line_text(const Loc& l) const;
  std::string file_name(const Loc& l) const;
  SourceLoc source_loc(const Loc& l) const { return {file_name(l), l.line, l.col}; }
  // The placeholder token covering `l`, or nullptr.
  const PlaceholderSpan* placeholder_at(const Loc& l) const;
};

class Diags {
 public:
  explicit Diags(const SourceSet& src, size_t max = kMaxDiagnostics) : src_(src), max_(max) {}
  void error(const Loc& at, std::string msg) { add(Diagnostic::Severity::error, at, std::move(msg), false); }
  void warning(const Loc& at, std::string msg) { add(Diagnostic::Severity::warning, at, std::move(msg), false); }
  // An error that a placeholder never turns into a warning (a file that may not be read).
  void refuse(const Loc& at, std::string msg) { add(Diagnostic::Severity::error, at, std::move(msg), true); }
  // Attaches to the last error/warning.
  void note(const Loc& at, std::string msg);
  // A diagnostic with a file name but no position (e.g. an unreadable main file).
  void error_nopos(const std::string& file, std::string msg);
  void warning_nopos(const std::string& file, std::string msg);
  // Every error reported, kept or not.
  size_t errors() const { return errors_; }
  size_t omitted_errors() const { return omitted_errors_; }
  size_t omitted_warnings() const { return omitted_warnings_; }
  // True once `max` diagnostics are kept: callers may skip work that only builds messages.
  bool full() const { return groups_.size() >= max_; }
  // All kept groups in source order (position-less ones last), flattened.
  std::vector<Diagnostic> take_sorted();

 private:
  struct Group {
    int seq, col, order;
    std::vector<Diagnostic> items;
  };
  void add(Diagnostic::Severity sev, const Loc& at, std::string msg, bool firm);
  // False (and counted as omitted) when the cap is reached.
  bool keep(Diagnostic::Severity sev);
  Diagnostic make(Diagnostic::Severity sev, const Loc& at, std::string msg) const;
  const SourceSet& src_;
  size_t max_;
  std::vector<Group> groups_;
  size_t errors_ = 0;
  size_t omitted_errors_ = 0;
  size_t omitted_warnings_ = 0;
  bool dropped_last_ = false;  // the last error/warning was not kept: its notes are not either
};

}  // namespace ferry::config::detail
