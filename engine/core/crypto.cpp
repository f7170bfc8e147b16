#include "engine/core/crypto.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "engine/core/keccak.h"

namespace opt {

const char* to_string(SigError e) {
  switch (e) {
    case SigError::kBadLength: return "signature must be 65 bytes (r || s || v)";
    case SigError::kBadV: return "signature v must be 27, 28, 0 or 1";
    case SigError::kHighS: return "signature s is in the upper half of the curve order (malleable)";
    case SigError::kBadRS: return "signature r or s is zero or out of range";
    case SigError::kRecoverFailed: return "no public key recovers from this signature";
    case SigError::kBadKey: return "private key is zero or out of range";
  }
  return "unknown signature error";
}

namespace {

const secp256k1_context* ctx() {
  // Created once; libsecp256k1 contexts are safe to share between threads for signing and recovery.
  static secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
  return c;
}

// n/2 for secp256k1, big-endian: signatures with s above it are refused (EIP-2 malleability rule).
constexpr uint8_t kHalfOrder[32] = {0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4,
                                    0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0};

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

Address address_from_pubkey(const secp256k1_pubkey& pk) {
  uint8_t ser[65];
  size_t len = sizeof ser;
  secp256k1_ec_pubkey_serialize(ctx(), ser, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  Hash32 h = keccak256(ByteView(ser + 1, 64));
  return Address::from(ByteView(h.data() + 12, 20));
}

}  // namespace

Result<Signature, SigError> parse_signature(ByteView raw) {
  if (raw.size() != 65) return err(SigError::kBadLength);
  Signature s = Signature::from(raw);
  uint8_t v = s[64];
  if (v == 0 || v == 1) v = static_cast<uint8_t>(v + 27);
  if (v != 27 && v != 28) return err(SigError::kBadV);
  s[64] = v;
  if (all_zero(s.data(), 32) || all_zero(s.data() + 32, 32)) return err(SigError::kBadRS);
  if (std::memcmp(s.data() + 32, kHalfOrder, 32) > 0) return err(SigError::kHighS);
  return s;
}

Result<Address, SigError> recover(const Hash32& digest, const Signature& sig_in) {
  auto parsed = parse_signature(sig_in.view());
  if (!parsed) return err(parsed.error());
  const Signature& sig = *parsed;
  secp256k1_ecdsa_recoverable_signature rsig;
  int recid = sig[64] - 27;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx(), &rsig, sig.data(), recid))
    return err(SigError::kBadRS);  // r or s not below the group order
  secp256k1_pubkey pk;
  if (!secp256k1_ecdsa_recover(ctx(), &pk, &rsig, digest.data())) return err(SigError::kRecoverFailed);
  return address_from_pubkey(pk);
}

bool is_valid_private_key(const PrivateKey& key) {
  return secp256k1_ec_seckey_verify(ctx(), key.data()) == 1;
}

Result<Signature, SigError> sign(const Hash32& digest, const PrivateKey& key) {
  if (!is_valid_private_key(key)) return err(SigError::kBadKey);
  secp256k1_ecdsa_recoverable_signature rsig;
  if (!secp256k1_ecdsa_sign_recoverable(ctx(), &rsig, digest.data(), key.data(), nullptr, nullptr))
    return err(SigError::kBadKey);
  Signature out;
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx(), out.data(), &recid, &rsig);
  out[64] = static_cast<uint8_t>(27 + recid);
  return out;
}

Result<Address, SigError> address_of(const PrivateKey& key) {
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_create(ctx(), &pk, key.data())) return err(SigError::kBadKey);
  return address_from_pubkey(pk);
}

}  // namespace opt
