// Property test over thousands of random transaction sequences (seeded): after every step
//  (1) collateral is conserved exactly,
//  (2) re-executing the step over a WitnessState built from a multiproof of its key set against the
//      pre-root gives exactly the same receipt and post-root as the full state,
//  (3) a witness with any one key left out is refused as missing (or, where the proof still covers
//      that key's path, gives the very same result) — never a different result,
//  (4) results are identical with and without the sequencer's signature cache.
#include <doctest/doctest.h>

#include <map>

#include "engine/core/keccak.h"
#include "engine/risk/margin.h"
#include "tests/stf/stf_fixture.h"

using namespace opt;
using namespace opt::test;

namespace {

class MapSigCache : public SigCache {
 public:
  std::optional<Address> lookup(const Hash32& d, const Signature& s) override {
    auto it = map_.find(d);
    if (it == map_.end() || it->second.first != s) return std::nullopt;
    ++hits;
    return it->second.second;
  }
  void insert(const Hash32& d, const Signature& s, const Address& a) override { map_[d] = {s, a}; }
  size_t hits = 0;

 private:
  std::map<Hash32, std::pair<Signature, Address>> map_;
};

struct Trader {
  PrivateKey key;
  Address address;
};

class Sim {
 public:
  explicit Sim(uint64_t seed) : rng_(seed) {
    for (size_t i = 0; i < 16; ++i) {
      PrivateKey k = i < 6 ? dev_key(i) : PrivateKey::from(keccak256(std::string_view("trader" + std::to_string(i))));
      traders_.push_back({k, *address_of(k)});
    }
    auto ladder = test_ladder();
    (void)write_genesis(cached_, ladder, kT0);
    prices_[kEth] = 3000 * kUsdc;
    prices_[kBtc] = 60000 * kUsdc;
  }

  // One random step, checked.
  void step() {
    Bytes tx = next_tx();
    StepContext ctx{w_.now()};
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
    for (const auto& t : traders_) all.push_back(t.address);
    GlobalLeaf g = w_.global();
    i128 held = w_.money_in_system(all, g.next_instrument_id);
    CHECK(held == static_cast<i128>(g.total_deposits) - g.total_withdrawals);
  }

  std::map<Code, size_t> codes_;
  size_t missing_refused_ = 0, missing_still_covered_ = 0, witness_bytes_max_ = 0;
  MapSigCache cache_;

 private:
  size_t pick() { return rng_.below(traders_.size()); }

  Signature sign_with(const Trader& t, const Hash32& digest) { return *sign(digest, t.key); }

  template <class M>
  Signature sign_msg(const Trader& t, const M& m) {
    return sign_with(t, typed_digest(w_.params().domain_separator, m));
  }

  uint64_t live_instrument() {
    uint64_t next = w_.global().next_instrument_id;
    return 1 + rng_.below(next - 1);
  }

  int64_t mark_of(uint64_t id) {
    InstrumentLeaf inst = w_.instrument(id);
    auto o = w_.oracle(inst.underlying);
    if (!o) return 10 * kUsdc;
    Position pos{id, inst.underlying, inst.strike, inst.expiry, inst.is_call, 1};
    auto m = mark_price(pos, *o, w_.now());
    return m ? std::max<int64_t>(*m, 1000) : 10 * kUsdc;
  }

  Order make_order(const Trader& t, uint64_t inst, bool buy, int64_t qty, int64_t limit) {
    uint8_t flags = 0;
    if (rng_.below(10) == 0) flags |= kReduceOnly;
    return Order{t.address, inst, buy, static_cast<uint64_t>(qty), static_cast<uint64_t>(limit), 300'000, rng_.next(),
                 w_.now() + 1 + rng_.below(7200), flags};
  }

  Bytes next_tx() {
    // Time moves on; now and then by hours, so expiries pass.
    uint64_t r = rng_.below(100);
    w_.advance(r < 2 ? 1800 + rng_.below(7200) : rng_.below(30));
    uint64_t kind = rng_.below(100);
    if (kind < 10) {
      const Trader& t = traders_[pick()];
      return encode_tx(DepositTx{inbox_++, t.address, t.address, static_cast<uint64_t>(1 + rng_.below(50'000 * kUsdc))});
    }
    if (kind < 22) {
      uint32_t u = rng_.coin() ? kEth : kBtc;
      int64_t& px = prices_[u];
      px = std::max<int64_t>(kUsdc, px + static_cast<int64_t>(rng_.below(static_cast<uint64_t>(px / 10))) - px / 20);
      uint64_t vol = 300'000 + rng_.below(1'200'000);
      w_.advance(1);
      PriceReport rep{u, static_cast<uint64_t>(px), vol, w_.now() - (rng_.below(20) == 0 ? 5000 : 0)};
      PriceReportTx t{rep, {}};
      size_t n = 1 + rng_.below(3);
      for (size_t i = 0; i < n; ++i) t.sigs.push_back(*sign(typed_digest(w_.params().domain_separator, rep), dev_key(7 + i)));
      return encode_tx(t);
    }
    if (kind < 62) {  // trades, mostly plausible, some broken on purpose
      const Trader& a = traders_[pick()];
      const Trader& b = traders_[pick()];
      uint64_t inst = live_instrument();
      int64_t mark = mark_of(inst);
      int64_t qty = static_cast<int64_t>(100'000 + rng_.below(3 * kContract));
      int64_t price = std::max<int64_t>(1, mark + static_cast<int64_t>(rng_.below(static_cast<uint64_t>(mark / 5 + 1))) - mark / 10);
      bool maker_buys = rng_.coin();
      Order mo, to;
      if (rng_.below(4) == 0 && !resting_.empty()) {
        mo = resting_[rng_.below(resting_.size())];  // fill an earlier order again
        maker_buys = mo.is_buy;
        price = static_cast<int64_t>(mo.limit_price);
      } else {
        mo = make_order(a, inst, maker_buys, qty + static_cast<int64_t>(rng_.below(2 * kContract)), price);
        resting_.push_back(mo);
      }
      to = make_order(b, mo.instrument, !maker_buys, qty, price);
      const Trader& maker = *std::find_if(traders_.begin(), traders_.end(), [&](const Trader& t) { return t.address == mo.account; });
      TradeTx t{{mo, sign_msg(maker, mo)}, {to, sign_msg(b, to)}, static_cast<uint64_t>(qty), static_cast<uint64_t>(price)};
      if (rng_.below(15) == 0) t.taker.sig[5] ^= 1;  // a broken signature
      return encode_tx(t);
    }
    if (kind < 67 && !resting_.empty()) {
      const Order& o = resting_[rng_.below(resting_.size())];
      const Trader& t = rng_.below(5) == 0 ? traders_[pick()] : *std::find_if(traders_.begin(), traders_.end(), [&](const Trader& x) { return x.address == o.account; });
      Cancel c{t.address, w_.hash_of(o)};
      return encode_tx(CancelTx{c, sign_msg(t, c)});
    }
    if (kind < 75) {
      const Trader& t = traders_[pick()];
      AccountLeaf acc = w_.account(t.address);
      Withdraw x{t.address, 1 + rng_.below(static_cast<uint64_t>(std::max<int64_t>(acc.collateral, 1))), t.address,
                 rng_.below(8) == 0 ? acc.nonce + 1 : acc.nonce};
      return encode_tx(WithdrawTx{x, sign_msg(t, x)});
    }
    if (kind < 78) {
      const Trader& t = traders_[pick()];
      return encode_tx(ForcedWithdrawTx{inbox_++, t.address, 1 + rng_.below(10'000 * kUsdc)});
    }
    if (kind < 85) {
      const Trader& liq = traders_[pick()];
      const Trader& victim = traders_[pick()];
      AccountLeaf v = w_.account(victim.address);
      uint64_t inst = v.positions.empty() ? live_instrument() : v.positions[rng_.below(v.positions.size())].instrument;
      int64_t q = v.positions.empty() ? kContract : std::abs(v.positions[0].qty);
      Liquidate l{liq.address, victim.address, inst, static_cast<uint64_t>(std::max<int64_t>(1, q / 2)),
                  w_.account(liq.address).nonce};
      return encode_tx(LiquidateTx{l, sign_msg(liq, l)});
    }
    if (kind < 88) {
      uint64_t expiry = (w_.now() / 1800 + 1 + rng_.below(8)) * 1800;
      ListInstrument l{rng_.coin() ? kEth : kBtc, (1000 + rng_.below(80) * 1000) * static_cast<uint64_t>(kUsdc), expiry, rng_.coin()};
      return encode_tx(ListInstrumentTx{l, *sign(typed_digest(w_.params().domain_separator, l), dev_key(rng_.below(12) == 0 ? 1 : 6))});
    }
    if (kind < 92) return encode_tx(ExpireTx{live_instrument()});
    if (kind < 98) {
      const Trader& t = traders_[pick()];
      AccountLeaf a = w_.account(t.address);
      uint64_t inst = a.positions.empty() ? live_instrument() : a.positions[rng_.below(a.positions.size())].instrument;
      return encode_tx(SettleTx{t.address, inst});
    }
    return rng_.bytes(rng_.below(120));
  }

  World w_;
  FullState cached_;
  Rng rng_;
  std::vector<Trader> traders_;
  std::vector<Order> resting_;
  std::map<uint32_t, int64_t> prices_;
  uint64_t inbox_ = 0;
};

}  // namespace

TEST_CASE("random sequences: conservation, witness re-execution, missing keys, signature cache") {
  size_t steps = 0, ok = 0;
  std::map<Code, size_t> codes;
  size_t refused = 0, covered = 0, witness_max = 0, cache_hits = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Sim sim(seed);
    for (int i = 0; i < 700; ++i) {
      sim.step();
      ++steps;
    }
    for (auto [c, n] : sim.codes_) codes[c] += n;
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
  CHECK(codes[Code::kUnderMargin] + codes[Code::kInsufficientCollateral] > 0);
  CHECK(codes[Code::kOverfill] > 0);
  CHECK(cache_hits > 0);
  CHECK(refused > covered);
}
