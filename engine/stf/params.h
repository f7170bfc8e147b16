// Genesis parameters: fixed for the life of a chain, known to the sequencer, every challenger and the L1
// referee alike (they are part of what a state root means).
#pragma once

#include <vector>

#include "engine/core/bytes.h"

namespace opt {

// Margin fractions in parts per million of the underlying price (docs/risk.md has the formulas).
struct MarginParams {
  uint32_t initial_a_ppm = 150'000;     // 15% of spot, less the out-of-the-money amount...
  uint32_t initial_b_ppm = 100'000;     // ...but at least 10% of spot
  uint32_t maintenance_a_ppm = 75'000;  // 7.5%
  uint32_t maintenance_b_ppm = 50'000;  // 5%
};

struct FeeSchedule {
  uint64_t maker_fee = 100'000;  // micro-USDC per contract (0.10 USDC)
  uint64_t taker_fee = 300'000;  // micro-USDC per contract (0.30 USDC)
};

struct Params {
  uint64_t chain_id = 777001;
  Address rollup_address;   // the EIP-712 verifyingContract
  Hash32 domain_separator;  // of {name "optrollup", version "1", chain_id, rollup_address}
  Address admin;            // signs ListInstrument
  std::vector<Address> oracle_committee;
  uint32_t oracle_threshold = 1;         // M of the N committee members must sign a PriceReport
  uint64_t oracle_staleness = 300;       // seconds after which marks are stale
  uint64_t max_volatility = 10'000'000;  // 1000%: a report above it is refused
  FeeSchedule fees;
  MarginParams margin;
  uint32_t liquidation_penalty_ppm = 5'000;  // 0.5% of the underlying notional taken over
  uint32_t liquidator_share_ppm = 500'000;   // half of the penalty to the liquidator, the rest to insurance

  // Sets domain_separator from chain_id and rollup_address.
  void seal();
};

}  // namespace opt
