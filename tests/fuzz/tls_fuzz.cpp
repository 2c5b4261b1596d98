// libFuzzer target for the TLS ClientHello reader used by SNI passthrough (tls/client_hello).
// Built and run by scripts/fuzz.sh (target "tls"). Besides "no crash / no UB / no read out of
// bounds", it checks invariants: a server name is 1..255 DNS characters; a complete or error
// result does not change when more bytes follow; feeding the input in pieces (skipping
// parses below `want`, as tcp/sni_read does) ends exactly like parsing it whole; the name
// routes through HostRouter without trouble.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "plan/host_router.h"
#include "tls/client_hello.h"

using namespace ferry::proxy;
using tls::HelloStatus;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool dns_name(std::string_view n) {
  if (n.size() > 255) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const tls::ClientHelloInfo whole = tls::parse_client_hello(in);
  check(dns_name(whole.server_name()));
  if (whole.status == HelloStatus::complete) {
    static const HostRouter router = [] {
      HostRouter r;
      r.add("a.test", 1);
      r.add("*.b.test", 2);
      return r;
    }();
    const int app = router.find(whole.server_name());
    check(app >= -1 && app <= 2);
  } else if (whole.status == HelloStatus::incomplete) {
    check(whole.want > size);
  } else {
    check(whole.reason != nullptr && *whole.reason != '\0');
  }
  if (whole.status != HelloStatus::incomplete) {
    const std::string more = std::string(in) + "\x16\x03\x03";
    const tls::ClientHelloInfo longer = tls::parse_client_hello(more);
    check(longer.status == whole.status && longer.server_name() == whole.server_name());
  }

  // Incremental feed in pieces of `step` bytes (from the first byte), as the session reads.
  const size_t step = size > 0 ? 1 + data[0] % 64 : 1;
  tls::ClientHelloInfo inc;
  size_t have = 0;
  for (;;) {
    if (have >= inc.want) {
      inc = tls::parse_client_hello(in.substr(0, have));
      if (inc.status != HelloStatus::incomplete) break;
      check(inc.want > have);
    }
    if (have == size) break;
    have = have + step < size ? have + step : size;
  }
  check(inc.status == whole.status);
  if (inc.status == HelloStatus::complete) check(inc.server_name() == whole.server_name());
  return 0;
}
