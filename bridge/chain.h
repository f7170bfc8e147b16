// The embedded L1 (docs/l1.md): a small deterministic chain with blocks at a fixed interval,
// accounts with nonces, a USDC ledger and a bond-token ledger, EIP-712 signed actions, and on it the
// rollup contract (the chain of batch commitments) and the bridge (inbox, escrow, withdrawals).
//
// Determinism: an action is executed when it is submitted, in the open block, and sees `now` = that
// block's timestamp. Executing the same actions in the same blocks gives the same state; that is how the
// chain is persisted (the action log is replayed at startup, see store.h and docs/l1.md).
//
// Every check here is one a Solidity contract can make: keccak256, ecrecover, integer math, and no loop
// over user-controlled data in one action beyond the batch data itself.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bridge/actions.h"
#include "bridge/clock.h"
#include "bridge/config.h"

namespace opt::http {
class Router;
}  // namespace opt::http

namespace opt::l1 {

inline constexpr uint64_t kNoBatch = UINT64_MAX;

struct L1Account {
  uint64_t nonce = 0;
  uint64_t usdc = 0;    // micro-USDC
  uint64_t bond = 0;    // free bond tokens
  uint64_t stake = 0;   // bond tokens staked as a proposer
  uint64_t locked = 0;  // bond tokens locked by an extension (e.g. a challenger's bond in a game)
  bool operator==(const L1Account&) const = default;
};

enum class InboxKind : uint8_t { kDeposit = 0, kForcedWithdraw = 1 };
const char* to_string(InboxKind k);

struct InboxMessage {
  uint64_t index = 0;
  InboxKind kind = InboxKind::kDeposit;
  Address sender;
  Address recipient;  // the sender for a forced withdrawal
  uint64_t amount = 0;
  uint64_t l1_block = 0;
  uint64_t l1_time = 0;
  Bytes l2_tx;  // opt::encode_tx(DepositTx{...}) or opt::encode_tx(ForcedWithdrawTx{...}): the step's input
};

enum class BatchStatus : uint8_t { kPending = 0, kFinal = 1, kRemoved = 2 };
const char* to_string(BatchStatus s);

struct BatchRecord {
  uint64_t index = 0;
  Hash32 prev_root;
  Hash32 post_root;
  uint64_t tx_count = 0;
  Hash32 tx_data_root;  // computed by the L1 from the data, never taken from the proposer
  Hash32 data_hash;     // keccak256 of the compressed data
  uint64_t data_bytes = 0;
  uint64_t inbox_from = 0;  // inbox messages [inbox_from, inbox_to) are the batch's first steps
  uint64_t inbox_to = 0;
  Hash32 inbox_acc;  // the inbox accumulator after inbox_to messages
  uint64_t l2_timestamp = 0;
  Address proposer;
  uint64_t posted_block = 0;
  uint64_t posted_time = 0;
  BatchStatus status = BatchStatus::kPending;
  uint64_t prev_live_index = kNoBatch;  // kNoBatch: follows the genesis root
  uint64_t data_seq = 0;                // the log entry that carries the data (internal)

  uint64_t step_count() const { return (inbox_to - inbox_from) + tx_count; }
};

struct Event {
  uint64_t block = 0;
  uint32_t index = 0;  // within the block
  std::string type;
  nlohmann::json fields;
};

struct BlockHeader {
  uint64_t number = 0;
  uint64_t timestamp = 0;  // unix seconds
  uint64_t time_ms = 0;
  Hash32 parent;
  Hash32 hash;  // zero while the block is open
  std::vector<Hash32> actions;
  bool sealed = false;
};
// keccak256(parent || number be64 || timestamp be64 || action hash...)
Hash32 block_hash(const Hash32& parent, uint64_t number, uint64_t timestamp, const std::vector<Hash32>& actions);

struct Head {
  uint64_t block = 0;  // the open block
  uint64_t timestamp = 0;
  uint64_t next_batch_index = 0;
  uint64_t tip_batch = kNoBatch;  // last live batch
  Hash32 tip_root;                // its postRoot, or the genesis root
  uint64_t last_final_batch = kNoBatch;
  uint64_t inbox_length = 0;
};

// Conservation totals, checked by the tests after every action.
struct Totals {
  uint64_t usdc_supply = 0;  // sum of balances + escrow
  uint64_t escrow = 0;
  uint64_t deposited = 0;
  uint64_t paid = 0;         // withdrawals paid out of escrow
  uint64_t bond_supply = 0;  // sum of free + staked + locked bond tokens + burned
  uint64_t bond_burned = 0;
};

struct Accepted {
  Hash32 hash;  // the action's EIP-712 digest
  uint64_t block = 0;
  uint32_t index = 0;  // within the block
  nlohmann::json result;
};

// What the fraud-proof game reports about a batch: finality waits while a game is open; a batch a
// challenger won is never final (the game removes it with remove_batches_from).
enum class DisputeState : uint8_t { kNone = 0, kOpen = 1, kChallengerWon = 2 };

class L1Context;
using ActionHandler = std::function<Result<nlohmann::json, Refusal>(L1Context& ctx, const Action& action)>;
struct ActionDef {
  ActionSpec spec;
  ActionHandler handler;
};

// The extension point for another module (the fraud-proof game). Register it when opening the chain:
// its actions are replayed with the others at startup, so its state is rebuilt exactly like the L1's.
class L1Extension {
 public:
  virtual ~L1Extension() = default;
  // The action types it adds; their names must not clash with any other. Called once, at open.
  virtual std::vector<ActionDef> actions() = 0;
  // Whether `batch` has a game that is open or that a challenger won.
  virtual DisputeState dispute_state(uint64_t batch) const = 0;
  // Called when each block opens, before the finality pass (e.g. to end games whose clock ran out).
  virtual void on_block(L1Context& ctx) { (void)ctx; }
  // Its read routes (GET /l1/v1/...), which the L1's API registers beside its own: the extension owns the
  // JSON of its state, the L1 knows none of it.
  virtual void add_routes(http::Router& router) const { (void)router; }
};

class L1Chain;

// What an action handler (built-in or extension) may do. Every change made through it is undone if the
// action is refused or cannot be persisted, so a handler may check as it goes. An extension's own state
// changes are its business: make them after every check, and register their undo with on_undo() in case
// persisting the action fails.
class L1Context {
 public:
  uint64_t now() const;    // the open block's timestamp (unix seconds)
  uint64_t block() const;  // the open block's number
  const L1Config& config() const;
  const Address& sender() const;  // the signer of the action being executed (zero in on_block)

  L1Account account(const Address& a) const;
  // Bond-token ledger. Each refuses with insufficient_funds / overflow and changes nothing then.
  Status<Refusal> transfer_bond(const Address& from, const Address& to, uint64_t amount);
  Status<Refusal> lock_bond(const Address& owner, uint64_t amount);    // free -> locked
  Status<Refusal> unlock_bond(const Address& owner, uint64_t amount);  // locked -> free
  // Takes locked tokens (slash_locked) or proposer stake (slash_stake) and gives them to `to`'s free
  // balance, or burns them when `to` is nullopt.
  Status<Refusal> slash_locked(const Address& owner, uint64_t amount, const std::optional<Address>& to);
  Status<Refusal> slash_stake(const Address& proposer, uint64_t amount, const std::optional<Address>& to);

  // Rollup contract.
  uint64_t batch_count() const;  // the next batch index
  const BatchRecord* batch(uint64_t index) const;
  bool is_final(uint64_t index) const;
  // The input of step `step` of a batch: an inbox message from the L1's own storage, then the frames.
  Result<Bytes, Refusal> step_input(uint64_t batch, uint64_t step) const;
  // Marks `index` and every later live batch removed; the tip returns to the last good root. Refuses
  // for an unknown, final or already removed batch.
  Status<Refusal> remove_batches_from(uint64_t index);

  void emit(std::string type, nlohmann::json fields);
  void on_undo(std::function<void()> undo);

 private:
  friend class L1Chain;
  L1Context(L1Chain& chain, const Address& sender) : chain_(chain), sender_(sender) {}
  L1Chain& chain_;
  Address sender_;
};

struct OpenOptions {
  // Required to create a chain; when reopening, nullopt means "as stored" and a given config must equal it.
  std::optional<L1Config> config;
  std::vector<std::shared_ptr<L1Extension>> extensions;
  bool durable = true;  // SQLite synchronous=FULL (see Store::open)
};

class L1Chain {
 public:
  // Opens (or creates) the chain stored at `db_path` and replays its log. The clock must outlive it.
  static Result<std::unique_ptr<L1Chain>, std::string> open(const std::string& db_path, const Clock& clock,
                                                            OpenOptions options);
  ~L1Chain();
  L1Chain(const L1Chain&) = delete;
  L1Chain& operator=(const L1Chain&) = delete;

  const L1Config& config() const { return config_; }
  const Hash32& domain_separator() const { return domain_separator_; }
  // The spec of an action type by JSON name (built-in or extension), or nullptr.
  const ActionSpec* find_spec(std::string_view name) const;
  std::vector<const ActionSpec*> specs() const;

  // Verifies the signature, the nonce and the data binding, executes the action in the open block and
  // persists it. Acknowledged (returned) only once durable. A refusal changes nothing.
  Result<Accepted, Refusal> submit(const Action& action);
  // Parses {"type", "action", "signature", "data"} and submits (bad_request / unknown_action /
  // bad_field / bad_signature / bad_data for malformed input).
  Result<Accepted, Refusal> submit_json(const nlohmann::json& request);

  // Seals the open block and opens the next if its time has come (the service calls it on a timer;
  // tests call it after moving a manual clock). An idle gap longer than a block yields one block at the
  // clock's time, not a run of empty blocks. Returns the number of blocks sealed.
  size_t tick();
  uint64_t next_block_due_ms() const;
  // Why the log could not be written (disk full, read-only, I/O error), once that happened: from then on
  // the chain accepts and seals nothing (actions are refused with storage_error) and its owner stops.
  std::optional<std::string> storage_failure() const;

  // ---- reads (thread-safe; return copies) ----
  Head head() const;
  uint64_t now() const;
  std::optional<BlockHeader> block(uint64_t number) const;
  std::vector<nlohmann::json> block_actions(uint64_t number) const;  // {hash, index, type, action, signature}
  std::optional<nlohmann::json> find_action(const Hash32& hash) const;
  L1Account account(const Address& a) const;
  uint64_t batch_count() const;
  std::optional<BatchRecord> batch(uint64_t index) const;
  std::vector<BatchRecord> batches(uint64_t from, size_t limit) const;
  std::optional<Bytes> batch_data(uint64_t index) const;  // the compressed data as posted
  uint64_t inbox_length() const;
  std::vector<InboxMessage> inbox(uint64_t from, size_t limit) const;
  // The accumulator after n messages (n <= inbox_length()).
  Hash32 inbox_accumulator(uint64_t n) const;
  bool withdrawal_claimed(uint64_t index) const;
  // Events of blocks [from, to], at most `limit` (whole blocks only; `more` tells if it stopped early).
  std::vector<Event> events(uint64_t from, uint64_t to, size_t limit, bool* more = nullptr) const;
  Totals totals() const;

  // ---- for the fraud-proof referee and the challenger ----
  Result<Bytes, Refusal> step_input(uint64_t batch, uint64_t step) const;
  // The frames of a batch (the sequencer's transactions, decoded from the stored data).
  Result<std::vector<Bytes>, Refusal> batch_frames(uint64_t batch) const;
  // Merkle proof of frame `frame` against the batch's txDataRoot (opt::verify_tx_data_proof checks it).
  Result<std::vector<Hash32>, Refusal> frame_proof(uint64_t batch, uint64_t frame) const;

  // Runs fn under the chain's lock (for an extension's own reads from HTTP threads). Not from inside a
  // handler or hook: those already run under the lock.
  void run_locked(const std::function<void()>& fn) const;
  // The extensions it was opened with (fixed at open).
  const std::vector<std::shared_ptr<L1Extension>>& extensions() const;

  struct State;  // defined in chain.cpp

 private:
  friend class L1Context;
  L1Chain(const Clock& clock, L1Config config);

  Status<std::string> replay();
  Result<Accepted, Refusal> execute(const Action& action, bool persist);
  void open_block_header(BlockHeader h);
  void finality_pass();
  DisputeState dispute(uint64_t batch) const;
  bool is_final_locked(uint64_t index) const;
  Result<std::shared_ptr<const std::vector<Bytes>>, Refusal> frames_locked(uint64_t batch) const;
  Result<Bytes, Refusal> step_input_locked(uint64_t batch, uint64_t step) const;
  Status<Refusal> remove_from_locked(uint64_t index);
  void emit_locked(std::string type, nlohmann::json fields);
  void journal(std::function<void()> undo);
  void rollback();

  // built-in handlers
  Result<nlohmann::json, Refusal> deposit(L1Context& ctx, const Action& a);
  Result<nlohmann::json, Refusal> forced_withdraw(L1Context& ctx, const Action& a);
  Result<nlohmann::json, Refusal> register_proposer(L1Context& ctx, const Action& a);
  Result<nlohmann::json, Refusal> post_batch(L1Context& ctx, const Action& a);
  Result<nlohmann::json, Refusal> finalize_withdrawal(L1Context& ctx, const Action& a);
  void append_inbox(InboxKind kind, const Address& sender, const Address& recipient, uint64_t amount);

  mutable std::mutex mu_;
  const Clock& clock_;
  L1Config config_;
  Hash32 domain_separator_;
  std::unique_ptr<State> s_;
};

}  // namespace opt::l1
