// A seeded generator of random transaction sequences over a World: deposits, price reports, plausible
// and deliberately broken trades, cancels, withdrawals, forced withdrawals, liquidations, listings,
// expiries, settlements and garbage bytes. Shared by the property test and the benchmarks.
//
// Random liquidations are nearly always refused (an account rarely falls under maintenance by chance), so
// once per generator a short script makes one that is accepted: a fresh account sells calls with just
// above its initial margin, the price jumps by half, and a second fresh account liquidates it.
#pragma once

#include <algorithm>
#include <map>
#include <span>
#include <string>

#include "engine/core/keccak.h"
#include "engine/risk/margin.h"
#include "tests/stf/stf_fixture.h"

namespace opt::test {

struct Trader {
  PrivateKey key;
  Address address;
};

class TxGen {
 public:
  TxGen(World& w, uint64_t seed) : w_(w), rng_(seed) {
    for (size_t i = 0; i < kRandomTraders + 2; ++i) {  // the last two are the script's
      PrivateKey k = i < 6 ? dev_key(i) : PrivateKey::from(keccak256(std::string_view("trader" + std::to_string(i))));
      traders_.push_back({k, *address_of(k)});
    }
    prices_[kEth] = 3000 * kUsdc;
    prices_[kBtc] = 60000 * kUsdc;
  }
  const std::vector<Trader>& traders() const { return traders_; }
  Rng& rng() { return rng_; }

  // The next transaction (time advances as a side effect).
  Bytes next_tx() {
    if (script_ == 0 && ++calls_ == kScriptAt) script_ = 1;
    if (script_ > 0 && script_ <= kScriptSteps) return script_step();
    // Time moves on; now and then by hours, so expiries pass.
    uint64_t r = rng_.below(100);
    w_.advance(r < 2 ? 1800 + rng_.below(7200) : rng_.below(30));
    uint64_t kind = rng_.below(100);
    if (kind < 10) {
      const Trader& t = traders_[pick()];
      return encode_tx(
          DepositTx{inbox_++, t.address, t.address, static_cast<uint64_t>(1 + rng_.below(50'000 * kUsdc))});
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
      for (size_t i = 0; i < n; ++i)
        t.sigs.push_back(*sign(typed_digest(w_.params().domain_separator, rep), dev_key(7 + i)));
      return encode_tx(t);
    }
    if (kind < 62) {  // trades, mostly plausible, some broken on purpose
      const Trader& a = traders_[pick()];
      const Trader& b = traders_[pick()];
      uint64_t inst = live_instrument();
      int64_t mark = mark_of(inst);
      int64_t qty = static_cast<int64_t>(100'000 + rng_.below(3 * kContract));
      int64_t price = std::max<int64_t>(
          1, mark + static_cast<int64_t>(rng_.below(static_cast<uint64_t>(mark / 5 + 1))) - mark / 10);
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
      const Trader& maker =
          *std::find_if(traders_.begin(), traders_.end(), [&](const Trader& t) { return t.address == mo.account; });
      TradeTx t{
          {mo, sign_msg(maker, mo)}, {to, sign_msg(b, to)}, static_cast<uint64_t>(qty), static_cast<uint64_t>(price)};
      if (rng_.below(15) == 0) t.taker.sig[5] ^= 1;  // a broken signature
      return encode_tx(t);
    }
    if (kind < 67 && !resting_.empty()) {
      const Order& o = resting_[rng_.below(resting_.size())];
      const Trader& t = rng_.below(5) == 0 ? traders_[pick()]
                                           : *std::find_if(traders_.begin(), traders_.end(),
                                                           [&](const Trader& x) { return x.address == o.account; });
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
      const Position* p = v.positions.empty() ? nullptr : &v.positions[rng_.below(v.positions.size())];
      uint64_t inst = p ? p->instrument : live_instrument();
      int64_t q = p ? std::abs(p->qty) : kContract;
      Liquidate l{liq.address, victim.address, inst, static_cast<uint64_t>(std::max<int64_t>(1, q / 2)),
                  w_.account(liq.address).nonce};
      return encode_tx(LiquidateTx{l, sign_msg(liq, l)});
    }
    if (kind < 88) {
      uint64_t expiry = (w_.now() / 1800 + 1 + rng_.below(8)) * 1800;
      ListInstrument l{rng_.coin() ? kEth : kBtc, (1000 + rng_.below(80) * 1000) * static_cast<uint64_t>(kUsdc), expiry,
                       rng_.coin()};
      return encode_tx(ListInstrumentTx{
          l, *sign(typed_digest(w_.params().domain_separator, l), dev_key(rng_.below(12) == 0 ? 1 : 6))});
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

 private:
  static constexpr size_t kRandomTraders = 16;
  static constexpr uint64_t kScriptAt = 150;  // the script starts at this call
  static constexpr int kScriptSteps = 7;
  static constexpr int64_t kScriptContracts = 10 * kContract;

  size_t pick() { return rng_.below(kRandomTraders); }

  PriceReportTx eth_report(int64_t price) {
    prices_[kEth] = price;
    PriceReport rep{kEth, static_cast<uint64_t>(price), 800'000, w_.now()};
    PriceReportTx t{rep, {}};
    for (size_t s : {7, 8}) t.sigs.push_back(*sign(typed_digest(w_.params().domain_separator, rep), dev_key(s)));
    return t;
  }

  // One step of the liquidation script; each step sees the state the previous one left.
  Bytes script_step() {
    const Trader& victim = traders_[kRandomTraders];
    const Trader& liquidator = traders_[kRandomTraders + 1];
    w_.advance(1);
    switch (script_++) {
      case 1: {  // an ETH call at the money, four hours out
        script_inst_ = w_.global().next_instrument_id;
        const uint64_t strike =
            static_cast<uint64_t>(std::max<int64_t>(1, prices_[kEth] / (1000 * kUsdc))) * 1000 * kUsdc;
        ListInstrument l{kEth, strike, (w_.now() / 1800 + 8) * 1800, true};
        return encode_tx(ListInstrumentTx{l, *sign(typed_digest(w_.params().domain_separator, l), dev_key(6))});
      }
      case 2: return encode_tx(eth_report(prices_[kEth]));  // fresh marks
      case 3:
        return encode_tx(DepositTx{inbox_++, liquidator.address, liquidator.address, 1'000'000 * uint64_t(kUsdc)});
      case 4: {  // the victim's collateral: its initial margin for the short calls, plus 5%
        InstrumentLeaf inst = w_.instrument(script_inst_);
        Position short_calls{inst.id, inst.underlying, inst.strike, inst.expiry, inst.is_call, -kScriptContracts};
        std::vector<OracleLeaf> oracles{*w_.oracle(kEth)};
        auto m = compute_margin(0, std::span<const Position>(&short_calls, 1), oracles, w_.now(), w_.params());
        const int64_t need = m ? m->initial + m->initial / 20 - m->equity : 100'000 * kUsdc;
        return encode_tx(
            DepositTx{inbox_++, victim.address, victim.address, static_cast<uint64_t>(std::max<int64_t>(need, kUsdc))});
      }
      case 5: {  // the victim sells the calls to the liquidator at mark
        const uint64_t price = static_cast<uint64_t>(mark_of(script_inst_));
        Order mo{victim.address, script_inst_,    false, uint64_t(kScriptContracts), price, 300'000,
                 rng_.next(),    w_.now() + 3600, 0};
        Order to{liquidator.address, script_inst_,    true, uint64_t(kScriptContracts), price, 300'000,
                 rng_.next(),        w_.now() + 3600, 0};
        return encode_tx(
            TradeTx{{mo, sign_msg(victim, mo)}, {to, sign_msg(liquidator, to)}, uint64_t(kScriptContracts), price});
      }
      case 6: return encode_tx(eth_report(prices_[kEth] * 3 / 2));  // the shock
      default: {                                                    // the liquidator takes over half the short calls
        Liquidate l{liquidator.address, victim.address, script_inst_, uint64_t(kScriptContracts / 2),
                    w_.account(liquidator.address).nonce};
        return encode_tx(LiquidateTx{l, sign_msg(liquidator, l)});
      }
    }
  }

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
    return Order{t.address,
                 inst,
                 buy,
                 static_cast<uint64_t>(qty),
                 static_cast<uint64_t>(limit),
                 300'000,
                 rng_.next(),
                 w_.now() + 1 + rng_.below(7200),
                 flags};
  }

  World& w_;
  Rng rng_;
  std::vector<Trader> traders_;
  std::vector<Order> resting_;
  std::map<uint32_t, int64_t> prices_;
  uint64_t inbox_ = 0;
  uint64_t calls_ = 0;
  int script_ = 0;  // 0: not yet; 1..kScriptSteps: the next step; then done
  uint64_t script_inst_ = 0;
};

}  // namespace opt::test
