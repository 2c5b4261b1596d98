#include "acme/ossl.h"

namespace ferry::acme::ossl {

GeneralNames dns_general_names(const std::string* hosts, size_t count) {
  GeneralNames names(sk_GENERAL_NAME_new_null());
  if (!names) return nullptr;
  for (size_t i = 0; i < count; ++i) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (!gn || !ia5 || !ASN1_STRING_set(ia5, hosts[i].data(), int(hosts[i].size()))) {
      GENERAL_NAME_free(gn);
      ASN1_IA5STRING_free(ia5);
      return nullptr;
    }
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);  // gn owns ia5 now
    if (!sk_GENERAL_NAME_push(names.get(), gn)) {
      GENERAL_NAME_free(gn);
      return nullptr;
    }
  }
  return names;
}

}  // namespace ferry::acme::ossl
