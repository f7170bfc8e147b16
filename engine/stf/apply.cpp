#include "engine/stf/apply.h"

#include <algorithm>

#include "engine/core/eip712.h"
#include "engine/risk/margin.h"

namespace opt {

const char* to_string(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kMalformed: return "malformed";
    case Code::kBadSignature: return "bad_signature";
    case Code::kHighSignature: return "high_s_signature";
    case Code::kSignerMismatch: return "signer_mismatch";
    case Code::kBadNonce: return "bad_nonce";
    case Code::kZeroAmount: return "zero_amount";
    case Code::kUnknownInstrument: return "unknown_instrument";
    case Code::kInstrumentMismatch: return "instrument_mismatch";
    case Code::kSameSide: return "same_side";
    case Code::kSelfTrade: return "self_trade";
    case Code::kPriceOutsideLimit: return "price_outside_limit";
    case Code::kFeeAboveMax: return "fee_above_max";
    case Code::kOrderExpired: return "order_expired";
    case Code::kInstrumentExpired: return "instrument_expired";
    case Code::kOverfill: return "overfill";
    case Code::kOrderCancelled: return "order_cancelled";
    case Code::kBadFlags: return "bad_flags";
    case Code::kPostOnlyTaker: return "post_only_taker";
    case Code::kReduceOnlyViolated: return "reduce_only_violated";
    case Code::kUnderMargin: return "under_margin";
    case Code::kTooManyPositions: return "too_many_positions";
    case Code::kStaleOracle: return "stale_oracle";
    case Code::kNoOraclePrice: return "no_oracle_price";
    case Code::kNotCommittee: return "not_committee";
    case Code::kDuplicateSigner: return "duplicate_signer";
    case Code::kNotEnoughSignatures: return "not_enough_signatures";
    case Code::kStaleReport: return "stale_report";
    case Code::kReportInFuture: return "report_in_future";
    case Code::kBadReport: return "bad_report";
    case Code::kNotAdmin: return "not_admin";
    case Code::kDuplicateInstrument: return "duplicate_instrument";
    case Code::kBadInstrumentTerms: return "bad_instrument_terms";
    case Code::kNotLiquidatable: return "not_liquidatable";
    case Code::kNoPosition: return "no_position";
    case Code::kSelfLiquidation: return "self_liquidation";
    case Code::kNotExpired: return "not_expired";
    case Code::kAlreadyExpired: return "already_expired";
    case Code::kNotYetSettleable: return "not_yet_settleable";
    case Code::kSettlementUnavailable: return "settlement_unavailable";
    case Code::kInsufficientCollateral: return "insufficient_collateral";
    case Code::kOverflow: return "overflow";
    case Code::kNotOwner: return "not_owner";
    case Code::kInboxOnly: return "inbox_only";
    case Code::kCorruptState: return "corrupt_state";
  }
  return "unknown";
}

const char* describe(Code c) {
  switch (c) {
    case Code::kOk: return "applied";
    case Code::kMalformed: return "the transaction does not decode";
    case Code::kBadSignature: return "the signature's v, r or s is invalid";
    case Code::kHighSignature: return "the signature's s is in the upper half of the curve order (malleable)";
    case Code::kSignerMismatch:
      return "the signature does not recover to the account (signed for another chain or contract?)";
    case Code::kBadNonce: return "the nonce is not the account's next nonce";
    case Code::kZeroAmount: return "a quantity, price or amount is zero";
    case Code::kUnknownInstrument: return "no such instrument";
    case Code::kInstrumentMismatch: return "the two orders name different instruments";
    case Code::kSameSide: return "both orders are on the same side";
    case Code::kSelfTrade: return "maker and taker are the same account";
    case Code::kPriceOutsideLimit: return "the price is outside an order's limit";
    case Code::kFeeAboveMax: return "the fee per contract is above the order's maxFee";
    case Code::kOrderExpired: return "the order has expired";
    case Code::kInstrumentExpired: return "the instrument has expired";
    case Code::kOverfill: return "the fill is above the order's remaining quantity";
    case Code::kOrderCancelled: return "the order was cancelled";
    case Code::kBadFlags: return "unknown order flag bits";
    case Code::kPostOnlyTaker: return "a post-only order cannot take liquidity";
    case Code::kReduceOnlyViolated: return "a reduce-only order would increase the position";
    case Code::kUnderMargin: return "the account would fall below initial margin";
    case Code::kTooManyPositions: return "the account already holds 64 positions";
    case Code::kStaleOracle: return "the oracle price is stale: no new risk until it is updated";
    case Code::kNoOraclePrice: return "no oracle price yet for the underlying";
    case Code::kNotCommittee: return "a signer is not in the oracle committee";
    case Code::kDuplicateSigner: return "a committee member signed twice";
    case Code::kNotEnoughSignatures: return "fewer committee signatures than the threshold";
    case Code::kStaleReport: return "the report is not newer than the last one";
    case Code::kReportInFuture: return "the report's timestamp is after the batch's";
    case Code::kBadReport: return "zero price or volatility out of range";
    case Code::kNotAdmin: return "not signed by the admin key";
    case Code::kDuplicateInstrument: return "an instrument with these terms is already listed";
    case Code::kBadInstrumentTerms: return "zero strike, or expiry not a future 30-minute grid point";
    case Code::kNotLiquidatable: return "the account meets maintenance margin";
    case Code::kNoPosition: return "no position in that instrument";
    case Code::kSelfLiquidation: return "an account cannot liquidate itself";
    case Code::kNotExpired: return "the instrument has not expired yet";
    case Code::kAlreadyExpired: return "the instrument already expired";
    case Code::kNotYetSettleable: return "the settlement price is not fixed yet";
    case Code::kSettlementUnavailable: return "no oracle report at or after expiry yet";
    case Code::kInsufficientCollateral: return "more than the account's free collateral";
    case Code::kOverflow: return "an amount is out of range";
    case Code::kNotOwner: return "the order belongs to another account";
    case Code::kInboxOnly: return "deposits and forced withdrawals come only from the L1 inbox";
    case Code::kCorruptState: return "a stored leaf does not decode";
  }
  return "unknown";
}

void Params::seal() {
  domain_separator = Eip712Domain{"optrollup", "1", chain_id, rollup_address}.separator();
}

namespace {

// Why a step stopped: a refusal (a receipt code; the batch goes on) or a fault of the state (the step
// cannot be executed at all, e.g. a witness without a key the step reads).
struct Stop {
  bool fault = false;
  Code code = Code::kOk;
  StateError error = StateError::kInternal;
};
Err<Stop> refuse(Code c) {
  return err(Stop{false, c, StateError::kInternal});
}
Err<Stop> fault(StateError e) {
  return err(Stop{true, Code::kOk, e});
}

template <class T>
using R = Result<T, Stop>;
using S = Status<Stop>;

#define OPT_TRY(var, expr)                             \
  auto var##_result = (expr);                          \
  if (!var##_result) return err(var##_result.error()); \
  auto& var = *var##_result
#define OPT_CHECK(expr)                                \
  do {                                                 \
    if (auto s_ = (expr); !s_) return err(s_.error()); \
  } while (0)
#define OPT_REQUIRE(cond, code)       \
  do {                                \
    if (!(cond)) return refuse(code); \
  } while (0)

constexpr uint64_t kMaxAmount = static_cast<uint64_t>(INT64_MAX);
// Prices above 1e9 USDC are refused so that price * seconds accumulates in 128 bits for centuries.
constexpr uint64_t kMaxOraclePrice = 1'000'000'000'000'000ULL;

S add_to(int64_t& target, i128 delta) {
  auto r = narrow(static_cast<i128>(target) + delta);
  if (!r) return refuse(Code::kOverflow);
  target = *r;
  return {};
}

bool reduces(int64_t before, int64_t after) {
  if (before > 0) return after >= 0 && after < before;
  if (before < 0) return after <= 0 && after > before;
  return false;
}

class Step {
 public:
  Step(const Params& p, const StepContext& c, Overlay& st, SigCache* cache) : p_(p), ctx_(c), st_(st), cache_(cache) {}

  R<Receipt> run(const DepositTx& t);
  R<Receipt> run(const TradeTx& t);
  R<Receipt> run(const CancelTx& t);
  R<Receipt> run(const PriceReportTx& t);
  R<Receipt> run(const ListInstrumentTx& t);
  R<Receipt> run(const LiquidateTx& t);
  R<Receipt> run(const ExpireTx& t);
  R<Receipt> run(const SettleTx& t);
  R<Receipt> run(const WithdrawTx& t);
  R<Receipt> run(const ForcedWithdrawTx& t);

 private:
  template <class Leaf, class Decode>
  R<std::optional<Leaf>> load(const SmtKey& key, Decode decode) {
    auto v = st_.get(key);
    if (!v) return fault(v.error());
    if (!*v) return std::optional<Leaf>{};
    auto leaf = decode(**v);
    if (!leaf) return refuse(Code::kCorruptState);
    return std::optional<Leaf>{std::move(*leaf)};
  }
  template <class Leaf>
  S store(const SmtKey& key, const Leaf& leaf) {
    if (auto s = st_.put(key, encode_leaf(leaf)); !s) return fault(s.error());
    return {};
  }

  R<AccountLeaf> account(const Address& a) {
    OPT_TRY(v, (load<AccountLeaf>(key_of_account(a), decode_account)));
    return v ? std::move(*v) : AccountLeaf{};
  }
  // Keys are keccak256 hashes: each is derived once per step, not at every load and store.
  SmtKey key_of_account(const Address& a) {
    for (const auto& [addr, key] : account_keys_)
      if (addr == a) return key;
    account_keys_.emplace_back(a, account_key(a));
    return account_keys_.back().second;
  }
  SmtKey key_of_oracle(uint32_t underlying) {
    for (const auto& [u, key] : oracle_keys_)
      if (u == underlying) return key;
    oracle_keys_.emplace_back(underlying, oracle_key(underlying));
    return oracle_keys_.back().second;
  }
  SmtKey key_of_instrument(uint64_t id) {
    if (instrument_key_.first != id || !has_instrument_key_) {
      instrument_key_ = {id, instrument_key(id)};
      has_instrument_key_ = true;
    }
    return instrument_key_.second;
  }
  R<GlobalLeaf> global() {
    OPT_TRY(v, (load<GlobalLeaf>(global_key(), decode_global)));
    return v ? *v : GlobalLeaf{};
  }
  R<InstrumentLeaf> instrument(uint64_t id) {
    OPT_TRY(v, (load<InstrumentLeaf>(key_of_instrument(id), decode_instrument)));
    if (!v) return refuse(Code::kUnknownInstrument);
    return *v;
  }

  // Checks a signature over `digest` by `expected`, mapping each failure to its receipt code.
  S verify(const Hash32& digest, const Signature& sig, const Address& expected, Code mismatch = Code::kSignerMismatch) {
    auto who = recover(digest, sig);
    if (!who) return refuse(who.error() == SigError::kHighS ? Code::kHighSignature : Code::kBadSignature);
    if (*who != expected) return refuse(mismatch);
    return {};
  }

  // An order's hash, after checking its signature (through the sequencer's cache when there is one).
  R<OrderHash> verify_order(const SignedOrder& so) {
    if (cache_) {
      if (auto hit = cache_->lookup(so)) {
        if (hit->signer != so.order.account) return refuse(Code::kSignerMismatch);
        return hit->hash;
      }
    }
    OrderHash h = order_hash(p_.domain_separator, so.order);
    auto who = recover(Hash32::from(h), so.sig);
    if (!who) return refuse(who.error() == SigError::kHighS ? Code::kHighSignature : Code::kBadSignature);
    if (cache_) cache_->insert(so, SigCache::Entry{h, *who});
    if (*who != so.order.account) return refuse(Code::kSignerMismatch);
    return h;
  }

  // The oracle leaves of every underlying the account's positions use. A trade prices two accounts on
  // the same underlying, so each oracle leaf is read and decoded once per step; only PriceReport writes
  // an oracle leaf, and it drops this step's copies when it does (store_oracle).
  R<MarginResult> margin_of(const AccountLeaf& a) {
    for (const auto& p : a.positions) {
      bool have = std::any_of(oracles_.begin(), oracles_.end(),
                              [&](const OracleLeaf& o) { return o.underlying == p.underlying; });
      if (have) continue;
      OPT_TRY(o, (load<OracleLeaf>(key_of_oracle(p.underlying), decode_oracle)));
      if (!o) return refuse(Code::kNoOraclePrice);
      oracles_.push_back(std::move(*o));
    }
    auto m = compute_margin(a.collateral, a.positions, oracles_, ctx_.timestamp, p_);
    if (!m) return refuse(m.error() == MarginError::kNoOraclePrice ? Code::kNoOraclePrice : Code::kOverflow);
    return std::move(*m);
  }
  S store_oracle(uint32_t underlying, const OracleLeaf& leaf) {
    oracles_.clear();
    return store(key_of_oracle(underlying), leaf);
  }

  // An account may end a trade below initial margin only if the trade reduced its position in the
  // instrument and did not deepen its shortfall; stale marks block everything else (no new risk).
  // `qty_before` is the account's position in the instrument before the step. The account as it was is
  // needed only when the margin check fails, and is then read again: the step stores its accounts only
  // after every check, so the overlay still holds the old leaf (no copy of it is kept for the rare case).
  S check_margin_after_trade(const Address& who, int64_t qty_before, const AccountLeaf& after, uint64_t instrument) {
    OPT_TRY(m_after, margin_of(after));
    if (!m_after.stale && m_after.equity >= m_after.initial) return {};
    const Position* pa = after.find(instrument);
    if (qty_before != 0 && reduces(qty_before, pa ? pa->qty : 0)) {
      OPT_TRY(before, account(who));
      OPT_TRY(m_before, margin_of(before));
      if (m_after.initial_shortfall() <= m_before.initial_shortfall()) return {};
    }
    return refuse(m_after.stale ? Code::kStaleOracle : Code::kUnderMargin);
  }

  // Adds delta to the account's position in the instrument (copying its terms when it opens).
  static S adjust_position(AccountLeaf& a, const InstrumentLeaf& inst, int64_t delta) {
    Position* p = a.find(inst.id);
    if (!p) {
      if (a.positions.size() >= kMaxPositions) return refuse(Code::kTooManyPositions);
      Position np{inst.id, inst.underlying, inst.strike, inst.expiry, inst.is_call, delta};
      auto it = std::lower_bound(a.positions.begin(), a.positions.end(), inst.id,
                                 [](const Position& x, uint64_t id) { return x.instrument < id; });
      a.positions.insert(it, np);
      return {};
    }
    auto q = checked_add(p->qty, delta);
    if (!q) return refuse(Code::kOverflow);
    p->qty = *q;
    if (p->qty == 0) a.positions.erase(a.positions.begin() + (p - a.positions.data()));
    return {};
  }

  static int64_t qty_in(const AccountLeaf& a, uint64_t instrument) {
    const Position* p = a.find(instrument);
    return p ? p->qty : 0;
  }

  // Open interest follows every change of the long and short totals of an instrument.
  static S update_open_interest(InstrumentLeaf& inst, int64_t before, int64_t after) {
    i128 dl = static_cast<i128>(std::max<int64_t>(after, 0)) - std::max<int64_t>(before, 0);
    i128 ds = static_cast<i128>(std::max<int64_t>(-after, 0)) - std::max<int64_t>(-before, 0);
    i128 l = static_cast<i128>(inst.long_open) + dl, s = static_cast<i128>(inst.short_open) + ds;
    if (l < 0 || s < 0 || l > static_cast<i128>(kMaxAmount) || s > static_cast<i128>(kMaxAmount))
      return refuse(Code::kOverflow);
    inst.long_open = static_cast<uint64_t>(l);
    inst.short_open = static_cast<uint64_t>(s);
    return {};
  }

  // A bankrupt remainder (negative collateral) is covered by the insurance fund as far as it reaches.
  static void cover_bad_debt(AccountLeaf& a, GlobalLeaf& g) {
    if (a.collateral >= 0 || g.insurance_fund <= 0) return;
    int64_t cover = std::min(-a.collateral, g.insurance_fund);  // -collateral fits: collateral > INT64_MIN here
    a.collateral += cover;
    g.insurance_fund -= cover;
  }

  // Free collateral: what may leave the account without breaking initial margin.
  R<int64_t> free_collateral(const AccountLeaf& a) {
    if (a.positions.empty()) return std::max<int64_t>(a.collateral, 0);
    OPT_TRY(m, margin_of(a));
    if (m.stale) return refuse(Code::kStaleOracle);
    int64_t free = std::min(m.equity - m.initial, a.collateral);
    return std::max<int64_t>(free, 0);
  }

  R<uint64_t> write_withdrawal(const Address& account, const Address& recipient, uint64_t amount, GlobalLeaf& g) {
    uint64_t index = g.withdrawal_count++;
    OPT_CHECK(add_to(g.total_withdrawals, amount));
    OPT_CHECK(store(withdrawal_key(index), WithdrawalLeaf{index, account, recipient, amount}));
    return index;
  }

  Receipt ok(uint64_t value = 0) const { return Receipt{TxType::kDeposit, true, Code::kOk, value}; }

  const Params& p_;
  const StepContext& ctx_;
  Overlay& st_;
  SigCache* cache_;
  std::vector<std::pair<Address, SmtKey>> account_keys_;
  std::vector<std::pair<uint32_t, SmtKey>> oracle_keys_;
  std::pair<uint64_t, SmtKey> instrument_key_;
  bool has_instrument_key_ = false;
  std::vector<OracleLeaf> oracles_;  // decoded oracle leaves this step has read (see margin_of)
};

R<Receipt> Step::run(const DepositTx& t) {
  OPT_REQUIRE(ctx_.from_inbox, Code::kInboxOnly);
  OPT_REQUIRE(t.amount <= kMaxAmount, Code::kOverflow);
  OPT_TRY(acc, account(t.recipient));
  OPT_TRY(g, global());
  OPT_CHECK(add_to(acc.collateral, t.amount));
  OPT_CHECK(add_to(g.total_deposits, t.amount));
  OPT_CHECK(store(key_of_account(t.recipient), acc));
  OPT_CHECK(store(global_key(), g));
  return ok(t.amount);
}

R<Receipt> Step::run(const TradeTx& t) {
  const Order& mo = t.maker.order;
  const Order& to = t.taker.order;
  OPT_REQUIRE(t.quantity > 0 && t.price > 0, Code::kZeroAmount);
  OPT_REQUIRE(t.quantity <= kMaxAmount && t.price <= kMaxAmount, Code::kOverflow);
  OPT_REQUIRE(mo.instrument == to.instrument, Code::kInstrumentMismatch);
  OPT_REQUIRE(mo.is_buy != to.is_buy, Code::kSameSide);
  OPT_REQUIRE(mo.account != to.account, Code::kSelfTrade);
  OPT_REQUIRE((mo.flags & ~kKnownOrderFlags) == 0 && (to.flags & ~kKnownOrderFlags) == 0, Code::kBadFlags);
  OPT_REQUIRE((to.flags & kPostOnly) == 0, Code::kPostOnlyTaker);
  OPT_REQUIRE(ctx_.timestamp < mo.expiry && ctx_.timestamp < to.expiry, Code::kOrderExpired);
  const Order& buy = mo.is_buy ? mo : to;
  const Order& sell = mo.is_buy ? to : mo;
  OPT_REQUIRE(buy.limit_price >= t.price && sell.limit_price <= t.price, Code::kPriceOutsideLimit);
  OPT_REQUIRE(p_.fees.maker_fee <= mo.max_fee && p_.fees.taker_fee <= to.max_fee, Code::kFeeAboveMax);

  OPT_TRY(mh, verify_order(t.maker));
  OPT_TRY(th, verify_order(t.taker));

  // Fill leaves: the owner recorded by an earlier fill or cancel is trusted only if it is this order's
  // account; a foreign cancel (someone cancelling a hash they do not own) is ignored.
  FillLeaf fills[2];
  const Order* orders[2] = {&mo, &to};
  const SmtKey fill_keys[2] = {fill_key(mh), fill_key(th)};
  for (int i = 0; i < 2; ++i) {
    OPT_TRY(f, (load<FillLeaf>(fill_keys[i], decode_fill)));
    if (f && f->owner == orders[i]->account) fills[i] = *f;
    fills[i].owner = orders[i]->account;
    OPT_REQUIRE(!fills[i].cancelled, Code::kOrderCancelled);
    OPT_REQUIRE(fills[i].filled <= orders[i]->quantity && t.quantity <= orders[i]->quantity - fills[i].filled,
                Code::kOverfill);
    fills[i].filled += t.quantity;
  }

  OPT_TRY(inst, instrument(mo.instrument));
  OPT_REQUIRE(inst.status == InstrumentStatus::kActive && ctx_.timestamp < inst.expiry, Code::kInstrumentExpired);

  OPT_TRY(maker, account(mo.account));
  OPT_TRY(taker, account(to.account));
  OPT_TRY(g, global());
  const int64_t qty_before[2] = {qty_in(maker, inst.id), qty_in(taker, inst.id)};
  AccountLeaf& buyer = mo.is_buy ? maker : taker;
  AccountLeaf& seller = mo.is_buy ? taker : maker;

  Price price(static_cast<int64_t>(t.price));
  Qty qty(static_cast<int64_t>(t.quantity));
  auto pay = notional_up(price, qty);
  auto receive = notional_down(price, qty);
  auto maker_fee = mul_div_up(static_cast<int64_t>(p_.fees.maker_fee), qty.micro(), kMicro);
  auto taker_fee = mul_div_up(static_cast<int64_t>(p_.fees.taker_fee), qty.micro(), kMicro);
  OPT_REQUIRE(pay && receive && maker_fee && taker_fee, Code::kOverflow);
  const int64_t buyer_fee = mo.is_buy ? *maker_fee : *taker_fee;
  const int64_t seller_fee = mo.is_buy ? *taker_fee : *maker_fee;
  OPT_CHECK(add_to(buyer.collateral, -static_cast<i128>(pay->micro()) - buyer_fee));
  OPT_CHECK(add_to(seller.collateral, static_cast<i128>(receive->micro()) - seller_fee));
  // Fees and the rounding remainder (what the buyer paid above what the seller received) go to the pool.
  OPT_CHECK(add_to(g.fee_pool, static_cast<i128>(*maker_fee) + *taker_fee + (pay->micro() - receive->micro())));

  OPT_CHECK(adjust_position(buyer, inst, qty.micro()));
  OPT_CHECK(adjust_position(seller, inst, -qty.micro()));

  for (int i = 0; i < 2; ++i) {
    const AccountLeaf& after = i == 0 ? maker : taker;
    int64_t qb = qty_before[i], qa = qty_in(after, inst.id);
    if (orders[i]->flags & kReduceOnly) OPT_REQUIRE(reduces(qb, qa), Code::kReduceOnlyViolated);
    OPT_CHECK(update_open_interest(inst, qb, qa));
  }
  OPT_CHECK(check_margin_after_trade(mo.account, qty_before[0], maker, inst.id));
  OPT_CHECK(check_margin_after_trade(to.account, qty_before[1], taker, inst.id));

  OPT_CHECK(store(fill_keys[0], fills[0]));
  OPT_CHECK(store(fill_keys[1], fills[1]));
  OPT_CHECK(store(key_of_account(mo.account), maker));
  OPT_CHECK(store(key_of_account(to.account), taker));
  OPT_CHECK(store(key_of_instrument(inst.id), inst));
  OPT_CHECK(store(global_key(), g));
  return ok(t.quantity);
}

R<Receipt> Step::run(const CancelTx& t) {
  OPT_CHECK(verify(typed_digest(p_.domain_separator, t.cancel), t.sig, t.cancel.account));
  SmtKey key = fill_key(t.cancel.order_hash);
  OPT_TRY(f, (load<FillLeaf>(key, decode_fill)));
  FillLeaf leaf;
  if (f && f->owner == t.cancel.account) {
    leaf = *f;
  } else if (f && f->filled > 0) {
    // Someone else's signature filled this order: it is theirs, and only they may cancel it.
    return refuse(Code::kNotOwner);
  }
  leaf.owner = t.cancel.account;
  leaf.cancelled = true;  // idempotent: cancelling twice changes nothing more
  OPT_CHECK(store(key, leaf));
  return ok();
}

R<Receipt> Step::run(const PriceReportTx& t) {
  const PriceReport& r = t.report;
  OPT_REQUIRE(r.price > 0 && r.price <= kMaxOraclePrice && r.volatility > 0 && r.volatility <= p_.max_volatility,
              Code::kBadReport);
  OPT_REQUIRE(r.timestamp <= ctx_.timestamp, Code::kReportInFuture);
  OPT_TRY(old, (load<OracleLeaf>(key_of_oracle(r.underlying), decode_oracle)));
  OPT_REQUIRE(!old || r.timestamp > old->timestamp, Code::kStaleReport);

  Hash32 digest = typed_digest(p_.domain_separator, r);
  std::vector<Address> signers;
  for (const auto& sig : t.sigs) {
    auto who = recover(digest, sig);
    if (!who) return refuse(who.error() == SigError::kHighS ? Code::kHighSignature : Code::kBadSignature);
    bool member = std::find(p_.oracle_committee.begin(), p_.oracle_committee.end(), *who) != p_.oracle_committee.end();
    OPT_REQUIRE(member, Code::kNotCommittee);
    OPT_REQUIRE(std::find(signers.begin(), signers.end(), *who) == signers.end(), Code::kDuplicateSigner);
    signers.push_back(*who);
  }
  OPT_REQUIRE(signers.size() >= p_.oracle_threshold && !signers.empty(), Code::kNotEnoughSignatures);

  OracleLeaf leaf;
  if (old) {
    leaf = *old;
    // The price held from the last report until this one: record the cumulative value at every grid
    // point crossed (only the last kOracleCheckpoints can matter), then advance the accumulator.
    const uint64_t t0 = old->timestamp, t1 = r.timestamp;
    const u128 p0 = old->price;
    uint64_t first = (t0 / kSettlementWindow + 1) * kSettlementWindow;
    uint64_t last = (t1 / kSettlementWindow) * kSettlementWindow;
    if (first <= last) {
      uint64_t span = (kOracleCheckpoints - 1) * kSettlementWindow;
      uint64_t start = (last - first > span) ? last - span : first;
      for (uint64_t gp = start; gp <= last; gp += kSettlementWindow)
        leaf.checkpoints.push_back(OracleCheckpoint{gp, old->cumulative + p0 * (gp - t0)});
      if (leaf.checkpoints.size() > kOracleCheckpoints)
        leaf.checkpoints.erase(leaf.checkpoints.begin(),
                               leaf.checkpoints.end() - static_cast<std::ptrdiff_t>(kOracleCheckpoints));
    }
    leaf.cumulative = old->cumulative + p0 * (t1 - t0);
  } else {
    leaf.underlying = r.underlying;
  }
  leaf.price = r.price;
  leaf.volatility = r.volatility;
  leaf.timestamp = r.timestamp;
  OPT_CHECK(store_oracle(r.underlying, leaf));
  return ok(r.price);
}

R<Receipt> Step::run(const ListInstrumentTx& t) {
  const ListInstrument& l = t.listing;
  OPT_REQUIRE(l.underlying > 0 && l.strike > 0 && l.strike <= kMaxAmount && l.expiry % kSettlementWindow == 0 &&
                  l.expiry > ctx_.timestamp,
              Code::kBadInstrumentTerms);
  OPT_CHECK(verify(typed_digest(p_.domain_separator, l), t.sig, p_.admin, Code::kNotAdmin));
  SmtKey lk = listing_key(l.underlying, l.strike, l.expiry, l.is_call);
  OPT_TRY(existing, (load<ListingLeaf>(lk, decode_listing)));
  OPT_REQUIRE(!existing, Code::kDuplicateInstrument);
  OPT_TRY(g, global());
  uint64_t id = g.next_instrument_id++;
  InstrumentLeaf inst{id, l.underlying, l.strike, l.expiry, l.is_call, InstrumentStatus::kActive, 0, 0, 0, 0};
  OPT_CHECK(store(instrument_key(id), inst));
  OPT_CHECK(store(lk, ListingLeaf{id}));
  OPT_CHECK(store(global_key(), g));
  return ok(id);
}

R<Receipt> Step::run(const LiquidateTx& t) {
  const Liquidate& l = t.liquidate;
  OPT_REQUIRE(l.quantity > 0, Code::kZeroAmount);
  OPT_REQUIRE(l.quantity <= kMaxAmount, Code::kOverflow);
  OPT_REQUIRE(l.liquidator != l.account, Code::kSelfLiquidation);
  OPT_CHECK(verify(typed_digest(p_.domain_separator, l), t.sig, l.liquidator));
  OPT_TRY(liq, account(l.liquidator));
  OPT_REQUIRE(liq.nonce == l.nonce, Code::kBadNonce);
  OPT_TRY(victim, account(l.account));
  const Position* pos = victim.find(l.instrument);
  OPT_REQUIRE(pos != nullptr, Code::kNoPosition);
  OPT_REQUIRE(static_cast<uint64_t>(pos->qty < 0 ? -pos->qty : pos->qty) >= l.quantity, Code::kOverfill);
  OPT_TRY(inst, instrument(l.instrument));
  OPT_REQUIRE(inst.status == InstrumentStatus::kActive && ctx_.timestamp < inst.expiry, Code::kInstrumentExpired);

  OPT_TRY(m, margin_of(victim));
  OPT_REQUIRE(!m.stale, Code::kStaleOracle);
  OPT_REQUIRE(m.equity < m.maintenance, Code::kNotLiquidatable);
  size_t idx = static_cast<size_t>(pos - victim.positions.data());
  const int64_t mark = m.marks[idx];
  const int64_t moved = pos->qty > 0 ? static_cast<int64_t>(l.quantity) : -static_cast<int64_t>(l.quantity);
  OPT_TRY(oracle, (load<OracleLeaf>(key_of_oracle(pos->underlying), decode_oracle)));
  OPT_REQUIRE(oracle.has_value(), Code::kNoOraclePrice);

  OPT_TRY(g, global());
  const int64_t victim_qty_before = pos->qty, liq_qty_before = qty_in(liq, inst.id);
  // The position changes hands at mark: whoever pays rounds up, whoever receives rounds down.
  auto up = mul_div_up(mark, static_cast<int64_t>(l.quantity), kMicro);
  auto down = mul_div_down(mark, static_cast<int64_t>(l.quantity), kMicro);
  // Penalty on the underlying notional taken over, paid by the liquidated account.
  auto penalty =
      narrow(ceil_div(static_cast<i128>(oracle->price) * static_cast<i128>(l.quantity) * p_.liquidation_penalty_ppm,
                      static_cast<i128>(kMicro) * 1'000'000));
  OPT_REQUIRE(up && down && penalty, Code::kOverflow);
  auto reward = mul_div_down(*penalty, p_.liquidator_share_ppm, 1'000'000);
  OPT_REQUIRE(reward.has_value(), Code::kOverflow);
  if (moved > 0) {  // a long moves: the liquidator pays for it
    OPT_CHECK(add_to(liq.collateral, -static_cast<i128>(*up)));
    OPT_CHECK(add_to(victim.collateral, *down));
  } else {  // a short moves: the liquidated account pays the liquidator to take the liability
    OPT_CHECK(add_to(victim.collateral, -static_cast<i128>(*up)));
    OPT_CHECK(add_to(liq.collateral, *down));
  }
  OPT_CHECK(add_to(victim.collateral, -static_cast<i128>(*penalty)));
  OPT_CHECK(add_to(liq.collateral, *reward));
  OPT_CHECK(add_to(g.insurance_fund, static_cast<i128>(*penalty) - *reward));
  OPT_CHECK(add_to(g.fee_pool, static_cast<i128>(*up) - *down));

  OPT_CHECK(adjust_position(victim, inst, -moved));
  OPT_CHECK(adjust_position(liq, inst, moved));
  OPT_CHECK(update_open_interest(inst, victim_qty_before, qty_in(victim, inst.id)));
  OPT_CHECK(update_open_interest(inst, liq_qty_before, qty_in(liq, inst.id)));
  OPT_CHECK(check_margin_after_trade(l.liquidator, liq_qty_before, liq, inst.id));
  cover_bad_debt(victim, g);
  liq.nonce++;

  OPT_CHECK(store(key_of_account(l.liquidator), liq));
  OPT_CHECK(store(key_of_account(l.account), victim));
  OPT_CHECK(store(key_of_instrument(inst.id), inst));
  OPT_CHECK(store(global_key(), g));
  return ok(l.quantity);
}

R<Receipt> Step::run(const ExpireTx& t) {
  OPT_TRY(inst, instrument(t.instrument));
  OPT_REQUIRE(inst.status == InstrumentStatus::kActive, Code::kAlreadyExpired);
  OPT_REQUIRE(ctx_.timestamp >= inst.expiry, Code::kNotExpired);
  OPT_TRY(o, (load<OracleLeaf>(key_of_oracle(inst.underlying), decode_oracle)));
  OPT_REQUIRE(o && o->timestamp >= inst.expiry, Code::kSettlementUnavailable);
  // TWAP of the 30 minutes before expiry from two checkpoints. If the window is not covered (the oracle
  // started inside it, or the checkpoints rolled out because Expire came over a day late) the last
  // price is used instead; docs/protocol.md explains why a stuck instrument would be worse.
  const OracleCheckpoint *end = nullptr, *begin = nullptr;
  for (const auto& c : o->checkpoints) {
    if (c.time == inst.expiry) end = &c;
    if (c.time == inst.expiry - kSettlementWindow) begin = &c;
  }
  u128 price = o->price;
  if (begin && end) price = (end->cumulative - begin->cumulative) / kSettlementWindow;
  OPT_REQUIRE(price <= kMaxAmount, Code::kOverflow);
  inst.status = InstrumentStatus::kExpired;
  inst.settlement_price = static_cast<uint64_t>(price);
  OPT_CHECK(store(key_of_instrument(inst.id), inst));
  return ok(inst.settlement_price);
}

R<Receipt> Step::run(const SettleTx& t) {
  OPT_TRY(inst, instrument(t.instrument));
  if (inst.status != InstrumentStatus::kExpired)
    return refuse(ctx_.timestamp < inst.expiry ? Code::kNotExpired : Code::kNotYetSettleable);
  OPT_TRY(acc, account(t.account));
  const Position* pos = acc.find(t.instrument);
  OPT_REQUIRE(pos != nullptr, Code::kNoPosition);
  OPT_TRY(g, global());
  const int64_t s = static_cast<int64_t>(inst.settlement_price), k = static_cast<int64_t>(inst.strike);
  const int64_t payoff = inst.is_call ? std::max<int64_t>(s - k, 0) : std::max<int64_t>(k - s, 0);
  const int64_t q = pos->qty;
  uint64_t amount;
  if (q > 0) {  // a long is paid, rounded down
    OPT_REQUIRE(static_cast<uint64_t>(q) <= inst.long_open, Code::kCorruptState);
    auto a = mul_div_down(payoff, q, kMicro);
    OPT_REQUIRE(a.has_value(), Code::kOverflow);
    OPT_CHECK(add_to(acc.collateral, *a));
    OPT_CHECK(add_to(inst.settlement_pool, -static_cast<i128>(*a)));
    inst.long_open -= static_cast<uint64_t>(q);
    amount = static_cast<uint64_t>(*a);
  } else {  // a short pays, rounded up
    OPT_REQUIRE(static_cast<uint64_t>(-q) <= inst.short_open, Code::kCorruptState);
    auto a = mul_div_up(payoff, -q, kMicro);
    OPT_REQUIRE(a.has_value(), Code::kOverflow);
    OPT_CHECK(add_to(acc.collateral, -static_cast<i128>(*a)));
    OPT_CHECK(add_to(inst.settlement_pool, *a));
    inst.short_open -= static_cast<uint64_t>(-q);
    amount = static_cast<uint64_t>(*a);
  }
  acc.positions.erase(acc.positions.begin() + (pos - acc.positions.data()));
  cover_bad_debt(acc, g);
  if (inst.long_open == 0 && inst.short_open == 0) {
    // Everyone is settled: what rounding left in the pool (never negative then) goes to the fee pool.
    OPT_CHECK(add_to(g.fee_pool, inst.settlement_pool));
    inst.settlement_pool = 0;
  }
  OPT_CHECK(store(key_of_account(t.account), acc));
  OPT_CHECK(store(key_of_instrument(inst.id), inst));
  OPT_CHECK(store(global_key(), g));
  return ok(amount);
}

R<Receipt> Step::run(const WithdrawTx& t) {
  const Withdraw& w = t.withdraw;
  OPT_REQUIRE(w.amount > 0, Code::kZeroAmount);
  OPT_REQUIRE(w.amount <= kMaxAmount, Code::kOverflow);
  OPT_CHECK(verify(typed_digest(p_.domain_separator, w), t.sig, w.account));
  OPT_TRY(acc, account(w.account));
  OPT_REQUIRE(acc.nonce == w.nonce, Code::kBadNonce);
  OPT_TRY(free, free_collateral(acc));
  OPT_REQUIRE(w.amount <= static_cast<uint64_t>(free), Code::kInsufficientCollateral);
  OPT_TRY(g, global());
  acc.collateral -= static_cast<int64_t>(w.amount);
  acc.nonce++;
  OPT_TRY(index, write_withdrawal(w.account, w.recipient, w.amount, g));
  OPT_CHECK(store(key_of_account(w.account), acc));
  OPT_CHECK(store(global_key(), g));
  return ok(index);
}

R<Receipt> Step::run(const ForcedWithdrawTx& t) {
  OPT_REQUIRE(ctx_.from_inbox, Code::kInboxOnly);
  OPT_TRY(acc, account(t.account));
  OPT_TRY(free, free_collateral(acc));
  uint64_t amount = std::min<uint64_t>(t.amount, static_cast<uint64_t>(free));
  OPT_REQUIRE(amount > 0, Code::kInsufficientCollateral);
  OPT_TRY(g, global());
  acc.collateral -= static_cast<int64_t>(amount);
  // The exit pays the L1 address that asked for it: the inbox message's sender is the account.
  OPT_TRY(index, write_withdrawal(t.account, t.account, amount, g));
  OPT_CHECK(store(key_of_account(t.account), acc));
  OPT_CHECK(store(global_key(), g));
  return ok(index);
}

Result<Receipt, StateError> finish(R<Receipt> r, TxType type, Overlay& ov, const ApplyOptions& opts) {
  if (opts.touched) *opts.touched = ov.touched();
  if (!r) {
    Stop s = r.error();
    if (s.fault) return err(s.error);
    return Receipt{type, true, s.code, 0};
  }
  if (auto c = ov.commit(); !c) return err(c.error());
  Receipt rc = *r;
  rc.type = type;
  return rc;
}

}  // namespace

Result<Receipt, StateError> apply(const Params& params, const StepContext& ctx, const Tx& tx, StateView& state,
                                  const ApplyOptions& opts) {
  try {
    Overlay ov(state);
    Step step(params, ctx, ov, opts.sig_cache);
    const bool inbox_type = std::holds_alternative<DepositTx>(tx) || std::holds_alternative<ForcedWithdrawTx>(tx);
    R<Receipt> r = (ctx.from_inbox && !inbox_type) ? R<Receipt>(refuse(Code::kInboxOnly))
                                                   : std::visit([&](const auto& t) { return step.run(t); }, tx);
    return finish(std::move(r), type_of(tx), ov, opts);
  } catch (...) {  // only allocation failure can get here: a fault of this machine, not of the input
    return err(StateError::kInternal);
  }
}

Result<Receipt, StateError> apply(const Params& params, const StepContext& ctx, ByteView encoded_tx, StateView& state,
                                  const ApplyOptions& opts) {
  auto tx = decode_tx(encoded_tx);
  if (!tx) {
    if (opts.touched) opts.touched->clear();
    Receipt r;
    r.type = encoded_tx.empty() ? TxType::kDeposit : static_cast<TxType>(encoded_tx[0]);
    r.decoded = false;
    r.code = Code::kMalformed;
    return r;
  }
  return apply(params, ctx, *tx, state, opts);
}

Status<StateError> write_genesis(StateView& state, std::span<const ListInstrument> ladder, uint64_t genesis_time) {
  GlobalLeaf g;
  for (const auto& l : ladder) {
    if (l.underlying == 0 || l.strike == 0 || l.strike > kMaxAmount || l.expiry % kSettlementWindow != 0 ||
        l.expiry <= genesis_time)
      continue;
    SmtKey lk = listing_key(l.underlying, l.strike, l.expiry, l.is_call);
    auto existing = state.get(lk);
    if (!existing) return err(existing.error());
    if (*existing) continue;
    uint64_t id = g.next_instrument_id++;
    InstrumentLeaf inst{id, l.underlying, l.strike, l.expiry, l.is_call, InstrumentStatus::kActive, 0, 0, 0, 0};
    if (auto s = state.put(instrument_key(id), encode_leaf(inst)); !s) return s;
    if (auto s = state.put(lk, encode_leaf(ListingLeaf{id})); !s) return s;
  }
  return state.put(global_key(), encode_leaf(g));
}

}  // namespace opt
