#include "engine/core/merkle.h"

#include "engine/core/keccak.h"

namespace opt {

namespace {
size_t padded_size(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}
Hash32 pair(const Hash32& l, const Hash32& r) {
  uint8_t buf[64];
  std::memcpy(buf, l.data(), 32);
  std::memcpy(buf + 32, r.data(), 32);
  return keccak256(ByteView(buf, 64));
}
std::vector<Hash32> leaves_of(const std::vector<Bytes>& txs) {
  std::vector<Hash32> leaves;
  leaves.reserve(txs.size());
  for (const auto& t : txs) leaves.push_back(keccak256(t));
  return leaves;
}
}  // namespace

Hash32 tx_data_root_of_leaves(std::vector<Hash32> level) {
  if (level.empty()) return Hash32{};
  level.resize(padded_size(level.size()));
  while (level.size() > 1) {
    for (size_t i = 0; i < level.size() / 2; ++i) level[i] = pair(level[2 * i], level[2 * i + 1]);
    level.resize(level.size() / 2);
  }
  return level[0];
}

Hash32 tx_data_root(const std::vector<Bytes>& txs) {
  return tx_data_root_of_leaves(leaves_of(txs));
}

std::vector<Hash32> tx_data_proof(const std::vector<Bytes>& txs, size_t index) {
  std::vector<Hash32> level = leaves_of(txs), proof;
  if (index >= level.size()) return proof;
  level.resize(padded_size(level.size()));
  while (level.size() > 1) {
    proof.push_back(level[index ^ 1]);
    for (size_t i = 0; i < level.size() / 2; ++i) level[i] = pair(level[2 * i], level[2 * i + 1]);
    level.resize(level.size() / 2);
    index >>= 1;
  }
  return proof;
}

bool verify_tx_data_proof(const Hash32& root, size_t count, size_t index, ByteView tx,
                          const std::vector<Hash32>& siblings) {
  if (index >= count) return false;
  size_t depth = 0;
  for (size_t p = padded_size(count); p > 1; p >>= 1) ++depth;
  if (siblings.size() != depth) return false;
  Hash32 h = keccak256(tx);
  for (const auto& s : siblings) {
    h = (index & 1) ? pair(s, h) : pair(h, s);
    index >>= 1;
  }
  return h == root;
}

}  // namespace opt
