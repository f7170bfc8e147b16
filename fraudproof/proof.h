// One-step proofs: what a challenger submits at a segment of length one, and the referee that checks it
// by re-executing the step with the very same apply() over a WitnessState. Pure (no L1 types): the L1
// game calls it, the challenger builds proofs with it, the tests and the simulator check both sides.
#pragma once

#include <functional>
#include <vector>

#include "engine/core/codec.h"
#include "engine/state/state.h"
#include "engine/stf/params.h"

namespace opt::fp {

// What the L1 knows about the disputed batch (from its own records, never from the prover).
struct StepFacts {
  uint64_t inbox_count = 0;  // the batch's first steps are these inbox messages
  uint64_t tx_count = 0;     // then these sequencer transactions
  Hash32 tx_data_root;
  uint64_t l2_timestamp = 0;
  uint64_t steps() const { return inbox_count + tx_count; }
};

// Canonical encoding (docs/fraud-proofs.md): u64 step, u32-length tx, u8 count + siblings, u32-length
// witness. `tx` and its siblings are empty for inbox steps (the L1 reads the message from its own storage)
// and for padding steps (no-ops at or beyond the batch's last step), whose witness is empty too.
struct OneStepProof {
  uint64_t step = 0;
  Bytes tx;
  std::vector<Hash32> tx_proof;
  Bytes witness;

  Bytes encode() const;
  static Result<OneStepProof, CodecError> decode(ByteView b);
};

enum class ProofVerdict : uint8_t {
  kMalformed,          // the bytes do not decode
  kWrongStep,          // a proof for another step than the disputed one
  kUnexpectedTx,       // a transaction given for an inbox or padding step
  kBadTxProof,         // the transaction is not the batch's transaction at that position
  kBadWitness,         // the multiproof does not verify against the agreed root
  kIncompleteWitness,  // the step reads a key the multiproof does not cover
  kInboxUnavailable,   // the L1 could not read the inbox message (cannot happen for a live batch)
};
const char* to_string(ProofVerdict v);

using InboxReader = std::function<std::optional<Bytes>(uint64_t step)>;

// The root after `step` executed from `root_before`, as the referee computes it. An error means the proof
// is refused and changes nothing (the mover may try again within its clock).
Result<StateRoot, ProofVerdict> referee_step(const Params& params, const StepFacts& facts, uint64_t step,
                                             const StateRoot& root_before, ByteView proof_bytes,
                                             const InboxReader& inbox);

// The prover's side: builds the proof for `step` from the full state as it is before the step. `input`
// is the step's input (the inbox message or the frame); `frames` are the batch's sequencer transactions
// (for the Merkle proof). Leaves `state` unchanged.
OneStepProof build_proof(const Params& params, const StepFacts& facts, uint64_t step, FullState& state,
                         const Bytes& input, const std::vector<Bytes>& frames);

}  // namespace opt::fp
