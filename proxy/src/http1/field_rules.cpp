#include "http1/field_rules.h"

#include <algorithm>
#include <array>

#include "http/fields.h"

namespace ferry::proxy::http1 {
namespace {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Case-insensitive compare where "_" in `name` also matches "-" in the lower-case literal
// (when `alias` is set).
bool same(std::string_view name, std::string_view lit, bool alias) {
  if (name.size() != lit.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = lower(name[i]);
    if (alias && c == '_') c = '-';
    if (c != lit[i]) return false;
  }
  return true;
}

ClientField classify(std::string_view n, bool alias) {
  switch (n.size()) {
    case 9:
      if (same(n, "forwarded", alias)) return ClientField::forwarded;
      if (same(n, "x-real-ip", alias)) return ClientField::x_real_ip;
      break;
    case 10:
      if (same(n, "tracestate", alias)) return ClientField::trace_context;
      break;
    case 11:
      if (same(n, "traceparent", alias)) return ClientField::trace_context;
      break;
    case 15:
      if (same(n, "x-forwarded-for", alias)) return ClientField::x_forwarded_for;
      break;
    case 16:
      if (same(n, "x-forwarded-host", alias)) return ClientField::x_forwarded_host;
      if (same(n, "x-forwarded-port", alias)) return ClientField::x_forwarded_port;
      break;
    case 17:
      if (same(n, "x-forwarded-proto", alias)) return ClientField::x_forwarded_proto;
      break;
    default:
      break;
  }
  if (n.size() > 6 && same(n.substr(0, 6), "ferry-", alias)) return ClientField::ferry;
  return ClientField::ordinary;
}

}  // namespace

ClientField classify_client_field(std::string_view name) {
  // Any "_" in a name that reads as a protected one once "_" is "-" (also "Ferry-Client_IP")
  // makes it an alias: no Ferry node or trusted proxy sends such a name.
  if (name.find('_') != std::string_view::npos)
    return classify(name, true) == ClientField::ordinary ? ClientField::ordinary : ClientField::alias;
  return classify(name, false);
}

bool forbidden_in_trailer(std::string_view name) {
  // Lower-case, sorted by length for a cheap first test.
  static constexpr std::array<std::string_view, 35> kForbidden = {
      "te", "age", "date", "host", "vary", "range", "cookie", "expect", "pragma", "expires",
      "trailer", "upgrade", "warning", "if-match", "if-range", "location", "connection", "keep-alive",
      "set-cookie", "retry-after", "content-type", "max-forwards", "authorization", "cache-control",
      "content-range", "content-length", "if-none-match", "content-encoding", "proxy-connection",
      "www-authenticate", "if-modified-since", "transfer-encoding", "proxy-authenticate",
      "if-unmodified-since", "proxy-authorization",
  };
  if (name.empty() || name[0] == ':') return true;
  for (std::string_view f : kForbidden)
    if (f.size() == name.size() && http::iequals(f, name)) return true;
  return classify_client_field(name) != ClientField::ordinary;
}

void append_allowed_trailers(std::string_view lines, std::string& out) {
  while (!lines.empty()) {
    const size_t eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol == std::string_view::npos ? lines.size() : eol + 2);
    lines.remove_prefix(line.size());
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || forbidden_in_trailer(line.substr(0, colon))) continue;
    out += line;
    if (eol == std::string_view::npos) out += "\r\n";
  }
}

}  // namespace ferry::proxy::http1
