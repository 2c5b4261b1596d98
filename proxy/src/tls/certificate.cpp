#include "tls/certificate.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "tls/openssl_error.h"

namespace ferry::proxy::tls {

namespace {

constexpr off_t kMaxFileSize = 1 << 20;  // a PEM bundle is a few KiB; refuse anything huge

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
    return "?";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string subject_of(const X509* x) { return name_text(X509_get_subject_name(x)); }

TimePoint to_time_point(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

void lower_in_place(std::string& s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
}

std::string asn1_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// subjectAltName DNS names; the subject CN only when there is none (RFC 6125 6.4.4).
std::vector<std::string> dns_names(X509* x) {
  std::vector<std::string> out;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
    if (g->type == GEN_DNS) out.push_back(asn1_text(g->d.dNSName));
  }
  GENERAL_NAMES_free(sans);
  if (out.empty()) {
    const X509_NAME* subj = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    if (idx >= 0) out.push_back(asn1_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx))));
  }
  for (auto& n : out) lower_in_place(n);
  return out;
}

struct PemItems {
  std::vector<X509Ptr> certs;  // in file order
  std::vector<PKeyPtr> keys;
};

bool is_key_block(std::string_view type) {
  return type == "PRIVATE KEY" || type == "RSA PRIVATE KEY" || type == "EC PRIVATE KEY";
}

// Decodes one PEM block into `items`; unrelated blocks (EC PARAMETERS, ...) are skipped.
void decode_block(std::string_view type, std::string_view header, const unsigned char* der,
                  long len, int block, const std::string& src, PemItems& items,
                  std::vector<std::string>& errors) {
  const unsigned char* p = der;
  const std::string where = src + ": PEM block " + std::to_string(block) + " (" + std::string(type) + ")";
  if (type == "CERTIFICATE" || type == "X509 CERTIFICATE") {
    if (X509* x = d2i_X509(nullptr, &p, len)) items.certs.emplace_back(x);
    else errors.push_back(where + " is not a valid certificate: " + drain_openssl_errors());
  } else if (type == "ENCRYPTED PRIVATE KEY" ||
             (is_key_block(type) && header.find("ENCRYPTED") != std::string_view::npos)) {
    errors.push_back(where + ": encrypted private keys are not supported");
  } else if (is_key_block(type)) {
    if (EVP_PKEY* k = d2i_AutoPrivateKey(nullptr, &p, len)) items.keys.emplace_back(k);
    else errors.push_back(where + " is not a valid private key: " + drain_openssl_errors());
  }
}

void read_pem(std::string_view pem, const std::string& src, PemItems& items,
              std::vector<std::string>& errors) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return errors.push_back(src + ": out of memory");
  for (int block = 1;; ++block) {
    char* type = nullptr;
    char* header = nullptr;
    unsigned char* der = nullptr;
    long len = 0;
    ERR_clear_error();
    if (PEM_read_bio(bio.get(), &type, &header, &der, &len) != 1) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
        errors.push_back(src + ": malformed PEM block " + std::to_string(block) + ": " + drain_openssl_errors());
      ERR_clear_error();
      return;
    }
    decode_block(type, header, der, len, block, src, items, errors);
    OPENSSL_free(type);
    OPENSSL_free(header);
    OPENSSL_free(der);
  }
}

void check_validity(const CertificateMaterial& m, TimePoint now, std::vector<std::string>& errors,
                    std::vector<std::string>& warnings) {
  if (now > m.not_after) {
    errors.push_back(m.source + ": certificate expired on " + format_utc(m.not_after));
  } else if (now < m.not_before) {
    errors.push_back(m.source + ": certificate is not yet valid: valid from " + format_utc(m.not_before));
  } else if (m.not_after - now < kExpiryWarning) {
    auto days = std::chrono::duration_cast<std::chrono::hours>(m.not_after - now).count() / 24;
    warnings.push_back(m.source + ": certificate expires on " + format_utc(m.not_after) + " (in " +
                       std::to_string(days) + " days)");
  }
}

// The leaf needs its chain unless self-signed; each certificate must be issued by the next.
void check_chain(const CertificateMaterial& m, std::vector<std::string>& errors) {
  X509* leaf = m.leaf.get();
  int n = sk_X509_num(m.chain.get());
  if (n == 0) {
    if (X509_self_signed(leaf, 1) != 1)
      errors.push_back(m.source + ": certificate chain missing: the certificate (subject " + subject_of(leaf) +
                       ") is issued by " + m.issuer +
                       " and is not self-signed, but no intermediate certificate follows it");
    ERR_clear_error();
    return;
  }
  X509* prev = leaf;
  for (int i = 0; i < n; ++i) {
    X509* next = sk_X509_value(m.chain.get(), i);
    if (X509_NAME_cmp(X509_get_issuer_name(prev), X509_get_subject_name(next)) != 0) {
      errors.push_back(m.source + ": certificate chain out of order: certificate " + std::to_string(i + 1) +
                       " (subject " + subject_of(prev) + ") is issued by " +
                       name_text(X509_get_issuer_name(prev)) + ", but certificate " + std::to_string(i + 2) +
                       " is " + subject_of(next));
      return;
    }
    prev = next;
  }
}

// Moves the parsed items into a material (leaf = first certificate) and fills its facts.
CertificateMaterial assemble(PemItems& items, const std::string& src) {
  CertificateMaterial m;
  m.source = src;
  m.leaf = std::move(items.certs.front());
  m.chain.reset(sk_X509_new_null());
  for (size_t i = 1; i < items.certs.size(); ++i)
    if (m.chain && sk_X509_push(m.chain.get(), items.certs[i].get()) > 0) items.certs[i].release();
  m.key = std::move(items.keys.front());
  m.names = dns_names(m.leaf.get());
  m.not_before = to_time_point(X509_get0_notBefore(m.leaf.get()));
  m.not_after = to_time_point(X509_get0_notAfter(m.leaf.get()));
  m.issuer = name_text(X509_get_issuer_name(m.leaf.get()));
  return m;
}

}  // namespace

std::string format_utc(TimePoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string(buf, n);
}

LoadResult load_certificate_pem(std::string_view pem, std::string_view source_name, TimePoint now) {
  LoadResult r;
  const std::string src(source_name);
  PemItems items;
  read_pem(pem, src, items, r.errors);
  if (items.certs.empty()) r.errors.push_back(src + ": no certificate found");
  if (items.keys.empty()) r.errors.push_back(src + ": no private key found");
  if (items.keys.size() > 1) r.errors.push_back(src + ": more than one private key found");
  if (items.certs.empty() || items.keys.empty()) return r;
  CertificateMaterial m = assemble(items, src);
  if (!m.chain) {
    r.errors.push_back(src + ": out of memory");
    return r;
  }
  if (X509_check_private_key(m.leaf.get(), m.key.get()) != 1)
    r.errors.push_back(src + ": private key does not match the certificate (subject " +
                       subject_of(m.leaf.get()) + ")");
  ERR_clear_error();
  check_validity(m, now, r.errors, r.warnings);
  check_chain(m, r.errors);
  if (r.errors.empty()) r.material = std::move(m);
  return r;
}

LoadResult load_certificate_file(const std::string& path, TimePoint now) {
  LoadResult r;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.errors.push_back(path + ": cannot open: " + std::strerror(errno));
    return r;
  }
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) != 0) {
    r.errors.push_back(path + ": cannot stat: " + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    r.errors.push_back(path + ": not a regular file");
  } else if (st.st_size > kMaxFileSize) {
    r.errors.push_back(path + ": file too large for a certificate (" + std::to_string(st.st_size) + " bytes)");
  } else {
    text.resize(static_cast<size_t>(st.st_size));
    ssize_t got = 0;
    size_t done = 0;
    while (done < text.size()) {
      got = ::read(fd, text.data() + done, text.size() - done);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      done += static_cast<size_t>(got);
    }
    if (got < 0) r.errors.push_back(path + ": cannot read: " + std::strerror(errno));
    text.resize(done);
  }
  ::close(fd);
  if (!r.errors.empty()) return r;
  return load_certificate_pem(text, path, now);
}

}  // namespace ferry::proxy::tls
