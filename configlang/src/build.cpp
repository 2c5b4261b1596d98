// Walks the AST through the keyword tables: section lookup (unknown / not-yet-supported
// sections), header name checks, directive lookup with did-you-mean, repeated single-valued
// directives, then the directive's handler. Cross-section checks are left to resolve.cpp.
#include <map>

#include "keywords.h"
#include "suggest.h"

namespace ferry::config::detail {

namespace {

std::string article(const std::string& kind) {
  return (!kind.empty() && std::string("aeiou").find(kind[0]) != std::string::npos) ? "an " : "a ";
}

void unknown_directive(Ctx& ctx, const SectionSpec& spec, const Directive& d) {
  // Past the diagnostics cap only the count matters: skip the suggestions' cost.
  if (ctx.diags.full()) return ctx.error(d.keyword.loc, {});
  const Registry& reg = Registry::get();
  const std::string& kw = d.keyword.text;
  auto others = reg.sections_with(kw);
  if (!others.empty()) {
    std::string where;
    for (const auto& o : others) where += (where.empty() ? "" : " or ") + article(o) + o;
    ctx.error(d.keyword.loc, "'" + kw + "' is not allowed in " + article(spec.kind) + spec.kind +
                                 " section (it belongs in " + where + " section)");
    return;
  }
  std::vector<std::string> names;
  for (const auto& ds : spec.directives) names.push_back(ds.keyword);
  ctx.error(d.keyword.loc, "unknown directive '" + kw + "' in " + article(spec.kind) + spec.kind + " section" +
                               did_you_mean(kw, names));
}

}  // namespace

void SectionBuilder::begin(const Section& s) {
  spec_ = nullptr;
  seen_.clear();
  const Registry& reg = Registry::get();
  const std::string& kind = s.kind.text;
  if (s.kind.bad) return;
  if (reg.is_future(kind)) {
    ctx.error(s.kind.loc, "section '" + kind + "' is not supported by this version yet");
    return;
  }
  const SectionSpec* spec = reg.find(kind);
  if (!spec) {
    // Past the diagnostics cap only the count matters: skip the suggestions' cost.
    if (ctx.diags.full()) return ctx.error(s.kind.loc, {});
    if (!reg.sections_with(kind).empty())
      ctx.error(s.kind.loc, "'" + kind + "' is a directive: indent it under a section header");
    else
      ctx.error(s.kind.loc, "unknown section '" + kind + "'" + did_you_mean(kind, reg.kinds()));
    return;
  }
  ctx.section = kind;
  Arg name;
  name.loc = s.end_loc();
  if (spec->takes_name) {
    if (s.args.empty()) {
      ctx.error(s.end_loc(), "missing name: expected '" + kind + " NAME'");
    } else {
      name = s.args[0];
      if (name.text.empty() && !name.bad) ctx.error(name.loc, "empty " + kind + " name");
      if (s.args.size() > 1)
        ctx.error(s.args[1].loc, "unexpected extra argument '" + s.args[1].text + "': expected '" + kind + " NAME'");
    }
  } else if (!s.args.empty()) {
    ctx.error(s.args[0].loc, "unexpected argument '" + s.args[0].text + "': '" + kind + "' takes no name");
  }
  if (spec->begin) spec->begin(ctx, s, name, draft);
  spec_ = spec;
}

void SectionBuilder::directive(const Directive& d) {
  if (!spec_ || d.keyword.bad) return;
  const SectionSpec* spec = spec_;
  const std::string& kind = spec->kind;
  ctx.section = kind;
  const DirectiveSpec* ds = spec->find(d.keyword.text);
  if (!ds) {
    unknown_directive(ctx, *spec, d);
    return;
  }
  std::string key;
  if (ds->repeat == DirectiveSpec::Repeat::once) key = ds->keyword;
  else if (ds->repeat == DirectiveSpec::Repeat::once_per_first_arg && !d.args.empty())
    key = ds->keyword + " " + d.args[0].text;
  if (!key.empty()) {
    auto [it, fresh] = seen_.emplace(key, d.keyword.loc);
    if (!fresh) {
      ctx.error(d.keyword.loc, "'" + key + "' is already set in this " + kind + " section");
      ctx.note(it->second, "first set here");
      return;
    }
  }
  if (!d.children.empty() && !ds->children) {
    ctx.error(d.children[0].keyword.loc, "unexpected indented line: '" + ds->keyword +
                                             "' takes no block (indent every directive of a section the same)");
  }
  ds->handler(ctx, d, draft);
}


}  // namespace ferry::config::detail
