#include "http1/rewrite.h"

#include <charconv>

#include "http1/field_rules.h"
#include "http/fields.h"

namespace ferry::proxy::http1 {
namespace {

void add(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

// The header names the rewrite cares about, recognised with one switch on the length and
// one case-insensitive compare (this runs for every header of every message).
enum class Name {
  other, connection, keep_alive, proxy_connection, te, transfer_encoding, upgrade, trailer,
  content_length, ferry_request_id, expect, host, http2_settings,
};

Name classify(std::string_view n) {
  auto is = [&](std::string_view lit, Name id) { return http::iequals(n, lit) ? id : Name::other; };
  switch (n.size()) {
    case 2: return is("TE", Name::te);
    case 4: return is("Host", Name::host);
    case 6: return is("Expect", Name::expect);
    case 7: {
      Name r = is("Upgrade", Name::upgrade);
      return r != Name::other ? r : is("Trailer", Name::trailer);
    }
    case 10: {
      Name r = is("Connection", Name::connection);
      return r != Name::other ? r : is("Keep-Alive", Name::keep_alive);
    }
    case 14: {
      Name r = is("Content-Length", Name::content_length);
      return r != Name::other ? r : is("HTTP2-Settings", Name::http2_settings);
    }
    case 16: {
      Name r = is("Ferry-Request-Id", Name::ferry_request_id);
      return r != Name::other ? r : is("Proxy-Connection", Name::proxy_connection);
    }
    case 17: return is("Transfer-Encoding", Name::transfer_encoding);
    default: return Name::other;
  }
}

// Whether the comma-separated list `value` holds `token` (case-insensitive, parameters ignored).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (http::iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool hop_by_hop(Name id) {
  switch (id) {
    case Name::connection: case Name::keep_alive: case Name::proxy_connection: case Name::te:
    case Name::transfer_encoding: case Name::upgrade: case Name::trailer:
      return true;
    default:
      return false;
  }
}

std::string_view upgrade_value(const std::vector<http::Header>& headers) {
  for (const auto& h : headers)
    if (http::iequals(h.name, "Upgrade")) return h.value;
  return {};
}

}  // namespace

void build_upstream_request(const http::RequestHead& req, const ForwardContext& ctx, http::OutboundRequest& out) {
  out.clear();
  out.wire.reserve(req.head_size + 256);
  out.framing = req.framing;
  out.content_length = req.content_length;
  auto& o = out;
  // Origin-form towards the server (RFC 9112 §3.2.1); an absolute-form target's path may be
  // empty or start with the query.
  o.request_line(req.method, req.path.empty() && !req.target.empty() && req.target[0] == '/' ? req.target : req.path);
  // Host is always ours: the authority the request was routed by (absolute-form target,
  // :authority, or the Host field), else the fallback; never one a Connection field removed.
  const std::string_view host = !req.host.empty() ? req.host : ctx.fallback_host;
  if (!host.empty()) o.add_host(host);
  bool has_xfp = false, has_xfh = false, has_xfport = false, te_trailers = false;
  bool has_client_ip = false, has_region = false, has_port = false;
  std::string xff;
  const http::ConnectionTokens conn(req.headers);
  for (const auto& h : req.headers) {
    Name id = classify(h.name);
    // "TE: trailers" is restated as ours: Ferry forwards trailers (gRPC needs it upstream).
    if (id == Name::te) te_trailers = te_trailers || has_token(h.value, "trailers");
    if (id != Name::other) continue;  // hop-by-hop, framing, Host, Expect, our request id: restated or dropped
    // Who may set what (field_rules.h): forwarding fields from a trusted peer only, Ferry-*
    // from another Ferry node only, "_" spellings of either from nobody.
    if (!ctx.request_id_alias.empty() && http::iequals(h.name, ctx.request_id_alias)) continue;  // ours below
    switch (classify_client_field(h.name)) {
      case ClientField::ordinary:
        break;
      case ClientField::trace_context:
        // traceparent is ours when tracing is on; tracestate belongs to a trusted caller's trace.
        if (!ctx.traceparent.empty() && (h.name.size() == 11 || !ctx.keep_tracestate)) continue;
        break;
      case ClientField::x_forwarded_for:
        if (ctx.trusted) {
          if (!xff.empty()) xff += ", ";
          xff += h.value;
        }
        continue;
      case ClientField::x_forwarded_proto:
        if (!ctx.trusted) continue;
        has_xfp = true;
        break;
      case ClientField::x_forwarded_host:
        if (!ctx.trusted) continue;
        has_xfh = true;
        break;
      case ClientField::x_forwarded_port:
        if (!ctx.trusted) continue;
        has_xfport = true;
        break;
      case ClientField::forwarded:
      case ClientField::x_real_ip:
        if (!ctx.trusted) continue;
        break;
      case ClientField::alias:
        continue;
      case ClientField::ferry: {
        // Ferry-* fields are ours (mesh metadata, routing hints, replay state): kept from
        // another Ferry node over the backhaul, dropped from anyone else.
        if (!ctx.backhaul) continue;
        const std::string_view rest = h.name.substr(6);
        // The backhaul target is only ever stated by the exchange that sends to a remote
        // instance, never passed on: a trusted downstream cannot pick a worker's instance.
        if (http::iequals(rest, "App") || http::iequals(rest, "Instance")) continue;
        has_client_ip = has_client_ip || http::iequals(rest, "Client-IP");
        has_region = has_region || http::iequals(rest, "Region");
        has_port = has_port || http::iequals(rest, "Forwarded-Port");
        break;
      }
    }
    if (conn.lists(h.name)) continue;
    o.add_field(h.name, h.value);
  }
  if (req.framing == http::Framing::content_length) {
    char n[24];
    auto [end, ec] = std::to_chars(n, n + sizeof n, req.content_length);
    o.add_field("Content-Length", std::string_view(n, static_cast<size_t>(end - n)));
  } else if (req.framing == http::Framing::chunked) {
    o.add_field("Transfer-Encoding", "chunked", true);
  }
  if (te_trailers) o.add_field("TE", "trailers");
  if (req.upgrade) {
    o.add_field("Connection", te_trailers ? "upgrade, te" : "upgrade", true);
    o.add_field("Upgrade", upgrade_value(req.headers), true);
  } else if (te_trailers) {
    o.add_field("Connection", "te", true);
  }
  if (xff.empty()) {
    o.add_field("X-Forwarded-For", ctx.client_ip);
  } else {
    xff += ", ";
    xff += ctx.client_ip;
    o.add_field("X-Forwarded-For", xff);
  }
  if (!has_xfp) o.add_field("X-Forwarded-Proto", ctx.proto);
  if (!has_xfh && !host.empty()) o.add_field("X-Forwarded-Host", host);
  char port[8];
  auto [port_end, port_ec] = std::to_chars(port, port + sizeof port, ctx.local_port);
  const std::string_view port_sv(port, port_end);
  if (!has_xfport) o.add_field("X-Forwarded-Port", port_sv);
  // Set by the edge that took the client's connection; a worker keeps them (trusted peer).
  if (!has_client_ip) o.add_field("Ferry-Client-IP", ctx.client_ip);
  if (!has_region && !ctx.region.empty()) o.add_field("Ferry-Region", ctx.region);
  if (!has_port) o.add_field("Ferry-Forwarded-Port", port_sv);
  o.add_field("Via", !ctx.via.empty() ? ctx.via : req.minor == 0 ? "1.0 ferry" : "1.1 ferry");
  o.add_field("Ferry-Request-Id", ctx.request_id);
  if (!ctx.request_id_alias.empty()) o.add_field(ctx.request_id_alias, ctx.request_id);
  if (!ctx.traceparent.empty()) o.add_field("traceparent", ctx.traceparent);
  o.end();
}

void build_upstream_request(const http::RequestHead& req, const ForwardContext& ctx, std::string& out) {
  http::OutboundRequest o;
  build_upstream_request(req, ctx, o);
  out += o.wire;
}

ResponseBodyOut choose_body_out(const http::ResponseHead& resp, int client_minor) {
  switch (resp.framing) {
    case http::Framing::none:
    case http::Framing::content_length: return ResponseBodyOut::same;
    case http::Framing::tunnel: return ResponseBodyOut::tunnel;
    case http::Framing::chunked:
    case http::Framing::until_close: return client_minor >= 1 ? ResponseBodyOut::chunked : ResponseBodyOut::until_close;
  }
  return ResponseBodyOut::until_close;
}

void build_downstream_response(const http::ResponseHead& resp, ResponseBodyOut body, bool keep_alive,
                               int client_minor, std::string_view request_id, std::string& out) {
  out.reserve(out.size() + resp.head_size + 128);
  char status[8];
  auto [status_end, ec] = std::to_chars(status, status + sizeof status, resp.status);
  out += "HTTP/1.1 ";
  out.append(status, status_end);
  out += ' ';
  out += resp.reason;
  out += "\r\n";
  const http::ConnectionTokens conn(resp.headers);
  bool length_done = false;
  for (const auto& h : resp.headers) {
    Name id = classify(h.name);
    if (id == Name::content_length) {
      // Also HEAD / 304 lengths. Once, as parsed: identical repeats ("2, 2", or the field
      // twice) are accepted from the server but not passed on.
      if (body == ResponseBodyOut::same && !length_done) add(out, "Content-Length", std::to_string(resp.content_length));
      length_done = true;
      continue;
    }
    if (hop_by_hop(id) || id == Name::ferry_request_id || conn.lists(h.name)) continue;
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
