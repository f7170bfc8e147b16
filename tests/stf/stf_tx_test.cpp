// Table-driven fixtures for every transaction type: a pre-state (built by setup), the transaction, the
// expected receipt code and the expected post-state. Every refusal must leave the state root unchanged.
#include <doctest/doctest.h>

#include <functional>
#include <set>

#include "engine/core/keccak.h"
#include "engine/risk/margin.h"
#include "tests/stf/stf_fixture.h"

using namespace opt;
using namespace opt::test;

namespace {

struct Case {
  const char* name;
  std::function<void(World&)> setup;
  std::function<Tx(World&)> tx;
  Code expected;
  std::function<void(World&)> check = nullptr;  // post-state expectations (for accepted transactions)
  // The same, for expectations that need the transaction itself or the root before it.
  std::function<void(World&, const Tx&, const StateRoot& before)> check_tx = nullptr;
};

// The fill leaf of an order hash, if the state has one.
std::optional<FillLeaf> fill_of(World& w, const OrderHash& h) {
  const Bytes* b = w.state().find(fill_key(h));
  if (!b) return std::nullopt;
  auto leaf = decode_fill(*b);
  REQUIRE(leaf.ok());
  return *leaf;
}

// Dev accounts 0..3 hold 100,000 USDC each; ETH at 3000 and BTC at 60000 are freshly reported.
void funded(World& w) {
  for (size_t i = 0; i < 4; ++i) REQUIRE(w.run(w.deposit(i, 100'000 * kUsdc)).ok());
  REQUIRE(w.run(w.report(kEth, 3000 * kUsdc)).ok());
  REQUIRE(w.run(w.report(kBtc, 60000 * kUsdc)).ok());
}

// funded, then dev 1 has sold dev 2 one ETH 3000 call (instrument 1) at 50 USDC.
void with_trade(World& w) {
  funded(w);
  REQUIRE(w.run(w.simple_trade(1, 2, 1, kContract, 50 * kUsdc)).ok());
}

Signature malleate(Signature s) {
  // s' = n - s and v flipped: the same signature's high-s twin.
  static const uint8_t n[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48,
                                0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = n[i] - s[32 + static_cast<size_t>(i)] - borrow;
    borrow = d < 0;
    s[32 + static_cast<size_t>(i)] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  s[64] = s[64] == 27 ? 28 : 27;
  return s;
}

Params other_chain_params(const Params& p) {
  Params q = p;
  q.chain_id = 1;
  q.seal();
  return q;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // ---------------- Deposit ----------------
      {"deposit credits the recipient", nullptr, [](World& w) -> Tx { return w.deposit(0, 250 * kUsdc); }, Code::kOk,
       [](World& w) {
         CHECK(w.account(0).collateral == 250 * kUsdc);
         CHECK(w.global().total_deposits == 250 * kUsdc);
       }},
      {"deposit above int64 overflows", nullptr,
       [](World& w) -> Tx { auto d = w.deposit(0, 1); d.amount = uint64_t(INT64_MAX) + 1; return d; }, Code::kOverflow},
      {"deposit overflowing the balance", [](World& w) { REQUIRE(w.run(w.deposit(0, INT64_MAX)).ok()); },
       [](World& w) -> Tx { return w.deposit(1, 5); }, Code::kOverflow},

      // ---------------- Trade ----------------
      {"trade: premium, fees, positions, fills, open interest", funded,
       [](World& w) -> Tx { return w.simple_trade(1, 2, 1, 1'500'000, 50 * kUsdc); }, Code::kOk,
       [](World& w) {
         // 1.5 contracts at 50 USDC = 75 USDC; maker fee 0.10, taker fee 0.30 per contract.
         CHECK(w.account(1).collateral == 100'000 * kUsdc + 75 * kUsdc - 150'000);
         CHECK(w.account(2).collateral == 100'000 * kUsdc - 75 * kUsdc - 450'000);
         CHECK(w.account(1).find(1)->qty == -1'500'000);
         CHECK(w.account(2).find(1)->qty == 1'500'000);
         CHECK(w.account(2).find(1)->strike == 3000 * uint64_t(kUsdc));
         CHECK(w.global().fee_pool == 600'000);
         CHECK(w.instrument(1).long_open == 1'500'000);
         CHECK(w.instrument(1).short_open == 1'500'000);
       }},
      {"trade: bad signature (r = 0)", funded,
       [](World& w) -> Tx {
         auto t = w.simple_trade(1, 2, 1, kContract, 50 * kUsdc);
         std::fill(t.maker.sig.bytes.begin(), t.maker.sig.bytes.begin() + 32, 0);
         return t;
       },
       Code::kBadSignature},
      {"trade: high-s twin of a valid signature", funded,
       [](World& w) -> Tx {
         auto t = w.simple_trade(1, 2, 1, kContract, 50 * kUsdc);
         t.taker.sig = malleate(t.taker.sig);
         return t;
       },
       Code::kHighSignature},
      {"trade: order signed for another chain id", funded,
       [](World& w) -> Tx {
         auto t = w.simple_trade(1, 2, 1, kContract, 50 * kUsdc);
         Params other = other_chain_params(w.params());
         t.maker.sig = *sign(typed_digest(other.domain_separator, t.maker.order), dev_key(1));
         return t;
       },
       Code::kSignerMismatch},
      {"trade: signed by someone else", funded,
       [](World& w) -> Tx {
         auto t = w.simple_trade(1, 2, 1, kContract, 50 * kUsdc);
         t.maker.sig = *sign(typed_digest(w.params().domain_separator, t.maker.order), dev_key(3));
         return t;
       },
       Code::kSignerMismatch},
      {"trade: replaying a fully filled order", nullptr,
       [](World& w) -> Tx {
         funded(w);
         auto t = w.simple_trade(1, 2, 1, kContract, 50 * kUsdc);
         REQUIRE(w.run(t).ok());
         return t;
       },
       Code::kOverfill},
      {"trade: fill above the order's quantity", funded,
       [](World& w) -> Tx {
         auto m = w.order(1, 1, false, kContract, 50 * kUsdc);
         auto t = w.order(2, 1, true, 2 * kContract, 50 * kUsdc);
         return w.trade(1, m, 2, t, 2 * kContract, 50 * kUsdc);
       },
       Code::kOverfill},
      {"trade: partial fills add up", nullptr,
       [](World& w) -> Tx {
         funded(w);
         auto m = w.order(1, 1, false, 3 * kContract, 50 * kUsdc);
         REQUIRE(w.run(w.trade(1, m, 2, w.order(2, 1, true, kContract, 50 * kUsdc), kContract, 50 * kUsdc)).ok());
         return w.trade(1, m, 3, w.order(3, 1, true, 2 * kContract, 50 * kUsdc), 2 * kContract, 50 * kUsdc);
       },
       Code::kOk,
       [](World& w) {
         CHECK(w.account(1).find(1)->qty == -3 * kContract);
         CHECK(w.instrument(1).long_open == 3 * uint64_t(kContract));
       }},
      {"trade: expired order", funded,
       [](World& w) -> Tx {
         auto m = w.order(1, 1, false, kContract, 50 * kUsdc);
         m.expiry = w.now();
         return w.trade(1, m, 2, w.order(2, 1, true, kContract, 50 * kUsdc), kContract, 50 * kUsdc);
       },
       Code::kOrderExpired},
      {"trade: self-trade", funded,
       [](World& w) -> Tx { return w.simple_trade(1, 1, 1, kContract, 50 * kUsdc); }, Code::kSelfTrade},
      {"trade: fee above the order's maxFee", funded,
       [](World& w) -> Tx {
         auto m = w.order(1, 1, false, kContract, 50 * kUsdc);
         m.max_fee = w.params().fees.maker_fee - 1;
         return w.trade(1, m, 2, w.order(2, 1, true, kContract, 50 * kUsdc), kContract, 50 * kUsdc);
       },
       Code::kFeeAboveMax},
      {"trade: price above the buyer's limit", funded,
       [](World& w) -> Tx {
         auto m = w.order(1, 1, false, kContract, 50 * kUsdc);
         auto t = w.order(2, 1, true, kContract, 49 * kUsdc);
         return w.trade(1, m, 2, t, kContract, 50 * kUsdc);
       },
       Code::kPriceOutsideLimit},
      {"trade: price below the seller's limit", funded,
       [](World& w) -> Tx {
         auto m = w.order(1, 1, false, kContract, 51 * kUsdc);
         auto t = w.order(2, 1, true, kContract, 60 * kUsdc);
         return w.trade(1, m, 2, t, kContract, 50 * kUsdc);
       },
       Code::kPriceOutsideLimit},
      {"trade: seller under initial margin", [](World& w) {
         funded(w);
         REQUIRE(w.run(w.deposit(5, 100 * kUsdc)).ok());
       },
       [](World& w) -> Tx { return w.simple_trade(5, 2, 1, kContract, 50 * kUsdc); }, Code::kUnderMargin},
      {"trade: buyer cannot pay the premium", [](World& w) {
         funded(w);
         REQUIRE(w.run(w.deposit(5, 10 * kUsdc)).ok());
       },
       [](World& w) -> Tx { return w.simple_trade(1, 5, 1, kContract, 50 * kUsdc); }, Code::kUnderMargin},
      {"trade: stale oracle blocks new risk", [](World& w) {
         funded(w);
         w.advance(301);
       },
       [](World& w) -> Tx { return w.simple_trade(1, 2, 1, kContract, 50 * kUsdc); }, Code::kStaleOracle},
      {"trade: no oracle price for the underlying", [](World& w) {
         for (size_t i = 0; i < 4; ++i) REQUIRE(w.run(w.deposit(i, 100'000 * kUsdc)).ok());
         REQUIRE(w.run(w.report(kEth, 3000 * kUsdc)).ok());
       },
       [](World& w) -> Tx { return w.simple_trade(1, 2, 3, kContract, 1000 * kUsdc); }, Code::kNoOraclePrice},
      {"trade: unknown instrument", funded,
       [](World& w) -> Tx { return w.simple_trade(1, 2, 99, kContract, 50 * kUsdc); }, Code::kUnknownInstrument},
      {"trade: orders on different instruments", funded,
       [](World& w) -> Tx {
         return w.trade(1, w.order(1, 1, false, kContract, 50 * kUsdc), 2, w.order(2, 2, true, kContract, 50 * kUsdc),
                        kContract, 50 * kUsdc);
       },
       Code::kInstrumentMismatch},
      {"trade: both orders buy", funded,
       [](World& w) -> Tx {
         return w.trade(1, w.order(1, 1, true, kContract, 50 * kUsdc), 2, w.order(2, 1, true, kContract, 50 * kUsdc),
                        kContract, 50 * kUsdc);
       },
       Code::kSameSide},
      {"trade: zero quantity", funded,
       [](World& w) -> Tx {
         auto t = w.simple_trade(1, 2, 1, kContract, 50 * kUsdc);
         t.quantity = 0;
         return t;
       },
       Code::kZeroAmount},
      {"trade: unknown flag bits", funded,
       [](World& w) -> Tx {
         return w.trade(1, w.order(1, 1, false, kContract, 50 * kUsdc, 0x10), 2, w.order(2, 1, true, kContract, 50 * kUsdc),
                        kContract, 50 * kUsdc);
       },
       Code::kBadFlags},
      {"trade: post-only order as taker", funded,
       [](World& w) -> Tx {
         return w.trade(1, w.order(1, 1, false, kContract, 50 * kUsdc), 2,
                        w.order(2, 1, true, kContract, 50 * kUsdc, kPostOnly), kContract, 50 * kUsdc);
       },
       Code::kPostOnlyTaker},
      {"trade: reduce-only order that opens a position", funded,
       [](World& w) -> Tx {
         return w.trade(1, w.order(1, 1, false, kContract, 50 * kUsdc, kReduceOnly), 2,
                        w.order(2, 1, true, kContract, 50 * kUsdc), kContract, 50 * kUsdc);
       },
       Code::kReduceOnlyViolated},
      {"trade: reduce-only order that closes a position", with_trade,
       [](World& w) -> Tx {
         return w.trade(2, w.order(2, 1, false, kContract, 55 * kUsdc, kReduceOnly), 3,
                        w.order(3, 1, true, kContract, 55 * kUsdc), kContract, 55 * kUsdc);
       },
       Code::kOk, [](World& w) { CHECK(w.account(2).find(1) == nullptr); }},
      {"trade: reduce-only order that would flip the position", with_trade,
       [](World& w) -> Tx {
         return w.trade(2, w.order(2, 1, false, 2 * kContract, 55 * kUsdc, kReduceOnly), 3,
                        w.order(3, 1, true, 2 * kContract, 55 * kUsdc), 2 * kContract, 55 * kUsdc);
       },
       Code::kReduceOnlyViolated},
      {"trade: cancelled order", nullptr,
       [](World& w) -> Tx {
         funded(w);
         auto m = w.order(1, 1, false, kContract, 50 * kUsdc);
         REQUIRE(w.run(w.cancel(1, w.hash_of(m))).ok());
         return w.trade(1, m, 2, w.order(2, 1, true, kContract, 50 * kUsdc), kContract, 50 * kUsdc);
       },
       Code::kOrderCancelled},
      {"trade: a stranger's cancel does not stop an order", nullptr,
       [](World& w) -> Tx {
         funded(w);
         auto m = w.order(1, 1, false, kContract, 50 * kUsdc);
         REQUIRE(w.run(w.cancel(3, w.hash_of(m))).ok());  // dev 3 "cancels" dev 1's order hash
         auto stray = fill_of(w, w.hash_of(m));           // the stranger's mark is on the leaf...
         REQUIRE(stray.has_value());
         CHECK(stray->owner == dev_address(3));
         CHECK(stray->cancelled);
         return w.trade(1, m, 2, w.order(2, 1, true, kContract, 50 * kUsdc), kContract, 50 * kUsdc);
       },
       Code::kOk, nullptr,
       [](World& w, const Tx& tx, const StateRoot&) {
         // ...and the trade went through: the leaf is now the owner's, filled and not cancelled, and the
         // positions moved.
         const TradeTx& t = std::get<TradeTx>(tx);
         auto leaf = fill_of(w, w.hash_of(t.maker.order));
         REQUIRE(leaf.has_value());
         CHECK(leaf->owner == dev_address(1));
         CHECK(leaf->filled == uint64_t(kContract));
         CHECK_FALSE(leaf->cancelled);
         REQUIRE(w.account(1).find(1) != nullptr);
         CHECK(w.account(1).find(1)->qty == -kContract);
         REQUIRE(w.account(2).find(1) != nullptr);
         CHECK(w.account(2).find(1)->qty == kContract);
       }},
      {"trade: instrument at expiry", [](World& w) {
         funded(w);
         w.set_now(kT0 + 7200);
         REQUIRE(w.run(w.report(kEth, 3000 * kUsdc)).ok());
       },
       [](World& w) -> Tx {
         auto m = w.order(1, 4, false, kContract, 5 * kUsdc);
         auto t = w.order(2, 4, true, kContract, 5 * kUsdc);
         return w.trade(1, m, 2, t, kContract, 5 * kUsdc);
       },
       Code::kInstrumentExpired},
      {"trade: price times quantity overflows", funded,
       [](World& w) -> Tx {
         auto m = w.order(1, 1, false, kContract, INT64_MAX);
         auto t = w.order(2, 1, true, kContract, INT64_MAX);
         return w.trade(1, m, 2, t, kContract, INT64_MAX);
       },
       Code::kOverflow},
      {"trade: a price above int64", funded,
       [](World& w) -> Tx {
         auto t = w.simple_trade(1, 2, 1, kContract, 50 * kUsdc);
         t.price = uint64_t(INT64_MAX) + 1;
         t.taker.order.limit_price = t.price;
         return t;
       },
       Code::kOverflow},
      {"trade: under margin allowed when it reduces the position", [](World& w) {
         funded(w);
         REQUIRE(w.run(w.deposit(5, 1200 * kUsdc)).ok());
         REQUIRE(w.run(w.simple_trade(5, 2, 1, 2 * kContract, 50 * kUsdc)).ok());
         REQUIRE(w.run(w.report(kEth, 3300 * kUsdc)).ok());  // the short calls lose value; dev 5 is under IM
       },
       [](World& w) -> Tx {
         // dev 5 buys back one of its two short calls from dev 3.
         return w.trade(3, w.order(3, 1, false, kContract, 400 * kUsdc), 5, w.order(5, 1, true, kContract, 400 * kUsdc),
                        kContract, 400 * kUsdc);
       },
       Code::kOk, [](World& w) { CHECK(w.account(5).find(1)->qty == -kContract); }},

      // ---------------- Cancel ----------------
      {"cancel marks the fill leaf", funded,
       [](World& w) -> Tx {
         auto c = w.cancel(1, w.hash_of(w.order(1, 1, false, kContract, 50 * kUsdc)));
         REQUIRE_FALSE(fill_of(w, c.cancel.order_hash).has_value());
         return c;
       },
       Code::kOk, nullptr,
       [](World& w, const Tx& tx, const StateRoot& before) {
         auto leaf = fill_of(w, std::get<CancelTx>(tx).cancel.order_hash);
         REQUIRE(leaf.has_value());
         CHECK(leaf->owner == dev_address(1));
         CHECK(leaf->cancelled);
         CHECK(leaf->filled == 0);
         CHECK(w.state().root() != before);
       }},
      {"cancel is idempotent", nullptr,
       [](World& w) -> Tx {
         funded(w);
         auto c = w.cancel(1, OrderHash::from(keccak256(std::string_view("x"))));
         REQUIRE(w.run(c).ok());
         return c;
       },
       Code::kOk, nullptr,
       [](World& w, const Tx& tx, const StateRoot& before) {
         CHECK(w.state().root() == before);  // the second cancel changes nothing
         auto leaf = fill_of(w, std::get<CancelTx>(tx).cancel.order_hash);
         REQUIRE(leaf.has_value());
         CHECK(leaf->cancelled);
         CHECK(leaf->owner == dev_address(1));
       }},
      {"cancel with a bad signature", funded,
       [](World& w) -> Tx {
         auto c = w.cancel(1, OrderHash{});
         c.sig = *sign(typed_digest(w.params().domain_separator, c.cancel), dev_key(2));
         return c;
       },
       Code::kSignerMismatch},
      {"cancel of an order another account's signature filled", nullptr,
       [](World& w) -> Tx {
         funded(w);
         auto m = w.order(1, 1, false, 2 * kContract, 50 * kUsdc);
         REQUIRE(w.run(w.trade(1, m, 2, w.order(2, 1, true, kContract, 50 * kUsdc), kContract, 50 * kUsdc)).ok());
         return w.cancel(3, w.hash_of(m));
       },
       Code::kNotOwner},

      // ---------------- PriceReport ----------------
      {"price report with 2 of 3 committee signatures", nullptr, [](World& w) -> Tx { return w.report(kEth, 2900 * kUsdc); },
       Code::kOk,
       [](World& w) {
         CHECK(w.oracle(kEth)->price == 2900 * uint64_t(kUsdc));
         CHECK(w.oracle(kEth)->timestamp == w.now());
       }},
      {"price report with one signature", nullptr, [](World& w) -> Tx { return w.report(kEth, 2900 * kUsdc, 800'000, {7}); },
       Code::kNotEnoughSignatures},
      {"price report signed outside the committee", nullptr,
       [](World& w) -> Tx { return w.report(kEth, 2900 * kUsdc, 800'000, {7, 1}); }, Code::kNotCommittee},
      {"price report with a duplicate signer", nullptr,
       [](World& w) -> Tx { return w.report(kEth, 2900 * kUsdc, 800'000, {7, 7}); }, Code::kDuplicateSigner},
      {"price report not newer than the last", [](World& w) { REQUIRE(w.run(w.report(kEth, 3000 * kUsdc)).ok()); },
       [](World& w) -> Tx { return w.report_at(kEth, 2900 * kUsdc, w.now()); }, Code::kStaleReport},
      {"price report from the future", nullptr,
       [](World& w) -> Tx { return w.report_at(kEth, 2900 * kUsdc, w.now() + 10); }, Code::kReportInFuture},
      {"price report with zero price", nullptr, [](World& w) -> Tx { return w.report(kEth, 0); }, Code::kBadReport},
      {"price report with volatility above the cap", nullptr,
       [](World& w) -> Tx { return w.report(kEth, 3000 * kUsdc, 10'000'001); }, Code::kBadReport},
      {"price report with a high-s signature", nullptr,
       [](World& w) -> Tx {
         auto r = w.report(kEth, 2900 * kUsdc);
         r.sigs[1] = malleate(r.sigs[1]);
         return r;
       },
       Code::kHighSignature},

      // ---------------- ListInstrument ----------------
      {"list a new instrument", nullptr, [](World& w) -> Tx { return w.list(kEth, 4000 * kUsdc, kT0 + 86400, true); },
       Code::kOk,
       [](World& w) {
         CHECK(w.instrument(5).strike == 4000 * uint64_t(kUsdc));
         CHECK(w.global().next_instrument_id == 6);
       }},
      {"list signed by someone who is not the admin", nullptr,
       [](World& w) -> Tx { return w.list(kEth, 4000 * kUsdc, kT0 + 86400, true, 1); }, Code::kNotAdmin},
      {"list the same terms twice (replay)", nullptr,
       [](World& w) -> Tx {
         auto l = w.list(kEth, 4000 * kUsdc, kT0 + 86400, true);
         REQUIRE(w.run(l).ok());
         return l;
       },
       Code::kDuplicateInstrument},
      {"list terms already in genesis", nullptr, [](World& w) -> Tx { return w.list(kEth, 3000 * kUsdc, kT0 + 86400, true); },
       Code::kDuplicateInstrument},
      {"list an expiry off the 30-minute grid", nullptr,
       [](World& w) -> Tx { return w.list(kEth, 4000 * kUsdc, kT0 + 86400 + 60, true); }, Code::kBadInstrumentTerms},
      {"list an expiry in the past", nullptr, [](World& w) -> Tx { return w.list(kEth, 4000 * kUsdc, kT0, true); },
       Code::kBadInstrumentTerms},

      // ---------------- Withdraw / ForcedWithdraw ----------------
      {"withdraw free collateral", funded, [](World& w) -> Tx { return w.withdraw(0, 1000 * kUsdc); }, Code::kOk,
       [](World& w) {
         CHECK(w.account(0).collateral == 99'000 * kUsdc);
         CHECK(w.account(0).nonce == 1);
         const Bytes* leaf = w.state().find(withdrawal_key(0));
         REQUIRE(leaf);
         CHECK(decode_withdrawal(*leaf)->amount == 1000 * uint64_t(kUsdc));
         CHECK(w.global().total_withdrawals == 1000 * kUsdc);
       }},
      {"withdraw more than free collateral", with_trade,
       [](World& w) -> Tx { return w.withdraw(1, 100'000 * kUsdc); }, Code::kInsufficientCollateral},
      {"withdraw with a replayed nonce", nullptr,
       [](World& w) -> Tx {
         funded(w);
         REQUIRE(w.run(w.withdraw(0, kUsdc)).ok());
         return w.withdraw(0, kUsdc, 0);
       },
       Code::kBadNonce},
      {"withdraw zero", funded, [](World& w) -> Tx { return w.withdraw(0, 0); }, Code::kZeroAmount},
      {"withdraw with positions and a stale oracle", [](World& w) {
         with_trade(w);
         w.advance(400);
       },
       [](World& w) -> Tx { return w.withdraw(1, kUsdc); }, Code::kStaleOracle},
      {"withdraw an amount above int64", funded,
       [](World& w) -> Tx {
         Withdraw x{dev_address(0), uint64_t(INT64_MAX) + 1, dev_address(0), 0};
         return WithdrawTx{x, *sign(typed_digest(w.params().domain_separator, x), dev_key(0))};
       },
       Code::kOverflow},
      {"forced withdrawal pays what is free", funded,
       [](World&) -> Tx { return ForcedWithdrawTx{7, dev_address(0), 1'000'000 * uint64_t(kUsdc)}; }, Code::kOk,
       [](World& w) {
         CHECK(w.account(0).collateral == 0);
         CHECK(decode_withdrawal(*w.state().find(withdrawal_key(0)))->amount == 100'000 * uint64_t(kUsdc));
       }},
      {"forced withdrawal with nothing free", nullptr,
       [](World&) -> Tx { return ForcedWithdrawTx{0, dev_address(4), 5}; }, Code::kInsufficientCollateral},

      // ---------------- Expire / Settle ----------------
      {"expire before expiry", funded, [](World&) -> Tx { return ExpireTx{4}; }, Code::kNotExpired},
      {"expire an unknown instrument", funded, [](World&) -> Tx { return ExpireTx{77}; }, Code::kUnknownInstrument},
      {"expire without an oracle report after expiry", [](World& w) {
         funded(w);
         w.set_now(kT0 + 7200 + 10);
       },
       [](World&) -> Tx { return ExpireTx{4}; }, Code::kSettlementUnavailable},
      {"expire fixes the 30-minute TWAP", [](World& w) {
         funded(w);  // ETH 3000 reported at kT0 + 61
         w.set_now(kT0 + 6000);  // 10 minutes into the window [kT0 + 5400, kT0 + 7200]
         REQUIRE(w.run(w.report_at(kEth, 3600 * kUsdc, kT0 + 6000)).ok());
         w.set_now(kT0 + 7205);
         REQUIRE(w.run(w.report_at(kEth, 9000 * kUsdc, kT0 + 7205)).ok());  // after expiry: does not count
       },
       [](World&) -> Tx { return ExpireTx{4}; }, Code::kOk,
       [](World& w) {
         // 600 s at 3000 and 1200 s at 3600: (600*3000 + 1200*3600) / 1800 = 3400 USDC.
         CHECK(w.instrument(4).settlement_price == 3400 * uint64_t(kUsdc));
         CHECK(w.instrument(4).status == InstrumentStatus::kExpired);
       }},
      {"expire twice", [](World& w) {
         funded(w);
         w.set_now(kT0 + 7200);
         REQUIRE(w.run(w.report_at(kEth, 3000 * kUsdc, kT0 + 7200)).ok());
         REQUIRE(w.run(ExpireTx{4}).ok());
       },
       [](World&) -> Tx { return ExpireTx{4}; }, Code::kAlreadyExpired},
      {"settle before expiry", with_trade, [](World&) -> Tx { return SettleTx{dev_address(2), 1}; }, Code::kNotExpired},
      {"settle after expiry but before Expire", [](World& w) {
         with_trade(w);
         w.set_now(kT0 + 86400 + 1);
       },
       [](World&) -> Tx { return SettleTx{dev_address(2), 1}; }, Code::kNotYetSettleable},
      {"settle pays the long and then the short", [](World& w) {
         with_trade(w);
         w.set_now(kT0 + 84000);
         REQUIRE(w.run(w.report(kEth, 3100 * kUsdc)).ok());
         w.set_now(kT0 + 86400);
         REQUIRE(w.run(w.report_at(kEth, 3100 * kUsdc, kT0 + 86400)).ok());
         REQUIRE(w.run(ExpireTx{1}).ok());
       },
       [](World&) -> Tx { return SettleTx{dev_address(2), 1}; }, Code::kOk,
       [](World& w) {
         int64_t long_before = 100'000 * kUsdc - 50 * kUsdc - 300'000;
         int64_t settle = int64_t(w.instrument(1).settlement_price) - 3000 * kUsdc;
         CHECK(settle > 0);
         CHECK(w.account(2).collateral == long_before + settle);
         CHECK(w.account(2).find(1) == nullptr);
         CHECK(w.instrument(1).settlement_pool == -settle);
         // The short settles next; the pool empties into the fee pool.
         int64_t fees_before = w.global().fee_pool;
         REQUIRE(w.run(SettleTx{dev_address(1), 1}).ok());
         CHECK(w.instrument(1).settlement_pool == 0);
         CHECK(w.global().fee_pool == fees_before);
         CHECK(w.instrument(1).long_open == 0);
       }},
      {"settle twice", [](World& w) {
         with_trade(w);
         w.set_now(kT0 + 84000);
         REQUIRE(w.run(w.report(kEth, 3100 * kUsdc)).ok());
         w.set_now(kT0 + 86400);
         REQUIRE(w.run(w.report_at(kEth, 3100 * kUsdc, kT0 + 86400)).ok());
         REQUIRE(w.run(ExpireTx{1}).ok());
         REQUIRE(w.run(SettleTx{dev_address(2), 1}).ok());
       },
       [](World&) -> Tx { return SettleTx{dev_address(2), 1}; }, Code::kNoPosition},

      // ---------------- Liquidate ----------------
      {"liquidate an account under maintenance margin", [](World& w) {
         funded(w);
         REQUIRE(w.run(w.deposit(5, 700 * kUsdc)).ok());
         REQUIRE(w.run(w.simple_trade(5, 2, 1, kContract, 50 * kUsdc)).ok());
         REQUIRE(w.run(w.report(kEth, 3600 * kUsdc)).ok());
       },
       [](World& w) -> Tx { return w.liquidate(3, 5, 1, kContract); }, Code::kOk,
       [](World& w) {
         CHECK(w.account(5).find(1) == nullptr);
         CHECK(w.account(3).find(1)->qty == -kContract);
         CHECK(w.account(3).nonce == 1);
         CHECK(w.global().insurance_fund > 0);  // half of the penalty
       }},
      {"liquidate a healthy account", with_trade, [](World& w) -> Tx { return w.liquidate(3, 1, 1, kContract); },
       Code::kNotLiquidatable},
      {"liquidate with a stale oracle", [](World& w) {
         with_trade(w);
         w.advance(301);
       },
       [](World& w) -> Tx { return w.liquidate(3, 1, 1, kContract); }, Code::kStaleOracle},
      {"liquidate a position the account does not have", with_trade,
       [](World& w) -> Tx { return w.liquidate(3, 1, 2, kContract); }, Code::kNoPosition},
      {"liquidate oneself", with_trade, [](World& w) -> Tx { return w.liquidate(1, 1, 1, kContract); },
       Code::kSelfLiquidation},
      {"liquidate with a wrong nonce", with_trade,
       [](World& w) -> Tx {
         auto l = w.liquidate(3, 1, 1, kContract);
         l.liquidate.nonce = 5;
         l.sig = *sign(typed_digest(w.params().domain_separator, l.liquidate), dev_key(3));
         return l;
       },
       Code::kBadNonce},
      {"liquidator without margin for the position", [](World& w) {
         funded(w);
         REQUIRE(w.run(w.deposit(5, 700 * kUsdc)).ok());
         REQUIRE(w.run(w.deposit(6, 10 * kUsdc)).ok());
         REQUIRE(w.run(w.simple_trade(5, 2, 1, kContract, 50 * kUsdc)).ok());
         REQUIRE(w.run(w.report(kEth, 3600 * kUsdc)).ok());
       },
       [](World& w) -> Tx { return w.liquidate(6, 5, 1, kContract); }, Code::kUnderMargin},
      {"a bankrupt remainder is covered by the insurance fund", [](World& w) {
         funded(w);
         // Fill the insurance fund with one liquidation first.
         REQUIRE(w.run(w.deposit(5, 700 * kUsdc)).ok());
         REQUIRE(w.run(w.simple_trade(5, 2, 1, kContract, 50 * kUsdc)).ok());
         REQUIRE(w.run(w.deposit(6, 700 * kUsdc)).ok());
         REQUIRE(w.run(w.simple_trade(6, 2, 1, kContract, 50 * kUsdc)).ok());
         REQUIRE(w.run(w.report(kEth, 3600 * kUsdc)).ok());
         REQUIRE(w.run(w.liquidate(3, 5, 1, kContract)).ok());
         w.advance(1);
         REQUIRE(w.run(w.report(kEth, 6000 * kUsdc)).ok());  // dev 6 is now deeply bankrupt
       },
       [](World& w) -> Tx { return w.liquidate(3, 6, 1, kContract); }, Code::kOk,
       [](World& w) {
         CHECK(w.global().insurance_fund == 0);  // used up
         CHECK(w.account(6).collateral < 0);     // the rest is bad debt
       }},

      {"expire instrument 0 (never listed)", nullptr, [](World&) -> Tx { return ExpireTx{0}; }, Code::kUnknownInstrument},
  };
  return all;
}

}  // namespace

TEST_CASE("transaction fixtures") {
  size_t refusals = 0;
  for (const Case& c : cases()) {
    CAPTURE(c.name);
    World w;
    if (c.setup) c.setup(w);
    Tx tx = c.tx(w);
    StateRoot before = w.state().root();
    Receipt r = w.run(tx);
    CHECK_MESSAGE(r.code == c.expected, "got " << to_string(r.code) << ", expected " << to_string(c.expected));
    CHECK(r.decoded);
    CHECK(r.type == type_of(tx));
    if (c.expected == Code::kOk) {
      if (c.check) c.check(w);
      if (c.check_tx) c.check_tx(w, tx, before);
    } else {
      ++refusals;
      CHECK(w.state().root() == before);  // a refusal changes nothing
    }
  }
  CHECK(refusals >= 50);
}

TEST_CASE("every receipt code has a distinct snake_case name") {
  std::set<std::string> names;
  for (int c = 0; c <= static_cast<int>(Code::kCorruptState); ++c) {
    std::string n = to_string(static_cast<Code>(c));
    CHECK(n != "unknown");
    CHECK(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
    names.insert(n);
  }
  CHECK(names.size() == static_cast<size_t>(Code::kCorruptState) + 1);
}

TEST_CASE("bytes that do not decode are a malformed step that changes nothing") {
  World w;
  funded(w);
  StateRoot before = w.state().root();
  Rng rng(5);
  for (int i = 0; i < 500; ++i) {
    Bytes junk = rng.bytes(rng.below(80));
    Receipt r = w.run_bytes(junk);
    if (!r.decoded) CHECK(r.code == Code::kMalformed);
  }
  Receipt r = w.run_bytes(Bytes{0x02, 0x01});
  CHECK_FALSE(r.decoded);
  CHECK(r.code == Code::kMalformed);
  CHECK(w.state().root() == before);
}

TEST_CASE("oracle checkpoints: grid points crossed by a report record the cumulative price") {
  World w;
  w.set_now(kT0 + 100);
  REQUIRE(w.run(w.report_at(kEth, 1000 * kUsdc, kT0 + 100)).ok());
  w.set_now(kT0 + 3700);  // crosses kT0 + 1800 and kT0 + 3600
  REQUIRE(w.run(w.report_at(kEth, 2000 * kUsdc, kT0 + 3700)).ok());
  auto o = *w.oracle(kEth);
  REQUIRE(o.checkpoints.size() == 2);
  CHECK(o.checkpoints[0].time == kT0 + 1800);
  CHECK(o.checkpoints[0].cumulative == u128(1000 * kUsdc) * 1700);
  CHECK(o.checkpoints[1].time == kT0 + 3600);
  CHECK(o.checkpoints[1].cumulative == u128(1000 * kUsdc) * 3500);
  CHECK(o.cumulative == u128(1000 * kUsdc) * 3600);
  // A gap of days keeps only the last 48 grid points.
  w.set_now(kT0 + 10 * 86400);
  REQUIRE(w.run(w.report_at(kEth, 2000 * kUsdc, kT0 + 10 * 86400)).ok());
  o = *w.oracle(kEth);
  CHECK(o.checkpoints.size() == kOracleCheckpoints);
  CHECK(o.checkpoints.back().time == kT0 + 10 * 86400);
}

TEST_CASE("margin: equity and requirements follow docs/risk.md") {
  World w;
  funded(w);
  REQUIRE(w.run(w.simple_trade(1, 2, 1, 2 * kContract, 50 * kUsdc)).ok());
  AccountLeaf seller = w.account(1);
  std::vector<OracleLeaf> oracles = {*w.oracle(kEth)};
  auto m = compute_margin(seller.collateral, seller.positions, oracles, w.now(), w.params());
  REQUIRE(m.ok());
  int64_t mark = m->marks[0];
  CHECK(mark > 40 * kUsdc);  // an at-the-money day-long call at 80% vol is worth about 50 USDC
  CHECK(mark < 60 * kUsdc);
  CHECK(m->equity == seller.collateral - 2 * mark);
  // ATM short call: max(15% * 3000 - 0, 10% * 3000) + mark = 450 + mark per contract.
  CHECK(m->initial == 2 * (450 * kUsdc + mark));
  CHECK(m->maintenance == 2 * (225 * kUsdc + mark));
  // The long side: equity - initial == collateral.
  AccountLeaf buyer = w.account(2);
  auto mb = compute_margin(buyer.collateral, buyer.positions, oracles, w.now(), w.params());
  REQUIRE(mb.ok());
  CHECK(mb->equity - mb->initial == buyer.collateral);
}

TEST_CASE("deposits and forced withdrawals execute only as inbox steps") {
  World w;
  funded(w);
  StateRoot before = w.state().root();
  // A proposer writing a Deposit among its own transactions must not mint collateral.
  Receipt r = w.run_as_sequencer(w.deposit(0, 1'000'000 * kUsdc));
  CHECK(r.code == Code::kInboxOnly);
  r = w.run_as_sequencer(ForcedWithdrawTx{99, dev_address(0), 5 * kUsdc});
  CHECK(r.code == Code::kInboxOnly);
  CHECK(w.state().root() == before);
  // And an inbox step is only ever a Deposit or a ForcedWithdraw.
  Bytes trade = encode_tx(w.simple_trade(1, 2, 1, kContract, 50 * kUsdc));
  auto rc = apply(w.params(), StepContext{w.now(), true}, trade, w.state());
  REQUIRE(rc.ok());
  CHECK(rc->code == Code::kInboxOnly);
  CHECK(w.state().root() == before);
}
