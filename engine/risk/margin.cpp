#include "engine/risk/margin.h"

#include "engine/risk/black_scholes.h"

namespace opt {

namespace {

const OracleLeaf* find_oracle(std::span<const OracleLeaf> oracles, uint32_t underlying) {
  for (const auto& o : oracles)
    if (o.underlying == underlying) return &o;
  return nullptr;
}

// Requirement per short contract, micro-USDC: max(a*S - OTM, b*S), puts capped at the strike.
i128 short_requirement(const Position& p, int64_t spot, uint32_t a_ppm, uint32_t b_ppm) {
  i128 s = spot, k = static_cast<i128>(p.strike);
  i128 otm = p.is_call ? (k > s ? k - s : 0) : (s > k ? s - k : 0);
  i128 a = ceil_div(s * a_ppm, 1'000'000) - otm;
  i128 b = ceil_div(s * b_ppm, 1'000'000);
  i128 req = a > b ? a : b;
  if (!p.is_call && req > k) req = k;
  return req;
}

}  // namespace

Result<int64_t, MarginError> mark_price(const Position& p, const OracleLeaf& oracle, uint64_t now) {
  if (oracle.price == 0 || oracle.price > static_cast<uint64_t>(INT64_MAX) ||
      p.strike > static_cast<uint64_t>(INT64_MAX))
    return err(MarginError::kPricing);
  int64_t t = p.expiry > now ? static_cast<int64_t>(p.expiry - now) : 0;
  auto m = bs_price(static_cast<int64_t>(oracle.price), static_cast<int64_t>(p.strike),
                    static_cast<int64_t>(oracle.volatility), t, p.is_call);
  if (!m) return err(MarginError::kPricing);
  return *m;
}

Result<MarginResult, MarginError> compute_margin(int64_t collateral, std::span<const Position> positions,
                                                 std::span<const OracleLeaf> oracles, uint64_t now,
                                                 const Params& params) {
  MarginResult r;
  r.marks.reserve(positions.size());
  i128 equity = collateral, initial = 0, maintenance = 0;
  const MarginParams& mp = params.margin;
  for (const auto& p : positions) {
    const OracleLeaf* o = find_oracle(oracles, p.underlying);
    if (!o) return err(MarginError::kNoOraclePrice);
    if (now > o->timestamp && now - o->timestamp > params.oracle_staleness) r.stale = true;
    auto mark = mark_price(p, *o, now);
    if (!mark) return err(mark.error());
    r.marks.push_back(*mark);
    i128 q = p.qty;
    if (q > 0) {
      i128 value = floor_div(q * *mark, kMicro);
      equity += value;
      initial += value;
      maintenance += value;
    } else {
      i128 aq = -q;
      auto spot = static_cast<int64_t>(o->price);
      equity -= ceil_div(aq * *mark, kMicro);
      initial += ceil_div(aq * (short_requirement(p, spot, mp.initial_a_ppm, mp.initial_b_ppm) + *mark), kMicro);
      maintenance +=
          ceil_div(aq * (short_requirement(p, spot, mp.maintenance_a_ppm, mp.maintenance_b_ppm) + *mark), kMicro);
    }
  }
  auto e = narrow(equity), im = narrow(initial), mm = narrow(maintenance);
  if (!e || !im || !mm) return err(MarginError::kOverflow);
  r.equity = *e;
  r.initial = *im;
  r.maintenance = *mm;
  return r;
}

}  // namespace opt
