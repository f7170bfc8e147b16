// The one interface the state transition function sees (like evmone's state view): a key-value map over
// the sparse Merkle tree. FullState holds everything; WitnessState holds only what a multiproof proved
// and fails loudly on anything else, so a one-step proof that leaves out a key the step reads is refused
// instead of silently reading a default.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "engine/state/smt.h"

namespace opt {

enum class StateError : uint8_t {
  kMissingWitness,  // the step read a key the witness does not cover
  kInternal,        // allocation failure or another fault of the executing machine, not of the input
};
const char* to_string(StateError e);

class StateView {
 public:
  virtual ~StateView() = default;
  virtual Result<std::optional<Bytes>, StateError> get(const SmtKey& key) = 0;
  virtual Status<StateError> put(const SmtKey& key, Bytes value) = 0;
};

// The full state in memory, with a journal so the node can return to any earlier version (a batch
// boundary) when a batch is removed by a lost game.
class FullState final : public StateView {
 public:
  Result<std::optional<Bytes>, StateError> get(const SmtKey& key) override;
  Status<StateError> put(const SmtKey& key, Bytes value) override;

  const Bytes* find(const SmtKey& key) const { return tree_.get(key); }
  StateRoot root() { return StateRoot::from(tree_.root()); }
  size_t size() const { return tree_.size(); }
  SparseMerkleTree& tree() { return tree_; }

  // Versions: mark() returns the current journal position; revert_to(mark) undoes every later put.
  // forget_before(mark) drops journal entries that can no longer be reverted (e.g. final batches).
  size_t mark() const { return journal_base_ + journal_.size(); }
  bool revert_to(size_t mark);
  void forget_before(size_t mark);
  void set_journaling(bool on) { journaling_ = on; }

 private:
  struct Entry {
    SmtKey key;
    std::optional<Bytes> old;
  };
  SparseMerkleTree tree_;
  std::vector<Entry> journal_;
  size_t journal_base_ = 0;
  bool journaling_ = true;
};

// A partial state rebuilt from a multiproof against a known root.
class WitnessState final : public StateView {
 public:
  static Result<WitnessState, ProofError> from_proof(const StateRoot& root, ByteView multiproof);
  Result<std::optional<Bytes>, StateError> get(const SmtKey& key) override;
  Status<StateError> put(const SmtKey& key, Bytes value) override;
  StateRoot root() { return StateRoot::from(tree_.root()); }

 private:
  explicit WitnessState(PartialTree t) : tree_(std::move(t)) {}
  PartialTree tree_;
};

// Buffers a step's writes over a base state and records every key the step touched (read or written), so
// the step either commits as a whole or changes nothing, and a witness for it can be built afterwards.
class Overlay final : public StateView {
 public:
  explicit Overlay(StateView& base) : base_(base) {}
  Result<std::optional<Bytes>, StateError> get(const SmtKey& key) override;
  Status<StateError> put(const SmtKey& key, Bytes value) override;

  Status<StateError> commit();
  void discard() { writes_.clear(); }
  // Every key read or written, sorted and without duplicates.
  std::vector<SmtKey> touched() const;

 private:
  StateView& base_;
  std::map<SmtKey, std::optional<Bytes>> reads_;  // what the base answered
  std::map<SmtKey, Bytes> writes_;
};

}  // namespace opt
