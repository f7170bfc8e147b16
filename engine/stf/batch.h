// Executing the steps of a batch (docs/l1.md, "Steps"): first the L1 inbox messages it consumes, then the
// sequencer's transactions, all with the batch's L2 timestamp. The roots after each step ("intermediate
// roots") are what the fraud-proof game bisects over; they are produced on demand.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "engine/stf/apply.h"

namespace opt {

// Applies every step in order; the first `inbox_steps` are the batch's L1 inbox messages (the only place
// a Deposit or ForcedWithdraw executes). `after_step(i, receipt)` (optional) runs after step i.
Result<std::vector<Receipt>, StateError> apply_steps(
    const Params& params, uint64_t timestamp, std::span<const Bytes> steps, size_t inbox_steps, StateView& state,
    SigCache* cache = nullptr, const std::function<void(size_t, const Receipt&)>& after_step = {});

// The root after each step (N roots for N steps; the root before step 0 is the state's root on entry).
// The state ends after the last step.
Result<std::vector<StateRoot>, StateError> intermediate_roots(const Params& params, uint64_t timestamp,
                                                              std::span<const Bytes> steps, size_t inbox_steps,
                                                              FullState& state);

}  // namespace opt
