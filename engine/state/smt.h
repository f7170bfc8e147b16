// The sparse Merkle tree that commits to the whole state (docs/encoding.md, "State tree").
//
//   leaf node     = keccak256(0x00 || key || keccak256(value))
//   internal node = keccak256(0x01 || left || right)
//   empty subtree = 32 zero bytes
//
// Keys are 256-bit; a key's path follows its bits from the most significant bit of byte 0 (bit 0 = left).
// Leaf compaction: a subtree that holds exactly one leaf IS that leaf (the leaf hash does not depend on
// its depth), a subtree with no leaf is empty, and only subtrees with two or more leaves are internal
// nodes. So the depth grows with log2(leaves), not 256, and the tree shape is a function of the key set.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/core/bytes.h"

namespace opt {

using SmtKey = Hash32;

Hash32 smt_leaf_hash(const SmtKey& key, const Hash32& value_hash);
Hash32 smt_internal_hash(const Hash32& left, const Hash32& right);
// Bit `depth` of the key (0 = most significant bit of byte 0): 0 goes left, 1 goes right.
inline int smt_bit(const SmtKey& key, unsigned depth) {
  return (key[depth >> 3] >> (7 - (depth & 7))) & 1;
}

enum class ProofError : uint8_t {
  kMalformed,         // the bytes do not decode as a proof
  kNonCanonical,      // structure a compacted tree cannot have (e.g. an internal node over a single leaf)
  kMisplacedLeaf,     // a leaf whose key does not match the path it sits on
  kRootMismatch,      // the proof hashes to another root
  kNotCovered,        // the key's path is not in the proof: a missing witness, never a default value
  kValueNotRevealed,  // the key's leaf is in the proof by hash only; its value was not given
  kNeedsSibling,      // erasing needs the sibling subtree opened one level (see PartialTree::erase)
  kTooDeep,
};
const char* to_string(ProofError e);

// A proof for one key against a root: the sibling hashes from the root down to the depth where the key's
// path ends, and what is there: the key's own leaf (membership), nothing, or another leaf (non-membership).
struct SmtProof {
  enum class End : uint8_t { kLeaf = 0, kEmpty = 1, kOtherLeaf = 2 };
  std::vector<Hash32> siblings;  // siblings[d] is the sibling at depth d + 1, from the root down
  End end = End::kEmpty;
  SmtKey other_key;         // kOtherLeaf: the leaf found on the path
  Hash32 other_value_hash;  // kOtherLeaf

  // u8 end | u32 count (<= 256) | count x sibling[32] | kOtherLeaf only: other_key, other_value_hash.
  Bytes encode() const;
  static Result<SmtProof, ProofError> decode(ByteView b);
};
// True iff the proof shows that `key` maps to `value` (or is absent, when value is nullopt) under `root`.
bool verify_proof(const Hash32& root, const SmtKey& key, const std::optional<ByteView>& value, const SmtProof& p);

// The full tree, in memory. Updates only mark paths dirty; root() rehashes every dirty node once, so a
// batch of updates costs one hash per changed internal node, not one path per update.
class SparseMerkleTree {
 public:
  SparseMerkleTree();
  ~SparseMerkleTree();
  SparseMerkleTree(SparseMerkleTree&&) noexcept;
  SparseMerkleTree& operator=(SparseMerkleTree&&) noexcept;
  SparseMerkleTree(const SparseMerkleTree&) = delete;
  SparseMerkleTree& operator=(const SparseMerkleTree&) = delete;

  // The stored value, or nullptr when the key is absent. Valid until the next update of that key.
  const Bytes* get(const SmtKey& key) const;
  void put(const SmtKey& key, Bytes value);  // insert or update
  // put() that hands back the value it replaced (nullopt if the key was absent), moved out rather than
  // copied, for the state's undo journal.
  std::optional<Bytes> exchange(const SmtKey& key, Bytes value);
  bool erase(const SmtKey& key);  // false if the key was absent
  size_t size() const;

  Hash32 root();  // rehashes dirty nodes

  SmtProof prove(const SmtKey& key);
  // A multiproof for several keys, sharing siblings (format below). Every key's path is covered: a
  // present key's leaf carries its value; an absent key's path ends at an empty subtree or another leaf.
  Bytes prove_many(std::span<const SmtKey> keys);

  // keccak256 calls made by this tree so far (for the hashes-per-update benchmark).
  uint64_t hash_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The largest leaf value a multiproof may carry (0x03). Decoding refuses longer lengths before reading
// them, so a hostile length cannot make the verifier allocate; values above it cannot be proven.
inline constexpr uint32_t kSmtMaxProofValue = 64 * 1024;

// Multiproof format (canonical codec, docs/encoding.md): the pruned tree, in pre-order from the root.
//   0x00                          empty subtree
//   0x01 hash[32]                 a subtree given by its hash only (non-zero; an internal node)
//   0x02 key[32] value_hash[32]   a leaf whose value is not revealed
//   0x03 key[32] u32 len, value   a leaf with its value
//   0x04 left right               an internal node, both children follow
// The sibling of every revealed leaf is never given as 0x01: it is opened one level (0x04 with two
// children), which proves it is an internal node, so erasing the revealed leaf can be computed soundly.
// prove_many applies the same opening to the sibling of any subtree whose leaves are all revealed (a
// lone revealed leaf being the smallest case), and a 0x01 whose sibling is 0x00 is internal by the
// compaction rule; so erasing revealed keys in any order, with puts between, never needs kNeedsSibling.
//
// A partial tree rebuilt from a multiproof. It answers only for keys whose path the proof covers and
// reports any other key as not covered (a missing witness), never as absent. Updates of covered keys
// give the same new root the full tree would.
class PartialTree {
 public:
  static Result<PartialTree, ProofError> from_proof(const Hash32& root, ByteView proof);
  PartialTree();
  ~PartialTree();
  PartialTree(PartialTree&&) noexcept;
  PartialTree& operator=(PartialTree&&) noexcept;

  // The value (nullopt = proven absent), or kNotCovered / kValueNotRevealed.
  Result<std::optional<Bytes>, ProofError> get(const SmtKey& key) const;
  // The same without a copy: a view of the stored value, valid until the next put or erase.
  Result<std::optional<ByteView>, ProofError> find(const SmtKey& key) const;
  Status<ProofError> put(const SmtKey& key, ByteView value);
  Status<ProofError> erase(const SmtKey& key);
  Hash32 root();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opt
