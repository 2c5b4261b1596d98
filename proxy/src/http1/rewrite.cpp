#include "http1/rewrite.h"

namespace ferry::proxy::http1 {
namespace {

void add(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

bool skip_common(const std::vector<Header>& headers, const Header& h) {
  return is_hop_by_hop(h.name) || iequals(h.name, "Content-Length") || listed_in_connection(headers, h.name) ||
         iequals(h.name, "Ferry-Request-Id");
}

std::string_view upgrade_value(const std::vector<Header>& headers) {
  for (const auto& h : headers)
    if (iequals(h.name, "Upgrade")) return h.value;
  return {};
}

}  // namespace

void build_upstream_request(const RequestHead& req, const ForwardContext& ctx, std::string& out) {
  out.reserve(out.size() + req.head_size + 256);
  out += req.method;
  out += ' ';
  out += req.target;
  out += " HTTP/1.1\r\n";
  bool has_host = false, has_xfp = false, has_xfh = false, has_xfport = false;
  std::string xff;
  for (const auto& h : req.headers) {
    if (skip_common(req.headers, h) || iequals(h.name, "Expect")) continue;
    if (iequals(h.name, "X-Forwarded-For")) {
      if (ctx.trusted) {
        if (!xff.empty()) xff += ", ";
        xff += h.value;
      }
      continue;
    }
    if (iequals(h.name, "X-Forwarded-Proto")) {
      if (!ctx.trusted) continue;
      has_xfp = true;
    } else if (iequals(h.name, "X-Forwarded-Host")) {
      if (!ctx.trusted) continue;
      has_xfh = true;
    } else if (iequals(h.name, "X-Forwarded-Port")) {
      if (!ctx.trusted) continue;
      has_xfport = true;
    } else if (iequals(h.name, "Host")) {
      has_host = true;
    }
    add(out, h.name, h.value);
  }
  if (!has_host && !req.host.empty()) add(out, "Host", req.host);
  if (req.framing == Framing::content_length) add(out, "Content-Length", std::to_string(req.content_length));
  else if (req.framing == Framing::chunked) add(out, "Transfer-Encoding", "chunked");
  if (req.upgrade) {
    add(out, "Connection", "upgrade");
    add(out, "Upgrade", upgrade_value(req.headers));
  }
  if (!xff.empty()) xff += ", ";
  xff += ctx.client_ip;
  add(out, "X-Forwarded-For", xff);
  if (!has_xfp) add(out, "X-Forwarded-Proto", ctx.proto);
  if (!has_xfh && !req.host.empty()) add(out, "X-Forwarded-Host", req.host);
  if (!has_xfport) add(out, "X-Forwarded-Port", std::to_string(ctx.local_port));
  add(out, "Via", req.minor == 0 ? "1.0 ferry" : "1.1 ferry");
  add(out, "Ferry-Request-Id", ctx.request_id);
  out += "\r\n";
}

ResponseBodyOut choose_body_out(const ResponseHead& resp, int client_minor) {
  switch (resp.framing) {
    case Framing::none:
    case Framing::content_length: return ResponseBodyOut::same;
    case Framing::tunnel: return ResponseBodyOut::tunnel;
    case Framing::chunked:
    case Framing::until_close: return client_minor >= 1 ? ResponseBodyOut::chunked : ResponseBodyOut::until_close;
  }
  return ResponseBodyOut::until_close;
}

void build_downstream_response(const ResponseHead& resp, ResponseBodyOut body, bool keep_alive,
                               int client_minor, std::string_view request_id, std::string& out) {
  out.reserve(out.size() + resp.head_size + 128);
  out += "HTTP/1.1 ";
  out += std::to_string(resp.status);
  out += ' ';
  out += resp.reason;
  out += "\r\n";
  for (const auto& h : resp.headers) {
    if (iequals(h.name, "Content-Length")) {
      if (body == ResponseBodyOut::same) add(out, h.name, h.value);  // also HEAD / 304 lengths
      continue;
    }
    if (skip_common(resp.headers, h)) continue;
    add(out, h.name, h.value);
  }
  if (body == ResponseBodyOut::chunked) add(out, "Transfer-Encoding", "chunked");
  if (body == ResponseBodyOut::tunnel) {
    add(out, "Connection", "upgrade");
    add(out, "Upgrade", upgrade_value(resp.headers));
  } else if (!keep_alive) {
    add(out, "Connection", "close");
  } else if (client_minor == 0) {
    add(out, "Connection", "keep-alive");
  }
  if (!request_id.empty()) add(out, "Ferry-Request-Id", request_id);
  out += "\r\n";
}

}  // namespace ferry::proxy::http1
