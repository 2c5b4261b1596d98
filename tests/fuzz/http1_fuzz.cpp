// libFuzzer target for the HTTP/1 head parser, the chunked decoder and the PROXY protocol codec.
// Built and run by scripts/fuzz.sh (target "http1"). Besides "no crash / no UB", it checks
// invariants: consumed counts stay within the input, payload spans point into the fed buffer,
// and parse results are consistent with the limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "http1/chunked.h"
#include "http1/request_parser.h"
#include "http1/response_parser.h"
#include "net/proxy_protocol.h"

using namespace ferry::proxy;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool within(std::string_view inner, std::string_view outer) {
  return inner.empty() ||
         (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

// Decodes `in` split at `cut` (pieces are copied so that stray spans are caught by ASan).
// Returns the payload, or sets error/done.
std::string chunked(std::string_view in, size_t cut, bool& done, bool& error, size_t& consumed) {
  http1::ChunkedDecoder d;
  std::string payload;
  done = error = false;
  consumed = 0;
  const std::string_view pieces[2] = {in.substr(0, cut), in.substr(cut)};
  std::string carry;
  for (std::string_view piece : pieces) {
    std::string buf = carry + std::string(piece);  // unconsumed bytes are fed again
    std::string_view rest = buf;
    for (;;) {
      const auto st = d.step(rest);
      check(st.consumed <= rest.size());
      check(within(st.data, rest.substr(0, st.consumed)));
      payload.append(st.data);
      rest.remove_prefix(st.consumed);
      consumed += st.consumed;
      if (st.error) {
        error = true;
        return payload;
      }
      if (st.done) {
        done = true;
        return payload;
      }
      if (st.consumed == 0) break;
    }
    carry = std::string(rest);
  }
  return payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Small limits so that the fuzzer reaches them.
  http1::Limits small;
  small.max_request_line = 64;
  small.max_header_size = 256;
  small.max_headers = 8;
  for (const http1::Limits& lim : {http1::Limits{}, small}) {
    http::RequestHead rq;
    const auto r = http1::parse_request(in, lim, rq);
    if (r.status == http1::ParseStatus::complete) {
      check(rq.head_size <= in.size() && rq.head_size <= lim.max_header_size);
      check(rq.headers.size() <= lim.max_headers);
      check(within(rq.method, in) && within(rq.target, in) && within(rq.host, in));
      for (const auto& h : rq.headers) check(within(h.name, in) && within(h.value, in));
      check(rq.minor == 0 || rq.minor == 1);
      check(rq.framing != http::Framing::until_close && rq.framing != http::Framing::tunnel);
      // Re-parsing the exact head gives the same result.
      http::RequestHead again;
      check(http1::parse_request(in.substr(0, rq.head_size), lim, again).status ==
            http1::ParseStatus::complete);
      check(again.head_size == rq.head_size);
      // Every strict prefix is incomplete or error, never complete.
      if (rq.head_size > 0)
        check(http1::parse_request(in.substr(0, rq.head_size - 1), lim, again).status !=
              http1::ParseStatus::complete);
    } else if (r.status == http1::ParseStatus::error) {
      check(r.http_status == 400 || r.http_status == 414 || r.http_status == 431 ||
            r.http_status == 501 || r.http_status == 505);
    } else {
      check(in.size() < lim.max_header_size);
    }
    for (std::string_view method : {"GET", "HEAD", "CONNECT"}) {
      http::ResponseHead rs;
      const auto q = http1::parse_response(in, lim, method, rs);
      if (q.status == http1::ParseStatus::complete) {
        check(rs.head_size <= in.size() && rs.status >= 100 && rs.status <= 999);
        for (const auto& h : rs.headers) check(within(h.name, in) && within(h.value, in));
      } else if (q.status == http1::ParseStatus::error) {
        check(q.http_status == 502);
      }
    }
  }

  // Chunked decoder: whole input, then every split point of a small input; results must agree.
  bool done0, err0;
  size_t used0;
  const std::string whole = chunked(in, in.size(), done0, err0, used0);
  if (in.size() <= 256) {
    for (size_t cut = 0; cut < in.size(); ++cut) {
      bool done, err;
      size_t used;
      const std::string p = chunked(in, cut, done, err, used);
      check(done == done0 && err == err0);
      if (done) check(p == whole && used == used0);
    }
  }

  // PROXY protocol: parse; a complete header must be complete at exactly `consumed` bytes and
  // incomplete/error on every strict prefix (never complete early).
  pp::Endpoints ep;
  const auto pr = pp::parse(in, ep);
  if (pr.status == pp::Status::complete) {
    check(pr.consumed > 0 && pr.consumed <= in.size());
    pp::Endpoints e2;
    check(pp::parse(in.substr(0, pr.consumed), e2).status == pp::Status::complete);
    check(pp::parse(in.substr(0, pr.consumed - 1), e2).status == pp::Status::incomplete);
    if (!ep.local) {
      // Round trip through both builders.
      for (const std::string& built : {pp::build_v1(ep.src, ep.dst), pp::build_v2(ep.src, ep.dst)}) {
        pp::Endpoints e3;
        const auto rr = pp::parse(built, e3);
        check(rr.status == pp::Status::complete && rr.consumed == built.size() && !e3.local);
        check(e3.src.family() == ep.src.family() && e3.dst.family() == ep.dst.family());
      }
    }
  }
  return 0;
}
