#include "engine/node/admission.h"

#include <algorithm>

#include "engine/node/state_reads.h"
#include "engine/risk/margin.h"

namespace opt::node {

namespace {
Refusal refusal(NodeError code, std::string message) {
  return Refusal{code, Code::kOk, std::move(message)};
}
}  // namespace

std::optional<Refusal> admit(const Params& params, const FullState& state, const SignedOrder& so, const OrderHash& h,
                             uint64_t ts, bool duplicate) {
  const Order& o = so.order;
  if (o.quantity == 0 || o.limit_price == 0)
    return refusal(NodeError::kZeroAmount, "quantity and limitPrice must be positive");
  if (o.quantity > static_cast<uint64_t>(INT64_MAX) || o.limit_price > static_cast<uint64_t>(INT64_MAX))
    return refusal(NodeError::kOutOfRange, "quantity or limitPrice out of range");
  if (o.flags & ~kKnownOrderFlags) return refusal(NodeError::kBadFlags, "unknown order flag bits");
  if ((o.flags & kPostOnly) && (o.flags & (kIoc | kFok)))
    return refusal(NodeError::kBadFlags, "post-only cannot be combined with IOC or FOK: a post-only order never takes");
  if (o.expiry <= ts) return refusal(NodeError::kOrderExpired, "the order's expiry has passed");
  bool post_only = o.flags & kPostOnly;
  uint64_t need_fee = post_only ? params.fees.maker_fee : params.fees.taker_fee;
  if (o.max_fee < need_fee)
    return refusal(NodeError::kFeeAboveMax,
                   "the fee schedule charges " + std::to_string(need_fee) + " per contract, above maxFee");
  auto inst = reads::instrument(state, o.instrument);
  if (!inst) return refusal(NodeError::kUnknownInstrument, "no instrument " + std::to_string(o.instrument));
  if (inst->status != InstrumentStatus::kActive || inst->expiry <= ts)
    return refusal(NodeError::kInstrumentExpired, "the instrument has expired");
  if (duplicate) return refusal(NodeError::kDuplicateOrder, "this order was already submitted");
  if (const Bytes* f = state.find(fill_key(h))) {
    auto fl = decode_fill(*f);
    if (fl && fl->owner == o.account && (fl->cancelled || fl->filled >= o.quantity))
      return refusal(NodeError::kOrderReplayed, "this order is already filled or cancelled");
  }
  // Margin at admission: the account as if the whole order filled at its limit price.
  AccountLeaf acc = reads::account(state, o.account);
  Position* p = acc.find(o.instrument);
  int64_t before = p ? p->qty : 0;
  if (o.flags & kReduceOnly) {
    bool reduces = (o.is_buy && before < 0) || (!o.is_buy && before > 0);
    if (!reduces) return refusal(NodeError::kReduceOnlyViolated, "a reduce-only order must reduce a position");
    return std::nullopt;
  }
  i128 notional = static_cast<i128>(o.quantity) * o.limit_price / kMicro;
  i128 fee = static_cast<i128>(o.quantity) * need_fee / kMicro;
  acc.collateral = static_cast<int64_t>(
      std::clamp<i128>(acc.collateral + (o.is_buy ? -notional : notional) - fee, INT64_MIN / 2, INT64_MAX / 2));
  int64_t delta = static_cast<int64_t>(o.quantity) * (o.is_buy ? 1 : -1);
  if (p) {
    p->qty += delta;
    if (p->qty == 0) acc.positions.erase(acc.positions.begin() + (p - acc.positions.data()));
  } else {
    if (acc.positions.size() >= kMaxPositions)
      return refusal(NodeError::kTooManyPositions, "the account holds 64 positions");
    acc.positions.push_back({inst->id, inst->underlying, inst->strike, inst->expiry, inst->is_call, delta});
    std::sort(acc.positions.begin(), acc.positions.end(),
              [](const Position& a, const Position& b) { return a.instrument < b.instrument; });
  }
  std::vector<OracleLeaf> oracles;
  for (const auto& q : acc.positions) {
    if (std::any_of(oracles.begin(), oracles.end(), [&](const OracleLeaf& x) { return x.underlying == q.underlying; }))
      continue;
    auto ol = reads::oracle(state, q.underlying);
    if (!ol) return refusal(NodeError::kNoOraclePrice, "no price yet for the underlying");
    oracles.push_back(*ol);
  }
  auto m = compute_margin(acc.collateral, acc.positions, oracles, ts, params);
  if (!m) return refusal(NodeError::kOutOfRange, "margin cannot be computed");
  if (m->stale) return refusal(NodeError::kStaleOracle, "the oracle price is stale: no new risk until it is updated");
  if (m->equity < m->initial)
    return refusal(NodeError::kInsufficientMargin, "if filled, equity " + format_decimal(m->equity) +
                                                       " USDC would be below initial margin " +
                                                       format_decimal(m->initial) + " USDC");
  return std::nullopt;
}

}  // namespace opt::node
