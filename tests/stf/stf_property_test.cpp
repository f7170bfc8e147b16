// Property test over thousands of random transaction sequences (seeded): after every step
//  (1) collateral is conserved exactly,
//  (2) re-executing the step over a WitnessState built from a multiproof of its key set against the
//      pre-root gives exactly the same receipt and post-root as the full state,
//  (3) a witness with any one key left out is refused as missing (or, where the proof still covers
//      that key's path, gives the very same result) — never a different result,
//  (4) results are identical with and without the sequencer's signature cache,
// and every transaction type is accepted (and so re-executed over a witness) at least once: a generator
// that stopped producing valid steps of some type would leave that type unchecked.
#include <doctest/doctest.h>

#include <map>

#include "engine/core/keccak.h"
#include "engine/risk/margin.h"
#include "tests/stf/stf_sim.h"

using namespace opt;
using namespace opt::test;

namespace {

class MapSigCache : public SigCache {
 public:
  std::optional<Entry> lookup(const SignedOrder& o) override {
    auto it = map_.find(o.sig);
    if (it == map_.end() || it->second.first != o.order) return std::nullopt;
    ++hits;
    return it->second.second;
  }
  void insert(const SignedOrder& o, const Entry& e) override { map_[o.sig] = {o.order, e}; }
  size_t hits = 0;

 private:
  std::map<Signature, std::pair<Order, Entry>> map_;
};

class Sim {
 public:
  explicit Sim(uint64_t seed) : gen_(w_, seed), rng_(seed * 7919) {
    auto ladder = test_ladder();
    (void)write_genesis(cached_, ladder, kT0);
  }
  // One random step, checked.
  void step() {
    Bytes tx = next_tx();
    StepContext ctx = w_.ctx_for(tx);
    Params& p = w_.params();

    // The key set, from a dry run over an overlay that is thrown away.
    std::vector<SmtKey> keys;
    {
      Overlay probe(w_.state());
      ApplyOptions o;
      o.touched = &keys;
      REQUIRE(apply(p, ctx, tx, probe, o).ok());
    }
    StateRoot pre = w_.state().root();
    Bytes proof = w_.state().tree().prove_many(keys);
    witness_bytes_max_ = std::max(witness_bytes_max_, proof.size());
    // A proof for the key set minus one key, also against the pre-state.
    std::vector<SmtKey> fewer = keys;
    if (!fewer.empty()) fewer.erase(fewer.begin() + static_cast<long>(rng_.below(fewer.size())));
    Bytes fewer_proof = w_.state().tree().prove_many(fewer);

    auto full = apply(p, ctx, tx, w_.state());
    REQUIRE(full.ok());
    StateRoot post = w_.state().root();
    ++codes_[full->code];
    if (full->code == Code::kOk) ++accepted_by_type_[full->type];

    auto ws = WitnessState::from_proof(pre, proof);
    REQUIRE(ws.ok());
    auto wr = apply(p, ctx, tx, *ws);
    REQUIRE(wr.ok());
    CHECK(*wr == *full);
    CHECK(ws->root() == post);

    if (!keys.empty()) {
      auto ws2 = WitnessState::from_proof(pre, fewer_proof);
      REQUIRE(ws2.ok());
      auto r2 = apply(p, ctx, tx, *ws2);
      if (r2.ok()) {
        ++missing_still_covered_;
        CHECK(*r2 == *full);
        CHECK(ws2->root() == post);
      } else {
        CHECK(r2.error() == StateError::kMissingWitness);
        ++missing_refused_;
      }
    }

    auto cr = apply(p, ctx, tx, cached_, ApplyOptions{&cache_, nullptr});
    REQUIRE(cr.ok());
    CHECK(*cr == *full);
    CHECK(cached_.root() == post);

    check_conservation();
  }

  void check_conservation() {
    std::vector<Address> all;
    for (const auto& t : gen_.traders()) all.push_back(t.address);
    GlobalLeaf g = w_.global();
    i128 held = w_.money_in_system(all, g.next_instrument_id);
    CHECK(held == static_cast<i128>(g.total_deposits) - g.total_withdrawals);
  }

  std::map<Code, size_t> codes_;
  std::map<TxType, size_t> accepted_by_type_;
  size_t missing_refused_ = 0, missing_still_covered_ = 0, witness_bytes_max_ = 0;
  MapSigCache cache_;

 private:
  Bytes next_tx() { return gen_.next_tx(); }

  World w_;
  TxGen gen_;
  Rng rng_;
  FullState cached_;
};

}  // namespace

TEST_CASE("random sequences: conservation, witness re-execution, missing keys, signature cache") {
  size_t steps = 0, ok = 0;
  std::map<Code, size_t> codes;
  std::map<TxType, size_t> accepted_by_type;
  size_t refused = 0, covered = 0, witness_max = 0, cache_hits = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Sim sim(seed);
    for (int i = 0; i < 700; ++i) {
      sim.step();
      ++steps;
    }
    for (auto [c, n] : sim.codes_) codes[c] += n;
    for (auto [t, n] : sim.accepted_by_type_) accepted_by_type[t] += n;
    refused += sim.missing_refused_;
    covered += sim.missing_still_covered_;
    witness_max = std::max(witness_max, sim.witness_bytes_max_);
    cache_hits += sim.cache_.hits;
  }
  ok = codes[Code::kOk];
  MESSAGE("steps " << steps << ", accepted " << ok << ", witness max " << witness_max << " bytes, cache hits "
                   << cache_hits << ", missing-key witnesses refused " << refused << " / still covered " << covered);
  for (auto [c, n] : codes) MESSAGE("  " << std::string(to_string(c)) << ": " << n);
  // The corpus must exercise the interesting paths, not only refusals.
  CHECK(ok > steps / 4);
  for (uint8_t t = static_cast<uint8_t>(TxType::kDeposit); t <= static_cast<uint8_t>(TxType::kForcedWithdraw); ++t) {
    const TxType type = static_cast<TxType>(t);
    MESSAGE("  accepted " << std::string(to_string(type)) << ": " << accepted_by_type[type]);
    CHECK_MESSAGE(accepted_by_type[type] > 0,
                  "no accepted " << std::string(to_string(type)) << " step was re-executed over a witness");
  }
  CHECK(codes[Code::kUnderMargin] + codes[Code::kInsufficientCollateral] > 0);
  CHECK(codes[Code::kOverfill] > 0);
  CHECK(cache_hits > 0);
  CHECK(refused > covered);
}
