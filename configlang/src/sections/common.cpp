// Shared handlers: see common.h.
#include "sections/common.h"

#include <algorithm>

#include "suggest.h"

namespace ferry::config::detail {

DirectiveSpec timeout_spec(std::function<TimeoutSet&(Draft&)> field, std::vector<TimeoutKind> ignored,
                           bool warn_zero) {
  auto h = [field, ignored, warn_zero](Ctx& ctx, const Directive& d, Draft& draft) {
    draft.any_timeout = true;
    std::string kinds;
    std::vector<std::string> names;
    for (int k = 0; k < kTimeoutCount; ++k) {
      names.push_back(kTimeoutNames[k]);
      kinds += (kinds.empty() ? "" : "|") + std::string(kTimeoutNames[k]);
    }
    if (!ctx.arity(d, 2, 2, "timeout " + kinds + " DURATION")) return;
    auto kind = ctx.choice(d.args[0], names, "timeout");
    auto v = ctx.duration(d.args[1]);
    if (!kind || !v) return;
    auto tk = static_cast<TimeoutKind>(*kind);
    if (std::find(ignored.begin(), ignored.end(), tk) != ignored.end())
      ctx.warning(d.args[0].loc, "'timeout " + names[*kind] + "' has no effect in " +
                                     (ctx.section == "app" ? "an " : "a ") + ctx.section);
    if (warn_zero && v->count() == 0)
      ctx.warning(d.args[1].loc, "'timeout " + names[*kind] + " 0' disables this timeout for every frontend and backend");
    field(draft)[tk] = *v;
  };
  return {"timeout", h, DirectiveSpec::Repeat::once_per_first_arg};
}

DirectiveSpec retries_spec(std::function<std::optional<int>&(Draft&)> field) {
  auto h = [field](Ctx& ctx, const Directive& d, Draft& draft) {
    if (!ctx.arity(d, 1, 1, "retries N")) return;
    if (auto v = ctx.integer(d.args[0], 0, 10)) field(draft) = static_cast<int>(*v);
  };
  return {"retries", h};
}

DirectiveSpec balance_spec(std::function<std::optional<Balance>&(Draft&)> field) {
  auto h = [field](Ctx& ctx, const Directive& d, Draft& draft) {
    if (!ctx.arity(d, 1, 1, "balance random|roundrobin|leastconn|closest")) return;
    if (auto c = ctx.choice(d.args[0], {"random", "roundrobin", "leastconn", "closest"}, "balance algorithm"))
      field(draft) = static_cast<Balance>(*c);
  };
  return {"balance", h};
}

std::string resolve_path(const Ctx& ctx, const Arg& arg) {
  if (arg.text.empty() || arg.text[0] == '/') return arg.text;
  std::string file = ctx.source_loc(arg.loc).file;
  size_t slash = file.rfind('/');
  return slash == std::string::npos ? arg.text : file.substr(0, slash + 1) + arg.text;
}

std::string input_path(Ctx& ctx, const Arg& arg) {
  std::string path = resolve_path(ctx, arg);
  if (ctx.access && !arg.bad && !ctx.access->allows(path)) ctx.refuse(arg.loc, FileAccess::refusal(arg.text));
  return path;
}

DirectiveSpec max_body_size_spec(std::function<std::optional<uint64_t>&(Draft&)> field) {
  auto h = [field](Ctx& ctx, const Directive& d, Draft& draft) {
    if (!ctx.arity(d, 1, 1, "max-body-size SIZE")) return;
    if (auto v = ctx.size(d.args[0])) field(draft) = *v;
  };
  return {"max-body-size", h};
}

std::vector<DirectiveSpec> http_limit_specs(std::function<LimitsSet&(Draft&)> field) {
  auto size_limit = [field](const char* kw, std::optional<uint32_t> LimitsSet::*member) {
    auto h = [field, kw, member](Ctx& ctx, const Directive& d, Draft& draft) {
      if (!ctx.arity(d, 1, 1, std::string(kw) + " SIZE")) return;
      auto v = ctx.size(d.args[0]);
      if (!v) return;
      if (*v < 256 || *v > (1u << 20)) {
        ctx.error(d.args[0].loc, "'" + std::string(kw) + "' must be between 256 and 1m");
        return;
      }
      field(draft).*member = static_cast<uint32_t>(*v);
    };
    return DirectiveSpec{kw, h};
  };
  auto count = [field](const char* kw, std::optional<uint32_t> LimitsSet::*member, int64_t max) {
    auto h = [field, kw, member, max](Ctx& ctx, const Directive& d, Draft& draft) {
      if (!ctx.arity(d, 1, 1, std::string(kw) + " N")) return;
      if (auto v = ctx.integer(d.args[0], 1, max)) field(draft).*member = static_cast<uint32_t>(*v);
    };
    return DirectiveSpec{kw, h};
  };
  return {size_limit("http-max-request-line", &LimitsSet::max_request_line),
          size_limit("http-max-header-size", &LimitsSet::max_header_size),
          count("http-max-headers", &LimitsSet::max_headers, 1000),
          count("http2-max-concurrent-streams", &LimitsSet::h2_max_streams, 10000)};
}

}  // namespace ferry::config::detail
