// PartialTree: the part of the tree a multiproof reveals, verified and then updated without the full
// state (WitnessState, docs/encoding.md "State tree"). Unlike the full tree it stores the compacted tree node by
// node, chain nodes included: a proof holds few nodes, and one node per depth keeps every check (leaf
// placement, canonical shape, collapse on erase) a local look at a node and its two children.
#include <algorithm>
#include <array>

#include "engine/core/codec.h"
#include "engine/core/keccak.h"
#include "engine/state/smt.h"
#include "engine/state/smt_detail.h"

namespace opt {

using namespace smt_detail;

namespace {

constexpr uint32_t kNil = 0xFFFFFFFFu;  // an empty subtree

enum class Kind : uint8_t {
  kOpaque,      // 0x01: an internal node known by its hash only
  kHiddenLeaf,  // 0x02: a leaf known by key and value hash
  kLeaf,        // 0x03: a leaf with its value
  kInternal,    // 0x04: both children known
};

struct Node {
  Kind kind = Kind::kOpaque;
  bool dirty = true;  // hash (and for kLeaf, value_hash) must be recomputed
  // kOpaque: shown to be an internal node, because its sibling is empty (a compacted tree has no
  // internal(empty, leaf)); erasing next to it needs no further witness.
  bool known_internal = false;
  uint32_t child[2] = {kNil, kNil};
  SmtKey key;
  Hash32 value_hash;
  Hash32 hash;
  Bytes value;
};

bool is_leaf_kind(Kind k) {
  return k == Kind::kHiddenLeaf || k == Kind::kLeaf;
}

}  // namespace

struct PartialTree::Impl {
  std::vector<Node> nodes;
  std::vector<uint32_t> free;
  uint32_t root = kNil;

  uint32_t alloc(Kind kind) {
    uint32_t i;
    if (!free.empty()) {
      i = free.back();
      free.pop_back();
      nodes[i] = Node{};
    } else {
      i = static_cast<uint32_t>(nodes.size());
      nodes.emplace_back();
    }
    nodes[i].kind = kind;
    return i;
  }
  void release(uint32_t i) {
    Bytes().swap(nodes[i].value);
    free.push_back(i);
  }
  bool is_leaf(uint32_t i) const { return i != kNil && is_leaf_kind(nodes[i].kind); }
  Kind kind(uint32_t i) const { return nodes[i].kind; }

  // ---- decoding ----

  // Parses the node at `depth` whose path is bits [0, depth) of `path`. Total on any input: every read
  // is bounds-checked by the Reader, recursion is bounded by the 256-level limit, and each node consumes
  // at least one input byte, so memory stays linear in the proof's size.
  Status<ProofError> parse(Reader& r, unsigned depth, SmtKey& path, uint32_t& out) {
    uint8_t tag = r.u8();
    if (!r.ok()) return err(ProofError::kMalformed);
    switch (tag) {
      case kTagEmpty: out = kNil; return {};
      case kTagHash: {
        if (depth >= kKeyBits) return err(ProofError::kTooDeep);  // internal nodes sit above depth 256
        Hash32 h = r.fixed<32, HashTag>();
        if (!r.ok()) return err(ProofError::kMalformed);
        // The zero hash is the empty subtree, which has its own tag: one encoding per tree.
        if (h.is_zero()) return err(ProofError::kNonCanonical);
        out = alloc(Kind::kOpaque);
        nodes[out].hash = h;
        nodes[out].dirty = false;
        return {};
      }
      case kTagLeafHash:
      case kTagLeaf: {
        SmtKey key = r.fixed<32, HashTag>();
        Hash32 value_hash;
        ByteView value;
        if (tag == kTagLeafHash) {
          value_hash = r.fixed<32, HashTag>();
        } else {
          value = r.var_bytes(kSmtMaxProofValue);
        }
        if (!r.ok()) return err(ProofError::kMalformed);
        // A leaf proves absence for every key on its path, so it must really belong there.
        if (!same_prefix(key, path, depth)) return err(ProofError::kMisplacedLeaf);
        out = alloc(tag == kTagLeaf ? Kind::kLeaf : Kind::kHiddenLeaf);
        Node& n = nodes[out];
        n.key = key;
        n.value_hash = value_hash;
        n.value.assign(value.begin(), value.end());
        return {};
      }
      case kTagInternal: {
        if (depth >= kKeyBits) return err(ProofError::kTooDeep);
        uint32_t c[2];
        for (int side = 0; side < 2; ++side) {
          set_bit(path, depth, side);
          if (auto s = parse(r, depth + 1, path, c[side]); !s) return s;
        }
        set_bit(path, depth, 0);
        if (auto s = check_canonical(c[0], c[1]); !s) return s;
        for (int side = 0; side < 2; ++side) {
          if (c[1 - side] == kNil && c[side] != kNil && kind(c[side]) == Kind::kOpaque)
            nodes[c[side]].known_internal = true;
        }
        out = alloc(Kind::kInternal);
        nodes[out].child[0] = c[0];
        nodes[out].child[1] = c[1];
        return {};
      }
      default: return err(ProofError::kMalformed);
    }
  }

  static void set_bit(SmtKey& k, unsigned depth, int bit) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (depth & 7));
    k[depth >> 3] = static_cast<uint8_t>(bit ? (k[depth >> 3] | mask) : (k[depth >> 3] & ~mask));
  }

  Status<ProofError> check_canonical(uint32_t a, uint32_t b) const {
    // A compacted tree has internal nodes only over two or more leaves.
    if (a == kNil && b == kNil) return err(ProofError::kNonCanonical);
    if ((a == kNil && is_leaf(b)) || (b == kNil && is_leaf(a))) return err(ProofError::kNonCanonical);
    // A revealed leaf's sibling must be shown to be a leaf or an internal node (opened one level), so
    // that erasing the leaf can be computed: a bare hash could be either.
    bool opaque_a = a != kNil && kind(a) == Kind::kOpaque;
    bool opaque_b = b != kNil && kind(b) == Kind::kOpaque;
    if ((opaque_a && b != kNil && kind(b) == Kind::kLeaf) || (opaque_b && a != kNil && kind(a) == Kind::kLeaf)) {
      return err(ProofError::kNonCanonical);
    }
    return {};
  }

  // ---- hashing ----

  Hash32 hash(uint32_t i) {
    if (i == kNil) return Hash32{};
    Node& n = nodes[i];
    if (!n.dirty) return n.hash;
    switch (n.kind) {
      case Kind::kOpaque: break;
      case Kind::kLeaf:
        n.value_hash = keccak256(n.value);
        n.hash = smt_leaf_hash(n.key, n.value_hash);
        break;
      case Kind::kHiddenLeaf: n.hash = smt_leaf_hash(n.key, n.value_hash); break;
      case Kind::kInternal: {
        // Children are read by index after the recursive calls: hashing never allocates nodes.
        Hash32 left = hash(n.child[0]);
        Hash32 right = hash(nodes[i].child[1]);
        nodes[i].hash = smt_internal_hash(left, right);
        break;
      }
    }
    nodes[i].dirty = false;
    return nodes[i].hash;
  }

  // ---- walking ----

  // The internal nodes on key's path from the root (path[d] at depth d), and the node where the path
  // leaves them: kNil, an opaque node or a leaf.
  struct Walk {
    std::array<uint32_t, kKeyBits> path;
    unsigned depth = 0;
    uint32_t end = kNil;
  };
  Walk walk(const SmtKey& key) const {
    Walk w;
    uint32_t at = root;
    while (at != kNil && kind(at) == Kind::kInternal) {
      w.path[w.depth] = at;
      at = nodes[at].child[smt_bit(key, w.depth)];
      ++w.depth;
    }
    w.end = at;
    return w;
  }

  void mark_dirty(const Walk& w, unsigned upto) {
    for (unsigned d = 0; d < upto; ++d) nodes[w.path[d]].dirty = true;
  }

  // Puts `node` where the node at depth `depth` of the walk is (or ends).
  void set_slot(const Walk& w, unsigned depth, const SmtKey& key, uint32_t node) {
    if (depth == 0) {
      root = node;
    } else {
      nodes[w.path[depth - 1]].child[smt_bit(key, depth - 1)] = node;
    }
  }
};

PartialTree::PartialTree() : impl_(std::make_unique<Impl>()) {}
PartialTree::~PartialTree() = default;
PartialTree::PartialTree(PartialTree&&) noexcept = default;
PartialTree& PartialTree::operator=(PartialTree&&) noexcept = default;

Result<PartialTree, ProofError> PartialTree::from_proof(const Hash32& root, ByteView proof) {
  PartialTree t;
  Impl& m = *t.impl_;
  Reader r(proof);
  SmtKey path;
  if (auto s = m.parse(r, 0, path, m.root); !s) return err(s.error());
  if (!r.finish()) return err(ProofError::kMalformed);
  if (t.root() != root) return err(ProofError::kRootMismatch);
  return t;
}

Result<std::optional<ByteView>, ProofError> PartialTree::find(const SmtKey& key) const {
  const Impl& m = *impl_;
  Impl::Walk w = m.walk(key);
  if (w.end == kNil) return std::optional<ByteView>();  // proven absent: the path ends in an empty subtree
  const Node& n = m.nodes[w.end];
  switch (n.kind) {
    case Kind::kOpaque: return err(ProofError::kNotCovered);
    case Kind::kHiddenLeaf:
      if (n.key == key) return err(ProofError::kValueNotRevealed);
      return std::optional<ByteView>();  // the only key under this path is another one
    case Kind::kLeaf:
      if (n.key == key) return std::optional<ByteView>(ByteView(n.value));
      return std::optional<ByteView>();
    case Kind::kInternal: break;  // walk() never ends at an internal node
  }
  return err(ProofError::kNotCovered);
}

Result<std::optional<Bytes>, ProofError> PartialTree::get(const SmtKey& key) const {
  auto v = find(key);
  if (!v) return err(v.error());
  if (!*v) return std::optional<Bytes>();
  return std::optional<Bytes>(Bytes((*v)->begin(), (*v)->end()));
}

Status<ProofError> PartialTree::put(const SmtKey& key, ByteView value) {
  Impl& m = *impl_;
  Impl::Walk w = m.walk(key);
  if (w.end == kNil) {
    uint32_t leaf = m.alloc(Kind::kLeaf);
    m.nodes[leaf].key = key;
    m.nodes[leaf].value.assign(value.begin(), value.end());
    m.set_slot(w, w.depth, key, leaf);
    m.mark_dirty(w, w.depth);
    return {};
  }
  if (m.kind(w.end) == Kind::kOpaque) return err(ProofError::kNotCovered);
  Node& found = m.nodes[w.end];
  if (found.key == key) {  // update; a hidden leaf of this key may be overwritten without its old value
    found.kind = Kind::kLeaf;
    found.value.assign(value.begin(), value.end());
    found.dirty = true;
    m.mark_dirty(w, w.depth);
    return {};
  }
  // Another leaf holds this path: both go below an internal node where the keys first differ, with
  // chain nodes (one child empty) down to it, as in the full tree.
  const uint32_t other = w.end;
  const SmtKey other_key = found.key;
  unsigned diff = first_diff_bit(key, other_key);
  uint32_t leaf = m.alloc(Kind::kLeaf);
  m.nodes[leaf].key = key;
  m.nodes[leaf].value.assign(value.begin(), value.end());
  uint32_t below = m.alloc(Kind::kInternal);
  m.nodes[below].child[smt_bit(key, diff)] = leaf;
  m.nodes[below].child[smt_bit(other_key, diff)] = other;
  for (unsigned d = diff; d-- > w.depth;) {
    uint32_t up = m.alloc(Kind::kInternal);
    m.nodes[up].child[smt_bit(key, d)] = below;
    below = up;
  }
  m.set_slot(w, w.depth, key, below);
  m.mark_dirty(w, w.depth);
  return {};
}

Status<ProofError> PartialTree::erase(const SmtKey& key) {
  Impl& m = *impl_;
  Impl::Walk w = m.walk(key);
  if (w.end == kNil) return {};  // proven absent already
  if (m.kind(w.end) == Kind::kOpaque) return err(ProofError::kNotCovered);
  if (m.nodes[w.end].key != key) return {};  // another leaf holds the path: proven absent
  const unsigned depth = w.depth;
  if (depth == 0) {
    m.release(w.end);
    m.root = kNil;
    return {};
  }
  uint32_t parent = w.path[depth - 1];
  uint32_t sibling = m.nodes[parent].child[1 - smt_bit(key, depth - 1)];
  // Decide everything before changing anything, so a refused erase leaves the tree as it was.
  if (sibling == kNil) return err(ProofError::kNonCanonical);  // cannot happen: shapes stay canonical
  const Node& sib = m.nodes[sibling];
  if (sib.kind == Kind::kOpaque && !sib.known_internal) return err(ProofError::kNeedsSibling);
  m.release(w.end);
  if (!is_leaf_kind(m.kind(sibling))) {
    // The parent keeps two or more leaves: it stays an internal node with one empty child.
    m.nodes[parent].child[smt_bit(key, depth - 1)] = kNil;
    m.mark_dirty(w, depth);
    return {};
  }
  // The sibling is now alone under the parent: it is the parent (compaction), and it keeps rising while
  // the node above has nothing else.
  unsigned top = depth - 1;  // the depth whose node the sibling replaces
  while (top > 0 && m.nodes[w.path[top - 1]].child[1 - smt_bit(key, top - 1)] == kNil) --top;
  for (unsigned d = top; d < depth; ++d) m.release(w.path[d]);
  m.set_slot(w, top, key, sibling);
  m.mark_dirty(w, top);
  return {};
}

Hash32 PartialTree::root() {
  return impl_->hash(impl_->root);
}

}  // namespace opt
