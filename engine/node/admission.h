// Admission checks of an order against the live state: the trades the state machine would refuse are
// turned away before the order rests or matches (a refusal there would cost the book a correction).
#pragma once

#include <optional>

#include "engine/core/tx.h"
#include "engine/node/refusal.h"
#include "engine/state/state.h"
#include "engine/stf/params.h"

namespace opt::node {

// `ts`: the open batch's L2 time. `duplicate`: the sequencer has seen this order hash already.
std::optional<Refusal> admit(const Params& params, const FullState& state, const SignedOrder& order,
                             const OrderHash& hash, uint64_t ts, bool duplicate);

}  // namespace opt::node
