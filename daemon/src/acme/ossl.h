// Private to acme/: RAII owners for the OpenSSL objects the ACME pieces create, and the error
// text helper. Not part of the module's interface. Any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace ferry::acme::ossl {

template <auto Fn>
struct Free {
  template <class T>
  void operator()(T* p) const { Fn(p); }
};

using Bio = std::unique_ptr<BIO, Free<BIO_free_all>>;
using Bignum = std::unique_ptr<BIGNUM, Free<BN_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using X509Req = std::unique_ptr<X509_REQ, Free<X509_REQ_free>>;
using X509Ext = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
using Asn1Object = std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT_free>>;
using Asn1OctetString = std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING_free>>;
using GeneralNames = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;
using X509Name = std::unique_ptr<X509_NAME, Free<X509_NAME_free>>;

// "<what>: <first OpenSSL error on this thread's queue>", clearing the queue.
inline std::string error(std::string_view what) {
  std::string out(what);
  const unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

// The bytes written to a memory BIO.
inline std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, size_t(n)) : std::string();
}

// A SAN extension value holding one dNSName per host; nullptr on allocation failure.
GeneralNames dns_general_names(const std::string* hosts, size_t count);

}  // namespace ferry::acme::ossl
