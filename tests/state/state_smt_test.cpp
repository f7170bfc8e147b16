// The sparse Merkle tree against an independent naive reference: a recursive root over a sorted map with
// the compaction rule, and a naive multiproof builder. Property tests are seeded (same seed, same run).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "engine/core/codec.h"
#include "engine/core/keccak.h"
#include "engine/state/smt.h"
#include "tests/test_util.h"

using namespace opt;
using namespace opt::test;

namespace {

using Map = std::map<SmtKey, Bytes>;
using It = Map::const_iterator;

SmtKey flip_bit(SmtKey k, unsigned bit) {
  k[bit >> 3] = static_cast<uint8_t>(k[bit >> 3] ^ (0x80 >> (bit & 7)));
  return k;
}

// ---- the naive reference ----

It split_at_bit(It lo, It hi, unsigned depth) {
  while (lo != hi && smt_bit(lo->first, depth) == 0) ++lo;
  return lo;
}

Hash32 ref_hash(It lo, It hi, unsigned depth) {
  if (lo == hi) return Hash32{};
  if (std::next(lo) == hi) return smt_leaf_hash(lo->first, keccak256(lo->second));
  It mid = split_at_bit(lo, hi, depth);
  return smt_internal_hash(ref_hash(lo, mid, depth + 1), ref_hash(mid, hi, depth + 1));
}

Hash32 ref_root(const Map& m) {
  return ref_hash(m.begin(), m.end(), 0);
}

bool requested(const std::vector<SmtKey>& keys, const SmtKey& k) {
  return std::binary_search(keys.begin(), keys.end(), k);
}

// Multiproof builder over the naive tree, written from the format in smt.h. `full_rule`: open the sibling
// of every fully revealed subtree (what prove_many does); otherwise only the sibling of a revealed leaf.
void ref_emit(Writer& w, It lo, It hi, unsigned depth, const std::vector<SmtKey>& keys, bool open, bool full_rule) {
  if (lo == hi) {
    w.u8(0);
    return;
  }
  if (std::next(lo) == hi) {
    if (requested(keys, lo->first)) {
      w.u8(3).fixed(lo->first).var_bytes(lo->second);
    } else {
      w.u8(2).fixed(lo->first).fixed(keccak256(lo->second));
    }
    return;
  }
  // Does a requested key run through this node, i.e. share its prefix (bits [0, depth))?
  bool has_key = false;
  for (const SmtKey& k : keys) {
    bool same = true;
    for (unsigned d = 0; d < depth && same; ++d) same = smt_bit(k, d) == smt_bit(lo->first, d);
    if (same) {
      has_key = true;
      break;
    }
  }
  if (!has_key && !open) {
    w.u8(1).fixed(ref_hash(lo, hi, depth));
    return;
  }
  w.u8(4);
  It mid = split_at_bit(lo, hi, depth);
  auto all_revealed = [&](It a, It b) {
    if (a == b) return false;
    if (!full_rule && std::next(a) != b) return false;
    for (It i = a; i != b; ++i)
      if (!requested(keys, i->first)) return false;
    return true;
  };
  ref_emit(w, lo, mid, depth + 1, keys, all_revealed(mid, hi), full_rule);
  ref_emit(w, mid, hi, depth + 1, keys, all_revealed(lo, mid), full_rule);
}

Bytes ref_prove_many(const Map& m, std::vector<SmtKey> keys, bool full_rule = true) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  Writer w;
  ref_emit(w, m.begin(), m.end(), 0, keys, false, full_rule);
  return w.take();
}

// ---- fixtures ----

// Random keys plus families of keys that share long prefixes (differing only in late bits), so chains
// of single-child internal nodes and leaves deep down the tree are exercised.
std::vector<SmtKey> key_pool(Rng& rng, size_t random_keys, size_t families) {
  std::vector<SmtKey> keys;
  for (size_t i = 0; i < random_keys; ++i) keys.push_back(rng.hash());
  static const unsigned kLateBits[] = {255, 254, 250, 200, 129, 128, 64, 9};
  for (size_t f = 0; f < families; ++f) {
    SmtKey base = rng.hash();
    keys.push_back(base);
    for (unsigned b : kLateBits) keys.push_back(flip_bit(base, b));
    keys.push_back(flip_bit(flip_bit(base, 255), 254));
  }
  return keys;
}

Bytes random_value(Rng& rng) {
  return rng.bytes(rng.below(60));
}

void fill(SparseMerkleTree& t, const Map& m) {
  for (const auto& [k, v] : m) t.put(k, v);
}

void check_same_answer(const SparseMerkleTree& t, const PartialTree& p, const SmtKey& k) {
  auto got = p.get(k);
  REQUIRE(got.ok());
  const Bytes* want = t.get(k);
  REQUIRE(got->has_value() == (want != nullptr));
  if (want) CHECK(**got == *want);
}

}  // namespace

TEST_CASE("known small trees match the reference and hand-computed roots") {
  Rng rng(7);
  SparseMerkleTree t;
  CHECK(t.root() == Hash32{});
  CHECK(t.size() == 0);
  CHECK(t.get(rng.hash()) == nullptr);
  CHECK_FALSE(t.erase(rng.hash()));

  // One leaf: the root is the leaf hash, whatever the key.
  SmtKey a = rng.hash();
  Bytes va = {1, 2, 3};
  t.put(a, va);
  CHECK(t.root() == smt_leaf_hash(a, keccak256(va)));
  CHECK(t.size() == 1);
  REQUIRE(t.get(a) != nullptr);
  CHECK(*t.get(a) == va);

  // Two leaves that split at bit 200: an internal node at depth 200 and a chain of 200 above it.
  SmtKey b = flip_bit(a, 200);
  Bytes vb = {4};
  t.put(b, vb);
  Hash32 la = smt_leaf_hash(a, keccak256(va)), lb = smt_leaf_hash(b, keccak256(vb));
  Hash32 h = smt_bit(a, 200) ? smt_internal_hash(lb, la) : smt_internal_hash(la, lb);
  for (unsigned d = 200; d-- > 0;) h = smt_bit(a, d) ? smt_internal_hash(Hash32{}, h) : smt_internal_hash(h, Hash32{});
  CHECK(t.root() == h);
  Map m = {{a, va}, {b, vb}};
  CHECK(ref_root(m) == h);

  // Leaves at depth 256 (keys differ only in the last bit), and a third key splitting the chain.
  SmtKey c = flip_bit(a, 255), d = flip_bit(a, 100);
  t.put(c, {9});
  m[c] = {9};
  CHECK(t.root() == ref_root(m));
  t.put(d, {});
  m[d] = {};
  CHECK(t.root() == ref_root(m));
  // Erasing collapses back: the remaining leaves rise to where they are alone.
  CHECK(t.erase(a));
  m.erase(a);
  CHECK(t.root() == ref_root(m));
  CHECK(t.erase(c));
  m.erase(c);
  CHECK(t.root() == ref_root(m));
  CHECK(t.erase(d));
  m.erase(d);
  CHECK(t.root() == smt_leaf_hash(b, keccak256(vb)));
  CHECK(t.erase(b));
  CHECK(t.root() == Hash32{});
  CHECK(t.size() == 0);

  // Keys that differ in bit 0 hang directly under the root.
  SparseMerkleTree u;
  SmtKey l = flip_bit(a, 0);
  u.put(a, va);
  u.put(l, vb);
  CHECK(u.root() == ref_root({{a, va}, {l, vb}}));
}

TEST_CASE("random operations: root depends only on the final key/value set") {
  Rng rng(1);
  std::vector<SmtKey> pool = key_pool(rng, 200, 10);
  SparseMerkleTree t;
  Map m;
  for (int op = 0; op < 6000; ++op) {
    const SmtKey& k = pool[rng.below(pool.size())];
    if (rng.below(10) < 6) {
      Bytes v = random_value(rng);
      m[k] = v;
      t.put(k, std::move(v));
    } else {
      CHECK(t.erase(k) == (m.erase(k) == 1));
    }
    REQUIRE(t.size() == m.size());
    const Bytes* got = t.get(k);
    REQUIRE((got != nullptr) == (m.count(k) == 1));
    if (got) REQUIRE(*got == m[k]);
    if (op % 37 == 0) REQUIRE(t.root() == ref_root(m));
  }
  CHECK(t.root() == ref_root(m));

  // The same set reached by another history: shuffled inserts of other values first, unrelated keys
  // put and erased again, then the final values.
  std::vector<std::pair<SmtKey, Bytes>> items(m.begin(), m.end());
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
  SparseMerkleTree u;
  std::vector<SmtKey> unrelated;
  for (size_t i = 0; i < items.size(); ++i) {
    u.put(items[i].first, rng.bytes(5));
    if (i % 3 == 0) {
      unrelated.push_back(flip_bit(items[i].first, 250));
      if (!m.count(unrelated.back())) u.put(unrelated.back(), {1});
    }
  }
  (void)u.root();
  for (const auto& [k, v] : items) u.put(k, v);
  for (const SmtKey& k : unrelated)
    if (!m.count(k)) u.erase(k);
  CHECK(u.size() == m.size());
  CHECK(u.root() == t.root());
}

TEST_CASE("random operations: a second history with extra keys erased gives the same root") {
  Rng rng(2);
  std::vector<SmtKey> pool = key_pool(rng, 150, 12);
  Map m;
  for (const SmtKey& k : pool)
    if (rng.coin()) m[k] = random_value(rng);
  SparseMerkleTree a, b;
  fill(a, m);
  // b: every pool key put (in reverse), those not in m erased again, with roots taken in between so
  // the cached hashes are exercised across structure changes.
  for (auto it = pool.rbegin(); it != pool.rend(); ++it) {
    b.put(*it, rng.bytes(3));
    if (rng.below(8) == 0) (void)b.root();
  }
  for (const SmtKey& k : pool) {
    if (m.count(k)) {
      b.put(k, m[k]);
    } else {
      CHECK(b.erase(k));
    }
    if (rng.below(8) == 0) (void)b.root();
  }
  CHECK(a.size() == m.size());
  CHECK(b.size() == m.size());
  CHECK(a.root() == ref_root(m));
  CHECK(b.root() == a.root());
}

TEST_CASE("hash_count: each dirty node hashed once per batch") {
  Rng rng(3);
  SparseMerkleTree t;
  SmtKey a = rng.hash();
  t.put(a, {1});
  t.put(flip_bit(a, 200), {2});
  (void)t.root();
  CHECK(t.hash_count() == 2 + 2 + 201);  // 2 values, 2 leaves, 201 internal nodes
  (void)t.root();
  CHECK(t.hash_count() == 205);  // nothing dirty, nothing hashed

  Map m;
  std::vector<SmtKey> pool = key_pool(rng, 2000, 20);
  for (const SmtKey& k : pool) m[k] = random_value(rng);
  SparseMerkleTree u;
  fill(u, m);
  (void)u.root();

  // Updating a key twice before root() costs the same as once; putting the same value costs nothing.
  SmtKey k = pool[17];
  uint64_t c0 = u.hash_count();
  u.put(k, {1, 1});
  (void)u.root();
  uint64_t once = u.hash_count() - c0;
  c0 = u.hash_count();
  u.put(k, {2, 2});
  u.put(k, {3, 3});
  (void)u.root();
  CHECK(u.hash_count() - c0 == once);
  c0 = u.hash_count();
  u.put(k, {3, 3});
  (void)u.root();
  CHECK(u.hash_count() == c0);
  m[k] = {3, 3};

  // A batch of updates: exactly one value hash and one leaf hash per updated key plus one hash per
  // internal node on the union of their paths (counted here on the naive reference).
  std::set<SmtKey> updated;
  for (int i = 0; i < 300; ++i) updated.insert(pool[rng.below(pool.size())]);
  std::set<std::pair<unsigned, SmtKey>> internal_nodes;  // (depth, key with bits >= depth cleared)
  for (const SmtKey& key : updated) {
    for (unsigned d = 0;; ++d) {
      // the subtree at depth d on key's path: keys sharing bits [0, d)
      SmtKey lo = key, hi = key;
      for (unsigned bit = d; bit < 256; ++bit) {
        if (smt_bit(lo, bit)) lo = flip_bit(lo, bit);
        if (!smt_bit(hi, bit)) hi = flip_bit(hi, bit);
      }
      auto n = std::distance(m.lower_bound(lo), m.upper_bound(hi));
      if (n < 2) break;
      internal_nodes.insert({d, lo});
    }
  }
  c0 = u.hash_count();
  for (const SmtKey& key : updated) {
    Bytes v = rng.bytes(12);
    m[key] = v;
    u.put(key, v);
    u.put(key, std::move(v));  // twice: still one rehash
  }
  CHECK(u.root() == ref_root(m));
  CHECK(u.hash_count() - c0 == 2 * updated.size() + internal_nodes.size());
}

TEST_CASE("single proofs: present and absent keys verify, nothing else does") {
  Rng rng(4);
  std::vector<SmtKey> pool = key_pool(rng, 300, 10);
  Map m;
  SparseMerkleTree t;
  for (const SmtKey& k : pool) {
    m[k] = random_value(rng);
    t.put(k, m[k]);
  }
  Hash32 root = t.root();
  CHECK(root == ref_root(m));
  Hash32 wrong_root = root;
  wrong_root[5] ^= 1;

  std::vector<SmtKey> absent;
  for (int i = 0; i < 40; ++i) absent.push_back(rng.hash());
  // absent keys next to present ones: diverging in a chain, at the bottom, in the last bit
  for (size_t i = 0; i < pool.size(); i += 23) {
    for (unsigned bit : {100u, 201u, 253u, 255u}) {
      SmtKey k = flip_bit(pool[i], bit);
      if (!m.count(k)) absent.push_back(k);
    }
  }
  int seen_end[3] = {0, 0, 0};
  auto check_one = [&](const SmtKey& k, bool deep_flips) {
    SmtProof p = t.prove(k);
    seen_end[static_cast<int>(p.end)]++;
    const Bytes* v = t.get(k);
    std::optional<ByteView> value;
    if (v) value = ByteView(*v);
    REQUIRE(verify_proof(root, k, value, p));
    CHECK_FALSE(verify_proof(wrong_root, k, value, p));
    // the other answer never verifies
    if (v) {
      CHECK_FALSE(verify_proof(root, k, std::nullopt, p));
      Bytes other = *v;
      other.push_back(0);
      CHECK_FALSE(verify_proof(root, k, ByteView(other), p));
      for (size_t i = 0; i < v->size() * 8; ++i) {
        Bytes f = *v;
        f[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
        REQUIRE_FALSE(verify_proof(root, k, ByteView(f), p));
      }
    } else {
      Bytes any = {0};
      CHECK_FALSE(verify_proof(root, k, ByteView(any), p));
      CHECK_FALSE(verify_proof(root, k, ByteView(), p));
    }
    // a membership proof does not serve a neighbouring key
    if (v) CHECK_FALSE(verify_proof(root, flip_bit(k, 255), value, p));

    Bytes enc = p.encode();
    auto dec = SmtProof::decode(enc);
    REQUIRE(dec.ok());
    CHECK(dec->encode() == enc);
    CHECK(verify_proof(root, k, value, *dec));
    for (size_t n = 0; n < enc.size(); ++n) CHECK_FALSE(SmtProof::decode(ByteView(enc.data(), n)).ok());
    Bytes longer = enc;
    longer.push_back(0);
    CHECK_FALSE(SmtProof::decode(longer).ok());
    if (!deep_flips) return;
    // Every bit of short proofs; every byte (changed at random) of the deep ones, whose 256 levels
    // would make the bit-by-bit loop slow.
    const bool every_bit = enc.size() <= 1200;
    for (size_t i = 0; i < enc.size() * (every_bit ? 8 : 1); ++i) {
      Bytes f = enc;
      if (every_bit) {
        f[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
      } else {
        f[i] = static_cast<uint8_t>(f[i] ^ (1 + rng.below(255)));
      }
      auto d = SmtProof::decode(f);
      if (d.ok()) REQUIRE_FALSE(verify_proof(root, k, value, *d));
    }
  };
  for (size_t i = 0; i < pool.size(); i += 7) check_one(pool[i], i % 5 == 0);
  for (size_t i = 0; i < absent.size(); ++i) check_one(absent[i], i % 4 == 0);
  CHECK(seen_end[0] > 0);  // membership
  CHECK(seen_end[1] > 0);  // ends at an empty subtree
  CHECK(seen_end[2] > 0);  // ends at another leaf

  // Empty tree: the empty proof shows every key absent.
  SparseMerkleTree e;
  SmtProof pe = e.prove(pool[0]);
  CHECK(pe.siblings.empty());
  CHECK(verify_proof(Hash32{}, pool[0], std::nullopt, pe));
}

TEST_CASE("single proofs: structural checks of the verifier and the decoder") {
  Rng rng(5);
  // A dishonest "tree": a leaf whose key starts with bit 1 placed on the left. Hashes fold to this root,
  // but the leaf cannot show that a left key (bit 0 = 0) is absent: its path does not match.
  SmtKey l = rng.hash(), r = rng.hash();
  l[0] |= 0x80;
  r[0] |= 0x80;
  Hash32 lh = smt_leaf_hash(l, keccak256(Bytes{1})), rh = smt_leaf_hash(r, keccak256(Bytes{2}));
  Hash32 bad_root = smt_internal_hash(lh, rh);
  SmtKey k = rng.hash();
  k[0] &= 0x7F;
  SmtProof p;
  p.siblings = {rh};
  p.end = SmtProof::End::kOtherLeaf;
  p.other_key = l;
  p.other_value_hash = keccak256(Bytes{1});
  CHECK_FALSE(verify_proof(bad_root, k, std::nullopt, p));
  // other_key equal to the key is membership, not absence
  SmtProof self;
  self.end = SmtProof::End::kOtherLeaf;
  self.other_key = k;
  self.other_value_hash = keccak256(Bytes{1});
  CHECK_FALSE(verify_proof(smt_leaf_hash(k, self.other_value_hash), k, std::nullopt, self));
  // internal(empty, empty) and internal(leaf, empty) are refused even when they hash to the root
  SmtProof empty_pair;
  empty_pair.siblings = {Hash32{}};
  CHECK_FALSE(verify_proof(smt_internal_hash(Hash32{}, Hash32{}), k, std::nullopt, empty_pair));
  SmtProof lone;
  lone.siblings = {Hash32{}};
  lone.end = SmtProof::End::kLeaf;
  CHECK_FALSE(verify_proof(smt_internal_hash(smt_leaf_hash(k, keccak256(Bytes{})), Hash32{}), k, ByteView(), lone));
  // more than 256 siblings
  SmtProof deep;
  deep.siblings.assign(257, rng.hash());
  CHECK_FALSE(verify_proof(rng.hash(), k, std::nullopt, deep));
  CHECK_FALSE(SmtProof::decode(deep.encode()).ok());
  // bad end tag, huge counts, garbage
  CHECK_FALSE(SmtProof::decode(hex("0300000000")).ok());
  CHECK_FALSE(SmtProof::decode(hex("01ffffffff")).ok());
  CHECK_FALSE(SmtProof::decode(hex("")).ok());
  CHECK(SmtProof::decode(hex("0100000000")).ok());
  for (int i = 0; i < 5000; ++i) {
    Bytes g = rng.bytes(rng.below(200));
    auto d = SmtProof::decode(g);
    if (d.ok()) CHECK_FALSE(verify_proof(rng.hash(), k, std::nullopt, *d));
  }
}

TEST_CASE("multiproofs: byte-identical to the reference builder, same answers, same roots after updates") {
  Rng rng(6);
  std::vector<SmtKey> pool = key_pool(rng, 250, 12);
  Map base;
  for (const SmtKey& k : pool)
    if (rng.below(4) != 0) base[k] = random_value(rng);
  std::vector<SmtKey> present(pool.size());
  present.clear();
  for (const auto& [k, v] : base) present.push_back(k);

  int total_ops = 0, not_covered = 0, hidden = 0;
  for (int trial = 0; trial < 150; ++trial) {
    Map m = base;
    SparseMerkleTree t;
    fill(t, m);
    // A subset: present keys, absent pool keys, fresh random keys, keys next to present ones, duplicates.
    std::vector<SmtKey> keys;
    size_t n = 1 + rng.below(trial % 10 == 0 ? 60 : 12);
    for (size_t i = 0; i < n; ++i) {
      switch (rng.below(5)) {
        case 0:
        case 1: keys.push_back(present[rng.below(present.size())]); break;
        case 2: keys.push_back(pool[rng.below(pool.size())]); break;
        case 3: keys.push_back(rng.hash()); break;
        default: keys.push_back(flip_bit(present[rng.below(present.size())], 180 + rng.below(76))); break;
      }
      if (rng.below(6) == 0) keys.push_back(keys.back());
    }
    Bytes proof = t.prove_many(keys);
    REQUIRE(proof == ref_prove_many(m, keys));
    auto parsed = PartialTree::from_proof(t.root(), proof);
    REQUIRE(parsed.ok());
    PartialTree& p = *parsed;
    CHECK(p.root() == t.root());
    for (const SmtKey& k : keys) check_same_answer(t, p, k);
    // Other keys: either answered correctly, or refused as not covered / not revealed.
    for (int i = 0; i < 20; ++i) {
      SmtKey k = rng.coin() ? rng.hash() : present[rng.below(present.size())];
      auto got = p.get(k);
      if (got.ok()) {
        const Bytes* want = t.get(k);
        REQUIRE(got->has_value() == (want != nullptr));
        if (want) CHECK(**got == *want);
      } else if (got.error() == ProofError::kNotCovered) {
        ++not_covered;
      } else {
        REQUIRE(got.error() == ProofError::kValueNotRevealed);
        REQUIRE(t.get(k) != nullptr);
        ++hidden;
      }
    }
    // Random puts and erases of covered keys on both trees; the roots stay equal. Erasing revealed
    // keys in any order never needs more witness.
    for (int op = 0; op < 40; ++op) {
      const SmtKey& k = keys[rng.below(keys.size())];
      if (rng.below(10) < 5) {
        Bytes v = random_value(rng);
        REQUIRE(p.put(k, v).ok());
        m[k] = v;
        t.put(k, std::move(v));
      } else {
        auto s = p.erase(k);
        REQUIRE(s.ok());
        t.erase(k);
        m.erase(k);
      }
      ++total_ops;
      REQUIRE(p.root() == t.root());
      check_same_answer(t, p, k);
    }
    CHECK(t.root() == ref_root(m));
    // Erase everything covered: the tree may empty out entirely.
    for (const SmtKey& k : keys) {
      REQUIRE(p.erase(k).ok());
      t.erase(k);
    }
    CHECK(p.root() == t.root());
  }
  CHECK(total_ops == 150 * 40);
  CHECK(not_covered > 100);
  CHECK(hidden > 0);
}

TEST_CASE("multiproofs: erasing sibling leaves needs the wider opening rule") {
  Rng rng(8);
  Map m;
  for (int i = 0; i < 64; ++i) m[rng.hash()] = random_value(rng);
  SmtKey a = rng.hash();
  SmtKey b = flip_bit(a, 255);  // a and b are two leaves under one node at depth 255
  m[a] = {1};
  m[b] = {2};
  // Beside their chain at depth 11, a subtree of two leaves, which the proof gives by hash.
  SmtKey c = flip_bit(a, 10);
  m[c] = {3};
  m[flip_bit(c, 200)] = {4};
  SparseMerkleTree t;
  fill(t, m);
  Hash32 root = t.root();
  std::vector<SmtKey> keys = {a, b};

  // With only "open a revealed leaf's sibling", erasing a then b reaches internal(empty, 0x01): the
  // verifier cannot tell whether that hash is one leaf (which would rise) and refuses.
  auto narrow = PartialTree::from_proof(root, ref_prove_many(m, keys, false));
  REQUIRE(narrow.ok());
  REQUIRE(narrow->erase(a).ok());
  auto s = narrow->erase(b);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error() == ProofError::kNeedsSibling);
  // and refusing changed nothing
  t.erase(a);
  CHECK(narrow->root() == t.root());

  // prove_many opens the sibling of the fully revealed pair, so both erase in either order.
  SparseMerkleTree u;
  fill(u, m);
  for (int order = 0; order < 2; ++order) {
    auto wide = PartialTree::from_proof(root, u.prove_many(keys));
    REQUIRE(wide.ok());
    REQUIRE(wide->erase(keys[order]).ok());
    REQUIRE(wide->erase(keys[1 - order]).ok());
    Map after = m;
    after.erase(a);
    after.erase(b);
    CHECK(wide->root() == ref_root(after));
  }

  // An absent key whose path ends in a chain's empty side: put it, erase it again. The opaque node
  // beside the empty slot is internal by the compaction rule, so no further opening is needed.
  SmtKey d = flip_bit(a, 100);
  auto pc = PartialTree::from_proof(root, u.prove_many(std::vector<SmtKey>{d}));
  REQUIRE(pc.ok());
  REQUIRE(pc->put(d, Bytes{7}).ok());
  REQUIRE(pc->erase(d).ok());
  CHECK(pc->root() == root);
}

TEST_CASE("multiproofs: hidden leaves, not covered keys, empty tree") {
  Rng rng(9);
  SparseMerkleTree empty;
  SmtKey k = rng.hash();
  Bytes proof = empty.prove_many(std::vector<SmtKey>{k});
  CHECK(proof == hex("00"));
  auto pe = PartialTree::from_proof(Hash32{}, proof);
  REQUIRE(pe.ok());
  CHECK_FALSE(pe->get(k)->has_value());
  REQUIRE(pe->put(k, Bytes{5}).ok());
  CHECK(pe->root() == smt_leaf_hash(k, keccak256(Bytes{5})));
  PartialTree fresh;
  CHECK(fresh.root() == Hash32{});
  CHECK_FALSE(fresh.get(k)->has_value());

  Map m;
  for (int i = 0; i < 100; ++i) m[rng.hash()] = random_value(rng);
  SmtKey present = m.begin()->first;
  SmtKey neighbour = flip_bit(present, 255);  // absent; its path ends at `present`'s leaf
  SparseMerkleTree t;
  fill(t, m);
  auto p = PartialTree::from_proof(t.root(), t.prove_many(std::vector<SmtKey>{neighbour}));
  REQUIRE(p.ok());
  CHECK_FALSE(p->get(neighbour)->has_value());
  auto hidden = p->get(present);
  REQUIRE_FALSE(hidden.ok());
  CHECK(hidden.error() == ProofError::kValueNotRevealed);
  auto far = p->get(std::prev(m.end())->first);
  REQUIRE_FALSE(far.ok());
  CHECK(far.error() == ProofError::kNotCovered);
  CHECK(p->put(std::prev(m.end())->first, Bytes{1}).error() == ProofError::kNotCovered);
  CHECK(p->erase(std::prev(m.end())->first).error() == ProofError::kNotCovered);
  // Overwriting a hidden leaf of the same key is allowed, and splitting against it too.
  REQUIRE(p->put(present, Bytes{8, 8}).ok());
  t.put(present, Bytes{8, 8});
  CHECK(p->root() == t.root());
  REQUIRE(p->put(neighbour, Bytes{9}).ok());
  t.put(neighbour, Bytes{9});
  CHECK(p->root() == t.root());
  CHECK(**p->get(present) == Bytes{8, 8});
}

TEST_CASE("multiproofs: hand-made hostile proofs get the right error") {
  Rng rng(10);
  auto fails = [](ByteView proof, ProofError e, const Hash32& root = Hash32{}) {
    auto r = PartialTree::from_proof(root, proof);
    REQUIRE_FALSE(r.ok());
    CHECK(to_string(r.error()) == std::string(to_string(e)));
  };
  SmtKey left = rng.hash(), right = rng.hash();
  left[0] &= 0x7F;
  right[0] |= 0x80;
  Hash32 vh = keccak256(Bytes{1});
  auto leaf_hash_node = [&](const SmtKey& k) { return Writer().u8(2).fixed(k).fixed(vh).take(); };
  auto cat = [](std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& b : parts) append(out, b);
    return out;
  };
  Hash32 good_root = smt_internal_hash(smt_leaf_hash(left, vh), smt_leaf_hash(right, vh));
  Bytes good = cat({{4}, leaf_hash_node(left), leaf_hash_node(right)});
  CHECK(PartialTree::from_proof(good_root, good).ok());
  fails(good, ProofError::kRootMismatch, rng.hash());
  fails(cat({good, {0}}), ProofError::kMalformed, good_root);
  fails(cat({{4}, leaf_hash_node(right), leaf_hash_node(left)}), ProofError::kMisplacedLeaf);
  fails(hex("040000"), ProofError::kNonCanonical);
  fails(cat({{4, 0}, leaf_hash_node(right)}), ProofError::kNonCanonical);
  fails(cat({{1}, Bytes(32, 0)}), ProofError::kNonCanonical);
  Bytes revealed_left = Writer().u8(3).fixed(left).var_bytes(Bytes{1}).take();
  fails(cat({{4}, revealed_left, {1}, rng.bytes(32)}), ProofError::kNonCanonical);
  fails(hex("05"), ProofError::kMalformed);
  fails(hex(""), ProofError::kMalformed);
  // Lengths: above the cap, or longer than what is left, are refused before anything is allocated.
  fails(cat({Writer().u8(3).fixed(left).u32(kSmtMaxProofValue + 1).take(), Bytes(100, 7)}), ProofError::kMalformed);
  fails(cat({Writer().u8(3).fixed(left).u32(0xFFFFFFFF).take(), Bytes(100, 7)}), ProofError::kMalformed);
  fails(cat({Writer().u8(3).fixed(left).u32(1000).take(), Bytes(10, 7)}), ProofError::kMalformed);
  fails(Bytes{3, 1, 2}, ProofError::kMalformed);
  // Depth: internal nodes exist down to depth 255 only.
  fails(Bytes(257, 4), ProofError::kTooDeep);
  fails(cat({Bytes(256, 4), {1}, rng.bytes(32)}), ProofError::kTooDeep);
  fails(Bytes(300, 4), ProofError::kTooDeep);
  // A value at the cap is fine (root mismatch only).
  fails(Writer().u8(3).fixed(left).var_bytes(Bytes(kSmtMaxProofValue, 1)).take(), ProofError::kRootMismatch,
        rng.hash());
  CHECK(std::string(to_string(ProofError::kNeedsSibling)).size() > 0);
}

TEST_CASE("multiproofs: flipped bits, truncations and garbage are never accepted") {
  Rng rng(11);
  std::vector<SmtKey> pool = key_pool(rng, 300, 8);
  Map m;
  for (const SmtKey& k : pool)
    if (rng.coin()) m[k] = random_value(rng);
  SparseMerkleTree t;
  fill(t, m);
  Hash32 root = t.root();
  std::vector<SmtKey> present;
  for (const auto& [k, v] : m) present.push_back(k);

  auto no_false_accept = [&](const Bytes& proof, const std::vector<SmtKey>& keys) {
    auto r = PartialTree::from_proof(root, proof);
    if (!r.ok()) return;
    // Decoded and matched the root: it must then be the same tree, with the same answers.
    for (const SmtKey& k : keys) {
      auto got = r->get(k);
      if (got.ok()) {
        const Bytes* want = t.get(k);
        REQUIRE(got->has_value() == (want != nullptr));
        if (want) REQUIRE(**got == *want);
      }
    }
    FAIL("a modified multiproof was accepted");
  };
  for (int trial = 0; trial < 6; ++trial) {
    std::vector<SmtKey> keys;
    for (int i = 0; i < 1 + trial * 2; ++i) keys.push_back(present[rng.below(present.size())]);
    keys.push_back(rng.hash());
    keys.push_back(flip_bit(present[rng.below(present.size())], 254));
    Bytes proof = t.prove_many(keys);
    REQUIRE(PartialTree::from_proof(root, proof).ok());
    for (size_t i = 0; i < proof.size(); ++i) {
      // every byte changed, and (on the smaller proofs) every single bit
      Bytes f = proof;
      f[i] = static_cast<uint8_t>(f[i] ^ (1 + rng.below(255)));
      no_false_accept(f, keys);
      if (trial < 3) {
        for (int bit = 0; bit < 8; ++bit) {
          Bytes g = proof;
          g[i] ^= static_cast<uint8_t>(1 << bit);
          no_false_accept(g, keys);
        }
      }
    }
    for (size_t n = 0; n < proof.size(); ++n) {
      auto r = PartialTree::from_proof(root, ByteView(proof.data(), n));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error() == ProofError::kMalformed);
    }
    Bytes longer = proof;
    longer.push_back(0);
    CHECK(PartialTree::from_proof(root, longer).error() == ProofError::kMalformed);
  }
  // Garbage: random bytes, and random sequences of valid tags (which get past the first byte).
  for (int i = 0; i < 20000; ++i) {
    Bytes g;
    if (i % 2 == 0) {
      g = rng.bytes(rng.below(300));
    } else {
      size_t parts = rng.below(40);
      for (size_t j = 0; j < parts; ++j) {
        uint8_t tag = static_cast<uint8_t>(rng.below(5));
        g.push_back(tag);
        if (tag == 1) append(g, rng.bytes(32));
        if (tag == 2) append(g, rng.bytes(64));
        if (tag == 3) {
          append(g, rng.bytes(32));
          uint32_t len = static_cast<uint32_t>(rng.below(3) == 0 ? rng.next() : rng.below(50));
          append_be32(g, len);
          append(g, rng.bytes(rng.below(60)));
        }
      }
    }
    auto r = PartialTree::from_proof(root, g);
    CHECK_FALSE(r.ok());
  }
}
