#include <catch2/catch.hpp>

#include <ctime>
#include <memory>
#include <string>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/challenge.h"
#include "acme/keys.h"

using namespace ferry::acme;

namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Cert = std::unique_ptr<X509, X509Free>;

Cert parse_pem_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  Cert cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

std::vector<std::string> san_dns_names(X509* cert, int* critical) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, critical, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS)
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                       size_t(ASN1_STRING_length(gn->d.dNSName)));
    else
      out.push_back("<non-dns>");
  }
  GENERAL_NAMES_free(names);
  return out;
}

// Seconds from `now` to `t` (negative: in the past).
long seconds_from_now(const ASN1_TIME* t) {
  int days = 0, secs = 0;
  REQUIRE(ASN1_TIME_diff(&days, &secs, nullptr, t) == 1);
  return long(days) * 86400 + secs;
}

std::string subject_cn(X509* cert) {
  char buf[256] = {};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, size_t(n));
}

}  // namespace

TEST_CASE("acme challenge: key authorization is token.thumbprint", "[acme][challenge]") {
  CHECK(key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                          "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ") ==
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ");
  auto key = generate_p256_key();
  REQUIRE(key);
  auto ka = key_authorization("tok", **key);
  REQUIRE(ka);
  CHECK(*ka == "tok." + *jwk_thumbprint(**key));
}

TEST_CASE("acme challenge: TLS-ALPN-01 certificate has the critical acmeIdentifier, SAN and validity",
          "[acme][challenge]") {
  const std::string keyauth = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ";
  auto made = make_tls_alpn01_certificate("www.example.org", keyauth);
  REQUIRE(made);
  CHECK(made->cert_pem.rfind("-----BEGIN CERTIFICATE-----\n", 0) == 0);
  CHECK(made->key_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);
  Cert cert = parse_pem_cert(made->cert_pem);
  REQUIRE(cert);

  // acmeIdentifier: critical; extnValue is DER OCTET STRING (0x04 0x20) around SHA-256(keyauth).
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  REQUIRE(oid);
  const int idx = X509_get_ext_by_OBJ(cert.get(), oid, -1);
  ASN1_OBJECT_free(oid);
  REQUIRE(idx >= 0);
  X509_EXTENSION* ext = X509_get_ext(cert.get(), idx);
  CHECK(X509_EXTENSION_get_critical(ext) == 1);
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  const std::string der(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)), size_t(ASN1_STRING_length(data)));
  REQUIRE(der.size() == 34);
  CHECK(uint8_t(der[0]) == 0x04);
  CHECK(uint8_t(der[1]) == 0x20);
  unsigned char md[32];
  unsigned int md_len = 0;
  REQUIRE(EVP_Digest(keyauth.data(), keyauth.size(), md, &md_len, EVP_sha256(), nullptr) == 1);
  CHECK(der.substr(2) == std::string(reinterpret_cast<const char*>(md), 32));

  int san_critical = -1;
  CHECK(san_dns_names(cert.get(), &san_critical) == std::vector<std::string>{"www.example.org"});
  CHECK(subject_cn(cert.get()) == "www.example.org");

  // Validity now-1h .. now+7d (a minute of slack for slow test machines).
  const long nb = seconds_from_now(X509_get0_notBefore(cert.get()));
  const long na = seconds_from_now(X509_get0_notAfter(cert.get()));
  CHECK(nb <= -3600 + 60);
  CHECK(nb >= -3600 - 60);
  CHECK(na <= 7 * 86400 + 60);
  CHECK(na >= 7 * 86400 - 60);
  CHECK(X509_get_version(cert.get()) == X509_VERSION_3);

  // Self-signed by the returned key, with ecdsa-with-SHA256.
  BIO* kb = BIO_new_mem_buf(made->key_pem.data(), int(made->key_pem.size()));
  Key key(PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr));
  BIO_free(kb);
  REQUIRE(key);
  CHECK(is_p256(*key));
  CHECK(X509_check_private_key(cert.get(), key.get()) == 1);
  CHECK(X509_verify(cert.get(), key.get()) == 1);
  CHECK(X509_get_signature_nid(cert.get()) == NID_ecdsa_with_SHA256);
  CHECK(X509_check_issued(cert.get(), cert.get()) == X509_V_OK);
}

TEST_CASE("acme challenge: TLS-ALPN-01 certificate with a given key; fresh keys differ", "[acme][challenge]") {
  auto key = generate_p256_key();
  REQUIRE(key);
  auto made = make_tls_alpn01_certificate("example.org", "t.k", key->get());
  REQUIRE(made);
  Cert cert = parse_pem_cert(made->cert_pem);
  REQUIRE(cert);
  CHECK(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key->get()) == 1);
  CHECK(made->key_pem == *private_key_to_pem(**key));

  auto a = make_tls_alpn01_certificate("example.org", "t.k");
  auto b = make_tls_alpn01_certificate("example.org", "t.k");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->key_pem != b->key_pem);
}

TEST_CASE("acme challenge: long identifier gets an empty subject and a critical SAN", "[acme][challenge]") {
  const std::string host = std::string(63, 'a') + "." + std::string(20, 'b') + ".example";
  auto made = make_tls_alpn01_certificate(host, "t.k");
  REQUIRE(made);
  Cert cert = parse_pem_cert(made->cert_pem);
  REQUIRE(cert);
  int critical = -1;
  CHECK(san_dns_names(cert.get(), &critical) == std::vector<std::string>{host});
  CHECK(critical == 1);
  CHECK(X509_NAME_entry_count(X509_get_subject_name(cert.get())) == 0);
}

TEST_CASE("acme challenge: TLS-ALPN-01 rejects invalid identifiers", "[acme][challenge]") {
  for (const char* bad : {"", "*.example.org", "Example.org", "localhost", "a..b", "-a.example", "a_b.example",
                          "example.org.", "1.2.3.4 "}) {
    INFO(bad);
    CHECK_FALSE(make_tls_alpn01_certificate(bad, "t.k"));
  }
}
