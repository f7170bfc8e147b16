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

// get() answers with a view of the stored value, not a copy (a step reads each leaf once and decodes it
// at once): the view stays valid until the next put() to the same state object.
class StateView {
 public:
  virtual ~StateView() = default;
  virtual Result<std::optional<ByteView>, StateError> get(const SmtKey& key) = 0;
  virtual Status<StateError> put(const SmtKey& key, Bytes value) = 0;
};

// The full state in memory, with a journal so the node can return to any earlier version (a batch
// boundary) when a batch is removed by a lost game.
class FullState final : public StateView {
 public:
  Result<std::optional<ByteView>, StateError> get(const SmtKey& key) override;
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
  Result<std::optional<ByteView>, StateError> get(const SmtKey& key) override;
  Status<StateError> put(const SmtKey& key, Bytes value) override;
  StateRoot root() { return StateRoot::from(tree_.root()); }

 private:
  explicit WitnessState(PartialTree t) : tree_(std::move(t)) {}
  PartialTree tree_;
};

// Buffers a step's writes over a base state and records every key the step touched (read or written), so
// the step either commits as a whole or changes nothing, and a witness for it can be built afterwards.
// The base must not change while the overlay is in use (only commit() writes to it). A step touches a
// handful of keys, so they are kept in a small flat list searched linearly: no node allocation per key,
// and a read keeps the base's view instead of a copy.
class Overlay final : public StateView {
 public:
  explicit Overlay(StateView& base) : base_(base) { slots_.reserve(16); }
  // Not copyable: `Overlay inner(outer)` must layer over `outer`, never silently copy it.
  Overlay(const Overlay&) = delete;
  Overlay& operator=(const Overlay&) = delete;
  Result<std::optional<ByteView>, StateError> get(const SmtKey& key) override;
  Status<StateError> put(const SmtKey& key, Bytes value) override;

  Status<StateError> commit();
  void discard();
  // Every key read or written, sorted and without duplicates.
  std::vector<SmtKey> touched() const;

 private:
  struct Slot {
    SmtKey key;
    bool read = false;             // the base was asked: `base` is its answer
    bool written = false;          // `value` is the step's write
    std::optional<ByteView> base;  // a view into the base state
    Bytes value;
  };
  Slot* find(const SmtKey& key);

  StateView& base_;
  std::vector<Slot> slots_;
};

}  // namespace opt
