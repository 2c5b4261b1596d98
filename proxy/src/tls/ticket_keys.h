// Session ticket keys shared by every worker and every server context, so a client resumes
// on whichever worker (and certificate context) its next connection lands on.
//
// The current key encrypts new tickets; the previous ones still decrypt (a ticket decrypted
// with an old key is renewed). Keys live in memory only: a restart invalidates all tickets.
//
// Threads: rotate() is called by the control plane (serialised by a mutex). Workers read a
// snapshot of the key set through an atomic shared_ptr, without taking the mutex; a snapshot
// is immutable, so a handshake that loaded it is unaffected by a concurrent rotation.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace ferry::proxy::tls {

struct TicketKey {
  std::array<unsigned char, 16> name;      // sent in the clear in the ticket, selects the key
  std::array<unsigned char, 32> aes_key;   // AES-256-CBC
  std::array<unsigned char, 32> hmac_key;  // HMAC-SHA256
};

struct TicketKeySet {
  std::vector<TicketKey> keys;  // keys[0] is current; then previous ones, newest first
  ~TicketKeySet();              // wipes the key bytes
};

class TicketKeyRing {
 public:
  // A ring with one fresh current key, keeping `keep_previous` older keys for decryption.
  // nullptr when the random generator fails.
  static std::shared_ptr<TicketKeyRing> create(size_t keep_previous = 2);

  // Adds a fresh current key and drops the oldest beyond `keep_previous`. Returns false (the
  // ring unchanged) when the random generator fails. Control plane; any thread.
  bool rotate();
  // The current key set; never null. Any thread, no lock.
  std::shared_ptr<const TicketKeySet> snapshot() const { return keys_.load(std::memory_order_acquire); }

  explicit TicketKeyRing(size_t keep_previous) : keep_previous_(keep_previous) {}  // use create()

 private:
  const size_t keep_previous_;
  std::mutex rotate_mu_;  // serialises rotate(); readers never take it
  std::atomic<std::shared_ptr<const TicketKeySet>> keys_;
};

// Makes `ctx` encrypt and decrypt session tickets with `ring` (a reference is stored in the
// context's ex_data and released with the context). Control thread, before the context is
// used. Returns false if OpenSSL refuses (out of memory).
//
// All contexts a connection may switch between by SNI must share the same ring: OpenSSL calls
// the callback of the context the connection started on, which reads the ring of the context
// the connection is on now (SNI may have switched it); a context without a ring issues and
// accepts no tickets.
bool install(SSL_CTX* ctx, std::shared_ptr<TicketKeyRing> ring);

}  // namespace ferry::proxy::tls
