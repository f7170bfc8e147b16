// The sequencer: it owns the live state, the order book and the batches being built. Commands (orders,
// cancels, withdrawals, price reports) are queued by API threads and taken in arrival order, a group at a
// time: each is checked (admission), matched and applied (one Trade step per fill through apply()), its
// inputs are appended to the input log in one group commit, and only then is the group answered: nothing
// acknowledged can be lost. Batches open with the L1 inbox messages they consume and the Expire and Settle
// steps the sequencer adds itself for expired instruments, and close by size or interval; the state's
// conservation identity is checked at every close. After each group the sequencer publishes what readers
// see (books, instruments, trades) to the read model and its events to the hub.
//
// Every use of engine/market is in this component (sequencer.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/node/events.h"
#include "engine/node/input_log.h"
#include "engine/node/read_model.h"
#include "engine/node/refusal.h"
#include "engine/node/replica.h"
#include "engine/node/sig_cache.h"
#include "engine/node/stats.h"
#include "engine/node/views.h"
#include "engine/state/state.h"
#include "engine/stf/genesis.h"

namespace opt::market {
class MatchingEngine;
}

namespace opt::node {

class L1Follower;

struct SequencerConfig {
  Genesis genesis;
  uint64_t batch_interval_ms = 2000;
  size_t max_batch_txs = 4000;
  uint64_t max_timestamp_drift_seconds = 30;  // the L1's: a batch's time stays within half of it
  std::function<void(const std::string&)> log;
  std::function<void()> on_command;  // tests: called on the sequencer thread, under its lock, per command
};

enum class BatchState : uint8_t { kOpen, kClosed, kPosted, kFinal };

struct LocalBatch {
  uint64_t seq = 0;
  uint64_t l2_ts = 0;
  uint64_t inbox_from = 0, inbox_to = 0;
  size_t inbox_steps = 0;
  std::vector<Bytes> steps;  // inbox messages, then every other step in order
  // The root before the first step and, once closed, after the last. The sequencer takes no root between
  // steps (it would cost ~76 keccak256 per trade on the hot path); the roots after each step, which only
  // a fraud-proof game needs, are computed on the defender's replica (replica.h).
  std::vector<Hash32> roots;
  size_t mark = 0;  // journal position before the batch
  uint64_t opened_ms = 0;
  BatchState state = BatchState::kOpen;
  std::optional<uint64_t> l1_index;
  Hash32 claimed_post;  // what was posted (differs from roots.back() only with fault injection)
  bool faulted = false;

  std::vector<Bytes> frames() const {
    return std::vector<Bytes>(steps.begin() + static_cast<long>(inbox_steps), steps.end());
  }
  BatchSteps to_steps() const { return BatchSteps{seq, l2_ts, inbox_steps, steps, roots.front(), roots.back()}; }
};

struct WithdrawalEntry {
  WithdrawalLeaf leaf;
  uint64_t seq = 0;  // the local batch that carries it
  bool claimed = false;
};

class Sequencer {
 public:
  Sequencer(SequencerConfig cfg, InputLog& log, L1Follower& l1, ReadModel& read_model, EventHub& events,
            NodeCounters& counters, SharedSigCache& cache);
  ~Sequencer();

  Status<std::string> replay();  // the input log, before start()
  void start();
  void stop();  // answers what is queued, then stops; idempotent
  bool stopping() const;
  std::optional<std::string> failure() const;
  // Called (from the thread that failed) when the log cannot be written: the node stops.
  void on_failure(std::function<void()> f);
  // Stops the node for a log that cannot be written (also from the batch poster): nothing more is
  // accepted and the node's threads end.
  void fail(const std::string& why);

  // ---- commands: answered once the input is durable (or refused) ----
  // The asynchronous forms call `done` exactly once, from the committer's thread (or at once, from the
  // caller's, when the node is stopping); the others block until then.
  template <class T>
  using Done = std::function<void(Result<T, Refusal>)>;
  void submit_order_async(const SignedOrder& order, const OrderHash& hash, Done<OrderAck> done);
  void submit_cancel_async(const CancelTx& cancel, Done<OrderHash> done);
  void submit_withdrawal_async(const WithdrawTx& withdraw, Done<uint64_t> done);
  Result<OrderAck, Refusal> submit_order(const SignedOrder& order, const OrderHash& hash);
  Result<OrderHash, Refusal> submit_cancel(const CancelTx& cancel);
  Result<uint64_t, Refusal> submit_withdrawal(const WithdrawTx& withdraw);
  Result<uint64_t, Refusal> submit_price_report(const PriceReportTx& report);

  // ---- queries on the live state (under the sequencer's lock: per account or order, not hot) ----
  AccountView account(const Address& a) const;
  std::optional<OrderView> order(const OrderHash& h) const;
  std::vector<OrderView> orders(const Address& account, std::optional<OrderStatus> status, size_t limit) const;
  std::vector<WithdrawalEntry> withdrawals(const Address& account) const;
  std::optional<OracleLeaf> oracle(uint32_t underlying) const;
  StateRoot root() const;
  // The L2 time a step submitted now gets at least (the open batch's, or what the next batch would take).
  uint64_t step_timestamp() const;

  // ---- the batch poster ----
  // The first batch not posted, if it is closed (batches are posted in order).
  std::optional<LocalBatch> next_to_post() const;
  void mark_posted(uint64_t seq, uint64_t index, const Hash32& post, bool faulted);

  // ---- the L1 follower and the defender ----
  // Pops the posted batches up to L1 index `index` (now final) and returns them, in order.
  std::vector<LocalBatch> finalize_upto(uint64_t index);
  std::vector<uint64_t> posted_from(uint64_t index) const;  // the L1 indexes of this node's batches >= index
  // Marks these L1 batches removed: they are posted again (honestly) from the last good root.
  bool unpost(const std::set<uint64_t>& gone);
  void withdrawal_paid(uint64_t index);
  // For the defender: the not-yet-final batches before the one posted as `index`, that batch, and its
  // claimed post root. Nullopt if no closed batch of this node has that L1 index.
  struct Claim {
    std::vector<BatchSteps> before;
    BatchSteps target;
    Hash32 claimed_post;
  };
  std::optional<Claim> claim(uint64_t index) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opt::node
