#include "acme/cert_info.h"

#include <openssl/pem.h>

#include <ctime>

#include "acme/ossl.h"

namespace ferry::acme {

namespace {

bool to_unix(const ASN1_TIME* t, int64_t& out) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  out = static_cast<int64_t>(timegm(&tm));
  return true;
}

}  // namespace

Result<CertInfo> inspect_leaf(std::string_view chain_pem) {
  using R = Result<CertInfo>;
  ossl::Bio bio(BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())));
  if (!bio) return R::fail(ossl::error("BIO_new_mem_buf"));
  ossl::X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) return R::fail(ossl::error("no certificate in the chain"));
  CertInfo info;
  if (!to_unix(X509_get0_notBefore(leaf.get()), info.not_before) ||
      !to_unix(X509_get0_notAfter(leaf.get()), info.not_after))
    return R::fail(ossl::error("unreadable validity dates"));
  ossl::Bio out(BIO_new(BIO_s_mem()));
  if (out && X509_NAME_print_ex(out.get(), X509_get_issuer_name(leaf.get()), 0, XN_FLAG_RFC2253) >= 0)
    info.issuer = ossl::bio_contents(out.get());
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = n->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<size_t>(ASN1_STRING_length(s)));
    }
    GENERAL_NAMES_free(names);
  }
  ERR_clear_error();
  return R::ok(std::move(info));
}

}  // namespace ferry::acme
