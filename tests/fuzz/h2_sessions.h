// Part of h2headers_fuzz.cpp (split for size): an nghttp2 client session and a server session
// made with http2/session.cpp's options, their callbacks, and the pump between them. The
// server callbacks fill an http2::RequestFields exactly as session.cpp's do, and the server's
// data provider sends upstream trailers through http2::trailer_fields as session/h2_stream.cpp
// provider() does. Included once, by h2headers_fuzz.cpp, after its check().
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/fields.h"
#include "http2/headers.h"

namespace h2fuzz {

using namespace ferry::proxy;

void check(bool ok, const char* what);  // h2headers_fuzz.cpp

struct Field {
  std::string name, value;
};

nghttp2_nv nv_of(const std::string& n, const std::string& v) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())), reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())),
          n.size(), v.size(), NGHTTP2_NV_FLAG_NONE};
}
std::string_view name_of(const nghttp2_nv& nv) { return {reinterpret_cast<const char*>(nv.name), nv.namelen}; }
std::string_view value_of(const nghttp2_nv& nv) { return {reinterpret_cast<const char*>(nv.value), nv.valuelen}; }

bool lower_ascii(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The two sessions.

// A body (and trailers) sent through an nghttp2 data provider. On the server side this mirrors
// session/h2_stream.cpp provider(): at EOF, kept upstream trailers go out through trailer_fields.
struct Source {
  std::string body;
  size_t off = 0;
  std::vector<Field> client_trailers;  // client side: the request's trailer section
  std::string upstream_trailers;       // server side: the ChunkedDecoder's kept lines
  bool server = false;
  bool keep_open = false;  // client side: the body is sent, the stream stays open (no END_STREAM yet)
};

ssize_t read_source(nghttp2_session* ng, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                    nghttp2_data_source* src, void*) {
  Source& s = *static_cast<Source*>(src->ptr);
  size_t n = s.body.size() - s.off < length ? s.body.size() - s.off : length;
  std::memcpy(buf, s.body.data() + s.off, n);
  s.off += n;
  if (s.off == s.body.size() && s.keep_open) return n ? static_cast<ssize_t>(n) : NGHTTP2_ERR_DEFERRED;
  if (s.off == s.body.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    std::vector<nghttp2_nv> nv;
    std::string arena;
    if (s.server && !s.upstream_trailers.empty()) {
      http2::trailer_fields(s.upstream_trailers, arena, nv);
      for (const auto& t : nv) {
        check(nghttp2_check_header_name(t.name, t.namelen) && lower_ascii(name_of(t)), "trailer name invalid for HTTP/2");
        check(nghttp2_check_header_value_rfc9113(t.value, t.valuelen), "trailer value invalid for HTTP/2");
        check(!http::is_hop_by_hop(name_of(t)), "connection-specific trailer field");
        check(name_of(t) != "content-length", "content-length in the HTTP/2 trailers");
      }
    } else {
      for (const auto& f : s.client_trailers) nv.push_back(nv_of(f.name, f.value));
    }
    if (!nv.empty() && nghttp2_submit_trailer(ng, id, nv.data(), nv.size()) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
  }
  return static_cast<ssize_t>(n);
}

struct ServerStream {
  http2::RequestFields req;
  bool headers_done = false, req_end = false, closed = false;
  std::string body;
};

struct Server {
  nghttp2_session* ng = nullptr;
  uint32_t max_list = 32 * 1024, max_count = 100;  // config defaults (limits)
  std::map<int32_t, ServerStream> streams;
  std::map<int32_t, Source> sources;
};

// Mirrors http2/session.cpp Callbacks (begin_headers, header, frame_recv, data_chunk).
int srv_begin(nghttp2_session*, const nghttp2_frame* f, void* ud) {
  if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
    static_cast<Server*>(ud)->streams[f->hd.stream_id];
  return 0;
}
int srv_header(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen, const uint8_t* value,
               size_t valuelen, uint8_t, void* ud) {
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: dropped
  Server& s = *static_cast<Server*>(ud);
  auto it = s.streams.find(f->hd.stream_id);
  if (it == s.streams.end()) return 0;
  it->second.req.add({reinterpret_cast<const char*>(name), namelen}, {reinterpret_cast<const char*>(value), valuelen},
                     s.max_list, s.max_count);
  return 0;
}
int srv_frame(nghttp2_session*, const nghttp2_frame* f, void* ud) {
  Server& s = *static_cast<Server*>(ud);
  auto it = s.streams.find(f->hd.stream_id);
  if (it == s.streams.end()) return 0;
  const bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
    it->second.headers_done = true;
    it->second.req_end = end;
  } else if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && end) {
    it->second.req_end = true;
  }
  return 0;
}
int srv_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* ud) {
  Server& s = *static_cast<Server*>(ud);
  auto it = s.streams.find(id);
  if (it != s.streams.end()) it->second.body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int srv_close(nghttp2_session*, int32_t id, uint32_t, void* ud) {
  auto& streams = static_cast<Server*>(ud)->streams;
  auto it = streams.find(id);
  if (it != streams.end()) it->second.closed = true;
  return 0;
}

struct ClientStream {
  std::vector<std::vector<Field>> blocks;  // header blocks as received (interim, final, trailers)
  std::string body;
  bool closed = false, invalid = false, ended = false;  // ended: END_STREAM received
  uint32_t code = 0;
};
struct Client {
  nghttp2_session* ng = nullptr;
  std::map<int32_t, ClientStream> streams;
  bool connection_error = false;
};

int cli_begin(nghttp2_session*, const nghttp2_frame* f, void* ud) {
  static_cast<Client*>(ud)->streams[f->hd.stream_id].blocks.emplace_back();
  return 0;
}
int cli_header(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen, const uint8_t* value,
               size_t valuelen, uint8_t, void* ud) {
  auto& blocks = static_cast<Client*>(ud)->streams[f->hd.stream_id].blocks;
  if (blocks.empty()) blocks.emplace_back();
  blocks.back().push_back({std::string(reinterpret_cast<const char*>(name), namelen),
                           std::string(reinterpret_cast<const char*>(value), valuelen)});
  return 0;
}
int cli_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* ud) {
  static_cast<Client*>(ud)->streams[id].body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}
int cli_frame(nghttp2_session*, const nghttp2_frame* f, void* ud) {
  if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
    static_cast<Client*>(ud)->streams[f->hd.stream_id].ended = true;
  return 0;
}
int cli_close(nghttp2_session*, int32_t id, uint32_t code, void* ud) {
  auto& st = static_cast<Client*>(ud)->streams[id];
  st.closed = true;
  st.code = code;
  return 0;
}
int cli_invalid(nghttp2_session*, const nghttp2_frame* f, int, void* ud) {
  static_cast<Client*>(ud)->streams[f->hd.stream_id].invalid = true;
  return 0;
}

// Moves bytes both ways until neither session has anything to send.
void pump(Client& c, Server& s) {
  for (int round = 0; round < 1000; ++round) {
    bool moved = false;
    for (int dir = 0; dir < 2; ++dir) {
      nghttp2_session* from = dir == 0 ? c.ng : s.ng;
      nghttp2_session* to = dir == 0 ? s.ng : c.ng;
      for (;;) {
        const uint8_t* p = nullptr;
        const ssize_t n = nghttp2_session_mem_send(from, &p);
        if (n <= 0) break;
        moved = true;
        const ssize_t rv = nghttp2_session_mem_recv(to, p, static_cast<size_t>(n));
        if (rv < 0 && dir == 1) c.connection_error = true;
      }
    }
    if (!moved) return;
  }
}


}  // namespace h2fuzz
