// http1/field_rules: which fields a peer may set, and which a trailer may carry.
#include <catch2/catch.hpp>

#include <string>

#include "http1/field_rules.h"

using namespace ferry::proxy;
using namespace ferry::proxy::http1;

TEST_CASE("field rules: forwarding, Ferry-* and their underscore aliases", "[fields]") {
  CHECK(classify_client_field("X-Forwarded-For") == ClientField::x_forwarded_for);
  CHECK(classify_client_field("x-forwarded-proto") == ClientField::x_forwarded_proto);
  CHECK(classify_client_field("X-FORWARDED-HOST") == ClientField::x_forwarded_host);
  CHECK(classify_client_field("X-Forwarded-Port") == ClientField::x_forwarded_port);
  CHECK(classify_client_field("Forwarded") == ClientField::forwarded);
  CHECK(classify_client_field("X-Real-Ip") == ClientField::x_real_ip);
  CHECK(classify_client_field("Ferry-Client-IP") == ClientField::ferry);
  CHECK(classify_client_field("ferry-anything") == ClientField::ferry);
  for (const char* alias : {"X_Forwarded_For", "x_forwarded-proto", "X-Forwarded_Host", "x_forwarded_port", "X_Real_IP",
                            "Ferry_Client_IP", "ferry_region", "FERRY_X", "Ferry-Client_IP", "ferry-cli_nt-ip"})
    CHECK(classify_client_field(alias) == ClientField::alias);
  for (const char* plain : {"X-Request-Id", "My_Header", "Ferry", "Ferry-", "Forwarded-For", "X_Forwarded", "Cookie"})
    CHECK(classify_client_field(plain) == ClientField::ordinary);
}

TEST_CASE("field rules: trailers keep only what RFC 9110 §6.5.1 allows", "[fields]") {
  for (const char* bad : {"Content-Length", "transfer-encoding", "Host", "Authorization", "Cookie", "Set-Cookie",
                          "Content-Type", "Content-Encoding", "Cache-Control", "TE", "Trailer", "Connection", "Expect",
                          "If-Match", "Range", "Max-Forwards", "Location", "Retry-After", "X-Forwarded-For",
                          "Ferry-Client-IP", "Ferry_Client_IP", "Forwarded", ":status", ""})
    CHECK(forbidden_in_trailer(bad));
  for (const char* ok : {"grpc-status", "grpc-message", "Server-Timing", "X-Checksum", "Digest"})
    CHECK_FALSE(forbidden_in_trailer(ok));
  std::string out;
  append_allowed_trailers("grpc-status: 0\r\nContent-Length: 99\r\nFerry-Client-IP: 1.2.3.4\r\nX-Sum: 7\r\n"
                          "x_forwarded_for: 9.9.9.9\r\nHost: evil\r\n",
                          out);
  CHECK(out == "grpc-status: 0\r\nX-Sum: 7\r\n");
}
