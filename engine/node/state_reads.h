// Typed reads of a state (leaves decoded; a leaf that does not decode reads as absent or default) and the
// views built from them. Used by the sequencer on its live state, under its lock.
#pragma once

#include <optional>
#include <vector>

#include "engine/node/views.h"
#include "engine/state/state.h"
#include "engine/stf/params.h"

namespace opt::node::reads {

std::optional<InstrumentLeaf> instrument(const FullState& s, uint64_t id);
GlobalLeaf global(const FullState& s);
std::optional<OracleLeaf> oracle(const FullState& s, uint32_t underlying);
AccountLeaf account(const FullState& s, const Address& a);

// The account with its marks and margins at time `now` (unix seconds).
AccountView account_view(const FullState& s, const Params& params, const Address& a, uint64_t now);
std::vector<InstrumentView> instrument_views(const FullState& s);

}  // namespace opt::node::reads
