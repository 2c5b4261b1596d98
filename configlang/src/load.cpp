// load_file / load_string: the pipeline source -> lexer -> parser -> keyword tables ->
// resolve -> freeze. Never throws: an unexpected exception becomes an "internal error".
#include <limits.h>
#include <stdlib.h>

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
    detail::Diags diags(src);
    if (read_failed) {
      diags.error_nopos(name, "cannot read config file: " + why);
    } else {
      detail::SourceOptions so{opts.getenv, opts.allow_includes};
      auto lines = detail::read_sources(text, name, base_dir, main_path, so, src, diags);
      auto sections = detail::parse(lines, diags);
      detail::Draft draft;
      detail::Ctx ctx{diags, src, ""};
      detail::build(sections, ctx, draft);
      auto cfg = detail::resolve(draft, ctx, name);
      if (diags.errors() == 0) res.config = std::move(cfg);
    }
    res.diagnostics = diags.take_sorted();
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
    bool ok = detail::read_text_file(path, body, why);
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
