// The full sparse Merkle tree, single-key proofs and the multiproof builder (docs/encoding.md, "State tree").
//
// Representation. The compacted tree (smt.h) has an internal node at every depth of a subtree holding
// two or more leaves, including "chain" nodes whose other child is empty. Storing those one by one would
// cost memory proportional to shared key prefixes (up to 255 nodes for two crafted keys), so the tree
// is stored as a binary Patricia trie instead: a Branch exists only where both children are non-empty
// and records the depth `bit` of the split. The chain nodes between a branch and its parent are implied:
// their hashes are computed from the branch's hash when needed, one hash per chain node, so the hashes
// (and the root) are exactly those of the compacted tree. There are n - 1 branches for n leaves.
//
// Nodes live in chunked arenas addressed by uint32 indices: no allocation per node beyond the chunk, and
// leaf addresses stay fixed, which get() relies on (it hands out a pointer to the stored value).
#include "engine/state/smt.h"

#include <algorithm>
#include <array>

#include "engine/core/codec.h"
#include "engine/core/keccak.h"
#include "engine/state/smt_detail.h"

namespace opt {

using namespace smt_detail;

Hash32 smt_leaf_hash(const SmtKey& key, const Hash32& value_hash) {
  std::array<uint8_t, 65> buf;
  buf[0] = 0x00;
  std::memcpy(buf.data() + 1, key.data(), 32);
  std::memcpy(buf.data() + 33, value_hash.data(), 32);
  return keccak256(ByteView(buf));
}

Hash32 smt_internal_hash(const Hash32& left, const Hash32& right) {
  std::array<uint8_t, 65> buf;
  buf[0] = 0x01;
  std::memcpy(buf.data() + 1, left.data(), 32);
  std::memcpy(buf.data() + 33, right.data(), 32);
  return keccak256(ByteView(buf));
}

const char* to_string(ProofError e) {
  switch (e) {
    case ProofError::kMalformed: return "proof bytes do not decode";
    case ProofError::kNonCanonical: return "proof has a structure a compacted tree cannot have";
    case ProofError::kMisplacedLeaf: return "proof has a leaf whose key does not match its path";
    case ProofError::kRootMismatch: return "proof does not hash to the expected root";
    case ProofError::kNotCovered: return "key is not covered by the proof";
    case ProofError::kValueNotRevealed: return "key's value is not revealed by the proof";
    case ProofError::kNeedsSibling: return "erasing needs the sibling subtree opened in the proof";
    case ProofError::kTooDeep: return "proof is deeper than 256 levels";
  }
  return "unknown proof error";
}

// ---------------------------------------------------------------------------------------------------
// Single-key proofs.
//   u8 end (0 leaf, 1 empty, 2 other leaf) | u32 count (<= 256) | count x sibling[32]
//   | end == 2: other_key[32] other_value_hash[32]

Bytes SmtProof::encode() const {
  Writer w;
  w.u8(static_cast<uint8_t>(end));
  w.u32(static_cast<uint32_t>(siblings.size()));
  for (const Hash32& s : siblings) w.fixed(s);
  if (end == End::kOtherLeaf) w.fixed(other_key).fixed(other_value_hash);
  return w.take();
}

Result<SmtProof, ProofError> SmtProof::decode(ByteView b) {
  Reader r(b);
  SmtProof p;
  uint8_t end = r.u8();
  if (r.ok() && end > static_cast<uint8_t>(End::kOtherLeaf)) return err(ProofError::kMalformed);
  p.end = static_cast<End>(end);
  // The bound is checked before reading, so a hostile count cannot make us allocate.
  uint32_t n = r.count(kKeyBits);
  if (!r.ok()) return err(ProofError::kMalformed);
  p.siblings.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) p.siblings.push_back(r.fixed<32, HashTag>());
  if (p.end == End::kOtherLeaf) {
    p.other_key = r.fixed<32, HashTag>();
    p.other_value_hash = r.fixed<32, HashTag>();
  }
  if (!r.finish()) return err(ProofError::kMalformed);
  return p;
}

bool verify_proof(const Hash32& root, const SmtKey& key, const std::optional<ByteView>& value, const SmtProof& p) {
  const size_t depth = p.siblings.size();
  if (depth > kKeyBits) return false;
  Hash32 h;
  bool leaf_at_end = false;
  switch (p.end) {
    case SmtProof::End::kLeaf:
      if (!value) return false;
      h = smt_leaf_hash(key, keccak256(*value));
      leaf_at_end = true;
      break;
    case SmtProof::End::kEmpty:
      if (value) return false;
      break;  // h stays zero
    case SmtProof::End::kOtherLeaf:
      if (value) return false;
      // Another leaf proves absence only if it sits where `key` would: same path bits down to its depth.
      if (p.other_key == key || !same_prefix(p.other_key, key, static_cast<unsigned>(depth))) return false;
      h = smt_leaf_hash(p.other_key, p.other_value_hash);
      leaf_at_end = true;
      break;
    default: return false;
  }
  // internal(leaf, empty) and internal(empty, empty) do not exist in a compacted tree. Such a proof could
  // not match an honest root anyway; refusing it keeps each fact with exactly one proof.
  if (depth > 0 && p.siblings[depth - 1].is_zero() && (leaf_at_end || p.end == SmtProof::End::kEmpty)) return false;
  for (size_t d = depth; d-- > 0;) {
    h = smt_bit(key, static_cast<unsigned>(d)) ? smt_internal_hash(p.siblings[d], h)
                                               : smt_internal_hash(h, p.siblings[d]);
  }
  return h == root;
}

// ---------------------------------------------------------------------------------------------------
// The full tree.

namespace {

constexpr uint32_t kEmptyRef = 0xFFFFFFFFu;
constexpr uint32_t kLeafFlag = 0x80000000u;  // a ref with this bit (and not kEmptyRef) is a leaf index

bool is_leaf(uint32_t ref) {
  return ref != kEmptyRef && (ref & kLeafFlag) != 0;
}
bool is_branch(uint32_t ref) {
  return (ref & kLeafFlag) == 0;
}
uint32_t leaf_ref(uint32_t index) {
  return index | kLeafFlag;
}
uint32_t leaf_index(uint32_t ref) {
  return ref & ~kLeafFlag;
}

// Fixed-size chunks so that growing never moves an element (get() hands out pointers into leaves) and
// never copies the whole arena; freed slots are reused.
template <class T>
class ChunkedArena {
 public:
  static constexpr uint32_t kChunkBits = 12;
  static constexpr uint32_t kChunkSize = 1u << kChunkBits;

  uint32_t alloc() {
    if (!free_.empty()) {
      uint32_t i = free_.back();
      free_.pop_back();
      return i;
    }
    if (used_ == chunks_.size() * kChunkSize) chunks_.push_back(std::make_unique<T[]>(kChunkSize));
    return used_++;
  }
  void release(uint32_t i) { free_.push_back(i); }
  T& operator[](uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }
  const T& operator[](uint32_t i) const { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::vector<uint32_t> free_;
  uint32_t used_ = 0;
};

struct Leaf {
  SmtKey key;
  Hash32 value_hash;  // valid when !dirty
  Hash32 hash;        // leaf hash, valid when !dirty
  Bytes value;
  bool dirty = false;
};

// A node where both subtrees are non-empty: the children's keys agree on bits [0, bit) and split on bit
// `bit`. Between it and its parent (at depth parent.bit) lie bit - parent.bit - 1 implied chain nodes.
// Only what a walk reads is kept here (16 bytes, four to a cache line); the hashes are in BranchHashes
// at the same index, touched only when hashing or proving.
struct Branch {
  uint32_t child[2] = {kEmptyRef, kEmptyRef};
  uint16_t bit = 0;
  uint16_t top_depth = 0;  // the depth BranchHashes::top is for
  bool dirty = true;       // the hashes are stale
};
struct BranchHashes {
  Hash32 core;  // hash of the internal node at depth `bit`
  Hash32 top;   // hash of the subtree seen from depth top_depth (core hashed up the chain)
};

// The branches on a key's path, root first. Branch depths strictly increase, so at most 256.
struct Path {
  std::array<uint32_t, kKeyBits> node;
  unsigned size = 0;
};

}  // namespace

struct SparseMerkleTree::Impl {
  ChunkedArena<Leaf> leaves;
  ChunkedArena<Branch> branches;
  ChunkedArena<BranchHashes> branch_hashes;  // allocated and released with `branches`, same indices
  uint32_t root = kEmptyRef;
  size_t count = 0;
  uint64_t hashes = 0;

  // Every keccak256 the tree makes goes through these three, so hash_count() is exact.
  Hash32 hash_value(ByteView v) {
    ++hashes;
    return keccak256(v);
  }
  Hash32 hash_leaf(const SmtKey& key, const Hash32& value_hash) {
    ++hashes;
    return smt_leaf_hash(key, value_hash);
  }
  Hash32 hash_internal(const Hash32& left, const Hash32& right) {
    ++hashes;
    return smt_internal_hash(left, right);
  }

  // Any key below a branch: they all share its prefix, which gives the direction of its chain nodes.
  const SmtKey& any_key(uint32_t ref) const {
    while (is_branch(ref)) ref = branches[ref].child[0];
    return leaves[leaf_index(ref)].key;
  }

  // From the hash h of a single-child subtree at depth `from`, the hashes of the chain nodes above it up
  // to depth `to` (<= from): each one is internal(h, empty) or internal(empty, h) by the prefix bit.
  Hash32 chain(Hash32 h, unsigned from, unsigned to, const SmtKey& prefix) {
    const Hash32 zero{};
    for (unsigned d = from; d-- > to;) h = smt_bit(prefix, d) ? hash_internal(zero, h) : hash_internal(h, zero);
    return h;
  }

  // Walks key's path over the branches; returns the leaf (or empty, for an empty tree) where it ends.
  uint32_t descend(const SmtKey& key, Path& path) const {
    uint32_t at = root;
    path.size = 0;
    while (is_branch(at)) {
      path.node[path.size++] = at;
      const Branch& b = branches[at];
      at = b.child[smt_bit(key, b.bit)];
    }
    return at;
  }

  void mark_dirty(const Path& path, unsigned upto) {
    for (unsigned i = 0; i < upto; ++i) branches[path.node[i]].dirty = true;
  }

  uint32_t new_leaf(const SmtKey& key, Bytes&& value) {
    uint32_t i = leaves.alloc();
    Leaf& l = leaves[i];
    l.key = key;
    l.value = std::move(value);
    l.dirty = true;
    return leaf_ref(i);
  }

  // The hash of subtree `ref` as seen from depth `depth` (its parent's depth + 1). Rehashes what is
  // dirty, each node once, and caches the result.
  Hash32 subtree_hash(uint32_t ref, unsigned depth) {
    if (ref == kEmptyRef) return Hash32{};
    if (is_leaf(ref)) {
      Leaf& l = leaves[leaf_index(ref)];
      if (l.dirty) {  // a compacted leaf's hash does not depend on its depth
        l.value_hash = hash_value(l.value);
        l.hash = hash_leaf(l.key, l.value_hash);
        l.dirty = false;
      }
      return l.hash;
    }
    Branch& b = branches[ref];
    BranchHashes& h = branch_hashes[ref];
    if (b.dirty) {
      Hash32 left = subtree_hash(b.child[0], b.bit + 1u);
      Hash32 right = subtree_hash(b.child[1], b.bit + 1u);
      h.core = hash_internal(left, right);
      h.top = h.core;
      b.top_depth = b.bit;
      b.dirty = false;
    }
    if (depth != b.top_depth) {
      // The parent moved: after an erase the chain grows upward (continue from the cached top); after
      // an insert that split the chain it is shorter (start again from the core).
      if (depth < b.top_depth) {
        h.top = chain(h.top, b.top_depth, depth, any_key(ref));
      } else {
        h.top = chain(h.core, b.bit, depth, any_key(ref));
      }
      b.top_depth = static_cast<uint16_t>(depth);
    }
    return h.top;
  }

  // Hash of the compacted-tree node of branch `ref` at depth `depth` (top_depth <= depth <= bit); the
  // tree must be clean (root() called).
  Hash32 branch_hash_at(uint32_t ref, unsigned depth, const SmtKey& prefix) {
    const Branch& b = branches[ref];
    const BranchHashes& h = branch_hashes[ref];
    if (depth == b.top_depth) return h.top;
    if (depth == b.bit) return h.core;
    return chain(h.core, b.bit, depth, prefix);
  }

  // Pre-order multiproof of the compacted-tree node (ref, depth) for the sorted keys [lo, hi) whose
  // paths run through it. `open`: this node is the sibling of a revealed leaf, so if internal it must be
  // opened one level (smt.h).
  void emit(Writer& w, uint32_t ref, unsigned depth, const SmtKey* lo, const SmtKey* hi, bool open) {
    if (ref == kEmptyRef) {
      w.u8(kTagEmpty);
      return;
    }
    if (is_leaf(ref)) {
      const Leaf& l = leaves[leaf_index(ref)];
      if (std::binary_search(lo, hi, l.key)) {
        w.u8(kTagLeaf).fixed(l.key).var_bytes(l.value);
      } else {
        w.u8(kTagLeafHash).fixed(l.key).fixed(l.value_hash);
      }
      return;
    }
    const Branch& b = branches[ref];
    if (lo == hi && !open) {
      w.u8(kTagHash).fixed(branch_hash_at(ref, depth, any_key(ref)));
      return;
    }
    w.u8(kTagInternal);
    // Keys are sorted and share bits [0, depth), so those going left (bit 0) come first.
    const SmtKey* mid = std::partition_point(lo, hi, [depth](const SmtKey& k) { return smt_bit(k, depth) == 0; });
    if (depth < b.bit) {  // a chain node: the branch continues on the prefix side, the other side is empty
      int side = smt_bit(any_key(ref), depth);
      if (side == 0) {
        emit(w, ref, depth + 1, lo, mid, false);
        w.u8(kTagEmpty);
      } else {
        w.u8(kTagEmpty);
        emit(w, ref, depth + 1, mid, hi, false);
      }
      return;
    }
    // If every leaf on one side is revealed, erasing them all leaves internal(empty, other side): the
    // verifier must then know whether the other side is one leaf (which rises) or more, so it is opened.
    uint32_t c0 = b.child[0], c1 = b.child[1];
    bool open1 = all_requested(c0, lo, mid);
    bool open0 = all_requested(c1, mid, hi);
    emit(w, c0, depth + 1, lo, mid, open0);
    emit(w, c1, depth + 1, mid, hi, open1);
  }

  // True iff every leaf of subtree `ref` is among the sorted keys [lo, hi) (which may hold keys from
  // outside the subtree). Stops at the first unrequested leaf, so it costs little beyond the proof.
  bool all_requested(uint32_t ref, const SmtKey* lo, const SmtKey* hi) const {
    if (ref == kEmptyRef) return true;
    if (is_leaf(ref)) return std::binary_search(lo, hi, leaves[leaf_index(ref)].key);
    if (hi - lo < 2) return false;  // a branch holds at least two leaves
    const Branch& b = branches[ref];
    // Only keys with the branch's prefix can be its leaves; they are contiguous in sorted order.
    const SmtKey& prefix = any_key(ref);
    const unsigned bits = b.bit;
    lo = std::lower_bound(lo, hi, prefix,
                          [bits](const SmtKey& k, const SmtKey& p) { return compare_prefix(k, p, bits) < 0; });
    hi = std::upper_bound(lo, hi, prefix,
                          [bits](const SmtKey& p, const SmtKey& k) { return compare_prefix(p, k, bits) < 0; });
    if (hi - lo < 2) return false;
    const SmtKey* mid = std::partition_point(lo, hi, [bits](const SmtKey& k) { return smt_bit(k, bits) == 0; });
    return all_requested(b.child[0], lo, mid) && all_requested(b.child[1], mid, hi);
  }
};

SparseMerkleTree::SparseMerkleTree() : impl_(std::make_unique<Impl>()) {}
SparseMerkleTree::~SparseMerkleTree() = default;
SparseMerkleTree::SparseMerkleTree(SparseMerkleTree&&) noexcept = default;
SparseMerkleTree& SparseMerkleTree::operator=(SparseMerkleTree&&) noexcept = default;

const Bytes* SparseMerkleTree::get(const SmtKey& key) const {
  uint32_t at = impl_->root;
  while (is_branch(at)) {
    const Branch& b = impl_->branches[at];
    at = b.child[smt_bit(key, b.bit)];
  }
  if (at == kEmptyRef) return nullptr;
  const Leaf& l = impl_->leaves[leaf_index(at)];
  return l.key == key ? &l.value : nullptr;
}

void SparseMerkleTree::put(const SmtKey& key, Bytes value) {
  (void)exchange(key, std::move(value));
}

std::optional<Bytes> SparseMerkleTree::exchange(const SmtKey& key, Bytes value) {
  Impl& m = *impl_;
  if (m.root == kEmptyRef) {
    m.root = m.new_leaf(key, std::move(value));
    ++m.count;
    return std::nullopt;
  }
  Path path;
  uint32_t at = m.descend(key, path);
  Leaf& found = m.leaves[leaf_index(at)];
  if (found.key == key) {
    if (found.value == value) return value;  // nothing changes, nothing to rehash
    std::swap(found.value, value);
    found.dirty = true;
    m.mark_dirty(path, path.size);
    return value;
  }
  // The key's path ends at another leaf: a new branch goes where the two keys first differ. Above it
  // the path's branches have bits < d, where both keys agree, so the new key belongs below them.
  unsigned d = first_diff_bit(key, found.key);
  unsigned pos = 0;
  while (pos < path.size && m.branches[path.node[pos]].bit < d) ++pos;
  uint32_t below = pos < path.size ? path.node[pos] : at;
  uint32_t leaf = m.new_leaf(key, std::move(value));
  uint32_t n = m.branches.alloc();
  m.branch_hashes.alloc();  // same free list history, so the same index
  Branch& nb = m.branches[n];
  int side = smt_bit(key, d);
  nb.child[side] = leaf;
  nb.child[1 - side] = below;
  nb.bit = static_cast<uint16_t>(d);
  nb.dirty = true;
  if (pos == 0) {
    m.root = n;
  } else {
    Branch& parent = m.branches[path.node[pos - 1]];
    parent.child[smt_bit(key, parent.bit)] = n;
  }
  m.mark_dirty(path, pos);
  ++m.count;
  return std::nullopt;
}

bool SparseMerkleTree::erase(const SmtKey& key) {
  Impl& m = *impl_;
  if (m.root == kEmptyRef) return false;
  Path path;
  uint32_t at = m.descend(key, path);
  Leaf& found = m.leaves[leaf_index(at)];
  if (found.key != key) return false;
  Bytes().swap(found.value);  // release the value's memory now, not when the slot is reused
  m.leaves.release(leaf_index(at));
  --m.count;
  if (path.size == 0) {
    m.root = kEmptyRef;
    return true;
  }
  // The leaf's parent branch now has one subtree: that subtree takes the parent's place (for a leaf this
  // is the compaction rule; for a branch its chain simply grows, recomputed by subtree_hash).
  uint32_t parent = path.node[path.size - 1];
  uint32_t sibling = m.branches[parent].child[1 - smt_bit(key, m.branches[parent].bit)];
  if (path.size == 1) {
    m.root = sibling;
  } else {
    Branch& g = m.branches[path.node[path.size - 2]];
    g.child[smt_bit(key, g.bit)] = sibling;
  }
  m.branches.release(parent);
  m.branch_hashes.release(parent);
  m.mark_dirty(path, path.size - 1);
  return true;
}

size_t SparseMerkleTree::size() const {
  return impl_->count;
}

Hash32 SparseMerkleTree::root() {
  return impl_->subtree_hash(impl_->root, 0);
}

SmtProof SparseMerkleTree::prove(const SmtKey& key) {
  root();  // every cached hash valid from here on
  Impl& m = *impl_;
  SmtProof p;
  uint32_t at = m.root;
  unsigned depth = 0;
  while (is_branch(at)) {
    const Branch& b = m.branches[at];
    if (depth < b.bit) {
      const SmtKey& prefix = m.any_key(at);
      for (; depth < b.bit; ++depth) {
        if (smt_bit(key, depth) != smt_bit(prefix, depth)) {
          // The key leaves the chain into its empty side: the sibling is the chain below this depth.
          p.siblings.push_back(m.branch_hash_at(at, depth + 1, prefix));
          p.end = SmtProof::End::kEmpty;
          return p;
        }
        p.siblings.push_back(Hash32{});
      }
    }
    int side = smt_bit(key, b.bit);
    p.siblings.push_back(m.subtree_hash(b.child[1 - side], b.bit + 1u));  // cached, no hashing
    at = b.child[side];
    depth = b.bit + 1u;
  }
  if (at == kEmptyRef) {
    p.end = SmtProof::End::kEmpty;
    return p;
  }
  const Leaf& l = m.leaves[leaf_index(at)];
  if (l.key == key) {
    p.end = SmtProof::End::kLeaf;
  } else {
    p.end = SmtProof::End::kOtherLeaf;
    p.other_key = l.key;
    p.other_value_hash = l.value_hash;
  }
  return p;
}

Bytes SparseMerkleTree::prove_many(std::span<const SmtKey> keys) {
  root();
  std::vector<SmtKey> sorted(keys.begin(), keys.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  Writer w;
  impl_->emit(w, impl_->root, 0, sorted.data(), sorted.data() + sorted.size(), false);
  return w.take();
}

uint64_t SparseMerkleTree::hash_count() const {
  return impl_->hashes;
}

}  // namespace opt
