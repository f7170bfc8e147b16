// The L2 genesis: parameters, the option ladder listed at genesis, and the genesis time. Everyone who
// executes batches (sequencer, challengers, the L1 referee) builds the same genesis state from it; the
// L1 records its root.
#pragma once

#include <vector>

#include "engine/core/messages.h"
#include "engine/state/state.h"
#include "engine/stf/params.h"

namespace opt {

struct Genesis {
  Params params;
  std::vector<ListInstrument> ladder;  // listed with ids 1, 2, ... in this order
  uint64_t time = 0;                   // unix seconds; ladder expiries must be after it

  Status<StateError> build(StateView& state) const;
  StateRoot root() const;  // of a fresh state built from this genesis
};

}  // namespace opt
