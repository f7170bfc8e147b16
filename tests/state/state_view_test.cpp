// The StateView implementations: FullState's journal (the replaced value moves into it), the Overlay's
// buffering, its touched-key set and its commit that skips unchanged values, and WitnessState reads.
#include <doctest/doctest.h>

#include <map>

#include "engine/state/state.h"
#include "tests/test_util.h"

using namespace opt;
using namespace opt::test;

namespace {

Bytes value_of(uint64_t i) {
  return Bytes{static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8), 7};
}

std::optional<Bytes> read(StateView& s, const SmtKey& k) {
  auto v = s.get(k);
  REQUIRE(v.ok());
  if (!*v) return std::nullopt;
  return Bytes((*v)->begin(), (*v)->end());
}

}  // namespace

TEST_CASE("SparseMerkleTree::exchange hands back the replaced value and updates like put") {
  Rng rng(5);
  SparseMerkleTree a, b;
  std::map<SmtKey, Bytes> model;
  std::vector<SmtKey> keys;
  for (int i = 0; i < 200; ++i) keys.push_back(rng.hash());
  for (int i = 0; i < 2000; ++i) {
    const SmtKey& k = keys[rng.below(keys.size())];
    Bytes v = value_of(rng.below(5));
    auto old = a.exchange(k, v);
    b.put(k, v);
    auto it = model.find(k);
    if (it == model.end()) {
      CHECK_FALSE(old.has_value());
    } else {
      REQUIRE(old.has_value());
      CHECK(*old == it->second);
    }
    model[k] = v;
    if (i % 100 == 0) CHECK(a.root() == b.root());
  }
  CHECK(a.root() == b.root());
  CHECK(a.size() == model.size());
}

TEST_CASE("FullState: revert_to restores values and root after puts of new and existing keys") {
  Rng rng(6);
  FullState s;
  std::vector<SmtKey> keys;
  for (int i = 0; i < 50; ++i) {
    keys.push_back(rng.hash());
    REQUIRE(s.put(keys.back(), value_of(i)).ok());
  }
  StateRoot before = s.root();
  size_t m = s.mark();
  for (int i = 0; i < 300; ++i) {
    SmtKey k = rng.below(3) == 0 ? rng.hash() : keys[rng.below(keys.size())];
    REQUIRE(s.put(k, value_of(1000 + i)).ok());
  }
  CHECK(s.root() != before);
  REQUIRE(s.revert_to(m));
  CHECK(s.root() == before);
  CHECK(s.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) CHECK(read(s, keys[i]) == value_of(i));
}

TEST_CASE("Overlay: buffers writes, records touched keys, commits only changed values") {
  Rng rng(7);
  FullState base;
  SmtKey a = rng.hash(), b = rng.hash(), c = rng.hash(), absent = rng.hash();
  REQUIRE(base.put(a, value_of(1)).ok());
  REQUIRE(base.put(b, value_of(2)).ok());
  const StateRoot root0 = base.root();
  const size_t mark0 = base.mark();

  Overlay ov(base);
  CHECK(read(ov, a) == value_of(1));
  CHECK_FALSE(read(ov, absent).has_value());
  REQUIRE(ov.put(a, value_of(1)).ok());  // rewritten unchanged
  REQUIRE(ov.put(b, value_of(20)).ok());
  REQUIRE(ov.put(c, value_of(30)).ok());
  CHECK(read(ov, b) == value_of(20));  // the overlay answers with its own writes
  CHECK(read(ov, c) == value_of(30));
  CHECK(read(base, b) == value_of(2));  // the base is untouched until commit
  CHECK(base.root() == root0);

  std::vector<SmtKey> want{a, b, c, absent};
  std::sort(want.begin(), want.end());
  CHECK(ov.touched() == want);

  REQUIRE(ov.commit().ok());
  CHECK(base.mark() == mark0 + 2);  // b and c; a's unchanged value is not written back
  CHECK(read(base, a) == value_of(1));
  CHECK(read(base, b) == value_of(20));
  CHECK(read(base, c) == value_of(30));
  REQUIRE(base.revert_to(mark0));
  CHECK(base.root() == root0);
}

TEST_CASE("Overlay: discard drops writes but keeps the keys read; nested overlays see outer writes") {
  Rng rng(8);
  FullState base;
  SmtKey a = rng.hash(), b = rng.hash();
  REQUIRE(base.put(a, value_of(1)).ok());
  Overlay outer(base);
  REQUIRE(outer.put(b, value_of(2)).ok());
  {
    Overlay inner(static_cast<StateView&>(outer));
    CHECK(read(inner, b) == value_of(2));
    REQUIRE(inner.put(a, value_of(3)).ok());
    REQUIRE(inner.commit().ok());
  }
  CHECK(read(outer, a) == value_of(3));
  outer.discard();
  CHECK(read(outer, a) == value_of(1));
  CHECK_FALSE(read(outer, b).has_value());
  std::vector<SmtKey> want{a, b};
  std::sort(want.begin(), want.end());
  CHECK(outer.touched() == want);  // b was read (absent) after the discard
}

TEST_CASE("WitnessState: reads what the proof covers, refuses what it does not") {
  Rng rng(9);
  FullState full;
  std::vector<SmtKey> keys;
  for (int i = 0; i < 64; ++i) {
    keys.push_back(rng.hash());
    REQUIRE(full.put(keys.back(), value_of(i)).ok());
  }
  SmtKey absent = rng.hash();
  std::vector<SmtKey> covered{keys[3], keys[40], absent};
  Bytes proof = full.tree().prove_many(covered);
  auto ws = WitnessState::from_proof(full.root(), proof);
  REQUIRE(ws.ok());
  CHECK(read(*ws, keys[3]) == value_of(3));
  CHECK(read(*ws, keys[40]) == value_of(40));
  CHECK_FALSE(read(*ws, absent).has_value());
  auto missing = ws->get(keys[10]);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error() == StateError::kMissingWitness);
  REQUIRE(ws->put(keys[3], value_of(99)).ok());
  REQUIRE(full.put(keys[3], value_of(99)).ok());
  CHECK(ws->root() == full.root());
}
