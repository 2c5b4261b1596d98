// The keyword-table registry and the argument helpers of Ctx.
#include "keywords.h"

#include <algorithm>

#include "suggest.h"
#include "values.h"

namespace ferry::config::detail {

namespace {
// Sections a later release implements; until then their header is one error and the body
// is skipped.
const std::vector<std::string> kFutureSections = {};
}  // namespace

const DirectiveSpec* SectionSpec::find(const std::string& kw) const {
  for (const auto& d : directives)
    if (d.keyword == kw) return &d;
  return nullptr;
}

const Registry& Registry::get() {
  static const Registry r = [] {
    Registry reg;
#define FERRY_SECTION(name) register_section_##name(reg);
#include "sections.def"
#undef FERRY_SECTION
    return reg;
  }();
  return r;
}

void Registry::add(SectionSpec spec) { specs_.push_back(std::move(spec)); }

const SectionSpec* Registry::find(const std::string& kind) const {
  for (const auto& s : specs_)
    if (s.kind == kind) return &s;
  return nullptr;
}

bool Registry::is_future(const std::string& kind) const {
  return !find(kind) && std::find(kFutureSections.begin(), kFutureSections.end(), kind) != kFutureSections.end();
}

std::vector<std::string> Registry::kinds() const {
  std::vector<std::string> out;
  for (const auto& s : specs_) out.push_back(s.kind);
  for (const auto& f : kFutureSections)
    if (!find(f)) out.push_back(f);
  return out;
}

std::vector<std::string> Registry::sections_with(const std::string& keyword) const {
  std::vector<std::string> out;
  for (const auto& s : specs_)
    if (s.find(keyword)) out.push_back(s.kind);
  return out;
}

bool Ctx::arity(const Directive& d, size_t min, int max, const std::string& syntax) {
  if (d.args.size() < min) {
    error(d.end_loc(), "missing argument: expected '" + syntax + "'");
    return false;
  }
  if (max >= 0 && d.args.size() > static_cast<size_t>(max)) {
    const Arg& extra = d.args[max];
    error(extra.loc, "unexpected extra argument '" + extra.text + "': expected '" + syntax + "'");
    return false;
  }
  for (const auto& a : d.args)
    if (a.bad) return false;
  return true;
}

#define FERRY_VALUE(call)          \
  if (a.bad) return std::nullopt;  \
  std::string why;                 \
  auto v = call;                   \
  if (!v) error(a.loc, why);       \
  return v;

std::optional<Duration> Ctx::duration(const Arg& a) { FERRY_VALUE(parse_duration(a.text, why)) }
std::optional<uint64_t> Ctx::size(const Arg& a) { FERRY_VALUE(parse_size(a.text, why)) }
std::optional<int64_t> Ctx::integer(const Arg& a, int64_t lo, int64_t hi) { FERRY_VALUE(parse_int(a.text, lo, hi, why)) }
std::optional<Address> Ctx::address(const Arg& a) { FERRY_VALUE(parse_address(a.text, why)) }
std::optional<Cidr> Ctx::cidr(const Arg& a) { FERRY_VALUE(parse_cidr(a.text, why)) }
#undef FERRY_VALUE

std::optional<size_t> Ctx::choice(const Arg& a, const std::vector<std::string>& choices, const std::string& what) {
  if (a.bad) return std::nullopt;
  for (size_t i = 0; i < choices.size(); ++i)
    if (choices[i] == a.text) return i;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : "|") + c;
  error(a.loc, "invalid " + what + " '" + a.text + "' (expected " + list + ")" + did_you_mean(a.text, choices));
  return std::nullopt;
}

}  // namespace ferry::config::detail
