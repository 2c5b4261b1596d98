// TLS ClientHello parser (SNI passthrough): real ClientHellos captured from Python's ssl module
// and the openssl command, every prefix, record-layer fragmentation, malformed lengths, no
// SNI, several extensions, and the HostRouter match of an upper-case server name.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "plan/host_router.h"
#include "tls/client_hello.h"

using namespace std::literals;
using ferry::proxy::HostRouter;
using ferry::proxy::tls::ClientHelloInfo;
using ferry::proxy::tls::HelloStatus;
using ferry::proxy::tls::kMaxClientHelloBytes;
using ferry::proxy::tls::parse_client_hello;

namespace {

// Captured on loopback from a listener that dumped the first bytes of each connection:
// Python 3.11 ssl and `openssl s_client` (OpenSSL 3.0), Debian 12.
// python_tls13_a_test (517 bytes)
const char* const k_python_tls13_a_test =
    "1603010200010001fc0303bf21fee96d99b6ea2dcdf1f4cfb3bde36364db5fef2c883bd85dd67a5f78d0812009cabb1d"
    "b6bcd540160b61988a0ff1591186fda6640442c5f8cc62d3ac1d27e7003e130213031301c02cc030009fcca9cca8ccaa"
    "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000175"
    "0000000b0009000006612e74657374000b000403000102000a00160014001d0017001e00190018010001010102010301"
    "04002300000016000000170000000d002a0028040305030603080708080809080a080b08040805080604010501060103"
    "0303010302040205020602002b0009080304030303020301002d00020101003300260024001d002052da37d9d42a3559"
    "3525eac19deda0c60b021d2003e977a31339b4b1a2e84c05001500c90000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000";

// python_no_sni (517 bytes)
const char* const k_python_no_sni =
    "1603010200010001fc0303c16a9957a3070e7d8895b66d6a37e7cc1963befcecff59b8b5b09d63c05f340920e0e1a750"
    "4bfdc715d032c73afaa4705c9c12fd7045328b22a838f34eae908088003e130213031301c02cc030009fcca9cca8ccaa"
    "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000175"
    "000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d"
    "002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b0009"
    "080304030303020301002d00020101003300260024001d0020233548d28338b88705eeba6b33f20847dfadcee71ee971"
    "63c4dd27f085c53f46001500d80000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000";

// python_tls12_only_b_test (203 bytes)
const char* const k_python_tls12_only_b_test =
    "16030100c6010000c20303a800d062903cc12dbfccdab81f06e09d0b699e2cd00e78733b614318fb503ec1000038c02c"
    "c030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c"
    "0035002f00ff010000610000000b0009000006622e74657374000b000403000102000a000c000a001d0017001e001900"
    "18002300000016000000170000000d002a0028040305030603080708080809080a080b08040805080604010501060103"
    "0303010302040205020602";

// openssl_upper_b_test (312 bytes)
const char* const k_openssl_upper_b_test =
    "16030101330100012f0303c093693923cb592bc122369c0427b01e2e1c0d2872dae707c68449aac67ff53520cc9fbd24"
    "98d6c4b778658a46cbb3139460982bcf100aab5c49adf6f4e3da5258003e130213031301c02cc030009fcca9cca8ccaa"
    "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000a8"
    "0000000b0009000006422e54657374000b000403000102000a00160014001d0017001e00190018010001010102010301"
    "04002300000016000000170000000d002a0028040305030603080708080809080a080b08040805080604010501060103"
    "0303010302040205020602002b0009080304030303020301002d00020101003300260024001d002041e9cc8407e95344"
    "592946a061e666e4206ba786ef349e69d417c4ef0596e91d";

// openssl_noservername (297 bytes)
const char* const k_openssl_noservername =
    "1603010124010001200303720a37126bbcaa424b61b650e8578ffd8d71b944771b1016707bb047c474dbd820538744eb"
    "8448a8010287baab2b20960fd6bbae291ddd62ce09767c7273411236003e130213031301c02cc030009fcca9cca8ccaa"
    "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000099"
    "000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d"
    "002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b0009"
    "080304030303020301002d00020101003300260024001d00202b6ab154ce04f262ab72c80b038a10c44c33538b0ae9b0"
    "6f45f6519a0479be15";

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string u8(size_t v) { return std::string(1, static_cast<char>(v & 0xff)); }
std::string u16(size_t v) { return u8(v >> 8) + u8(v); }
std::string u24(size_t v) { return u8(v >> 16) + u16(v & 0xffff); }

std::string ext(uint16_t type, const std::string& body) { return u16(type) + u16(body.size()) + body; }
std::string sni_body(const std::string& name, uint8_t type = 0) {
  const std::string entry = u8(type) + u16(name.size()) + name;
  return u16(entry.size()) + entry;
}
// A ClientHello body: version, random, empty session id, two suites, null compression, then
// the extension block (omitted when `exts` is null).
std::string body(const std::vector<std::string>* exts) {
  std::string b = "\x03\x03"s + std::string(32, 'r') + u8(0) + u16(4) + "\x13\x01\x13\x02"s + u8(1) + u8(0);
  if (!exts) return b;
  std::string all;
  for (const auto& e : *exts) all += e;
  return b + u16(all.size()) + all;
}
std::string handshake(const std::string& b) { return "\x01"s + u24(b.size()) + b; }
// Handshake bytes cut into records of at most `frag` payload bytes.
std::string records(const std::string& msg, size_t frag = 16384) {
  std::string out;
  for (size_t i = 0; i < msg.size(); i += frag) {
    const std::string piece = msg.substr(i, frag);
    out += "\x16\x03\x01"s + u16(piece.size()) + piece;
  }
  return out;
}
std::string hello_with(const std::vector<std::string>& exts, size_t frag = 16384) {
  return records(handshake(body(&exts)), frag);
}

ClientHelloInfo parse(const std::string& s) { return parse_client_hello(s); }

}  // namespace

TEST_CASE("client_hello: real ClientHellos from python and openssl") {
  struct Case {
    const char* hex;
    std::string_view name;
  } cases[] = {
      {k_python_tls13_a_test, "a.test"},  {k_python_no_sni, ""},        {k_python_tls12_only_b_test, "b.test"},
      {k_openssl_upper_b_test, "B.Test"}, {k_openssl_noservername, ""},
  };
  for (const auto& c : cases) {
    const std::string in = unhex(c.hex);
    auto r = parse(in);
    INFO(c.name << " " << r.reason);
    REQUIRE(r.status == HelloStatus::complete);
    CHECK(r.server_name() == c.name);
    // Every strict prefix is incomplete: never an error, never complete early.
    for (size_t n = 0; n < in.size(); ++n) {
      auto p = parse(in.substr(0, n));
      INFO("prefix " << n << " " << p.reason);
      REQUIRE(p.status == HelloStatus::incomplete);
    }
    // Bytes after the ClientHello (a client that pipelines) do not matter.
    CHECK(parse(in + "\x14\x03\x03\x00\x01\x01"s).server_name() == c.name);
  }
}

TEST_CASE("client_hello: a ClientHello fragmented over several records") {
  const std::string msg = unhex(k_python_tls13_a_test).substr(5);  // the handshake message
  for (size_t frag : {1u, 2u, 3u, 4u, 5u, 7u, 100u, 511u}) {
    const std::string in = records(msg, frag);
    auto r = parse(in);
    INFO("fragment size " << frag << " " << r.reason);
    REQUIRE(r.status == HelloStatus::complete);
    CHECK(r.server_name() == "a.test");
    for (size_t n = 0; n < in.size(); n += 1 + n / 64) REQUIRE(parse(in.substr(0, n)).status == HelloStatus::incomplete);
  }
}

TEST_CASE("client_hello: no extensions, no SNI, several extensions") {
  auto r = parse(records(handshake(body(nullptr))));
  REQUIRE(r.status == HelloStatus::complete);
  CHECK(r.server_name().empty());

  r = parse(hello_with({}));
  REQUIRE(r.status == HelloStatus::complete);
  CHECK(r.server_name().empty());

  // supported_versions, ALPN, an unknown type, SNI, padding, key_share-like blob.
  r = parse(hello_with({ext(43, "\x04\x03\x04\x03\x03"s), ext(16, "\x00\x03\x02h2"s), ext(0xfafa, ""),
                        ext(0, sni_body("app.example.com")), ext(21, std::string(300, '\0')),
                        ext(51, std::string(1200, 'k'))}));
  REQUIRE(r.status == HelloStatus::complete);
  CHECK(r.server_name() == "app.example.com");

  // The longest name allowed.
  const std::string longest(255, 'a');
  r = parse(hello_with({ext(0, sni_body(longest))}));
  REQUIRE(r.status == HelloStatus::complete);
  CHECK(r.server_name() == longest);
}

TEST_CASE("client_hello: an upper-case server name routes like its lower-case host") {
  HostRouter router;
  router.add("b.test", 1);
  router.add("*.w.test", 2);
  auto r = parse(unhex(k_openssl_upper_b_test));
  REQUIRE(r.status == HelloStatus::complete);
  CHECK(router.find(r.server_name()) == 1);
  r = parse(hello_with({ext(0, sni_body("X.Y.W.TEST"))}));
  REQUIRE(r.status == HelloStatus::complete);
  CHECK(router.find(r.server_name()) == 2);
  r = parse(hello_with({ext(0, sni_body("other.test"))}));
  CHECK(router.find(r.server_name()) == -1);
}

TEST_CASE("client_hello: not TLS, or malformed records") {
  CHECK(parse("GET / HTTP/1.1\r\n\r\n").status == HelloStatus::error);
  CHECK(parse("G").status == HelloStatus::error);
  CHECK(parse("\x80\x2e\x01\x03\x01"s).status == HelloStatus::error);              // SSLv2 hello
  CHECK(parse("\x16\x02"s).status == HelloStatus::error);                          // version major 2
  CHECK(parse("\x16\x03\x01\x00\x00"s).status == HelloStatus::error);              // empty record
  CHECK(parse("\x16\x03\x01\x40\x01"s).status == HelloStatus::error);              // > 2^14
  CHECK(parse("\x16\x03\x01\x00\x04\x02\x00\x00\x00"s).status == HelloStatus::error);  // ServerHello
  CHECK(parse("\x15\x03\x01\x00\x02\x02\x28"s).status == HelloStatus::error);      // an alert
  // Handshake length beyond the 16 KiB bound is refused as soon as the header is seen.
  CHECK(parse("\x16\x03\x01\x00\x04\x01\x01\x00\x00"s).status == HelloStatus::error);
  // A non-handshake record between fragments.
  const std::string msg = handshake(body(nullptr));
  const std::string first = records(msg.substr(0, 10));
  CHECK(parse(first + "\x17\x03\x03\x00\x01x"s).status == HelloStatus::error);
  // Only the first record: incomplete.
  CHECK(parse(first).status == HelloStatus::incomplete);
}

TEST_CASE("client_hello: bogus lengths inside the ClientHello") {
  auto wrap = [](const std::string& b) { return parse(records(handshake(b))); };
  const std::string head = "\x03\x03"s + std::string(32, 'r');
  CHECK(wrap(head).status == HelloStatus::error);                                            // no session id
  CHECK(wrap(head + u8(33) + std::string(33, 's')).status == HelloStatus::error);            // session id > 32
  CHECK(wrap(head + u8(0) + u16(3) + "abc").status == HelloStatus::error);                   // odd suites
  CHECK(wrap(head + u8(0) + u16(0)).status == HelloStatus::error);                           // no suites
  CHECK(wrap(head + u8(0) + u16(2) + "\x13\x01"s + u8(0)).status == HelloStatus::error);     // no compression
  CHECK(wrap(head + u8(0) + u16(200) + "\x13\x01"s).status == HelloStatus::error);           // suites overrun
  const std::string base = body(nullptr);
  CHECK(wrap(base + u16(10) + "abc").status == HelloStatus::error);                          // extensions overrun
  CHECK(wrap(base + u16(2) + "ab" + "trailing").status == HelloStatus::error);               // bytes after them
  CHECK(wrap(base + u16(4) + u16(0) + u16(9)).status == HelloStatus::error);                 // extension overrun
  CHECK(wrap(base + u8(0)).status == HelloStatus::error);                                    // half a length

  auto sni = [](const std::string& ext_body) { return parse(hello_with({ext(0, ext_body)})); };
  CHECK(sni("").status == HelloStatus::error);                                               // empty extension
  CHECK(sni(u16(50) + u8(0) + u16(1) + "a").status == HelloStatus::error);                   // list overrun
  CHECK(sni(u16(3) + u8(0) + u16(0)).status == HelloStatus::error);                          // empty name
  CHECK(sni(u16(4) + u8(0) + u16(9) + "a").status == HelloStatus::error);                    // name overrun
  CHECK(sni(sni_body("a.test", 1)).status == HelloStatus::error);                            // not host_name
  CHECK(sni(sni_body("a.test") + "x").status == HelloStatus::error);                         // after the list
  const std::string two = u8(0) + u16(1) + "a" + u8(0) + u16(1) + "b";
  CHECK(sni(u16(two.size()) + two).status == HelloStatus::error);                            // two names
  CHECK(sni(sni_body("a.test:443")).status == HelloStatus::error);                           // not a DNS name
  CHECK(sni(sni_body("a\0b"s)).status == HelloStatus::error);
  CHECK(sni(sni_body(std::string(256, 'a'))).status == HelloStatus::error);                  // too long
  CHECK(parse(hello_with({ext(0, sni_body("a.test")), ext(0, sni_body("b.test"))})).status == HelloStatus::error);
  // The handshake message says it is longer than the bytes that follow: incomplete, not complete.
  std::string lying = records(handshake(body(nullptr)));
  lying[8] = static_cast<char>(lying[8] + 10);
  CHECK(parse(lying).status == HelloStatus::incomplete);
}

TEST_CASE("client_hello: the 16 KiB bound") {
  // Just under the bound: fine. Over it (in several records): an error, not incomplete.
  const size_t overhead = 5 + 4 + body(nullptr).size() + 2 + 4 + 4 + sni_body("a.test").size();
  const size_t fits = kMaxClientHelloBytes - overhead;
  auto r = parse(hello_with({ext(21, std::string(fits, '\0')), ext(0, sni_body("a.test"))}));
  REQUIRE(r.status == HelloStatus::complete);
  CHECK(r.server_name() == "a.test");
  CHECK(parse(hello_with({ext(21, std::string(fits + 1, '\0')), ext(0, sni_body("a.test"))})).status ==
        HelloStatus::error);
  const std::string big = hello_with({ext(21, std::string(20000, '\0'))}, 4000);
  CHECK(parse(big).status == HelloStatus::error);
  CHECK(parse(big.substr(0, kMaxClientHelloBytes)).status == HelloStatus::error);
}

TEST_CASE("client_hello: the unrecognized_name alert record") {
  CHECK(ferry::proxy::tls::unrecognized_name_alert() == "\x15\x03\x03\x00\x02\x02\x70"sv);
}

TEST_CASE("client_hello: `want` never skips a byte count that would change the result") {
  const std::string msg = unhex(k_python_tls13_a_test).substr(5);
  // The last input ends in a record longer than the ClientHello (found by the fuzzer: `want`
  // pointed at the record's end, past the point where the message completes).
  const std::string long_record = "\x16\x03\x01"s + u16(msg.size() + 100) + msg;
  const std::vector<std::pair<std::string, size_t>> inputs = {  // input, length at which it completes
      {records(msg, 3), records(msg, 3).size()}, {records(msg, 64), records(msg, 64).size()},
      {records(msg), 5 + msg.size()}, {long_record, 5 + msg.size()}};
  for (const auto& [in, complete_at] : inputs) {
    size_t next = 0;
    for (size_t n = 0; n <= in.size(); ++n) {
      auto r = parse(in.substr(0, n));
      if (n < next) {
        REQUIRE(r.status == HelloStatus::incomplete);  // what skipping the parse assumes
        continue;
      }
      if (r.status != HelloStatus::incomplete) {
        CHECK(r.status == HelloStatus::complete);
        CHECK(n == complete_at);
        break;
      }
      REQUIRE(r.want > n);
      next = r.want;
    }
  }
}
