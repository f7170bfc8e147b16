// The batch poster: it posts the sequencer's closed batches to the L1 in order, never twice (a batch whose
// posting answer was lost is found on the L1 by its roots and data and adopted), keeps the proposer's
// stake topped up, and records each posting in the input log. Runs on the L1 thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "engine/node/events.h"
#include "engine/node/input_log.h"
#include "engine/node/l1_follower.h"
#include "engine/node/sequencer.h"
#include "engine/node/stats.h"
#include "fraudproof/l1_port.h"

namespace opt::node {

struct PosterConfig {
  PrivateKey proposer_key;
  Address proposer;
  uint64_t min_proposer_stake = 0;
  std::optional<uint64_t> fault_at_batch;  // post a wrong root for this L1 batch index (tests and demos)
  std::function<void(const std::string&)> log;
  std::function<void(const std::string&)> fail;  // the input log cannot be written
};

class BatchPoster {
 public:
  BatchPoster(PosterConfig cfg, fp::L1Port& l1, Sequencer& sequencer, L1Follower& follower, InputLog& input_log,
              EventHub& events, NodeCounters& counters)
      : cfg_(std::move(cfg)),
        l1_(l1),
        sequencer_(sequencer),
        follower_(follower),
        log_(input_log),
        events_(events),
        counters_(counters) {}

  // Posts every closed batch it can, in order.
  void post();

 private:
  Status<std::string> ensure_stake();
  bool adopt(const LocalBatch& b, uint64_t from_index);
  void mark_posted(uint64_t seq, uint64_t index, const Hash32& post, bool faulted);
  void log(const std::string& s) const {
    if (cfg_.log) cfg_.log(s);
  }

  PosterConfig cfg_;
  fp::L1Port& l1_;
  Sequencer& sequencer_;
  L1Follower& follower_;
  InputLog& log_;
  EventHub& events_;
  NodeCounters& counters_;
  std::optional<std::pair<uint64_t, Hash32>> waiting_logged_;  // the last "waiting to post" logged
};

}  // namespace opt::node
