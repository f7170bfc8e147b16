// The defender's replica of the state: a FullState kept at the last final batch, owned by the L1 side.
// It serves the two things that need a state other than the sequencer's live one:
//  - withdrawal proofs, made against the last final batch's root;
//  - the roots after each step of a batch under a fraud-proof game: the replica executes the not-yet-final
//    batches before it and the batch itself taking a root after every step, then returns to the final
//    state. The sequencer's state and lock are never touched, so sequencing goes on during a game.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "engine/core/bytes.h"
#include "engine/state/state.h"
#include "engine/stf/genesis.h"

namespace opt {
class SigCache;
}

namespace opt::node {

// A closed batch's inputs as the sequencer executed them.
struct BatchSteps {
  uint64_t seq = 0;
  uint64_t l2_ts = 0;
  size_t inbox_steps = 0;
  std::vector<Bytes> steps;
  Hash32 start_root, post_root;  // the sequencer's roots before the first and after the last step
};

class Replica {
 public:
  // cache may be null (every signature is recovered); it must outlive the replica.
  Replica(const Genesis& genesis, SigCache* cache);

  // The next final batch (batches become final in order).
  void advance(const BatchSteps& b, std::optional<uint64_t> l1_index);

  // The N + 1 roots of `target` (from its start root to its post root), executing `before` (the
  // not-yet-final batches ahead of it, in order) first. Nullopt if re-execution does not reproduce the
  // sequencer's start or post root (impossible with a deterministic apply(); answering a game with such
  // roots would lose it). Cached per local batch until forget().
  std::optional<std::vector<Hash32>> step_roots(const std::vector<BatchSteps>& before, const BatchSteps& target);
  void forget(uint64_t seq);

  // The last final local batch and its L1 index (nullopt before the first).
  std::optional<uint64_t> final_seq() const;
  std::optional<uint64_t> final_l1_index() const;
  // The last final batch's L1 index and an encoded SmtProof of `key` against its root, taken together
  // (nullopt before the first final batch).
  std::optional<std::pair<uint64_t, Bytes>> prove(const SmtKey& key);
  Hash32 root();

 private:
  const Params params_;
  SigCache* cache_;
  mutable std::mutex mu_;  // guards everything below
  FullState state_;        // at the last final batch (journaling only inside step_roots)
  std::optional<uint64_t> final_seq_, final_l1_index_;
  std::map<uint64_t, std::vector<Hash32>> roots_;  // local batch -> its step roots, once computed
};

}  // namespace opt::node
