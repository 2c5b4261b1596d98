#include "acme/csr.h"

#include <set>

#include "acme/dns_name.h"
#include "acme/ossl.h"

namespace ferry::acme {
namespace {
constexpr size_t kMaxCnLength = 64;  // RFC 5280 ub-common-name
void free_ext_stack(STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
using ExtStack = std::unique_ptr<STACK_OF(X509_EXTENSION), ossl::Free<free_ext_stack>>;
}  // namespace

Result<std::string> make_csr_der(const std::vector<std::string>& hosts, const EVP_PKEY& key) {
  using R = Result<std::string>;
  if (hosts.empty()) return R::fail("CSR: no host names");
  std::set<std::string_view> seen;
  for (const auto& h : hosts) {
    if (!is_valid_dns_identifier(h, /*allow_wildcard=*/true)) return R::fail("CSR: invalid host name '" + h + "'");
    if (!seen.insert(h).second) return R::fail("CSR: duplicate host name '" + h + "'");
  }
  auto* pkey = const_cast<EVP_PKEY*>(&key);  // X509_REQ APIs take non-const keys; they only read or up-ref them

  ossl::X509Req req(X509_REQ_new());
  if (!req || !X509_REQ_set_version(req.get(), X509_REQ_VERSION_1)) return R::fail(ossl::error("CSR: setup failed"));
  const std::string& first = hosts.front();
  if (first.size() <= kMaxCnLength &&
      !X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName, MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(first.data()), int(first.size()), -1, 0))
    return R::fail(ossl::error("CSR: cannot set subject"));
  if (!X509_REQ_set_pubkey(req.get(), pkey)) return R::fail(ossl::error("CSR: cannot set public key"));

  ossl::GeneralNames san = ossl::dns_general_names(hosts.data(), hosts.size());
  ExtStack exts(sk_X509_EXTENSION_new_null());
  if (!san || !exts) return R::fail(ossl::error("CSR: allocation failed"));
  // Critical when the subject is empty (RFC 5280 §4.2.1.6).
  X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, first.size() <= kMaxCnLength ? 0 : 1, san.get());
  if (!ext || !sk_X509_EXTENSION_push(exts.get(), ext)) {
    X509_EXTENSION_free(ext);
    return R::fail(ossl::error("CSR: cannot encode subjectAltName"));
  }
  if (!X509_REQ_add_extensions(req.get(), exts.get())) return R::fail(ossl::error("CSR: cannot add extensions"));
  if (X509_REQ_sign(req.get(), pkey, EVP_sha256()) <= 0) return R::fail(ossl::error("CSR: signing failed"));

  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req.get(), &der);
  if (len <= 0) return R::fail(ossl::error("CSR: DER encoding failed"));
  std::string out(reinterpret_cast<const char*>(der), size_t(len));
  OPENSSL_free(der);
  return R::ok(std::move(out));
}

}  // namespace ferry::acme
