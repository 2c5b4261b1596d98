// `defaults` sections: values inherited by every frontend, backend and app, wherever they are
// in the file. Several `defaults` sections merge in order (a later one overrides).
#include "resolve.h"
#include "sections/common.h"
#include "values.h"

namespace ferry::config::detail {

namespace {

std::string defaults_list() {
  Timeouts t;
  const Duration* f[kTimeoutCount] = {&t.connect, &t.client, &t.server, &t.http_request,
                                      &t.http_keep_alive, &t.tunnel, &t.queue, &t.drain};
  std::string s;
  for (int k = 0; k < kTimeoutCount; ++k)
    s += (s.empty() ? "" : ", ") + std::string(kTimeoutNames[k]) + " " + duration_to_string(*f[k]);
  return s;
}

}  // namespace

void register_section_defaults(Registry& r) {
  SectionSpec s;
  s.kind = "defaults";
  s.directives = {
      timeout_spec([](Draft& d) -> TimeoutSet& { return d.defaults.timeouts; }, {}, true),
      retries_spec([](Draft& d) -> std::optional<int>& { return d.defaults.retries; }),
      balance_spec([](Draft& d) -> std::optional<Balance>& { return d.defaults.balance; }),
      max_body_size_spec([](Draft& d) -> std::optional<uint64_t>& { return d.defaults.max_body_size; }),
  };
  for (auto& l : http_limit_specs([](Draft& d) -> LimitsSet& { return d.defaults.limits; }))
    s.directives.push_back(std::move(l));
  s.resolve = {
      // The process-wide timeouts (mesh backhaul, drain): built-ins <- defaults.
      {Pass::names, [](Resolution& r) { r.cfg.default_timeouts = inherit(r.dr.defaults.timeouts, TimeoutSet{}); }},
      {Pass::freeze, [](Resolution& r) {
         if (!r.dr.any_timeout)
           r.ctx.diags.warning_nopos(r.main_file, "no timeouts configured; using the built-in defaults (" +
                                                      defaults_list() + ")");
       }},
  };
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
