#include "services/check.h"

#include <fstream>
#include <iostream>

#include "ferry/web/admin_tls.h"
#include "mesh/plan.h"
#include "services/exit_codes.h"
#include "services/load_config.h"

namespace ferry::daemon {

void print_diagnostics(std::ostream& out, const config::LoadResult& result) {
  if (result.diagnostics.empty()) return;
  std::string text = config::format(result.diagnostics);
  out << text;
  if (!text.empty() && text.back() != '\n') out << '\n';
  if (std::string more = config::omitted_summary(result); !more.empty()) out << more << '\n';
  out.flush();
}

std::string count_summary(const config::LoadResult& result) {
  return std::to_string(result.error_count()) + " errors, " +
         std::to_string(result.warning_count()) + " warnings";
}

namespace {

std::string source_line(const std::string& file, int line) {
  std::ifstream in(file);
  std::string text;
  for (int i = 0; i < line && std::getline(in, text); ++i) {
  }
  return in ? text : std::string();
}

void add_error(config::LoadResult& result, const config::SourceLoc& loc, std::string message) {
  config::Diagnostic d;
  d.file = loc.file;
  d.line = loc.line;
  d.col = loc.col;
  d.message = std::move(message);
  if (loc.line) d.source_line = source_line(loc.file, loc.line);
  result.diagnostics.push_back(std::move(d));
  result.config.reset();
}

}  // namespace

// The admin listener's TLS certificate and key (`admin-tls`, loaded as the listener would),
// and the mesh private key (readable, mode 0600 or stricter, a base64 32-byte key).
void check_runtime_files(config::LoadResult& result) {
  if (!result.ok()) return;
  const config::Global& g = result.config->global;
  std::string tls_error;
  if (g.admin && !g.admin_tls_cert.empty() &&
      !web::check_admin_tls(g.admin_tls_cert, g.admin_tls_key, tls_error)) {
    add_error(result, g.admin_tls_loc, tls_error);
    return;
  }
  if (!result.config->mesh) return;
  const config::Mesh& m = *result.config->mesh;
  netlink::WgKey key;
  std::string error;
  if (mesh::read_private_key(m.private_key_file, key, error)) return;
  add_error(result, m.private_key_loc.line ? m.private_key_loc : m.loc, error);
}

int run_check(const std::string& path) {
  config::LoadResult result = check_config(path);
  check_runtime_files(result);
  config::limit_diagnostics(result);
  print_diagnostics(std::cerr, result);
  if (result.ok()) {
    std::cout << "Configuration file is valid" << std::endl;
    return kExitOk;
  }
  std::cerr << count_summary(result) << std::endl;
  return kExitConfigInvalid;
}

}  // namespace ferry::daemon
