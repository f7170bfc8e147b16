// Merkle proofs of the state tree (engine/state/smt.h) against a fixed small tree built at start-up.
// Invariants:
//  - SmtProof::decode is canonical (what decodes re-encodes to the input);
//  - verify_proof is sound: a proof that verifies states the truth about the key in the full tree;
//  - a multiproof PartialTree::from_proof accepts answers like the full tree for every key it covers
//    (a value, or proven absence), reports the others as not covered, and after the same updates
//    (puts and erases the partial tree accepts) has the same root as the full tree;
//  - an honest multiproof (prove_many) covers all its keys, and any sequence of updates of those keys
//    succeeds on the partial tree (never kNeedsSibling), as smt.h promises.
//
// Input: a mode byte (modulo 3), then
//   0: key selector, claim (0 absent, 1 the true value, 2 a value given next; bit 7: the key itself is
//      given next as 32 bytes), [value], then the SmtProof bytes;
//   1: op count, ops (3 bytes each), then the multiproof bytes;
//   2: a subset of the keys (one bit per key), op count, ops: the multiproof is made by prove_many.
#include <map>

#include "engine/state/smt.h"
#include "tests/fuzz/fuzz_util.h"

using namespace opt;

namespace {

struct World {
  SparseMerkleTree tree;
  Hash32 root;
  std::vector<SmtKey> keys;  // present keys first, then absent ones
  size_t present = 0;
};

World& world() {
  static World* w = [] {
    auto* w = new World;
    auto add = [&](const SmtKey& k, Bytes v) {
      w->tree.put(k, std::move(v));
      w->keys.push_back(k);
    };
    for (int i = 0; i < 40; ++i) {
      SmtKey k = keccak256("key" + std::to_string(i));
      add(k, Bytes(static_cast<size_t>(i * 3 % 70), static_cast<uint8_t>(i)));
    }
    // Keys sharing long prefixes with a present key: long chains of internal nodes (depth up to 256).
    SmtKey base = w->keys[0];
    for (unsigned bit : {255u, 254u, 200u, 130u, 64u, 9u}) {
      SmtKey k = base;
      k[bit >> 3] ^= static_cast<uint8_t>(0x80 >> (bit & 7));
      add(k, Bytes{static_cast<uint8_t>(bit)});
    }
    w->present = w->keys.size();
    for (int i = 0; i < 16; ++i) w->keys.push_back(keccak256("absent" + std::to_string(i)));
    SmtKey base2 = w->keys[1];
    for (unsigned bit : {255u, 160u, 33u, 1u, 0u}) {  // absent, but on a present key's path
      SmtKey k = base2;
      k[bit >> 3] ^= static_cast<uint8_t>(0x80 >> (bit & 7));
      w->keys.push_back(k);
    }
    w->root = w->tree.root();
    // The honest proofs verify (completeness; the fuzzer checks soundness).
    for (size_t i = 0; i < w->keys.size(); ++i) {
      const Bytes* v = w->tree.get(w->keys[i]);
      SmtProof p = w->tree.prove(w->keys[i]);
      std::optional<ByteView> claim;
      if (v) claim = ByteView(*v);
      FUZZ_CHECK(verify_proof(w->root, w->keys[i], claim, p), "an honest proof does not verify");
    }
    return w;
  }();
  return *w;
}

std::optional<Bytes> truth(const SmtKey& k) {
  const Bytes* v = world().tree.get(k);
  return v ? std::optional<Bytes>(*v) : std::nullopt;
}

struct Op {
  size_t key;
  bool erase;
  Bytes value;
};

std::vector<Op> read_ops(fuzz::Input& in, const std::vector<size_t>* only) {
  std::vector<Op> ops;
  size_t n = in.u8() % 9;
  for (size_t i = 0; i < n; ++i) {
    uint8_t sel = in.u8(), kind = in.u8(), seed = in.u8();
    size_t key = only ? (only->empty() ? SIZE_MAX : (*only)[sel % only->size()]) : sel % world().keys.size();
    if (key == SIZE_MAX) break;
    ops.push_back(Op{key, (kind & 3) == 0, Bytes(kind % 50, seed)});
  }
  return ops;
}

// Every get the partial tree answers agrees with the full tree.
void check_answers(const PartialTree& p, const char* when) {
  World& w = world();
  for (const SmtKey& k : w.keys) {
    auto r = p.get(k);
    if (r) {
      FUZZ_CHECK(*r == truth(k), "partial tree answers %s for key %s differently from the full tree (%s)",
                 r->has_value() ? "a value" : "absent", k.hex().c_str(), when);
    } else {
      FUZZ_CHECK(r.error() == ProofError::kNotCovered || r.error() == ProofError::kValueNotRevealed,
                 "get failed with %s", to_string(r.error()));
      if (r.error() == ProofError::kValueNotRevealed) FUZZ_CHECK(truth(k).has_value(), "hidden leaf of an absent key");
    }
  }
}

// Applies the ops the partial tree accepts to both trees, comparing roots after each, then undoes them
// on the full tree. `must_succeed`: every op must be accepted (honest proofs).
void run_ops(PartialTree& p, const std::vector<Op>& ops, bool must_succeed) {
  World& w = world();
  std::vector<std::pair<SmtKey, std::optional<Bytes>>> undo;
  for (const Op& op : ops) {
    const SmtKey& k = w.keys[op.key];
    auto s = op.erase ? p.erase(k) : p.put(k, op.value);
    if (must_succeed)
      FUZZ_CHECK(s.ok(), "an update of a key an honest multiproof covers failed: %s", to_string(s.error()));
    if (!s) continue;
    undo.emplace_back(k, truth(k));
    if (op.erase)
      w.tree.erase(k);
    else
      w.tree.put(k, op.value);
    FUZZ_CHECK(p.root() == w.tree.root(), "after %s of %s the partial tree's root differs from the full tree's",
               op.erase ? "erase" : "put", k.hex().c_str());
  }
  check_answers(p, "after updates");
  for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
    if (it->second)
      w.tree.put(it->first, *it->second);
    else
      w.tree.erase(it->first);
  }
  FUZZ_CHECK(w.tree.root() == w.root, "undoing the updates did not restore the full tree's root");
}

void single(fuzz::Input& in) {
  World& w = world();
  uint8_t sel = in.u8(), claim_kind = in.u8();
  SmtKey key = w.keys[sel % w.keys.size()];
  std::optional<Bytes> given;
  if (claim_kind & 0x80) key = in.fixed<32, HashTag>();
  if ((claim_kind & 3) == 2) given = in.bytes(255);
  ByteView bytes = in.rest();
  auto p = SmtProof::decode(bytes);
  if (!p) return;
  FUZZ_CHECK(p->encode() == Bytes(bytes.begin(), bytes.end()), "SmtProof::decode accepted a non-canonical encoding");
  std::optional<Bytes> claim;
  if ((claim_kind & 3) == 1) claim = truth(key);
  if ((claim_kind & 3) == 2) claim = given;
  std::optional<ByteView> cv;
  if (claim) cv = ByteView(*claim);
  if (verify_proof(w.root, key, cv, *p)) {
    FUZZ_CHECK(claim == truth(key), "verify_proof accepted a false claim (%s) about key %s",
               claim ? "a value" : "absent", key.hex().c_str());
  }
}

void multi(fuzz::Input& in) {
  std::vector<Op> ops = read_ops(in, nullptr);
  auto p = PartialTree::from_proof(world().root, in.rest());
  if (!p) return;
  check_answers(*p, "from the proof");
  run_ops(*p, ops, false);
}

void honest(fuzz::Input& in) {
  World& w = world();
  std::vector<size_t> subset;
  std::vector<SmtKey> keys;
  for (size_t i = 0; i < w.keys.size(); i += 8) {
    uint8_t bits = in.u8();
    for (size_t j = 0; j < 8 && i + j < w.keys.size(); ++j) {
      if (bits >> j & 1) {
        subset.push_back(i + j);
        keys.push_back(w.keys[i + j]);
      }
    }
  }
  std::vector<Op> ops = read_ops(in, &subset);
  Bytes proof = w.tree.prove_many(keys);
  auto p = PartialTree::from_proof(w.root, proof);
  FUZZ_CHECK(p.ok(), "an honest multiproof is refused: %s", to_string(p.error()));
  for (const SmtKey& k : keys) {
    auto r = p->get(k);
    FUZZ_CHECK(r.ok(), "an honest multiproof does not cover one of its keys: %s", to_string(r.error()));
  }
  check_answers(*p, "honest proof");
  run_ops(*p, ops, true);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  World& w = world();
  if (!std::getenv("OPT_FUZZ_SEEDS_OUT")) return 0;
  for (size_t i = 0; i < w.keys.size(); i += 3) {
    Bytes s{0, static_cast<uint8_t>(i), static_cast<uint8_t>(i < w.present ? 1 : 0)};
    append(s, w.tree.prove(w.keys[i]).encode());
    fuzz::write_seed(s);
  }
  for (size_t start = 0; start < w.keys.size(); start += 13) {
    std::vector<SmtKey> keys;
    for (size_t i = start; i < w.keys.size(); i += 5) keys.push_back(w.keys[i]);
    Bytes s{1, 3, static_cast<uint8_t>(start),      1, 7, static_cast<uint8_t>(start + 5),
            0, 0, static_cast<uint8_t>(start + 10), 2, 9};
    append(s, w.tree.prove_many(keys));
    fuzz::write_seed(s);
  }
  fuzz::write_seed(Bytes{2, 0xff, 0, 0x11, 0, 0x80, 0, 0, 0, 0, 0, 4, 0, 0, 1, 1, 1, 2, 2, 0, 3, 0, 5});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  switch (in.u8() % 3) {
    case 0: single(in); break;
    case 1: multi(in); break;
    default: honest(in); break;
  }
  return 0;
}
