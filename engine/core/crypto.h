// secp256k1 keys, Ethereum addresses and 65-byte recoverable signatures (r || s || v).
#pragma once

#include <optional>

#include "engine/core/bytes.h"

namespace opt {

enum class SigError : uint8_t {
  kBadLength,  // not 65 bytes
  kBadV,       // v not in {27, 28, 0, 1}
  kHighS,      // s > n/2: the malleated twin of a valid signature (EIP-2)
  kBadRS,      // r or s is zero or not below the group order
  kRecoverFailed,
  kBadKey,  // private key zero or not below the group order
};
const char* to_string(SigError e);

using PrivateKey = FixedBytes<32, struct PrivateKeyTag>;

// A signature as it travels: r || s || v with v normalised to 27/28.
using Signature = FixedBytes<65, struct SignatureTag>;

// Checks length, v, r/s range and low-s; returns the signature with v normalised to 27/28.
Result<Signature, SigError> parse_signature(ByteView raw);

// Address of the key that signed `digest`. Refuses high-s and out-of-range values.
Result<Address, SigError> recover(const Hash32& digest, const Signature& sig);

// Deterministic (RFC 6979) low-s signature, v in {27, 28}.
Result<Signature, SigError> sign(const Hash32& digest, const PrivateKey& key);

Result<Address, SigError> address_of(const PrivateKey& key);
bool is_valid_private_key(const PrivateKey& key);

}  // namespace opt
