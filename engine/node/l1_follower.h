// The L1 follower (an inbox reader): it keeps the L1 head, the inbox messages and their accumulator, and
// a cache of the L1's batch records with their games for the read model; it reads the L1's events and
// hands the node's reactions (a batch final, batches removed, a withdrawal paid) to its handlers. Runs on
// the L1 thread; inbox reads are safe from any thread.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "engine/node/events.h"
#include "engine/node/read_model.h"
#include "engine/node/stats.h"
#include "fraudproof/l1_port.h"

namespace opt::node {

struct FollowerHandlers {
  std::function<void(uint64_t index)> finalized;  // L1 batch `index` is final
  std::function<bool(uint64_t index)> removed;    // L1 batches from `index` on were removed; false: retry
  std::function<void(uint64_t withdrawal)> paid;  // the L1 paid out this withdrawal
};

class L1Follower {
 public:
  L1Follower(fp::L1Port& l1, ReadModel& read_model, EventHub& events, NodeCounters& counters)
      : l1_(l1), read_model_(read_model), events_(events), counters_(counters) {}
  void set_handlers(FollowerHandlers h) { handlers_ = std::move(h); }

  // Reads the head and any new inbox messages. L1 thread (and once at startup).
  void refresh_head();
  // Reads the L1's new events, reacts through the handlers and refreshes the batch cache. L1 thread.
  void follow_events();

  // Inbox messages [from, to): from the cache, the rest from the L1 (a log replayed before the cache
  // caught up). Any thread.
  Result<std::vector<Bytes>, std::string> inbox_range(uint64_t from, uint64_t to);
  // The inbox accumulator after n messages (the L1 checks a posted batch's against its own).
  Hash32 accumulator(uint64_t n) const;
  uint64_t head_timestamp() const;
  uint64_t inbox_length() const;

  // How many batch records follow_events reads at most per call while filling the cache.
  static constexpr uint64_t kBatchFillPerPoll = 200;

 private:
  void refresh_batch(uint64_t index);
  void fill_batches();

  fp::L1Port& l1_;
  ReadModel& read_model_;
  EventHub& events_;
  NodeCounters& counters_;
  FollowerHandlers handlers_;  // set before the L1 thread starts

  mutable std::mutex mu_;  // guards the four below
  std::vector<l1::InboxMessage> inbox_;
  std::vector<Hash32> inbox_acc_{Hash32{}};  // inbox_acc_[n]: the accumulator after n messages
  uint64_t head_ts_ = 0;
  uint64_t inbox_length_ = 0;

  // L1 thread only.
  uint64_t next_event_block_ = 0, last_event_block_ = 0;
  int64_t last_event_index_ = -1;
  uint64_t next_batch_index_ = 0;  // from the last head
};

}  // namespace opt::node
