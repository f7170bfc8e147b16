// The conservation identity (docs/risk.md, "Conservation"), a property of every state apply() can reach:
//
//     Σ collateral + fee pool + insurance fund + Σ settlement pools = total deposits − total withdrawals
//
// Account leaves are keyed by a hash of the address, so the state cannot list its accounts: the caller
// names every account that may hold collateral (e.g. every account a step has touched). Leaving one out
// makes the identity fail, never pass falsely (unless another account's error cancels it exactly).
#pragma once

#include <span>

#include "engine/core/amount.h"
#include "engine/core/codec.h"
#include "engine/core/result.h"
#include "engine/state/state.h"

namespace opt {

struct ConservationTotals {
  i128 held = 0;  // Σ collateral + fee pool + insurance fund + Σ settlement pools
  i128 owed = 0;  // total deposits − total withdrawals
  bool holds() const { return held == owed; }
};

// A leaf that does not decode is an error (a corrupt state), not a failed identity.
Result<ConservationTotals, CodecError> conservation_totals(const FullState& state, std::span<const Address> accounts);

}  // namespace opt
