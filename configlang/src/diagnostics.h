// Diagnostics collection: every error/warning (with its notes) is kept as a group keyed by its
// source position, so load() can report all of them in source order. Also holds the text of
// every file read, for the caret display. Owned by one load() call; single-threaded.
#pragma once

#include <string>
#include <vector>

#include "ast.h"
#include "ferry/configlang/load.h"

namespace ferry::config::detail {

struct SourceFile {
  std::string name;
  std::vector<std::string> lines;
};

struct SourceSet {
  std::vector<SourceFile> files;
  std::string line_text(const Loc& l) const;
  std::string file_name(const Loc& l) const;
  SourceLoc source_loc(const Loc& l) const { return {file_name(l), l.line, l.col}; }
};

class Diags {
 public:
  explicit Diags(const SourceSet& src) : src_(src) {}
  void error(const Loc& at, std::string msg) { add(Diagnostic::Severity::error, at, std::move(msg)); }
  void warning(const Loc& at, std::string msg) { add(Diagnostic::Severity::warning, at, std::move(msg)); }
  // Attaches to the last error/warning.
  void note(const Loc& at, std::string msg);
  // A diagnostic with a file name but no position (e.g. an unreadable main file).
  void error_nopos(const std::string& file, std::string msg);
  void warning_nopos(const std::string& file, std::string msg);
  size_t errors() const { return errors_; }
  // All groups in source order (position-less ones last), flattened.
  std::vector<Diagnostic> take_sorted();

 private:
  struct Group {
    int seq, col, order;
    std::vector<Diagnostic> items;
  };
  void add(Diagnostic::Severity sev, const Loc& at, std::string msg);
  Diagnostic make(Diagnostic::Severity sev, const Loc& at, std::string msg) const;
  const SourceSet& src_;
  std::vector<Group> groups_;
  size_t errors_ = 0;
};

}  // namespace ferry::config::detail
