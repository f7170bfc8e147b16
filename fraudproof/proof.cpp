#include "fraudproof/proof.h"

#include "engine/core/merkle.h"
#include "engine/stf/apply.h"

namespace opt::fp {

const char* to_string(ProofVerdict v) {
  switch (v) {
    case ProofVerdict::kMalformed: return "malformed_proof";
    case ProofVerdict::kWrongStep: return "wrong_step";
    case ProofVerdict::kUnexpectedTx: return "unexpected_tx";
    case ProofVerdict::kBadTxProof: return "bad_tx_proof";
    case ProofVerdict::kBadWitness: return "bad_witness";
    case ProofVerdict::kIncompleteWitness: return "incomplete_witness";
    case ProofVerdict::kInboxUnavailable: return "inbox_unavailable";
  }
  return "unknown";
}

namespace {
constexpr size_t kMaxWitnessBytes = 1u << 20;
constexpr uint8_t kMaxSiblings = 64;  // a batch has at most 2^20 transactions: 20 siblings
}  // namespace

Bytes OneStepProof::encode() const {
  Writer w;
  w.u64(step).var_bytes(tx).u8(static_cast<uint8_t>(tx_proof.size()));
  for (const auto& h : tx_proof) w.fixed(h);
  w.var_bytes(witness);
  return w.take();
}

Result<OneStepProof, CodecError> OneStepProof::decode(ByteView b) {
  Reader r(b);
  OneStepProof p;
  p.step = r.u64();
  ByteView tx = r.var_bytes(kMaxTxBytes);
  p.tx.assign(tx.begin(), tx.end());
  uint8_t n = r.u8();
  if (n > kMaxSiblings) r.fail(CodecError::kTooMany);
  for (uint8_t i = 0; i < n && r.ok(); ++i) p.tx_proof.push_back(r.fixed<32, HashTag>());
  ByteView wit = r.var_bytes(kMaxWitnessBytes);
  p.witness.assign(wit.begin(), wit.end());
  if (auto s = r.finish(); !s) return err(s.error());
  return p;
}

Result<StateRoot, ProofVerdict> referee_step(const Params& params, const StepFacts& facts, uint64_t step,
                                             const StateRoot& root_before, ByteView proof_bytes,
                                             const InboxReader& inbox) {
  auto proof = OneStepProof::decode(proof_bytes);
  if (!proof) return err(ProofVerdict::kMalformed);
  if (proof->step != step) return err(ProofVerdict::kWrongStep);
  // Padding: positions at or beyond the last step change nothing.
  if (step >= facts.steps()) {
    if (!proof->tx.empty() || !proof->tx_proof.empty() || !proof->witness.empty())
      return err(ProofVerdict::kUnexpectedTx);
    return root_before;
  }
  Bytes input;
  if (step < facts.inbox_count) {
    // The inbox message comes from the L1's storage: the prover cannot substitute another.
    if (!proof->tx.empty() || !proof->tx_proof.empty()) return err(ProofVerdict::kUnexpectedTx);
    auto msg = inbox(step);
    if (!msg) return err(ProofVerdict::kInboxUnavailable);
    input = std::move(*msg);
  } else {
    uint64_t frame = step - facts.inbox_count;
    if (!verify_tx_data_proof(facts.tx_data_root, facts.tx_count, frame, proof->tx, proof->tx_proof))
      return err(ProofVerdict::kBadTxProof);
    input = proof->tx;
  }
  auto ws = WitnessState::from_proof(root_before, proof->witness);
  if (!ws) return err(ProofVerdict::kBadWitness);
  auto r = apply(params, StepContext{facts.l2_timestamp, step < facts.inbox_count}, input, *ws);
  if (!r) return err(ProofVerdict::kIncompleteWitness);
  return ws->root();
}

OneStepProof build_proof(const Params& params, const StepFacts& facts, uint64_t step, FullState& state,
                         const Bytes& input, const std::vector<Bytes>& frames) {
  OneStepProof p;
  p.step = step;
  if (step >= facts.steps()) return p;
  if (step >= facts.inbox_count) {
    p.tx = input;
    p.tx_proof = tx_data_proof(frames, step - facts.inbox_count);
  }
  std::vector<SmtKey> keys;
  {
    Overlay probe(state);  // a dry run over a throw-away overlay finds the step's key set
    ApplyOptions o;
    o.touched = &keys;
    (void)apply(params, StepContext{facts.l2_timestamp, step < facts.inbox_count}, input, probe, o);
  }
  p.witness = state.tree().prove_many(keys);
  return p;
}

}  // namespace opt::fp
