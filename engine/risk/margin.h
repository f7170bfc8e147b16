// Standard margin for USDC-settled European options (docs/risk.md):
//   mark      = Black-Scholes price (r = 0) from the oracle's spot and volatility; intrinsic at expiry
//   equity    = collateral + sum(qty * mark)        (long marks rounded down, short marks up)
//   short req = max(a * S - OTM, b * S) per contract (puts capped at the strike, their maximum loss)
//   initial   = sum over shorts |qty| * (req(a_im, b_im) + mark) + sum over longs qty * mark
//   maintenance likewise with (a_mm, b_mm)
// Longs need only their premium: counting a long's mark in both equity and requirement means its value
// never backs other risk, so equity - initial == collateral for an account holding only longs.
#pragma once

#include <span>
#include <vector>

#include "engine/stf/leaves.h"
#include "engine/stf/params.h"

namespace opt {

enum class MarginError : uint8_t { kNoOraclePrice, kOverflow, kPricing };

struct MarginResult {
  int64_t equity = 0;
  int64_t initial = 0;
  int64_t maintenance = 0;
  bool stale = false;          // some mark came from an oracle older than the staleness limit
  std::vector<int64_t> marks;  // per position, micro-USDC per contract
  int64_t initial_shortfall() const { return initial - equity; }
};

// Mark of one contract, in micro-USDC.
Result<int64_t, MarginError> mark_price(const Position& p, const OracleLeaf& oracle, uint64_t now);

// `oracles` must hold the leaf of every underlying the positions use (any order, duplicates ignored).
Result<MarginResult, MarginError> compute_margin(int64_t collateral, std::span<const Position> positions,
                                                 std::span<const OracleLeaf> oracles, uint64_t now,
                                                 const Params& params);

}  // namespace opt
