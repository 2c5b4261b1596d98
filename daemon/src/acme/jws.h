// JWS for ACME requests (RFC 8555 §6.2): RFC 7515 flattened JSON serialization, ES256 only.
//
//   {"protected":B64(header),"payload":B64(payload),"signature":B64(R||S)}
//   header = {"alg":"ES256","jwk":<public_jwk_json>,"nonce":"...","url":"..."}   (no kid)
//         or {"alg":"ES256","kid":"<account URL>","nonce":"...","url":"..."}
//
// All JSON is written by util::JsonWriter in a fixed member order, so the signed bytes are
// exactly the bytes sent. Pure functions; any thread; no references kept to arguments.
#pragma once

#include <string>
#include <string_view>

#include <openssl/types.h>

#include "acme/result.h"

namespace ferry::acme {

struct JwsRequest {
  std::string url;    // the exact request URL ("url" header, RFC 8555 §6.4)
  std::string nonce;  // a fresh Replay-Nonce from the server (§6.5)
  std::string kid;    // account URL; empty = embed the public "jwk" (newAccount, revokeCert by cert key)
  std::string payload;  // JSON text of the payload; empty = POST-as-GET (payload "", §6.3)
};

// Signs `req` with `key` (ES256, P-256). Returns the flattened JWS JSON text to POST with
// Content-Type application/jose+json. Fails if the key is not P-256, if url or nonce is empty,
// or if OpenSSL fails.
Result<std::string> sign_jws(const EVP_PKEY& key, const JwsRequest& req);

// Raw ES256 (RFC 7518 §3.4): SHA-256 + ECDSA P-256, signature as 64 bytes R||S (each left-padded
// to 32), converted from/to the DER ECDSA-Sig-Value OpenSSL produces/consumes.
Result<std::string> es256_sign(const EVP_PKEY& key, std::string_view signing_input);
bool es256_verify(const EVP_PKEY& key, std::string_view signing_input, std::string_view raw_signature);

// What verify_es256 found in a JWS whose signature checked out.
struct VerifiedJws {
  std::string protected_json;  // decoded protected header
  std::string payload;         // decoded payload bytes (empty for POST-as-GET)
};

// Parses a flattened JWS (as produced by sign_jws), checks "alg" is ES256 and verifies the
// signature with the public part of `key`. Fails on malformed JSON/base64url, another alg, a
// signature that is not 64 bytes, or a bad signature. Used by tests (and by nothing on the
// request path).
Result<VerifiedJws> verify_es256(std::string_view jws_json, const EVP_PKEY& key);

}  // namespace ferry::acme
