// A small world for state-machine tests: genesis parameters, dev keys, and builders that sign
// transactions the way a wallet would (EIP-712 digests under the test chain's domain).
#pragma once

#include <vector>

#include "engine/core/eip712.h"
#include "engine/stf/apply.h"
#include "engine/stf/leaves.h"
#include "tests/test_util.h"

namespace opt::test {

constexpr uint64_t kT0 = 1'800'000'000;  // a grid-aligned genesis time (multiple of 1800)
constexpr uint32_t kEth = 1, kBtc = 2;
constexpr int64_t kUsdc = 1'000'000;      // one USDC in micro-USDC
constexpr int64_t kContract = 1'000'000;  // one contract in micro-contracts

inline Address dev_address(size_t i) {
  return *address_of(dev_key(i));
}

inline Params test_params() {
  Params p;
  p.chain_id = 777001;
  p.rollup_address = *Address::from_hex("0x5FbDB2315678afecb367f032d93F642f64180aa3");
  p.admin = dev_address(6);
  p.oracle_committee = {dev_address(7), dev_address(8), dev_address(9)};
  p.oracle_threshold = 2;
  p.oracle_staleness = 300;
  p.seal();
  return p;
}

// Genesis ladder: instrument 1 ETH 3000 call, 2 ETH 3000 put, 3 BTC 60000 call (expiry kT0 + 1 day),
// 4 ETH 3500 call expiring after 2 hours.
inline std::vector<ListInstrument> test_ladder() {
  return {
      {kEth, 3000 * static_cast<uint64_t>(kUsdc), kT0 + 86400, true},
      {kEth, 3000 * static_cast<uint64_t>(kUsdc), kT0 + 86400, false},
      {kBtc, 60000 * static_cast<uint64_t>(kUsdc), kT0 + 86400, true},
      {kEth, 3500 * static_cast<uint64_t>(kUsdc), kT0 + 7200, true},
  };
}

class World {
 public:
  World() : params_(test_params()) {
    auto ladder = test_ladder();
    (void)write_genesis(state_, ladder, kT0);
  }

  Params& params() { return params_; }
  FullState& state() { return state_; }
  StepContext ctx() const { return StepContext{now_}; }
  // Tests stand in for the L1: a Deposit or ForcedWithdraw is run as an inbox step.
  StepContext ctx_for(ByteView tx) const { return StepContext{now_, is_inbox_type(tx)}; }
  static bool is_inbox_type(ByteView tx) {
    return !tx.empty() &&
           (tx[0] == static_cast<uint8_t>(TxType::kDeposit) || tx[0] == static_cast<uint8_t>(TxType::kForcedWithdraw));
  }
  uint64_t now() const { return now_; }
  void advance(uint64_t seconds) { now_ += seconds; }
  void set_now(uint64_t t) { now_ = t; }

  Receipt run(const Tx& tx) {
    Bytes b = encode_tx(tx);
    return *apply(params_, ctx_for(b), b, state_);
  }
  Receipt run_bytes(ByteView b) { return *apply(params_, ctx_for(b), b, state_); }
  // Runs a step outside the inbox, whatever its type (a proposer's own transaction).
  Receipt run_as_sequencer(const Tx& tx) { return *apply(params_, ctx(), encode_tx(tx), state_); }

  // --- leaves ---
  AccountLeaf account(const Address& a) {
    const Bytes* b = state_.find(account_key(a));
    return b ? *decode_account(*b) : AccountLeaf{};
  }
  AccountLeaf account(size_t dev) { return account(dev_address(dev)); }
  GlobalLeaf global() { return *decode_global(*state_.find(global_key())); }
  InstrumentLeaf instrument(uint64_t id) { return *decode_instrument(*state_.find(instrument_key(id))); }
  std::optional<OracleLeaf> oracle(uint32_t u) {
    const Bytes* b = state_.find(oracle_key(u));
    if (!b) return std::nullopt;
    return *decode_oracle(*b);
  }

  // --- builders ---
  DepositTx deposit(size_t dev, int64_t amount) {
    return DepositTx{inbox_++, dev_address(dev), dev_address(dev), static_cast<uint64_t>(amount)};
  }

  Order order(size_t dev, uint64_t instrument, bool buy, int64_t qty, int64_t price, uint8_t flags = 0) {
    return Order{dev_address(dev),
                 instrument,
                 buy,
                 static_cast<uint64_t>(qty),
                 static_cast<uint64_t>(price),
                 params_.fees.taker_fee,
                 salt_++,
                 now_ + 3600,
                 flags};
  }
  SignedOrder signed_order(size_t dev, const Order& o) {
    return SignedOrder{o, *sign(typed_digest(params_.domain_separator, o), dev_key(dev))};
  }
  TradeTx trade(size_t maker_dev, const Order& maker, size_t taker_dev, const Order& taker, int64_t qty,
                int64_t price) {
    return TradeTx{signed_order(maker_dev, maker), signed_order(taker_dev, taker), static_cast<uint64_t>(qty),
                   static_cast<uint64_t>(price)};
  }
  // A maker sells / taker buys `qty` of `instrument` at `price`.
  TradeTx simple_trade(size_t seller, size_t buyer, uint64_t instrument, int64_t qty, int64_t price) {
    return trade(seller, order(seller, instrument, false, qty, price), buyer,
                 order(buyer, instrument, true, qty, price), qty, price);
  }
  // A report one second after the current time (time advances), signed by committee members 7 and 8.
  PriceReportTx report(uint32_t underlying, int64_t price, uint64_t vol = 800'000,
                       std::vector<size_t> signers = {7, 8}) {
    advance(1);
    return report_at(underlying, price, now_, vol, signers);
  }
  PriceReportTx report_at(uint32_t underlying, int64_t price, uint64_t timestamp, uint64_t vol = 800'000,
                          std::vector<size_t> signers = {7, 8}) {
    PriceReport r{underlying, static_cast<uint64_t>(price), vol, timestamp};
    PriceReportTx t{r, {}};
    for (size_t s : signers) t.sigs.push_back(*sign(typed_digest(params_.domain_separator, r), dev_key(s)));
    return t;
  }
  CancelTx cancel(size_t dev, const OrderHash& h) {
    Cancel c{dev_address(dev), h};
    return CancelTx{c, *sign(typed_digest(params_.domain_separator, c), dev_key(dev))};
  }
  WithdrawTx withdraw(size_t dev, int64_t amount, std::optional<uint64_t> nonce = std::nullopt) {
    Withdraw w{dev_address(dev), static_cast<uint64_t>(amount), dev_address(dev), nonce ? *nonce : account(dev).nonce};
    return WithdrawTx{w, *sign(typed_digest(params_.domain_separator, w), dev_key(dev))};
  }
  ListInstrumentTx list(uint32_t underlying, int64_t strike, uint64_t expiry, bool call, size_t signer = 6) {
    ListInstrument l{underlying, static_cast<uint64_t>(strike), expiry, call};
    return ListInstrumentTx{l, *sign(typed_digest(params_.domain_separator, l), dev_key(signer))};
  }
  LiquidateTx liquidate(size_t liquidator, size_t victim, uint64_t instrument, int64_t qty) {
    Liquidate l{dev_address(liquidator), dev_address(victim), instrument, static_cast<uint64_t>(qty),
                account(liquidator).nonce};
    return LiquidateTx{l, *sign(typed_digest(params_.domain_separator, l), dev_key(liquidator))};
  }
  OrderHash hash_of(const Order& o) const { return order_hash(params_.domain_separator, o); }

  // Sum of all collateral + fee pool + insurance + settlement pools (must equal deposits − withdrawals).
  i128 money_in_system(const std::vector<Address>& accounts, uint64_t max_instrument) {
    GlobalLeaf g = global();
    i128 sum = static_cast<i128>(g.fee_pool) + g.insurance_fund;
    for (const auto& a : accounts) sum += account(a).collateral;
    for (uint64_t id = 1; id <= max_instrument; ++id) {
      if (const Bytes* b = state_.find(instrument_key(id))) sum += decode_instrument(*b)->settlement_pool;
    }
    return sum;
  }

 private:
  Params params_;
  FullState state_;
  uint64_t now_ = kT0 + 60;
  uint64_t inbox_ = 0;
  uint64_t salt_ = 1;
};

}  // namespace opt::test
