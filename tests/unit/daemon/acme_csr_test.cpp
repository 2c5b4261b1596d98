#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/csr.h"
#include "acme/keys.h"
#include "acme/messages.h"
#include "ferry/util/base64.h"

using namespace ferry::acme;
using ferry::util::base64url_decode;
using ferry::util::base64url_encode;

namespace {

struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
using Req = std::unique_ptr<X509_REQ, ReqFree>;

Req parse_der(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Req req(d2i_X509_REQ(nullptr, &p, long(der.size())));
  if (req && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;  // trailing bytes
  return req;
}

std::vector<std::string> requested_sans(X509_REQ* req, int* critical) {
  std::vector<std::string> out;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    *critical = X509_EXTENSION_get_critical(ext);
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    for (int j = 0; names && j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      REQUIRE(gn->type == GEN_DNS);
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                       size_t(ASN1_STRING_length(gn->d.dNSName)));
    }
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

std::string subject_cn(X509_REQ* req) {
  char buf[256] = {};
  const int n = X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, size_t(n));
}

}  // namespace

TEST_CASE("acme csr: all hosts in the SAN, CN = first host, verifies with its key", "[acme][csr]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  const std::vector<std::string> hosts{"www.example.org", "example.org", "*.api.example.org"};
  auto der = make_csr_der(hosts, **key);
  REQUIRE(der);
  Req req = parse_der(*der);
  REQUIRE(req);
  CHECK(X509_REQ_verify(req.get(), key->get()) == 1);
  CHECK(EVP_PKEY_eq(X509_REQ_get0_pubkey(req.get()), key->get()) == 1);
  CHECK(X509_REQ_get_signature_nid(req.get()) == NID_ecdsa_with_SHA256);
  CHECK(X509_REQ_get_version(req.get()) == X509_REQ_VERSION_1);
  CHECK(subject_cn(req.get()) == "www.example.org");
  int critical = -1;
  CHECK(requested_sans(req.get(), &critical) == hosts);
  CHECK(critical == 0);

  auto other = generate_p256_key();
  REQUIRE(other);
  CHECK(X509_REQ_verify(req.get(), other->get()) != 1);

  // finalize payload wraps the DER in base64url.
  const std::string payload = finalize_payload(*der);
  CHECK(payload == R"({"csr":")" + base64url_encode(*der) + R"("})");
}

TEST_CASE("acme csr: a certificate key of another type (RSA) works too", "[acme][csr]") {
  Key rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
  REQUIRE(rsa);
  auto der = make_csr_der({"example.org"}, *rsa);
  REQUIRE(der);
  Req req = parse_der(*der);
  REQUIRE(req);
  CHECK(X509_REQ_verify(req.get(), rsa.get()) == 1);
  CHECK(X509_REQ_get_signature_nid(req.get()) == NID_sha256WithRSAEncryption);
}

TEST_CASE("acme csr: long first host gives an empty subject and a critical SAN", "[acme][csr]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  const std::string longhost = std::string(60, 'a') + ".example.org";
  auto der = make_csr_der({longhost, "example.org"}, **key);
  REQUIRE(der);
  Req req = parse_der(*der);
  REQUIRE(req);
  CHECK(X509_NAME_entry_count(X509_REQ_get_subject_name(req.get())) == 0);
  int critical = -1;
  CHECK(requested_sans(req.get(), &critical) == std::vector<std::string>{longhost, "example.org"});
  CHECK(critical == 1);
  CHECK(X509_REQ_verify(req.get(), key->get()) == 1);
}

TEST_CASE("acme csr: rejects empty, invalid and duplicate host lists", "[acme][csr]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  CHECK_FALSE(make_csr_der({}, **key));
  CHECK_FALSE(make_csr_der({"example.org", "bad host.example"}, **key));
  CHECK_FALSE(make_csr_der({"example.org", "example.org"}, **key));
  CHECK_FALSE(make_csr_der({"*.*.example.org"}, **key));
}
