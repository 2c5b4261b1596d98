// The two passes of an HTTP/1 head parse: see head_scan.h.
#include "http1/head_scan.h"

#include <limits>

#include "http/chars.h"

namespace ferry::proxy::http1::head {

using namespace http::chars;

namespace {

// Strict Content-Length value: 1*DIGIT, at most INT64_MAX.
bool parse_content_length(std::string_view v, uint64_t& out) {
  if (v.empty()) return false;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t n = 0;
  for (char c : v) {
    if (!is_digit(c)) return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (kMax - d) / 10) return false;
    n = n * 10 + d;
  }
  out = n;
  return true;
}

}  // namespace

// Pass 2: validates the header lines in [begin, end) (end = just past the final CRLF CRLF) and
// appends them to `headers`. Every LF in the range is known to be preceded by CR.
ParseResult parse_fields(std::string_view buf, size_t begin, size_t end, int error_status,
                         std::vector<http::Header>& headers) {
  const char* const p = buf.data();
  const size_t last = end - 2;  // the final CRLF
  size_t i = begin;
  auto err = [&](const char* r) { return make_error(error_status, r); };
  while (i < last) {
    const size_t name_start = i;
    while (is(p[i], kTchar)) ++i;  // terminates: p[last] is CR
    if (p[i] != ':') {
      if (i == name_start) {
        if (is_ows(p[i])) return err("obsolete line folding");
        if (p[i] == ':') return err("empty field name");
        return err("invalid character in field name");
      }
      if (is_ows(p[i])) return err("whitespace between field name and colon");
      return err("invalid character in field name");
    }
    if (i == name_start) return err("empty field name");
    const std::string_view name(p + name_start, i - name_start);
    ++i;
    while (is_ows(p[i])) ++i;
    const size_t value_start = i;
    while (i + 8 <= last && plain_value8(p + i)) i += 8;
    while (is(p[i], kFieldChar)) ++i;
    if (p[i] != '\r' || p[i + 1] != '\n') {
      if (p[i] == '\r') return err("bare CR in field value");
      return err("invalid character in field value");
    }
    size_t value_end = i;
    while (value_end > value_start && is_ows(p[value_end - 1])) --value_end;
    headers.push_back(http::Header{name, std::string_view(p + value_start, value_end - value_start)});
    i += 2;
  }
  return kComplete;
}

void gather(const std::vector<http::Header>& headers, Facts& f) {
  for (const http::Header& h : headers) {
    const std::string_view n = h.name;
    switch (n.size()) {
      case 4:
        if (ieq_lower(n, "host")) {
          ++f.host_count;
          f.host = h.value;
        }
        break;
      case 6:
        if (ieq_lower(n, "expect")) {
          if (ieq_lower(h.value, "100-continue"))
            f.expect_continue = true;
          else
            f.expect_other = true;
        }
        break;
      case 7:
        if (ieq_lower(n, "upgrade")) {
          f.upgrade_header = true;
          std::string_view list = h.value, e;
          while (next_element(list, e))
            if (ieq_lower(e.substr(0, e.find('/')), "h2c")) f.upgrade_h2c = true;
        }
        break;
      case 10:
        if (ieq_lower(n, "connection")) {
          std::string_view list = h.value, e;
          while (next_element(list, e)) {
            if (ieq_lower(e, "close"))
              f.conn_close = true;
            else if (ieq_lower(e, "keep-alive"))
              f.conn_keep_alive = true;
            else if (ieq_lower(e, "upgrade"))
              f.conn_upgrade = true;
          }
        }
        break;
      case 14:
        if (ieq_lower(n, "content-length")) {
          // A comma list ("5, 5") counts as several values.
          std::string_view list = h.value, e;
          if (h.value.empty()) f.cl_invalid = true;
          size_t elems = 0;
          for (size_t k = 0; k < h.value.size(); ++k)
            if (h.value[k] == ',') ++elems;
          ++elems;
          size_t parsed = 0;
          while (next_element(list, e)) {
            ++parsed;
            uint64_t v = 0;
            if (!parse_content_length(e, v)) {
              f.cl_invalid = true;
              continue;
            }
            if (f.cl_count > 0 && v != f.content_length) f.cl_conflict = true;
            f.content_length = v;
            ++f.cl_count;
          }
          if (parsed != elems) f.cl_invalid = true;  // empty list elements
        }
        break;
      case 17:
        if (ieq_lower(n, "transfer-encoding")) {
          f.te = true;
          std::string_view list = h.value, e;
          while (next_element(list, e)) {
            if (ieq_lower(e, "chunked")) {
              ++f.chunked_count;
              f.chunked_final = true;
            } else {
              f.te_other = true;
              f.chunked_final = false;
            }
          }
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace ferry::proxy::http1::head
