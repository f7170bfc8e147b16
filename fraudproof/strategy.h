// How an agent plays its side of a game. The base class is the honest strategy, the only one production
// code (the node's defender, `optrollup challenger`) uses: judge every batch by its root, choose the
// first part whose claimed end root is wrong, move at once. The dishonest strategies (malicious, lazy,
// slow) live with the simulator in fraudproof/sim/, for tests and demos only.
#pragma once

#include <cstdint>
#include <memory>

namespace opt::fp {

class Strategy {
 public:
  virtual ~Strategy() = default;
  // Whether to treat a batch as correct, given whether its posted root matches the agent's own
  // execution. Not asked while the agent catches up on batches that are already final.
  virtual bool treat_as_correct(uint64_t batch, bool root_matches) {
    (void)batch;
    return root_matches;
  }
  // Whether to move now, `elapsed` seconds into its turn with `left` seconds on its clock.
  virtual bool move_now(uint64_t elapsed, uint64_t left) {
    (void)elapsed;
    (void)left;
    return true;
  }
  // The part to choose of `degree` parts, given the honest choice.
  virtual uint64_t choose_part(uint64_t honest_part, uint64_t degree) {
    (void)degree;
    return honest_part;
  }
  // Said in the log beside a dispute ("" when it disputes in earnest).
  virtual const char* dispute_note() const { return ""; }
};

// The strategy of an agent given none.
inline std::shared_ptr<Strategy> honest_strategy() {
  return std::make_shared<Strategy>();
}

}  // namespace opt::fp
