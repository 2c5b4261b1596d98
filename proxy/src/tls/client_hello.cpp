// ClientHello server_name extraction (see client_hello.h). Wire formats: RFC 8446 4.1.2 and
// 5.1 (records, ClientHello; TLS 1.2's is the same up to the extensions), RFC 6066 3 (SNI).
#include "tls/client_hello.h"

#include <cstdint>
#include <cstring>

namespace ferry::proxy::tls {

namespace {

constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr size_t kRecordHeader = 5;
constexpr size_t kHandshakeHeader = 4;
constexpr size_t kMaxRecordPayload = 16384;  // 2^14, RFC 8446 5.1
constexpr uint16_t kExtServerName = 0;
constexpr uint8_t kNameTypeHostName = 0;

// A bounds-checked cursor over bytes: every read fails (returns false) instead of running
// past the end.
struct Reader {
  const uint8_t* p;
  size_t n;
  bool u8(uint8_t& v) {
    if (n < 1) return false;
    v = p[0];
    ++p, --n;
    return true;
  }
  bool u16(uint16_t& v) {
    if (n < 2) return false;
    v = static_cast<uint16_t>(p[0] << 8 | p[1]);
    p += 2, n -= 2;
    return true;
  }
  bool skip(size_t k) {
    if (n < k) return false;
    p += k, n -= k;
    return true;
  }
  // Takes the next `k` bytes as a reader of their own.
  bool sub(size_t k, Reader& out) {
    if (n < k) return false;
    out = Reader{p, k};
    p += k, n -= k;
    return true;
  }
};

bool dns_char(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

ClientHelloInfo fail(const char* reason) {
  ClientHelloInfo r;
  r.status = HelloStatus::error;
  r.reason = reason;
  return r;
}

// The server_name extension body: ServerNameList with exactly one host_name (as OpenSSL
// requires; RFC 6066 forbids two names of one type and defines no other type).
ClientHelloInfo parse_server_name(Reader ext) {
  uint16_t list_len = 0;
  Reader list{};
  if (!ext.u16(list_len) || !ext.sub(list_len, list) || ext.n != 0) return fail("bad server_name list length");
  uint8_t type = 0;
  uint16_t len = 0;
  Reader name{};
  if (!list.u8(type) || !list.u16(len) || !list.sub(len, name)) return fail("truncated server_name entry");
  if (type != kNameTypeHostName) return fail("server_name type is not host_name");
  if (list.n != 0) return fail("more than one server_name");
  if (len == 0 || len > ClientHelloInfo::kMaxName) return fail("server_name empty or longer than 255 bytes");
  for (size_t i = 0; i < len; ++i)
    if (!dns_char(name.p[i])) return fail("server_name has a character outside [A-Za-z0-9._-]");
  ClientHelloInfo r;
  r.status = HelloStatus::complete;
  std::memcpy(r.name_, name.p, len);
  r.name_len_ = len;
  return r;
}

// The ClientHello body (after the 4-byte handshake header), complete.
ClientHelloInfo parse_body(Reader r) {
  uint8_t sid_len = 0, comp_len = 0;
  uint16_t cs_len = 0;
  if (!r.skip(2 + 32)) return fail("truncated version/random");  // legacy_version, random
  if (!r.u8(sid_len) || sid_len > 32 || !r.skip(sid_len)) return fail("bad session id");
  if (!r.u16(cs_len) || cs_len < 2 || cs_len % 2 != 0 || !r.skip(cs_len)) return fail("bad cipher suites");
  if (!r.u8(comp_len) || comp_len < 1 || !r.skip(comp_len)) return fail("bad compression methods");
  ClientHelloInfo none;
  none.status = HelloStatus::complete;
  if (r.n == 0) return none;  // no extensions at all (old clients): no SNI
  uint16_t ext_len = 0;
  Reader exts{};
  if (!r.u16(ext_len) || !r.sub(ext_len, exts) || r.n != 0) return fail("bad extensions length");
  ClientHelloInfo found = none;
  bool seen = false;
  while (exts.n > 0) {
    uint16_t type = 0, len = 0;
    Reader body{};
    if (!exts.u16(type) || !exts.u16(len) || !exts.sub(len, body)) return fail("truncated extension");
    if (type != kExtServerName) continue;
    if (seen) return fail("duplicate server_name extension");
    seen = true;
    found = parse_server_name(body);
    if (found.status == HelloStatus::error) return found;
  }
  return found;
}

}  // namespace

ClientHelloInfo parse_client_hello(std::string_view in) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(in.data());
  // The handshake message, gathered from the payloads of consecutive handshake records.
  uint8_t msg[kMaxClientHelloBytes];
  size_t have = 0;
  size_t need = 0;  // whole message length (header included) once the header is known
  ClientHelloInfo more;  // status incomplete
  for (size_t off = 0;;) {
    const size_t left = in.size() - off;
    more.want = in.size() + 1;  // inside a record header every byte may decide
    if (left == 0) return more;
    if (bytes[off] != kContentHandshake) return fail(off == 0 ? "not a TLS handshake record" : "non-handshake record inside the ClientHello");
    if (left >= 2 && bytes[off + 1] != 3) return fail("record version major is not 3");
    if (left < kRecordHeader) return more;
    const size_t len = static_cast<size_t>(bytes[off + 3]) << 8 | bytes[off + 4];
    if (len == 0) return fail("empty handshake record");
    if (len > kMaxRecordPayload) return fail("record longer than 2^14");
    if (off + kRecordHeader + len > kMaxClientHelloBytes) return fail("ClientHello longer than 16 KiB");
    const size_t avail = left - kRecordHeader < len ? left - kRecordHeader : len;
    std::memcpy(msg + have, bytes + off + kRecordHeader, avail);  // have + avail <= off + 5 + len
    have += avail;
    if (have >= 1 && msg[0] != kHandshakeClientHello) return fail("first handshake message is not a ClientHello");
    if (need == 0 && have >= kHandshakeHeader) {
      need = kHandshakeHeader + (static_cast<size_t>(msg[1]) << 16 | static_cast<size_t>(msg[2]) << 8 | msg[3]);
      if (need > kMaxClientHelloBytes - kRecordHeader) return fail("ClientHello longer than 16 KiB");
    }
    if (need != 0 && have >= need) return parse_body(Reader{msg + kHandshakeHeader, need - kHandshakeHeader});
    if (avail < len) {  // the rest of this record has not arrived yet
      // Parse again when the record or the message (or its header) can be complete,
      // whichever comes first; have < need (or < the header size) here.
      const size_t missing_record = len - avail;
      const size_t missing_msg = (need != 0 ? need : kHandshakeHeader) - have;
      more.want = in.size() + (missing_record < missing_msg ? missing_record : missing_msg);
      return more;
    }
    off += kRecordHeader + len;
  }
}

std::string_view unrecognized_name_alert() {
  // ContentType alert (21), version 3.3, length 2, AlertLevel fatal (2), unrecognized_name (112).
  static constexpr char kAlert[] = {21, 3, 3, 0, 2, 2, 112};
  return {kAlert, sizeof kAlert};
}

}  // namespace ferry::proxy::tls
