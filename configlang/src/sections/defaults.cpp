// `defaults` sections: values inherited by every frontend, backend and app, wherever they are
// in the file. Several `defaults` sections merge in order (a later one overrides).
#include "sections/common.h"

namespace ferry::config::detail {

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
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
