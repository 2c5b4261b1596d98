#include "http2/headers.h"

#include <charconv>

#include "http/error_pages.h"
#include "http/fields.h"
#include "http1/field_rules.h"

namespace ferry::proxy::http2 {
namespace {

// HPACK (RFC 7541 §2.3, §7.1.3): a value unique to one message never repeats, so adding it
// to the encoder's dynamic table evicts entries that would, and makes every later lookup of
// that name walk all the table's entries of it (nghttp2 compares each one). Such fields go out
// as never-indexed literals (the name still by index). `name` is lowercase.
bool unique_per_message(std::string_view name) {
  switch (name.size()) {
    case 11: return name == "traceparent";
    case 12: return name == "x-request-id";
    case 16: return name == "ferry-request-id";
    default: return false;
  }
}

nghttp2_nv nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          static_cast<uint8_t>(unique_per_message(name) ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE)};
}

// Appends `name` lowercased to `arena` (which must have room: callers reserve once so that
// earlier views stay valid) and returns the copy.
std::string_view append_lower(std::string& arena, std::string_view name) {
  const size_t off = arena.size();
  arena.append(name);
  for (size_t i = off; i < arena.size(); ++i)
    if (arena[i] >= 'A' && arena[i] <= 'Z') arena[i] = static_cast<char>(arena[i] + 32);
  return std::string_view(arena).substr(off);
}

// Fields that make no sense on an HTTP/2 connection (RFC 9113 §8.2.2) or that Ferry restates.
// Content-Length stays as the upstream sent it: it states the body (or, for HEAD and 304,
// the representation), and an HTTP/1 response with a body but without it is close-delimited
// or chunked, where HTTP/2 needs no length.
bool dropped_response_field(std::string_view name) {
  return http::is_hop_by_hop(name) || http::iequals(name, "ferry-request-id");
}

}  // namespace

void RequestFields::add(std::string_view name, std::string_view value, uint64_t max_list_size, uint32_t max_count) {
  list_size += name.size() + value.size() + 32;
  if (!name.empty() && name[0] != ':') ++count;
  if (list_size > max_list_size || count > max_count) too_large = true;
  if (too_large) return;
  if (name == ":method") method = value;
  else if (name == ":scheme") scheme = value;
  else if (name == ":authority") authority = value;
  else if (name == ":path") path = value;
  else if (name[0] == ':') return;  // :protocol (extended CONNECT) is not offered
  else if (name == "cookie") {
    if (!cookie.empty()) cookie += "; ";
    cookie += value;
  } else {
    spans_.push_back({static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(name.size()),
                      static_cast<uint32_t>(value.size())});
    arena_.append(name).append(value);
  }
}

void RequestFields::clear() {
  for (std::string* s : {&method, &scheme, &authority, &path, &cookie, &arena_}) s->clear();
  spans_.clear();
  list_size = 0;
  count = 0;
  too_large = false;
}

size_t RequestFields::capacity() const {
  size_t n = spans_.capacity() * sizeof(Span);
  for (const std::string* s : {&method, &scheme, &authority, &path, &cookie, &arena_}) n += s->capacity();
  return n;
}

int to_request_head(const RequestFields& f, bool end_stream, http::RequestHead& out, const char** reason) {
  out.clear();
  out.method = f.method;
  out.target = f.path;
  out.minor = 1;
  out.host = f.authority;
  out.keep_alive = true;
  if (f.method == "CONNECT") {
    *reason = "CONNECT is not supported over HTTP/2";
    return 501;
  }
  // :path by the same RFC 9112 §3.2 rules as an HTTP/1 request-target, origin-form (or "*"
  // for OPTIONS) only: an absolute URI belongs in :scheme and :authority.
  std::string_view absolute_authority;
  if (f.path.empty() || f.path[0] != (f.path == "*" ? '*' : '/') ||
      http::check_request_target(out.method, f.path, out.path, absolute_authority) != nullptr) {
    *reason = "invalid :path";
    return 400;
  }
  bool has_length = false;
  for (size_t i = 0; i < f.size(); ++i) {
    const std::string_view name = f.name(i), value = f.value(i);
    if (name == "host") {
      // RFC 9113 §8.3.1: a Host naming another authority than :authority is malformed.
      if (out.host.empty()) out.host = value;
      else if (!http::iequals(out.host, value)) {
        *reason = "host does not match :authority";
        return 400;
      }
      continue;  // the upstream head states Host once, from :authority
    }
    if (name == "content-length") {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || (has_length && n != out.content_length)) {
        *reason = "invalid content-length";
        return 400;
      }
      has_length = true;
      out.content_length = n;
      continue;
    }
    if (name == "expect") {
      out.expect_continue = http::iequals(value, "100-continue");
      continue;
    }
    out.headers.push_back({name, value});
  }
  if (!f.cookie.empty()) out.headers.push_back({"cookie", f.cookie});
  if (out.host.empty()) {
    *reason = "no :authority or host";
    return 400;
  }
  // The same authority rules as an HTTP/1 Host (no userinfo, a valid host and port).
  if (!http::valid_authority(out.host)) {
    *reason = "invalid :authority";
    return 400;
  }
  if (has_length) out.framing = http::Framing::content_length;
  else out.framing = end_stream ? http::Framing::none : http::Framing::chunked;
  return 0;
}

void response_fields(const http::ResponseHead& resp, std::string_view request_id, std::string& arena,
                     std::vector<nghttp2_nv>& out) {
  out.clear();
  arena.clear();
  // Sized once (the status, every name, one content-length value): the arena never grows
  // below, so the views into it stay valid while they are taken.
  size_t names = 0;
  for (const auto& h : resp.headers) names += h.name.size();
  const http::ConnectionTokens conn(resp.headers);
  arena.reserve(3 + names + 24);
  out.reserve(resp.headers.size() + 2);
  char status[4];
  std::to_chars(status, status + 3, resp.status);
  arena.append(status, 3);
  out.push_back(nv(":status", std::string_view(arena.data(), 3)));
  // No length on 1xx and 204 (RFC 9110 §8.6; HTTP/2 clients reject one there).
  const bool no_length = resp.status < 200 || resp.status == 204;
  bool length_done = false;
  for (const auto& h : resp.headers) {
    if (dropped_response_field(h.name) || conn.lists(h.name)) continue;
    if (http::iequals(h.name, "content-length")) {
      // Stated once, as parsed: the parser accepts identical repeats ("2, 2", or the field
      // twice), which an HTTP/2 client must refuse (RFC 9113 §8.1.1).
      if (no_length || length_done) continue;
      length_done = true;
      char n[24];
      auto [end, ec] = std::to_chars(n, n + sizeof n, resp.content_length);
      const size_t off = arena.size();
      arena.append(n, end);
      out.push_back(nv("content-length", std::string_view(arena).substr(off)));
      continue;
    }
    out.push_back(nv(append_lower(arena, h.name), h.value));
  }
  if (!request_id.empty()) out.push_back(nv("ferry-request-id", request_id));
}

void trailer_fields(std::string_view lines, std::string& arena, std::vector<nghttp2_nv>& out) {
  out.clear();
  arena.clear();
  arena.reserve(lines.size());  // never grows past this: the views below stay valid
  struct Item {
    size_t name_off, name_len, value_off, value_len;
  };
  std::vector<Item> items;
  while (!lines.empty()) {
    size_t eol = lines.find("\r\n");
    std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol == std::string_view::npos ? lines.size() : eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (http1::forbidden_in_trailer(name)) continue;
    Item it{arena.size(), name.size(), 0, value.size()};
    for (char c : name) arena += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    it.value_off = arena.size();
    arena += value;
    items.push_back(it);
  }
  for (const auto& it : items)
    out.push_back(nv(std::string_view(arena.data() + it.name_off, it.name_len),
                     std::string_view(arena.data() + it.value_off, it.value_len)));
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) { return nv(name, value); }

void request_fields(const http::OutboundRequest& head, std::span<const http::Header> extra, std::string_view scheme,
                    std::string& arena, std::vector<nghttp2_nv>& out) {
  out.clear();
  arena.clear();
  size_t names = 0;
  for (const auto& f : head.fields) names += f.name.len;
  for (const auto& h : extra) names += h.name.size();
  arena.reserve(names);  // never grows past this: the views below stay valid
  out.reserve(head.fields.size() + extra.size() + 4);
  out.push_back(nv(":method", head.view(head.method)));
  out.push_back(nv(":scheme", scheme));
  out.push_back(nv(":authority", head.view(head.authority)));
  out.push_back(nv(":path", head.view(head.path)));
  for (const auto& f : head.fields)
    if (!f.h1_only) out.push_back(nv(append_lower(arena, head.view(f.name)), head.view(f.value)));
  for (const auto& h : extra) out.push_back(nv(append_lower(arena, h.name), h.value));
}

int to_response_head(const FieldList& f, std::string_view request_method, bool end_stream, http::ResponseHead& out) {
  out.clear();
  out.minor = 1;
  out.keep_alive = true;
  out.head_size = 0;
  bool has_status = false, has_length = false;
  for (const auto& [name, value] : f) {
    if (name == ":status") {
      int st = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), st);
      if (has_status || value.size() != 3 || ec != std::errc() || p != value.data() + 3 || st < 100 || st == 101) return 502;
      out.status = st;
      has_status = true;
      continue;
    }
    if (name.empty() || name[0] == ':') continue;
    if (name == "content-length") {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size() || (has_length && n != out.content_length))
        return 502;
      has_length = true;
      out.content_length = n;
    }
    out.headers.push_back({name, value});
  }
  if (!has_status) return 502;
  if (out.status < 200 || out.status == 204 || out.status == 304 || request_method == "HEAD") {
    out.framing = http::Framing::none;
  } else if (has_length) {
    out.framing = http::Framing::content_length;
  } else if (end_stream) {
    out.framing = http::Framing::content_length;
    out.headers.push_back({"content-length", "0"});
  } else {
    out.framing = http::Framing::until_close;
  }
  return 0;
}

void error_fields(int status, std::string_view detail, std::string_view request_id, uint32_t retry_after,
                  std::string& arena, std::vector<nghttp2_nv>& out, std::string& body) {
  body = error_body(status, detail);
  // The arena is complete before any view into it is taken.
  arena = std::to_string(status);
  const size_t status_len = arena.size();
  arena += std::to_string(body.size());
  const size_t len_end = arena.size();
  if (retry_after) arena += std::to_string(retry_after);
  const std::string_view a = arena;
  out.clear();
  out.push_back(nv(":status", a.substr(0, status_len)));
  out.push_back(nv("content-type", "text/plain; charset=utf-8"));
  out.push_back(nv("cache-control", "no-store"));
  out.push_back(nv("content-length", a.substr(status_len, len_end - status_len)));
  if (!request_id.empty()) out.push_back(nv("ferry-request-id", request_id));
  if (retry_after) out.push_back(nv("retry-after", a.substr(len_end)));
}

}  // namespace ferry::proxy::http2
