// The sequencer node: mempool -> matching -> apply() -> batches -> L1, as components with one job each
// (docs/architecture.md), wired together here:
//
//   input_log     the SQLite log of inputs; group commit (input_log.h)
//   sequencer     the command queue, admission, matching, apply(), opening and closing batches with
//                 their inbox steps and automatic Expire/Settle; owns the live state (sequencer.h)
//   batch_poster  posts closed batches to the L1 in order, stakes, adopts lost postings (batch_poster.h)
//   l1_follower   the L1 head, inbox and accumulator, the L1's events, the batch cache (l1_follower.h)
//   replica       the state at the last final batch: withdrawal proofs and the defender's step roots,
//                 computed off the sequencer's state and lock (replica.h)
//   read_model    what API threads read: book/instrument/trade snapshots and cached batches (read_model.h)
//   devnet_oracle the devnet's price feeder, through the normal command path (devnet_oracle.h)
//
// Threads: the sequencer; the L1 thread (follower, poster, defender); the devnet oracle when switched on.
// Nothing acknowledged can be lost: a command is answered only once its inputs are durable in the log, and
// a restart (also after kill -9) replays the log to exactly the same roots. If a batch is removed by a lost
// game, the node posts the removed batches again, honestly, from the last good root.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/tx.h"
#include "engine/node/events.h"
#include "engine/node/sequencer.h"
#include "engine/node/stats.h"
#include "engine/node/views.h"
#include "engine/stf/genesis.h"
#include "fraudproof/l1_port.h"

namespace opt::node {

struct NodeConfig {
  std::string data_dir;  // node.sqlite lives here
  Genesis genesis;
  PrivateKey proposer_key;
  uint64_t batch_interval_ms = 2000;
  size_t max_batch_txs = 4000;
  std::optional<uint64_t> fault_at_batch;  // post a wrong root for this L1 batch index (tests and demos)
  bool oracle_feeder = false;              // devnet: sign price reports with the committee's dev keys
  uint64_t oracle_interval_ms = 3000;
  bool durable = true;  // SQLite synchronous=FULL
  std::function<void(const std::string&)> log;
  // Tests only: called on the sequencer thread, under its lock, before each command (to hold it busy).
  std::function<void()> on_command;
};

class Node {
 public:
  // Opens the log (replaying it if it exists) and connects to the L1 through `l1`, which must outlive it.
  static Result<std::unique_ptr<Node>, std::string> open(NodeConfig config, fp::L1Port& l1);
  ~Node();  // stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void start();  // the sequencer, the L1 thread (poster, follower, defender) and (devnet) the oracle feeder
  void stop();   // finishes what is queued, stops the threads; idempotent
  // Why the node stopped by itself, once it did: its log could not be written (disk full, read-only, I/O
  // error). The request that hit it was refused, nothing later is accepted; the process should exit.
  std::optional<std::string> failure() const;

  // ---- commands: answered once the input is durable (or refused) ----
  // The asynchronous forms return at once and call `done` exactly once, from a node thread (an order's
  // signature is checked on the caller's thread first, so recoveries run on the API's threads in
  // parallel, before the sequencer); `done` must not block. The others wait for the answer.
  template <class T>
  using Done = Sequencer::Done<T>;
  void submit_order_async(const SignedOrder& order, Done<OrderAck> done);
  void submit_cancel_async(const CancelTx& cancel, Done<OrderHash> done);
  void submit_withdrawal_async(const WithdrawTx& withdraw, Done<uint64_t> done);
  Result<OrderAck, Refusal> submit_order(const SignedOrder& order);
  Result<OrderHash, Refusal> submit_cancel(const CancelTx& cancel);
  // Returns the withdrawal index.
  Result<uint64_t, Refusal> submit_withdrawal(const WithdrawTx& withdraw);
  Result<uint64_t, Refusal> submit_price_report(const PriceReportTx& report);

  // ---- queries: safe from any thread ----
  // From the read model (never the sequencer's lock, never the L1):
  std::vector<InstrumentView> instruments() const;
  std::optional<InstrumentView> instrument(uint64_t id) const;
  std::optional<BookView> book(uint64_t instrument, size_t depth) const;
  std::vector<TradeView> trades(std::optional<uint64_t> instrument, size_t limit) const;
  std::vector<BatchView> batches(uint64_t from, size_t limit) const;
  std::optional<BatchView> batch(uint64_t index) const;
  NodeStats stats() const;
  // From the live state (the sequencer's lock, briefly):
  AccountView account(const Address& a) const;
  std::optional<OrderView> order(const OrderHash& h) const;
  std::vector<OrderView> orders(const Address& account, std::optional<OrderStatus> status, size_t limit) const;
  std::vector<WithdrawalView> withdrawals(const Address& account) const;
  StateRoot root() const;  // the root after every step applied so far
  // Fixed at startup:
  const Genesis& genesis() const;
  const Hash32& domain_separator() const;
  const l1::L1Config& l1_config() const;  // the L1's config as read at startup

  // Live updates (engine/api renders them for WebSocket streams). The sink is called from the node's
  // threads, never under a node lock; replace it with nullptr before destroying what it refers to.
  void set_event_sink(std::shared_ptr<EventSink> sink);

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace opt::node
