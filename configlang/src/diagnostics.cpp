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
  return omitted_errors + std::count_if(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
           return d.severity == Diagnostic::Severity::error;
         });
}
size_t LoadResult::warning_count() const {
  return omitted_warnings + std::count_if(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
           return d.severity == Diagnostic::Severity::warning;
         });
}

void limit_diagnostics(LoadResult& r, size_t max) {
  size_t kept = 0;
  bool keeping = true;
  std::vector<Diagnostic> out;
  for (auto& d : r.diagnostics) {
    if (d.severity != Diagnostic::Severity::note) {
      keeping = kept < max;
      if (keeping) {
        ++kept;
      } else {
        (d.severity == Diagnostic::Severity::error ? r.omitted_errors : r.omitted_warnings)++;
      }
    }
    if (keeping) out.push_back(std::move(d));
  }
  r.diagnostics = std::move(out);
}

std::string omitted_summary(const LoadResult& r) {
  auto n = [](size_t k, const char* what) {
    return std::to_string(k) + " more " + what + (k == 1 ? "" : "s");
  };
  std::string out;
  if (r.omitted_errors) out = n(r.omitted_errors, "error");
  if (r.omitted_warnings) out += (out.empty() ? "" : " and ") + n(r.omitted_warnings, "warning");
  if (!out.empty()) out += " not shown (the first " + std::to_string(r.diagnostics.size()) + " are listed)";
  return out;
}

namespace detail {

std::string_view SourceFile::line(size_t n) const {
  if (n < 1 || n > line_starts.size()) return {};
  size_t b = line_starts[n - 1];
  size_t e = n < line_starts.size() ? line_starts[n] : text.size();
  std::string_view v(text.data() + b, e - b);
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
  return v;
}

std::string SourceSet::line_text(const Loc& l) const {
  if (l.file < 0 || static_cast<size_t>(l.file) >= files.size() || l.line < 1) return {};
  return std::string(files[l.file].line(static_cast<size_t>(l.line)));
}

const PlaceholderSpan* SourceSet::placeholder_at(const Loc& l) const {
  if (placeholders.empty() || l.seq < 0) return nullptr;
  auto it = std::lower_bound(placeholders.begin(), placeholders.end(), l.seq,
                             [](const PlaceholderSpan& p, int seq) { return p.seq < seq; });
  for (; it != placeholders.end() && it->seq == l.seq; ++it)
    if (l.col >= it->col && l.col < it->end_col) return &*it;
  return nullptr;
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

bool Diags::keep(Diagnostic::Severity sev) {
  if (sev == Diagnostic::Severity::error) ++errors_;
  dropped_last_ = groups_.size() >= max_;
  if (dropped_last_) (sev == Diagnostic::Severity::error ? omitted_errors_ : omitted_warnings_)++;
  return !dropped_last_;
}

void Diags::add(Diagnostic::Severity sev, const Loc& at, std::string msg, bool firm) {
  if (sev == Diagnostic::Severity::error && !firm)
    if (const PlaceholderSpan* p = src_.placeholder_at(at)) {
      sev = Diagnostic::Severity::warning;
      msg += " (not checked here: " + p->names +
             " is not expanded when validating through the admin API; `ferryd -c` on the host checks it)";
    }
  if (!keep(sev)) return;
  Group g{at.seq >= 0 ? at.seq : INT_MAX, at.col, static_cast<int>(groups_.size()), {}};
  g.items.push_back(make(sev, at, std::move(msg)));
  groups_.push_back(std::move(g));
}

void Diags::note(const Loc& at, std::string msg) {
  if (groups_.empty() || dropped_last_) return;
  groups_.back().items.push_back(make(Diagnostic::Severity::note, at, std::move(msg)));
}

void Diags::error_nopos(const std::string& file, std::string msg) {
  if (!keep(Diagnostic::Severity::error)) return;
  Diagnostic d;
  d.file = file;
  d.message = std::move(msg);
  groups_.push_back(Group{INT_MAX, 0, static_cast<int>(groups_.size()), {d}});
}

void Diags::warning_nopos(const std::string& file, std::string msg) {
  if (!keep(Diagnostic::Severity::warning)) return;
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
