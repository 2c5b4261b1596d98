// Every directive of every section's keyword table is documented in docs/CONFIG.md (as a
// `keyword ...` entry), so a new directive cannot land undocumented.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "keywords.h"

using ferry::config::detail::Registry;

TEST_CASE("every directive is documented in docs/CONFIG.md", "[configlang][docs]") {
  std::string path = __FILE__;  // tests/unit/configlang/this file
  path = path.substr(0, path.rfind("/tests/")) + "/docs/CONFIG.md";
  std::ifstream in(path);
  if (!in) {
    WARN("docs/CONFIG.md not found next to the sources (" + path + "); skipped");
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  int checked = 0;
  for (const auto& spec : Registry::get().specs())
    for (const auto& d : spec.directives) {
      INFO("section " << spec.kind << ", directive " << d.keyword);
      CHECK(doc.find("`" + d.keyword) != std::string::npos);
      ++checked;
    }
  CHECK(checked > 80);
}
