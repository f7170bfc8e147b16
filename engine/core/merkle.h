// The binary Merkle tree over a batch's transactions (txDataRoot, docs/encoding.md):
//   leaf i   = keccak256(tx_i)                 (the encoded transaction)
//   padding  = 32 zero bytes, up to the next power of two (a batch of 1 has no padding)
//   internal = keccak256(left || right)
//   root of an empty batch = 32 zero bytes
// A proof for tx i lists the siblings from the leaf level up; verification needs i, the count and the
// transaction bytes, all of which the L1 referee has.
#pragma once

#include <vector>

#include "engine/core/bytes.h"

namespace opt {

Hash32 tx_data_root(const std::vector<Bytes>& txs);
Hash32 tx_data_root_of_leaves(std::vector<Hash32> leaves);
std::vector<Hash32> tx_data_proof(const std::vector<Bytes>& txs, size_t index);
bool verify_tx_data_proof(const Hash32& root, size_t count, size_t index, ByteView tx,
                          const std::vector<Hash32>& siblings);

}  // namespace opt
