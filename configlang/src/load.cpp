// load_file / load_string: the pipeline source -> lexer -> parser -> keyword tables ->
// resolve -> freeze. Never throws: an unexpected exception becomes an "internal error".
#include <limits.h>
#include <stdlib.h>

#include <algorithm>

#include "ferry/configlang/load.h"
#include "keywords.h"
#include "parser.h"
#include "resolve.h"
#include "source.h"

namespace ferry::config {

namespace {

LoadResult run(std::string_view text, const std::string& name, const std::string& base_dir,
               const std::string& main_path, const LoadOptions& opts, bool read_failed, const std::string& why) {
  LoadResult res;
  try {
    detail::SourceSet src;
    detail::Diags diags(src, opts.max_diagnostics);
    if (read_failed) {
      diags.error_nopos(name, "cannot read config file: " + why);
    } else {
      // Untrusted text: one rule for every file it names (see detail::FileAccess), and no
      // environment.
      detail::FileAccess access = opts.untrusted ? detail::FileAccess::confined_to(base_dir) : detail::FileAccess();
      detail::SourceOptions so{opts.untrusted ? detail::GetEnv() : detail::GetEnv(opts.getenv), opts.allow_includes,
                               opts.untrusted, opts.untrusted ? &access : nullptr, opts.max_source_bytes};
      detail::Draft draft;
      detail::Ctx ctx{diags, src, "", opts.untrusted ? &access : nullptr};
      // Each directive is built as soon as it is parsed: one directive block in memory at a time.
      detail::SectionBuilder builder(ctx, draft);
      detail::Parser parser(diags, [&](detail::Section&& s) { builder.begin(s); },
                            [&](detail::Directive&& d) { builder.directive(d); });
      detail::read_sources(text, name, base_dir, main_path, so, src, diags,
                           [&](detail::Line&& l) { parser.push(std::move(l)); });
      parser.finish();
      auto cfg = detail::resolve(draft, ctx, name);
      if (diags.errors() == 0) res.config = std::move(cfg);
    }
    res.diagnostics = diags.take_sorted();
    res.omitted_errors = diags.omitted_errors();
    res.omitted_warnings = diags.omitted_warnings();
  } catch (const std::exception& e) {
    res.config.reset();
    res.diagnostics.push_back(Diagnostic{Diagnostic::Severity::error, name, 0, 0,
                                         std::string("internal error while loading the config: ") + e.what(), ""});
  } catch (...) {
    res.config.reset();
    res.diagnostics.push_back(
        Diagnostic{Diagnostic::Severity::error, name, 0, 0, "internal error while loading the config", ""});
  }
  return res;
}

}  // namespace

LoadResult load_file(const std::string& path, const LoadOptions& opts) {
  std::string body, why;
  try {
    bool ok = detail::read_text_file(path, body, why, std::min<size_t>(16u << 20, opts.max_source_bytes));
    char buf[PATH_MAX];
    std::string canon = ::realpath(path.c_str(), buf) ? std::string(buf) : path;
    LoadResult res = run(body, path, detail::dir_of(path), canon, opts, !ok, why);
    if (ok) res.source_text = std::move(body);
    return res;
  } catch (...) {
    LoadResult res;
    res.diagnostics.push_back(Diagnostic{Diagnostic::Severity::error, path, 0, 0, "cannot read config file", ""});
    return res;
  }
}

LoadResult load_string(std::string_view text, const std::string& name, const LoadOptions& opts) {
  return run(text, name, opts.base_dir, "", opts, false, "");
}

}  // namespace ferry::config
