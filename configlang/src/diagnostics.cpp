// Diagnostic collection and the `file:line:col: error: message` + caret formatting.
#include "diagnostics.h"

#include <algorithm>
#include <climits>

namespace ferry::config {

namespace {
const char* severity_name(Diagnostic::Severity s) {
  switch (s) {
    case Diagnostic::Severity::error: return "error";
    case Diagnostic::Severity::warning: return "warning";
    case Diagnostic::Severity::note: return "note";
  }
  return "error";
}
}  // namespace

std::string format(const Diagnostic& d) {
  std::string out = d.file;
  if (d.line > 0) out += ":" + std::to_string(d.line) + ":" + std::to_string(d.col);
  if (!out.empty()) out += ": ";
  out += severity_name(d.severity);
  out += ": ";
  out += d.message;
  out += "\n";
  if (d.line > 0 && !d.source_line.empty()) {
    out += "    " + d.source_line + "\n    ";
    // Keep tabs so the caret lines up with the source line.
    size_t n = d.col > 0 ? static_cast<size_t>(d.col - 1) : 0;
    for (size_t i = 0; i < n; ++i) out += (i < d.source_line.size() && d.source_line[i] == '\t') ? '\t' : ' ';
    out += "^\n";
  }
  return out;
}

std::string format(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += format(d);
  return out;
}

size_t LoadResult::error_count() const {
  return std::count_if(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
}
size_t LoadResult::warning_count() const {
  return std::count_if(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::warning; });
}

namespace detail {

std::string SourceSet::line_text(const Loc& l) const {
  if (l.file < 0 || static_cast<size_t>(l.file) >= files.size()) return {};
  const auto& lines = files[l.file].lines;
  if (l.line < 1 || static_cast<size_t>(l.line) > lines.size()) return {};
  return lines[l.line - 1];
}

std::string SourceSet::file_name(const Loc& l) const {
  if (l.file < 0 || static_cast<size_t>(l.file) >= files.size()) return {};
  return files[l.file].name;
}

Diagnostic Diags::make(Diagnostic::Severity sev, const Loc& at, std::string msg) const {
  Diagnostic d;
  d.severity = sev;
  d.file = src_.file_name(at);
  d.line = at.seq >= 0 ? at.line : 0;
  d.col = at.seq >= 0 ? std::max(1, at.col) : 0;
  d.message = std::move(msg);
  d.source_line = src_.line_text(at);
  return d;
}

void Diags::add(Diagnostic::Severity sev, const Loc& at, std::string msg) {
  if (sev == Diagnostic::Severity::error) ++errors_;
  Group g{at.seq >= 0 ? at.seq : INT_MAX, at.col, static_cast<int>(groups_.size()), {}};
  g.items.push_back(make(sev, at, std::move(msg)));
  groups_.push_back(std::move(g));
}

void Diags::note(const Loc& at, std::string msg) {
  if (groups_.empty()) return;
  groups_.back().items.push_back(make(Diagnostic::Severity::note, at, std::move(msg)));
}

void Diags::error_nopos(const std::string& file, std::string msg) {
  ++errors_;
  Diagnostic d;
  d.file = file;
  d.message = std::move(msg);
  groups_.push_back(Group{INT_MAX, 0, static_cast<int>(groups_.size()), {d}});
}

void Diags::warning_nopos(const std::string& file, std::string msg) {
  Diagnostic d;
  d.severity = Diagnostic::Severity::warning;
  d.file = file;
  d.message = std::move(msg);
  groups_.push_back(Group{INT_MAX, 0, static_cast<int>(groups_.size()), {d}});
}

std::vector<Diagnostic> Diags::take_sorted() {
  std::stable_sort(groups_.begin(), groups_.end(), [](const Group& a, const Group& b) {
    if (a.seq != b.seq) return a.seq < b.seq;
    return a.col < b.col;
  });
  std::vector<Diagnostic> out;
  for (auto& g : groups_)
    for (auto& d : g.items) out.push_back(std::move(d));
  groups_.clear();
  return out;
}

}  // namespace detail
}  // namespace ferry::config
