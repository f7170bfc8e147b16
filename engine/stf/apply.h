// The state transition function: apply(tx, state) -> receipt, the same code for the sequencer (full
// state) and for the L1 referee (a WitnessState from a one-step proof).
//
// Total: any byte string is a step. A malformed or invalid transaction yields a receipt with its reason
// and changes nothing. The only errors are faults of the *state*, not of the input: a witness that does
// not cover a key the step reads (the one-step proof is then refused) or an internal fault.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "engine/state/state.h"
#include "engine/stf/params.h"
#include "engine/stf/receipt.h"

namespace opt {

// A cache of verified order signatures for the sequencer: an order that rests and fills many times is
// hashed and recovered once. An entry is the exact signed order (fields and signature) with its EIP-712
// hash and the recovered signer, and a lookup must match both exactly, so results are identical with and
// without the cache (tested); the referee runs without one.
class SigCache {
 public:
  struct Entry {
    OrderHash hash;
    Address signer;
  };
  virtual ~SigCache() = default;
  virtual std::optional<Entry> lookup(const SignedOrder& order) = 0;
  virtual void insert(const SignedOrder& order, const Entry& entry) = 0;
};

struct ApplyOptions {
  SigCache* sig_cache = nullptr;
  std::vector<SmtKey>* touched = nullptr;  // if set, receives every key the step read or wrote
};

Result<Receipt, StateError> apply(const Params& params, const StepContext& ctx, ByteView encoded_tx, StateView& state,
                                  const ApplyOptions& opts = {});
Result<Receipt, StateError> apply(const Params& params, const StepContext& ctx, const Tx& tx, StateView& state,
                                  const ApplyOptions& opts = {});

// Writes the genesis state: the global leaf and the instruments of the genesis option ladder (ids from 1,
// in the order given). Terms that ListInstrument would refuse are refused here too.
Status<StateError> write_genesis(StateView& state, std::span<const ListInstrument> ladder, uint64_t genesis_time);

}  // namespace opt
