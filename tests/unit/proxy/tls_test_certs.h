// Test-only helpers: EC P-256 keys and X.509 certificates made with the OpenSSL API (a CA, a
// leaf signed by it, a self-signed leaf), their PEM text, and temporary files.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "tls/certificate.h"

namespace tls_test {

using ferry::proxy::tls::PKeyPtr;
using ferry::proxy::tls::X509Ptr;
using namespace std::chrono_literals;

struct CertSpec {
  std::string cn = "leaf.example.com";
  std::vector<std::string> sans;                          // DNS names
  std::chrono::seconds not_before = -std::chrono::hours(1);  // relative to now
  std::chrono::seconds not_after = std::chrono::hours(24 * 90);
  bool ca = false;
};

struct Issued {
  X509Ptr cert;
  PKeyPtr key;
};

inline PKeyPtr make_key() { return PKeyPtr(EVP_EC_gen("P-256")); }

inline void add_ext(X509* x, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}

// `issuer` null: self-signed with `key`.
inline X509Ptr make_cert(const CertSpec& spec, EVP_PKEY* key, const Issued* issuer) {
  static long serial = 1;
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before.count());
  X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after.count());
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : x.get();
  X509_set_issuer_name(x.get(), X509_get_subject_name(issuer_cert));
  add_ext(x.get(), issuer_cert, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
  add_ext(x.get(), issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(x.get(), issuer_cert, NID_authority_key_identifier, "keyid:always");
  if (!spec.sans.empty()) {
    std::string v;
    for (const auto& s : spec.sans) v += (v.empty() ? "DNS:" : ",DNS:") + s;
    add_ext(x.get(), issuer_cert, NID_subject_alt_name, v);
  }
  X509_sign(x.get(), issuer ? issuer->key.get() : key, EVP_sha256());
  return x;
}

inline Issued make_ca(const std::string& cn, const Issued* parent = nullptr) {
  Issued ca{nullptr, make_key()};
  CertSpec spec;
  spec.cn = cn;
  spec.ca = true;
  ca.cert = make_cert(spec, ca.key.get(), parent);
  return ca;
}

// `ca` null: self-signed.
inline Issued make_leaf(const CertSpec& spec, const Issued* ca) {
  Issued leaf{nullptr, make_key()};
  leaf.cert = make_cert(spec, leaf.key.get(), ca);
  return leaf;
}

inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<size_t>(n));
  BIO_free(bio);
  return s;
}

inline std::string pem(X509* x) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  return bio_text(bio);
}

inline std::string pem(EVP_PKEY* k) {  // PKCS#8 "PRIVATE KEY"
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio);
}

inline std::chrono::system_clock::time_point not_after_of(X509* x) {
  std::tm tm{};
  ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// A file holding `content`, removed when this goes out of scope.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/ferry_tls_test_XXXXXX";
    int fd = mkstemp(tmpl);
    path = tmpl;
    if (fd >= 0) {
      ssize_t n = write(fd, content.data(), content.size());
      (void)n;
      close(fd);
    }
  }
  ~TempFile() { unlink(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

}  // namespace tls_test
