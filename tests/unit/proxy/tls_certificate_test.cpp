// Loading certificate files: names, validity, chain order, and the exact error for each
// broken file.
#include <catch2/catch.hpp>

#include <string>

#include "tls/certificate.h"
#include "tls_test_certs.h"

using namespace ferry::proxy::tls;
using namespace tls_test;

namespace {

bool any_contains(const std::vector<std::string>& v, const std::string& a, const std::string& b = "") {
  for (const auto& s : v)
    if (s.find(a) != std::string::npos && s.find(b) != std::string::npos) return true;
  return false;
}

CertSpec spec_for(std::vector<std::string> sans) {
  CertSpec s;
  s.sans = std::move(sans);
  return s;
}

}  // namespace

TEST_CASE("a leaf with its chain and key loads, names come from subjectAltName", "[tls]") {
  Issued ca = make_ca("Test CA");
  Issued leaf = make_leaf(spec_for({"a.example.com", "*.Example.COM"}), &ca);
  // The key may come first; certificates keep their order.
  TempFile f(pem(leaf.key.get()) + pem(leaf.cert.get()) + pem(ca.cert.get()));
  LoadResult r = load_certificate_file(f.path);
  INFO((r.errors.empty() ? "" : r.errors.front()));
  REQUIRE(r.ok());
  const CertificateMaterial& m = *r.material;
  CHECK(m.names == std::vector<std::string>{"a.example.com", "*.example.com"});  // CN ignored
  CHECK(sk_X509_num(m.chain.get()) == 1);
  CHECK(m.issuer == "CN=Test CA");
  CHECK(m.source == f.path);
  CHECK(m.not_after == not_after_of(leaf.cert.get()));
  CHECK(m.not_before < std::chrono::system_clock::now());
  CHECK(r.warnings.empty());
}

TEST_CASE("the CN is the name only when there is no subjectAltName", "[tls]") {
  CertSpec s;
  s.cn = "Solo.Example.com";
  Issued self = make_leaf(s, nullptr);
  LoadResult r = load_certificate_pem(pem(self.cert.get()) + pem(self.key.get()), "solo.pem");
  REQUIRE(r.ok());  // self-signed: no chain needed
  CHECK(r.material->names == std::vector<std::string>{"solo.example.com"});
  CHECK(sk_X509_num(r.material->chain.get()) == 0);
}

TEST_CASE("traditional EC key blocks are accepted", "[tls]") {
  Issued self = make_leaf(spec_for({"x.example.com"}), nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey_traditional(bio, self.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::string key = bio_text(bio);
  REQUIRE(key.find("BEGIN EC PRIVATE KEY") != std::string::npos);
  CHECK(load_certificate_pem(pem(self.cert.get()) + key, "x.pem").ok());
}

TEST_CASE("an unreadable file is reported with the path and strerror", "[tls]") {
  LoadResult r = load_certificate_file("/nonexistent/ferry/cert.pem");
  CHECK_FALSE(r.ok());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "/nonexistent/ferry/cert.pem: cannot open: No such file or directory");
  LoadResult dir = load_certificate_file("/tmp");
  CHECK(any_contains(dir.errors, "/tmp: not a regular file"));
}

TEST_CASE("a file without a certificate or without a key", "[tls]") {
  Issued self = make_leaf(spec_for({"a.example.com"}), nullptr);
  TempFile key_only(pem(self.key.get()));
  LoadResult r = load_certificate_file(key_only.path);
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, key_only.path + ": no certificate found"));

  TempFile cert_only(pem(self.cert.get()));
  r = load_certificate_file(cert_only.path);
  CHECK_FALSE(r.ok());
  CHECK(r.errors == std::vector<std::string>{cert_only.path + ": no private key found"});

  TempFile garbage("hello, not a PEM file\n");
  r = load_certificate_file(garbage.path);
  CHECK(any_contains(r.errors, garbage.path + ": no certificate found"));
  CHECK(any_contains(r.errors, garbage.path + ": no private key found"));
}

TEST_CASE("a corrupt PEM block names the block", "[tls]") {
  Issued self = make_leaf(spec_for({"a.example.com"}), nullptr);
  std::string cert = pem(self.cert.get());
  cert[40] = cert[40] == 'A' ? 'B' : 'A';  // corrupt the DER inside valid base64
  LoadResult r = load_certificate_pem(cert + pem(self.key.get()), "bad.pem");
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, "bad.pem: PEM block 1 (CERTIFICATE)"));
}

TEST_CASE("a key that does not belong to the certificate", "[tls]") {
  Issued self = make_leaf(spec_for({"a.example.com"}), nullptr);
  PKeyPtr other = make_key();
  TempFile f(pem(self.cert.get()) + pem(other.get()));
  LoadResult r = load_certificate_file(f.path);
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, f.path + ": private key does not match the certificate"));
}

TEST_CASE("expired and not yet valid certificates", "[tls]") {
  CertSpec old = spec_for({"a.example.com"});
  old.not_before = -std::chrono::hours(24 * 30);
  old.not_after = -std::chrono::hours(24);
  Issued expired = make_leaf(old, nullptr);
  TempFile f(pem(expired.cert.get()) + pem(expired.key.get()));
  LoadResult r = load_certificate_file(f.path);
  CHECK_FALSE(r.ok());
  CHECK(r.errors == std::vector<std::string>{f.path + ": certificate expired on " +
                                             format_utc(not_after_of(expired.cert.get()))});

  CertSpec future = spec_for({"a.example.com"});
  future.not_before = std::chrono::hours(48);
  Issued early = make_leaf(future, nullptr);
  TempFile g(pem(early.cert.get()) + pem(early.key.get()));
  r = load_certificate_file(g.path);
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, g.path + ": certificate is not yet valid: valid from "));
}

TEST_CASE("a certificate expiring within 14 days loads with a warning", "[tls]") {
  CertSpec soon = spec_for({"a.example.com"});
  soon.not_after = std::chrono::hours(24 * 5 + 1);
  Issued leaf = make_leaf(soon, nullptr);
  TempFile f(pem(leaf.cert.get()) + pem(leaf.key.get()));
  LoadResult r = load_certificate_file(f.path);
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0] == f.path + ": certificate expires on " + format_utc(not_after_of(leaf.cert.get())) +
                             " (in 5 days)");
  // The same file, seen from 20 days later, is expired.
  auto later = std::chrono::system_clock::now() + std::chrono::hours(24 * 20);
  CHECK(any_contains(load_certificate_file(f.path, later).errors, "certificate expired on"));
}

TEST_CASE("a CA-signed leaf without its intermediate", "[tls]") {
  Issued ca = make_ca("Test CA");
  Issued leaf = make_leaf(spec_for({"a.example.com"}), &ca);
  TempFile f(pem(leaf.cert.get()) + pem(leaf.key.get()));
  LoadResult r = load_certificate_file(f.path);
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, f.path + ": certificate chain missing", "issued by CN=Test CA"));
}

TEST_CASE("the chain must follow issuer order", "[tls]") {
  Issued root = make_ca("Test Root");
  Issued inter = make_ca("Test Intermediate", &root);
  Issued leaf = make_leaf(spec_for({"a.example.com"}), &inter);
  std::string key = pem(leaf.key.get());
  // leaf, intermediate, root: fine (the root is allowed, just useless on the wire).
  CHECK(load_certificate_pem(pem(leaf.cert.get()) + pem(inter.cert.get()) + key, "ok.pem").ok());
  CHECK(load_certificate_pem(pem(leaf.cert.get()) + pem(inter.cert.get()) + pem(root.cert.get()) + key, "ok.pem")
            .ok());
  // leaf, root, intermediate: out of order.
  TempFile f(pem(leaf.cert.get()) + pem(root.cert.get()) + pem(inter.cert.get()) + key);
  LoadResult r = load_certificate_file(f.path);
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, f.path + ": certificate chain out of order: certificate 1 (subject CN=leaf.example.com)",
                     "issued by CN=Test Intermediate, but certificate 2 is CN=Test Root"));
}

TEST_CASE("encrypted private keys are refused with a reason", "[tls]") {
  Issued self = make_leaf(spec_for({"a.example.com"}), nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  char pass[] = "secret";
  PEM_write_bio_PKCS8PrivateKey(bio, self.key.get(), EVP_aes_256_cbc(), pass, 6, nullptr, nullptr);
  LoadResult r = load_certificate_pem(pem(self.cert.get()) + bio_text(bio), "enc.pem");
  CHECK_FALSE(r.ok());
  CHECK(any_contains(r.errors, "enc.pem: PEM block 2 (ENCRYPTED PRIVATE KEY): encrypted private keys are not supported"));
}
