// The sequencer node (DESIGN.md section 6, 7, 9): mempool -> matching -> apply() -> batches -> L1.
//
// One sequencer thread owns the state, the order book and the input log. Commands (orders, cancels,
// withdrawals, price reports) are queued by API threads; the sequencer takes them in arrival order,
// processes each (admission checks, matching, one Trade transaction per fill through apply()), appends
// the inputs to its SQLite log and commits many per fsync (group commit), and only then answers: nothing
// acknowledged can be lost. The log records inputs, not effects; state, book and batches are a function
// of it, so a restart (also after kill -9) replays the log to exactly the same roots.
//
// Batches close by size or by interval. Each batch starts with the L1 inbox messages it consumes, then
// the Expire and Settle steps the node adds itself for expired instruments, then the sequencer's
// transactions. A poster sends closed batches to the L1 in order, never twice (checked against the L1
// after a restart). The node's Defender answers games against its batches with the roots after each step.
// If a batch is removed by a lost game, the node returns to the last good root, re-executes the removed
// batches' inputs honestly and posts them again.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/tx.h"
#include "engine/stf/genesis.h"
#include "engine/stf/leaves.h"
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
};

// A refused request: a snake_case code for the API and a message for people.
struct Refusal {
  std::string code;
  std::string message;
};

enum class OrderStatus : uint8_t { kOpen, kFilled, kCancelled, kRejected, kExpired };
const char* to_string(OrderStatus s);

struct OrderView {
  OrderHash hash;
  SignedOrder order;
  OrderStatus status = OrderStatus::kOpen;
  uint64_t filled = 0;
  uint64_t created_at = 0;  // unix ms
  std::string reason;       // why it was rejected, cancelled or expired
};

struct OrderAck {
  OrderHash hash;
  OrderStatus status = OrderStatus::kOpen;
  uint64_t filled = 0;
  std::vector<uint64_t> trade_ids;
};

struct TradeView {
  uint64_t id = 0;
  uint64_t instrument = 0;
  uint64_t price = 0;
  uint64_t quantity = 0;
  bool taker_is_buy = false;
  Address maker, taker;
  OrderHash maker_order, taker_order;
  uint64_t time = 0;  // unix ms
  std::optional<uint64_t> batch;  // the L1 index of the batch that carries it, once posted
};

struct InstrumentView {
  InstrumentLeaf leaf;
  std::string name;  // "ETH-20261231-3000-C"
  std::string status;  // active | expired | settled
};

struct BookLevel {
  uint64_t price = 0;
  uint64_t quantity = 0;
  uint32_t orders = 0;
};
struct BookView {
  uint64_t instrument = 0;
  std::vector<BookLevel> bids, asks;  // best first
  uint64_t sequence = 0;             // increases with every change to any book
};

struct PositionView {
  Position position;
  int64_t mark = 0;
};
struct AccountView {
  Address address;
  uint64_t nonce = 0;
  int64_t collateral = 0;
  std::vector<PositionView> positions;
  int64_t equity = 0;
  int64_t initial_margin = 0;
  int64_t maintenance_margin = 0;
  bool marks_stale = false;
};

struct WithdrawalView {
  WithdrawalLeaf leaf;
  std::optional<uint64_t> batch;  // L1 index of the batch that carries it, once posted
  std::string status;  // pending | final | claimed
  std::optional<uint64_t> proof_batch;  // the final batch the proof is against
  Bytes proof;                          // encoded SmtProof (engine/state/smt.h), once final
};

struct BatchView {
  uint64_t index = 0;  // L1 index
  Hash32 prev_root, post_root, tx_data_root;
  uint64_t tx_count = 0;
  uint64_t inbox_from = 0, inbox_to = 0;
  uint64_t l2_timestamp = 0;
  std::string status;  // pending | challenged | final | removed
  uint64_t l1_block = 0;
  uint64_t posted_at = 0;
  std::vector<fp::Game> games;
};

struct NodeStats {
  uint64_t orders_accepted = 0, orders_rejected = 0, trades = 0, trades_refused = 0;
  uint64_t batches_closed = 0, batches_posted = 0, batches_final = 0, batches_removed = 0;
  uint64_t resting_orders = 0, log_commits = 0, log_records = 0;
  uint64_t l1_errors = 0;
  StateRoot root;
  uint64_t pending_txs = 0;
};

class Node {
 public:
  // Opens the log (replaying it if it exists) and connects to the L1 through `l1`, which must outlive it.
  static Result<std::unique_ptr<Node>, std::string> open(NodeConfig config, fp::L1Port& l1);
  ~Node();  // stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void start();  // the sequencer, the batch poster, the L1 follower and (devnet) the oracle feeder
  void stop();   // finishes what is queued, stops the threads; idempotent
  // Why the node stopped by itself, once it did: its log could not be written (disk full, read-only, I/O
  // error). The request that hit it was refused, nothing later is accepted; the process should exit.
  std::optional<std::string> failure() const;

  // ---- commands: block until the input is durable (or refused) ----
  Result<OrderAck, Refusal> submit_order(const SignedOrder& order);
  Result<OrderHash, Refusal> submit_cancel(const CancelTx& cancel);
  // Returns the withdrawal index.
  Result<uint64_t, Refusal> submit_withdrawal(const WithdrawTx& withdraw);
  Result<uint64_t, Refusal> submit_price_report(const PriceReportTx& report);

  // ---- queries: consistent snapshots, safe from any thread ----
  const Genesis& genesis() const;
  const Hash32& domain_separator() const;
  nlohmann::json l1_config() const;  // GET /l1/v1/config as read at startup
  std::vector<InstrumentView> instruments() const;
  std::optional<InstrumentView> instrument(uint64_t id) const;
  std::optional<BookView> book(uint64_t instrument, size_t depth) const;
  std::vector<TradeView> trades(std::optional<uint64_t> instrument, size_t limit) const;
  AccountView account(const Address& a) const;
  std::optional<OrderView> order(const OrderHash& h) const;
  std::vector<OrderView> orders(const Address& account, std::optional<OrderStatus> status, size_t limit) const;
  std::vector<WithdrawalView> withdrawals(const Address& account) const;
  std::vector<BatchView> batches(uint64_t from, size_t limit) const;
  std::optional<BatchView> batch(uint64_t index) const;
  NodeStats stats() const;
  StateRoot root() const;  // the root after every step applied so far

  // Live updates for WebSocket streams: channel names "orderbook:<instrument>", "trades:<instrument>",
  // "trades", "batches", "account:<0x address, lower case>". Called from the sequencer thread.
  // `wanted(channel)` (optional) lets the node skip building messages nobody subscribed to.
  using Publisher = std::function<void(const std::string& channel, const nlohmann::json& message)>;
  void set_publisher(Publisher p, std::function<bool(const std::string& channel)> wanted = {});

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "ETH-20261231-3000-C"; underlyings 1 and 2 are ETH and BTC, others "U<n>".
std::string instrument_name(const InstrumentLeaf& leaf);

}  // namespace opt::node
