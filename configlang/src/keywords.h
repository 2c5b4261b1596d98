// Keyword tables (HAProxy's cfg_kw_list idea). The registry maps a section kind to its
// SectionSpec: whether the header takes a NAME, a table of directive specs, each with a
// handler that checks its arguments and writes into the Draft, and the section's resolve
// hooks (HAProxy's post-check registration): what it checks and computes once the whole text
// is read, by pass (resolve.h). Each file under sections/ registers one section kind with its
// hooks; to add a section (acme, mesh, anycast) add a file there and one line to
// sections.def — the lexer, parser and resolve driver do not change.
//
// The registry is built once, on first use (thread-safe static), and is read-only afterwards.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "draft.h"
#include "file_access.h"

namespace ferry::config::detail {

// Context handed to handlers: diagnostics and argument helpers that report at the token.
// Helpers return std::nullopt / false after reporting; for a token the lexer already
// reported (`bad`), they return failure silently so one mistake gives one error.
struct Ctx {
  Diags& diags;
  const SourceSet& src;
  std::string section;  // kind of the section being built, e.g. "frontend"
  const FileAccess* access = nullptr;  // which files the text may have read (null: any)

  void error(const Loc& l, std::string m) { diags.error(l, std::move(m)); }
  // A file the text may not have read (FileAccess): an error even on a placeholder token.
  void refuse(const Loc& l, std::string m) { diags.refuse(l, std::move(m)); }
  void warning(const Loc& l, std::string m) { diags.warning(l, std::move(m)); }
  void note(const Loc& l, std::string m) { diags.note(l, std::move(m)); }
  SourceLoc source_loc(const Loc& l) const { return src.source_loc(l); }

  // Checks min <= args <= max (max < 0: unbounded); reports "missing argument" at the end of
  // the line or "unexpected extra argument" at the first extra one, naming `syntax`.
  bool arity(const Directive& d, size_t min, int max, const std::string& syntax);
  std::optional<Duration> duration(const Arg& a);
  std::optional<uint64_t> size(const Arg& a);
  std::optional<int64_t> integer(const Arg& a, int64_t lo, int64_t hi);
  std::optional<Address> address(const Arg& a);
  std::optional<Cidr> cidr(const Arg& a);
  // One of `choices`, else "invalid WHAT 'x' (expected a|b|c); did you mean ...".
  std::optional<size_t> choice(const Arg& a, const std::vector<std::string>& choices, const std::string& what);
};

using Handler = std::function<void(Ctx&, const Directive&, Draft&)>;

struct Resolution;  // resolve.h: the state the resolve hooks share

// The resolve passes, in the order they run. Every registered hook of one pass runs, in
// registration order (sections.def), before any hook of the next; the order of the
// diagnostics they report follows. What each pass is for:
//   names  - section-wide values and the name indexes later passes look names up in
//   own    - a section's own checks and inheritance (references by name may be resolved)
//   links  - checks that follow a reference into a section the `own` pass completed
//            (a server's `node` into the mesh, an app's `ip` into anycast, acme apps)
//   post   - configuration-wide warnings once everything is linked
//   freeze - last words, then each section's drafts move into the Config
enum class Pass { names, own, links, post, freeze };
inline constexpr Pass kPasses[] = {Pass::names, Pass::own, Pass::links, Pass::post, Pass::freeze};
using ResolveHook = std::function<void(Resolution&)>;

struct DirectiveSpec {
  enum class Repeat { once, many, once_per_first_arg };  // e.g. `timeout client` vs `timeout server`
  std::string keyword;
  Handler handler;
  Repeat repeat = Repeat::once;
  bool children = false;  // accepts an indented block under it
};

struct SectionSpec {
  std::string kind;
  bool takes_name = false;
  // Called for each section header of this kind, before its directives (e.g. to append a new
  // FrontendDraft). Name problems are reported by the core; `name` may be empty then.
  std::function<void(Ctx&, const Section&, const Arg& name, Draft&)> begin;
  std::vector<DirectiveSpec> directives;
  // The section's resolve hooks, by pass; they run whether or not the text has such a
  // section (e.g. `certificate acme` without an `acme` section is the acme hook's error).
  std::vector<std::pair<Pass, ResolveHook>> resolve;
  const DirectiveSpec* find(const std::string& kw) const;
};

class Registry {
 public:
  static const Registry& get();
  void add(SectionSpec spec);
  const SectionSpec* find(const std::string& kind) const;
  // A known section kind that this version does not implement yet ("acme", "mesh", ...).
  bool is_future(const std::string& kind) const;
  std::vector<std::string> kinds() const;
  // The kinds whose table has `keyword` (for "'server' belongs in a backend section").
  std::vector<std::string> sections_with(const std::string& keyword) const;
  // Every registered section, in registration order (the resolve driver walks their hooks).
  const std::vector<SectionSpec>& specs() const { return specs_; }

 private:
  std::vector<SectionSpec> specs_;
};

// Registration functions, one per file under sections/ (listed in sections.def).
#define FERRY_SECTION(name) void register_section_##name(Registry& r);
#include "sections.def"
#undef FERRY_SECTION

// Walks sections through the keyword tables into `draft` (build.cpp), as the parser streams
// them: begin() with a section header, then directive() for each of its top-level directives.
// Owned by one load() call.
class SectionBuilder {
 public:
  SectionBuilder(Ctx& ctx, Draft& draft) : ctx(ctx), draft(draft) {}
  void begin(const Section& header);
  void directive(const Directive& d);

 private:
  Ctx& ctx;
  Draft& draft;
  const SectionSpec* spec_ = nullptr;  // null: the current section is skipped (unknown, bad)
  std::map<std::string, Loc> seen_;    // single-valued directives set in the current section
};

}  // namespace ferry::config::detail
