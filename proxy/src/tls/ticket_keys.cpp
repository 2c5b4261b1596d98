#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace ferry::proxy::tls {

namespace {

bool fresh_key(TicketKey& k) {
  return RAND_bytes(k.name.data(), k.name.size()) == 1 && RAND_bytes(k.aes_key.data(), k.aes_key.size()) == 1 &&
         RAND_bytes(k.hmac_key.data(), k.hmac_key.size()) == 1;
}

// The context's ex_data holds a heap copy of the shared_ptr, released when the context is freed.
void free_ring(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::shared_ptr<TicketKeyRing>*>(ptr);
}

int ring_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_ring);
  return idx;
}

TicketKeyRing* ring_of(SSL* s) {
  auto* p = static_cast<std::shared_ptr<TicketKeyRing>*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ring_index()));
  return p ? p->get() : nullptr;
}

bool init_mac(EVP_MAC_CTX* hctx, const TicketKey& k) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  return EVP_MAC_init(hctx, k.hmac_key.data(), k.hmac_key.size(), params) == 1;
}

// OpenSSL's ticket callback. enc=1: encrypt a new ticket with the current key (1 = done,
// 0 = issue no ticket, -1 = fatal error). enc=0: find the key named in the ticket; 0 = unknown
// key (full handshake), 1 = current key, 2 = accepted and a fresh ticket is issued (an older
// key, or any TLS 1.3 resumption). Runs on the worker thread of the handshake; takes no lock.
int ticket_cb(SSL* s, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
              EVP_MAC_CTX* hctx, int enc) {
  TicketKeyRing* ring = ring_of(s);
  if (!ring) return 0;  // a context switched to by SNI without the ring: no ticket, no resumption
  auto set = ring->snapshot();
  const int iv_len = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());
  if (enc) {
    const TicketKey& k = set->keys.front();
    std::memcpy(key_name, k.name.data(), k.name.size());
    if (RAND_bytes(iv, iv_len) != 1) return -1;
    if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, k.aes_key.data(), iv) != 1) return -1;
    return init_mac(hctx, k) ? 1 : -1;
  }
  auto it = std::find_if(set->keys.begin(), set->keys.end(),
                         [&](const TicketKey& k) { return std::memcmp(k.name.data(), key_name, 16) == 0; });
  if (it == set->keys.end()) return 0;
  if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, it->aes_key.data(), iv) != 1 || !init_mac(hctx, *it))
    return -1;
  // TLS 1.3 always gets a fresh ticket on resumption: OpenSSL sends none otherwise, and a
  // client that keeps the session of its resumed connection (wrk, many HTTP clients) would then
  // fall back to a full handshake every other connection.
  return it == set->keys.begin() && SSL_version(s) != TLS1_3_VERSION ? 1 : 2;
}

}  // namespace

TicketKeySet::~TicketKeySet() {
  if (!keys.empty()) OPENSSL_cleanse(keys.data(), keys.size() * sizeof(TicketKey));
}

std::shared_ptr<TicketKeyRing> TicketKeyRing::create(size_t keep_previous) {
  auto ring = std::make_shared<TicketKeyRing>(keep_previous);
  auto set = std::make_shared<TicketKeySet>();
  set->keys.resize(1);
  if (!fresh_key(set->keys.front())) return nullptr;
  ring->keys_.store(std::move(set), std::memory_order_release);
  return ring;
}

bool TicketKeyRing::rotate() {
  std::lock_guard lock(rotate_mu_);
  auto next = std::make_shared<TicketKeySet>();
  next->keys.resize(1);
  if (!fresh_key(next->keys.front())) return false;
  auto old = keys_.load(std::memory_order_acquire);
  size_t keep = std::min(old->keys.size(), keep_previous_);
  next->keys.insert(next->keys.end(), old->keys.begin(), old->keys.begin() + static_cast<ptrdiff_t>(keep));
  keys_.store(std::move(next), std::memory_order_release);
  return true;
}

bool install(SSL_CTX* ctx, std::shared_ptr<TicketKeyRing> ring) {
  if (!ctx || !ring || ring_index() < 0) return false;
  auto* holder = new std::shared_ptr<TicketKeyRing>(std::move(ring));
  auto* previous = static_cast<std::shared_ptr<TicketKeyRing>*>(SSL_CTX_get_ex_data(ctx, ring_index()));
  if (SSL_CTX_set_ex_data(ctx, ring_index(), holder) != 1) {
    delete holder;
    return false;
  }
  delete previous;  // installing twice replaces the ring
  return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) == 1;
}

}  // namespace ferry::proxy::tls
