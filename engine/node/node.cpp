#include "engine/node/node.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "bridge/compress.h"
#include "engine/common/devnet.h"
#include "engine/common/sqlite.h"
#include "engine/core/eip712.h"
#include "engine/core/keccak.h"
#include "engine/market/matching.h"
#include "engine/risk/margin.h"
#include "engine/stf/apply.h"
#include "engine/stf/batch.h"
#include "fraudproof/agent.h"

namespace opt::node {

const char* to_string(OrderStatus s) {
  switch (s) {
    case OrderStatus::kOpen: return "open";
    case OrderStatus::kFilled: return "filled";
    case OrderStatus::kCancelled: return "cancelled";
    case OrderStatus::kRejected: return "rejected";
    case OrderStatus::kExpired: return "expired";
  }
  return "unknown";
}

std::string instrument_name(const InstrumentLeaf& l) {
  std::string u = l.underlying == devnet::kEth ? "ETH" : l.underlying == devnet::kBtc ? "BTC" : "U" + std::to_string(l.underlying);
  std::time_t t = static_cast<std::time_t>(l.expiry);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[16];
  std::strftime(date, sizeof date, "%Y%m%d", &tm);
  std::string strike = format_decimal(static_cast<int64_t>(l.strike));
  // Sub-daily expiries (the devnet's first ones) need the time to be unambiguous.
  std::string when = date;
  if (tm.tm_hour != 8 || tm.tm_min != 0) {
    char hm[8];
    std::strftime(hm, sizeof hm, "%H%M", &tm);
    when += std::string("T") + hm;
  }
  return u + "-" + when + "-" + strike + "-" + (l.is_call ? "C" : "P");
}

namespace {

using Clock = std::chrono::steady_clock;

uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// Input log record kinds. The log holds inputs only; everything else follows from them.
enum class Kind : uint8_t {
  kBatchOpen = 1,    // u64 l2 timestamp, u64 inbox_to
  kOrder = 2,        // signed order, its hash and signer (checked before it was logged)
  kCancel = 3,       // encoded CancelTx
  kWithdraw = 4,     // encoded WithdrawTx
  kPriceReport = 5,  // encoded PriceReportTx
  kBatchClose = 6,   // u64 local sequence
  kBatchPosted = 7,  // u64 local sequence, u64 L1 index
};

struct Record {
  Kind kind;
  uint64_t at = 0;  // unix ms when it was taken
  Bytes body;
};

class SigCacheImpl final : public SigCache {
 public:
  std::optional<Entry> lookup(const SignedOrder& o) override {
    auto it = map_.find(o.sig);
    if (it == map_.end() || it->second.first != o.order) return std::nullopt;
    return it->second.second;
  }
  void insert(const SignedOrder& o, const Entry& e) override {
    if (map_.size() > 2'000'000) map_.clear();  // bounded: it is only a cache
    map_[o.sig] = {o.order, e};
  }

 private:
  struct SigHash {
    size_t operator()(const Signature& s) const {
      size_t h;
      std::memcpy(&h, s.data() + 8, sizeof h);
      return h;
    }
  };
  std::unordered_map<Signature, std::pair<Order, Entry>, SigHash> map_;
};

struct Outcome {
  std::optional<Refusal> refusal;
  OrderAck ack;
  OrderHash cancel_hash;
  uint64_t value = 0;
};

struct Command {
  Kind kind;
  SignedOrder order;
  OrderHash hash;
  CancelTx cancel;
  WithdrawTx withdraw;
  PriceReportTx report;
  std::promise<Outcome> done;
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
  // a fraud-proof game needs, are computed when one asks for them (Impl::step_roots) and kept here.
  std::vector<Hash32> roots;
  std::vector<Hash32> step_roots;  // empty until asked for: N + 1 roots, from the start root to the post root
  size_t mark = 0;            // journal position before the batch
  uint64_t opened_ms = 0;
  BatchState state = BatchState::kOpen;
  std::optional<uint64_t> l1_index;
  Hash32 claimed_post;  // what was posted (differs from roots.back() only with fault injection)
  bool faulted = false;

  std::vector<Bytes> frames() const { return std::vector<Bytes>(steps.begin() + static_cast<long>(inbox_steps), steps.end()); }
};

struct OrderRecord {
  OrderView view;
};

Refusal refusal(std::string code, std::string message) { return Refusal{std::move(code), std::move(message)}; }

}  // namespace

struct Node::Impl {
  NodeConfig cfg;
  fp::L1Port& l1;
  Address proposer;
  nlohmann::json l1_config_json;
  l1::L1Config l1_config;

  // ---- guarded by mu ----
  mutable std::mutex mu;
  FullState state;
  FullState final_state;  // the state at the last final batch: withdrawal proofs are made from it
  uint64_t final_seq_applied = UINT64_MAX;  // local seq of the last batch applied to final_state
  market::MatchingEngine book;
  SigCacheImpl cache;
  std::unordered_map<OrderHash, OrderRecord, FixedBytesHash> orders;
  std::unordered_map<Address, std::vector<OrderHash>, FixedBytesHash> orders_by_account;
  std::deque<TradeView> trades;
  std::deque<uint64_t> trade_seqs;  // the local batch of each trade (translated to an L1 index on reads)
  uint64_t next_trade_id = 1;
  std::map<uint64_t, std::set<Address>> holders;  // instrument -> accounts with a position
  std::map<uint64_t, uint64_t> withdrawal_batch;  // withdrawal index -> local batch seq
  std::unordered_map<Address, std::vector<uint64_t>, FixedBytesHash> withdrawals_by_account;
  std::set<uint64_t> claimed;
  std::deque<LocalBatch> batches;  // every batch not yet final (and the open one last)
  std::map<uint64_t, LocalBatch> final_batches_meta;  // seq -> batch kept for views (steps dropped)
  uint64_t next_seq = 0;
  uint64_t inbox_consumed = 0;
  uint64_t last_l2_ts = 0;
  uint64_t last_report_ms = 0;
  uint64_t book_sequence = 0;
  std::map<uint32_t, int64_t> feeder_prices{{devnet::kEth, 3000 * kMicro}, {devnet::kBtc, 60000 * kMicro}};
  std::mt19937_64 feeder_rng{12345};
  NodeStats stats;
  std::vector<std::pair<std::string, nlohmann::json>> outbox;  // published after the lock is released
  // The API's hooks, set once the server runs (the node may be running already): replaced as a whole
  // under hooks_mu and used through a copy of the pointer, so a thread never calls a half-assigned one.
  struct Hooks {
    Publisher publisher;
    std::function<bool(const std::string&)> wanted;
  };
  std::shared_ptr<const Hooks> hooks;
  mutable std::mutex hooks_mu;
  std::shared_ptr<const Hooks> current_hooks() const {
    std::lock_guard lock(hooks_mu);
    return hooks;
  }

  // ---- the L1 view, kept by the L1 thread (guarded by l1_mu) ----
  mutable std::mutex l1_mu;
  std::vector<l1::InboxMessage> inbox_cache;
  std::vector<Hash32> inbox_acc{Hash32{}};  // inbox_acc[n]: the accumulator after n messages
  uint64_t l1_head_ts = 0;
  uint64_t l1_inbox_length = 0;

  // ---- the log (guarded by db_mu) ----
  std::mutex db_mu;
  std::unique_ptr<db::Db> db;

  // ---- commands ----
  std::mutex q_mu;
  std::condition_variable q_cv;   // the sequencer waits for commands on it
  std::condition_variable l1_cv;  // the L1 thread sleeps on it (a separate one: notify_one must reach the sequencer)
  std::deque<std::unique_ptr<Command>> queue;
  bool stopping = false;
  std::string failure;  // why the log could not be written (guarded by q_mu); the node stops on it
  std::optional<std::pair<uint64_t, Hash32>> waiting_logged;  // L1 thread: the last "waiting to post" logged
  bool replaying = false;
  std::thread sequencer, l1_thread;
  std::unique_ptr<fp::Defender> defender;
  uint64_t next_event_block = 0;
  uint64_t last_event_block = 0;
  int64_t last_event_index = -1;

  Impl(NodeConfig c, fp::L1Port& port) : cfg(std::move(c)), l1(port), book(std::random_device{}()) {}

  void log(const std::string& s) const {
    if (cfg.log) cfg.log(s);
  }
  const Params& params() const { return cfg.genesis.params; }

  void publish(std::string channel, nlohmann::json msg) {
    if (replaying) return;
    auto h = current_hooks();
    if (!h || !h->publisher || (h->wanted && !h->wanted(channel))) return;
    outbox.emplace_back(std::move(channel), std::move(msg));
  }
  void flush_outbox() {
    std::vector<std::pair<std::string, nlohmann::json>> out;
    {
      std::lock_guard lock(mu);
      out.swap(outbox);
    }
    if (auto h = current_hooks(); h && h->publisher)
      for (auto& [c, m] : out) h->publisher(c, m);
  }

  // ================= the log =================

  Status<std::string> open_db() {
    std::error_code ec;
    std::filesystem::create_directories(cfg.data_dir, ec);
    if (ec) return err("cannot create the data directory " + cfg.data_dir + ": " + ec.message());
    auto d = db::Db::open((std::filesystem::path(cfg.data_dir) / "node.sqlite").string(), cfg.durable);
    if (!d) return err(d.error());
    db = std::move(*d);
    if (auto s = db->exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, at INTEGER NOT NULL, body BLOB NOT NULL)"); !s)
      return s;
    return {};
  }

  Status<std::string> append_log(const std::vector<Record>& records) {
    if (records.empty()) return {};
    std::lock_guard lock(db_mu);
    if (auto s = db->begin(); !s) return s;
    auto st = db->prepare("INSERT INTO log (kind, at, body) VALUES (?1, ?2, ?3)");
    if (!st) {
      db->rollback();
      return err(st.error());
    }
    for (const auto& r : records) {
      st->reset();
      if (auto s = st->bind(1, static_cast<int64_t>(r.kind)).bind(2, r.at).bind(3, ByteView(r.body)).run(); !s) {
        db->rollback();
        return s;
      }
    }
    if (auto s = db->commit(); !s) {
      db->rollback();
      return s;
    }
    stats.log_commits++;
    stats.log_records += records.size();
    return {};
  }

  // ================= applying steps =================

  LocalBatch& open_batch_ref() { return batches.back(); }
  bool has_open_batch() const { return !batches.empty() && batches.back().state == BatchState::kOpen; }

  Receipt apply_step(const Bytes& tx, bool from_inbox = false) {
    LocalBatch& b = open_batch_ref();
    auto r = apply(params(), StepContext{b.l2_ts, from_inbox}, tx, state, ApplyOptions{&cache, nullptr});
    // The full state never lacks a key; an allocation failure is the only other fault.
    Receipt rc = r ? *r : Receipt{};
    b.steps.push_back(tx);
    after_step(tx, rc, b);
    return rc;
  }

  void note_account(const Address& a) {
    const Bytes* v = state.find(account_key(a));
    auto acc = v ? decode_account(*v) : Result<AccountLeaf, CodecError>(AccountLeaf{});
    if (!acc) return;
    for (auto& [inst, set] : holders) set.erase(a);
    for (const auto& p : acc->positions) holders[p.instrument].insert(a);
    publish_account(a);
  }

  void after_step(const Bytes& tx, const Receipt& rc, LocalBatch& b) {
    if (!rc.ok()) return;
    auto d = decode_tx(tx);
    if (!d) return;
    std::visit(
        [&](const auto& t) {
          using T = std::decay_t<decltype(t)>;
          if constexpr (std::is_same_v<T, TradeTx>) {
            note_account(t.maker.order.account);
            note_account(t.taker.order.account);
          } else if constexpr (std::is_same_v<T, LiquidateTx>) {
            note_account(t.liquidate.account);
            note_account(t.liquidate.liquidator);
          } else if constexpr (std::is_same_v<T, SettleTx>) {
            note_account(t.account);
          } else if constexpr (std::is_same_v<T, DepositTx>) {
            publish_account(t.recipient);
          } else if constexpr (std::is_same_v<T, WithdrawTx>) {
            withdrawal_batch[rc.value] = b.seq;
            withdrawals_by_account[t.withdraw.account].push_back(rc.value);
            publish_account(t.withdraw.account);
          } else if constexpr (std::is_same_v<T, ForcedWithdrawTx>) {
            withdrawal_batch[rc.value] = b.seq;
            withdrawals_by_account[t.account].push_back(rc.value);
            publish_account(t.account);
          }
        },
        *d);
  }

  // Only the address: the API renders the account with the same mapping as GET /v1/accounts/{address}.
  void publish_account(const Address& a) {
    if (replaying) return;
    auto h = current_hooks();
    if (!h || !h->publisher) return;
    std::string ch = "account:" + to_hex(a.view());
    if (h->wanted && !h->wanted(ch)) return;
    outbox.emplace_back(ch, nlohmann::json{{"address", to_checksum(a)}});
  }

  std::optional<InstrumentLeaf> instrument_leaf(uint64_t id) const {
    const Bytes* v = state.find(instrument_key(id));
    if (!v) return std::nullopt;
    auto l = decode_instrument(*v);
    if (!l) return std::nullopt;
    return *l;
  }
  GlobalLeaf global_leaf() const {
    const Bytes* v = state.find(global_key());
    auto g = v ? decode_global(*v) : Result<GlobalLeaf, CodecError>(GlobalLeaf{});
    return g ? *g : GlobalLeaf{};
  }
  std::optional<OracleLeaf> oracle_leaf(uint32_t u) const {
    const Bytes* v = state.find(oracle_key(u));
    if (!v) return std::nullopt;
    auto o = decode_oracle(*v);
    if (!o) return std::nullopt;
    return *o;
  }
  AccountLeaf account_leaf(const Address& a) const {
    const Bytes* v = state.find(account_key(a));
    if (!v) return {};
    auto acc = decode_account(*v);
    return acc ? *acc : AccountLeaf{};
  }

  AccountView account_view(const Address& a) const {
    AccountView v;
    v.address = a;
    AccountLeaf acc = account_leaf(a);
    v.nonce = acc.nonce;
    v.collateral = acc.collateral;
    std::vector<OracleLeaf> oracles;
    for (const auto& p : acc.positions) {
      if (std::none_of(oracles.begin(), oracles.end(), [&](const OracleLeaf& o) { return o.underlying == p.underlying; }))
        if (auto o = oracle_leaf(p.underlying)) oracles.push_back(*o);
    }
    uint64_t now = std::max<uint64_t>(last_l2_ts, wall_ms() / 1000);
    auto m = compute_margin(acc.collateral, acc.positions, oracles, now, params());
    for (size_t i = 0; i < acc.positions.size(); ++i)
      v.positions.push_back({acc.positions[i], m ? m->marks[i] : 0});
    if (m) {
      v.equity = m->equity;
      v.initial_margin = m->initial;
      v.maintenance_margin = m->maintenance;
      v.marks_stale = m->stale;
    } else {
      v.equity = acc.collateral;
      v.marks_stale = true;
    }
    return v;
  }

  // ================= batches =================

  // Opens a batch: the inbox messages up to inbox_to, then Expire and Settle for expired instruments.
  Status<std::string> open_batch(uint64_t ts, uint64_t inbox_to, uint64_t at_ms) {
    std::vector<Bytes> inbox_steps;
    if (inbox_to > inbox_consumed) {
      auto msgs = inbox_range(inbox_consumed, inbox_to);
      if (!msgs) return err(msgs.error());
      inbox_steps = std::move(*msgs);
    }
    LocalBatch b;
    b.seq = next_seq++;
    b.l2_ts = ts;
    b.inbox_from = inbox_consumed;
    b.inbox_to = std::max(inbox_to, inbox_consumed);
    b.mark = state.mark();
    b.roots.push_back(Hash32::from(state.root()));
    b.opened_ms = at_ms;
    batches.push_back(std::move(b));
    last_l2_ts = ts;
    for (const auto& m : inbox_steps) apply_step(m, true);
    open_batch_ref().inbox_steps = inbox_steps.size();
    inbox_consumed = open_batch_ref().inbox_to;
    auto_settlement(ts);
    return {};
  }

  Result<std::vector<Bytes>, std::string> inbox_range(uint64_t from, uint64_t to) {
    std::vector<Bytes> out;
    {
      std::lock_guard lock(l1_mu);
      for (uint64_t i = from; i < to && i < inbox_cache.size(); ++i) out.push_back(inbox_cache[i].l2_tx);
    }
    while (from + out.size() < to) {
      auto msgs = l1.inbox(from + out.size(), static_cast<size_t>(to - from - out.size()));
      if (!msgs) return err("cannot read the L1 inbox: " + msgs.error().message);
      if (msgs->empty()) return err(std::string("the L1 inbox is shorter than the log says"));
      for (auto& m : *msgs)
        if (m.index == from + out.size() && m.index < to) out.push_back(std::move(m.l2_tx));
    }
    return out;
  }

  // Expired instruments are settled by the sequencer itself: holders are paid without doing anything.
  void auto_settlement(uint64_t ts) {
    GlobalLeaf g = global_leaf();
    for (uint64_t id = 1; id < g.next_instrument_id; ++id) {
      auto inst = instrument_leaf(id);
      if (!inst) continue;
      if (inst->status == InstrumentStatus::kActive) {
        book.add_instrument(id);
        if (ts < inst->expiry) continue;
        auto o = oracle_leaf(inst->underlying);
        if (!o || o->timestamp < inst->expiry) continue;  // waits for a report at or after expiry
        if (!apply_step(encode_tx(ExpireTx{id})).ok()) continue;
        auto swept = book.remove_instrument(id);
        for (const auto& r : swept.removed) set_order_status(r.hash, OrderStatus::kExpired, "instrument expired");
        inst = instrument_leaf(id);
      }
      if (!inst || inst->status != InstrumentStatus::kExpired) continue;
      auto it = holders.find(id);
      if (it == holders.end() || it->second.empty()) continue;
      std::vector<Address> accounts(it->second.begin(), it->second.end());
      for (const auto& a : accounts) apply_step(encode_tx(SettleTx{a, id}));
    }
  }

  void close_batch() {
    if (!has_open_batch()) return;
    LocalBatch& b = open_batch_ref();
    if (b.steps.empty()) {
      // Nothing happened in it (a refused request, or orders that only rest): it changes no root and is
      // not posted, so nobody can make the operator post empty batches to the L1 with bad requests.
      batches.pop_back();
      return;
    }
    b.state = BatchState::kClosed;
    b.roots.push_back(Hash32::from(state.root()));
    b.claimed_post = b.roots.back();
    stats.batches_closed++;
    if (!replaying)
      log("batch " + std::to_string(b.seq) + " closed: " + std::to_string(b.steps.size()) + (b.steps.size() == 1 ? " step" : " steps") + ", root " +
          b.roots.back().hex().substr(0, 12));
  }

  bool batch_due(uint64_t now_ms) const {
    if (!has_open_batch()) return false;
    const LocalBatch& b = batches.back();
    return now_ms >= b.opened_ms + cfg.batch_interval_ms || b.steps.size() >= cfg.max_batch_txs;
  }

  // ================= commands =================

  void set_order_status(const OrderHash& h, OrderStatus s, const std::string& reason) {
    auto it = orders.find(h);
    if (it == orders.end()) return;
    it->second.view.status = s;
    it->second.view.reason = reason;
  }

  void publish_deltas(const std::vector<market::LevelDelta>& deltas) {
    if (deltas.empty()) return;
    std::map<uint64_t, std::pair<nlohmann::json, nlohmann::json>> by_inst;
    for (const auto& d : deltas) {
      auto& [bids, asks] = by_inst[d.instrument];
      nlohmann::json lvl = {{"price", std::to_string(d.price)}, {"quantity", std::to_string(d.qty)}, {"orders", d.count}};
      (d.side == market::Side::kBuy ? bids : asks).push_back(lvl);
    }
    ++book_sequence;
    for (auto& [inst, sides] : by_inst)
      publish("orderbook:" + std::to_string(inst),
              {{"instrument", inst}, {"sequence", book_sequence},
               {"bids", sides.first.is_null() ? nlohmann::json::array() : sides.first},
               {"asks", sides.second.is_null() ? nlohmann::json::array() : sides.second}});
  }

  static market::Culprit culprit_of(Code c) {
    switch (c) {
      case Code::kOrderCancelled:
      case Code::kOverfill:
      case Code::kOrderExpired:
      case Code::kTooManyPositions: return market::Culprit::kMaker;
      default: return market::Culprit::kTaker;
    }
  }

  // Admission checks: the trades the state machine would refuse are turned away before they rest.
  std::optional<Refusal> admit(const SignedOrder& so, const OrderHash& h, uint64_t ts) {
    const Order& o = so.order;
    if (o.quantity == 0 || o.limit_price == 0) return refusal("zero_amount", "quantity and limitPrice must be positive");
    if (o.quantity > static_cast<uint64_t>(INT64_MAX) || o.limit_price > static_cast<uint64_t>(INT64_MAX))
      return refusal("out_of_range", "quantity or limitPrice out of range");
    if (o.flags & ~kKnownOrderFlags) return refusal("bad_flags", "unknown order flag bits");
    if ((o.flags & kPostOnly) && (o.flags & (kIoc | kFok)))
      return refusal("bad_flags", "post-only cannot be combined with IOC or FOK: a post-only order never takes");
    if (o.expiry <= ts) return refusal("order_expired", "the order's expiry has passed");
    bool post_only = o.flags & kPostOnly;
    uint64_t need_fee = post_only ? params().fees.maker_fee : params().fees.taker_fee;
    if (o.max_fee < need_fee)
      return refusal("fee_above_max", "the fee schedule charges " + std::to_string(need_fee) + " per contract, above maxFee");
    auto inst = instrument_leaf(o.instrument);
    if (!inst) return refusal("unknown_instrument", "no instrument " + std::to_string(o.instrument));
    if (inst->status != InstrumentStatus::kActive || inst->expiry <= ts)
      return refusal("instrument_expired", "the instrument has expired");
    if (orders.count(h)) return refusal("duplicate_order", "this order was already submitted");
    if (const Bytes* f = state.find(fill_key(h))) {
      auto fl = decode_fill(*f);
      if (fl && fl->owner == o.account && (fl->cancelled || fl->filled >= o.quantity))
        return refusal("order_replayed", "this order is already filled or cancelled");
    }
    // Margin at admission: the account as if the whole order filled at its limit price.
    AccountLeaf acc = account_leaf(o.account);
    Position* p = acc.find(o.instrument);
    int64_t before = p ? p->qty : 0;
    if (o.flags & kReduceOnly) {
      bool reduces = (o.is_buy && before < 0) || (!o.is_buy && before > 0);
      if (!reduces) return refusal("reduce_only_violated", "a reduce-only order must reduce a position");
      return std::nullopt;
    }
    i128 notional = static_cast<i128>(o.quantity) * o.limit_price / kMicro;
    i128 fee = static_cast<i128>(o.quantity) * need_fee / kMicro;
    acc.collateral = static_cast<int64_t>(std::clamp<i128>(acc.collateral + (o.is_buy ? -notional : notional) - fee, INT64_MIN / 2, INT64_MAX / 2));
    int64_t delta = static_cast<int64_t>(o.quantity) * (o.is_buy ? 1 : -1);
    if (p) {
      p->qty += delta;
      if (p->qty == 0) acc.positions.erase(acc.positions.begin() + (p - acc.positions.data()));
    } else {
      if (acc.positions.size() >= kMaxPositions) return refusal("too_many_positions", "the account holds 64 positions");
      acc.positions.push_back({inst->id, inst->underlying, inst->strike, inst->expiry, inst->is_call, delta});
      std::sort(acc.positions.begin(), acc.positions.end(), [](const Position& a, const Position& b) { return a.instrument < b.instrument; });
    }
    std::vector<OracleLeaf> oracles;
    for (const auto& q : acc.positions) {
      if (std::any_of(oracles.begin(), oracles.end(), [&](const OracleLeaf& x) { return x.underlying == q.underlying; })) continue;
      auto ol = oracle_leaf(q.underlying);
      if (!ol) return refusal("no_oracle_price", "no price yet for the underlying");
      oracles.push_back(*ol);
    }
    auto m = compute_margin(acc.collateral, acc.positions, oracles, ts, params());
    if (!m) return refusal("out_of_range", "margin cannot be computed");
    if (m->stale) return refusal("stale_oracle", "the oracle price is stale: no new risk until it is updated");
    if (m->equity < m->initial)
      return refusal("insufficient_margin", "if filled, equity " + format_decimal(m->equity) + " USDC would be below initial margin " +
                                                format_decimal(m->initial) + " USDC");
    return std::nullopt;
  }

  Outcome process_order(const SignedOrder& so, const OrderHash& h, uint64_t at_ms) {
    Outcome out;
    const uint64_t ts = last_l2_ts;
    if (auto r = admit(so, h, ts)) {
      out.refusal = r;
      stats.orders_rejected++;
      return out;
    }
    std::optional<uint64_t> cap;
    if (so.order.flags & kReduceOnly) {
      AccountLeaf acc = account_leaf(so.order.account);
      Position* p = acc.find(so.order.instrument);
      cap = p ? static_cast<uint64_t>(p->qty < 0 ? -p->qty : p->qty) : 0;
    }
    OrderRecord rec;
    rec.view.hash = h;
    rec.view.order = so;
    rec.view.created_at = at_ms;
    orders[h] = rec;
    orders_by_account[so.order.account].push_back(h);

    const bool fok = so.order.flags & kFok;
    const size_t mark = state.mark();
    LocalBatch& b = open_batch_ref();
    const size_t steps_before = b.steps.size();
    const size_t trades_before = trades.size();
    market::SubmitResult res = book.submit(so, h, ts, cap);
    std::vector<market::LevelDelta> deltas = res.deltas;
    uint64_t filled = 0;
    for (;;) {
      std::optional<market::Refusal> refused;
      for (size_t i = 0; i < res.fills.size(); ++i) {
        const market::Fill& f = res.fills[i];
        Receipt rc = apply_step(encode_tx(market::to_trade(f, so)));
        if (!rc.ok()) {
          stats.trades_refused++;
          log("trade refused by the state machine (" + std::string(opt::to_string(rc.code)) + "): book corrected");
          refused = market::Refusal{i, fok ? 0 : i, culprit_of(rc.code)};
          break;
        }
        record_trade(f, so, b.seq, at_ms);
        filled += f.quantity;
      }
      for (const auto& r : res.removed)
        set_order_status(r.hash, r.reason == market::RemoveReason::kExpired ? OrderStatus::kExpired : OrderStatus::kCancelled,
                         market::to_string(r.reason));
      if (!refused) break;
      if (fok) {
        // All or nothing: undo the fills already applied.
        state.revert_to(mark);
        b.steps.resize(steps_before);
        while (trades.size() > trades_before) {
          trades.pop_back();
          trade_seqs.pop_back();
        }
        filled = 0;
      }
      res = book.refuse_fill(so, res, *refused, ts);
      deltas.insert(deltas.end(), res.deltas.begin(), res.deltas.end());
      if (res.status == market::SubmitStatus::kDropped) break;
    }
    publish_deltas(deltas);

    OrderView& v = orders[h].view;
    v.filled = filled;
    switch (res.status) {
      case market::SubmitStatus::kFilled: v.status = OrderStatus::kFilled; break;
      case market::SubmitStatus::kPartiallyFilledResting:
      case market::SubmitStatus::kResting: v.status = OrderStatus::kOpen; break;
      case market::SubmitStatus::kCancelledIoc: v.status = OrderStatus::kCancelled, v.reason = "ioc remainder"; break;
      case market::SubmitStatus::kRejectedExpired: v.status = OrderStatus::kExpired; break;
      default: v.status = OrderStatus::kRejected, v.reason = market::to_string(res.status);
    }
    stats.orders_accepted++;
    out.ack.hash = h;
    out.ack.status = v.status;
    out.ack.filled = filled;
    for (size_t i = trades_before; i < trades.size(); ++i) out.ack.trade_ids.push_back(trades[i].id);
    return out;
  }

  void record_trade(const market::Fill& f, const SignedOrder& taker, uint64_t seq, uint64_t at_ms) {
    TradeView t;
    t.id = next_trade_id++;
    t.instrument = taker.order.instrument;
    t.price = f.price;
    t.quantity = f.quantity;
    t.taker_is_buy = taker.order.is_buy;
    t.maker = f.maker->order.account;
    t.taker = taker.order.account;
    t.maker_order = f.maker_hash;
    t.taker_order = f.taker_hash;
    t.time = at_ms;
    trades.push_back(t);
    trade_seqs.push_back(seq);
    if (trades.size() > 10'000) {
      trades.pop_front();
      trade_seqs.pop_front();
    }
    stats.trades++;
    auto m = orders.find(f.maker_hash);
    if (m != orders.end()) {
      m->second.view.filled += f.quantity;
      if (f.maker_remaining == 0) m->second.view.status = OrderStatus::kFilled;
    }
    nlohmann::json j = trade_json(t);
    publish("trades", j);
    publish("trades:" + std::to_string(t.instrument), j);
  }

  static nlohmann::json trade_json(const TradeView& t) {
    return {{"id", t.id}, {"instrument", t.instrument}, {"price", std::to_string(t.price)},
            {"quantity", std::to_string(t.quantity)}, {"side", t.taker_is_buy ? "buy" : "sell"},
            {"maker", to_checksum(t.maker)}, {"taker", to_checksum(t.taker)}, {"makerOrder", t.maker_order.hex()},
            {"takerOrder", t.taker_order.hex()}, {"time", t.time}, {"batch", nullptr}};
  }

  Outcome process_cancel(const CancelTx& c) {
    Outcome out;
    Receipt rc = apply_step(encode_tx(c));
    if (!rc.ok()) {
      out.refusal = refusal(opt::to_string(rc.code), "the cancel was refused");
      return out;
    }
    if (auto f = book.find(c.cancel.order_hash); f && f->order.order.account == c.cancel.account) {
      auto gone = book.cancel(c.cancel.order_hash);
      if (gone) publish_deltas({gone->delta});
    }
    auto it = orders.find(c.cancel.order_hash);
    if (it != orders.end() && it->second.view.order.order.account == c.cancel.account &&
        it->second.view.status == OrderStatus::kOpen)
      set_order_status(c.cancel.order_hash, OrderStatus::kCancelled, "cancelled by its owner");
    out.cancel_hash = c.cancel.order_hash;
    return out;
  }

  Outcome process_step_command(const Bytes& tx, const char* what) {
    Outcome out;
    Receipt rc = apply_step(tx);
    if (!rc.ok()) {
      out.refusal = refusal(opt::to_string(rc.code), std::string("the ") + what + " was refused");
      return out;
    }
    out.value = rc.value;
    return out;
  }

  // Checks a command without changing anything, so a refusal leaves the log and the state untouched.
  std::optional<Refusal> dry_run(const Bytes& tx) {
    Overlay probe(state);
    auto r = apply(params(), StepContext{last_l2_ts}, tx, probe, ApplyOptions{&cache, nullptr});
    if (!r) return refusal("internal", "the state machine faulted");
    if (!r->ok()) return refusal(opt::to_string(r->code), describe(r->code));
    return std::nullopt;
  }

  Outcome run_command(Command& c, uint64_t at_ms, std::vector<Record>& records) {
    Writer w;
    switch (c.kind) {
      case Kind::kOrder: {
        Outcome o = process_order(c.order, c.hash, at_ms);
        if (!o.refusal) {
          write_order(w, c.order.order);
          w.fixed(c.order.sig).fixed(c.hash);
          records.push_back({Kind::kOrder, at_ms, w.take()});
        }
        return o;
      }
      case Kind::kCancel: {
        Bytes tx = encode_tx(c.cancel);
        if (auto r = dry_run(tx)) return Outcome{r, {}, {}, 0};
        records.push_back({Kind::kCancel, at_ms, tx});
        return process_cancel(c.cancel);
      }
      case Kind::kWithdraw: {
        Bytes tx = encode_tx(c.withdraw);
        if (auto r = dry_run(tx)) return Outcome{r, {}, {}, 0};
        records.push_back({Kind::kWithdraw, at_ms, tx});
        return process_step_command(tx, "withdrawal");
      }
      case Kind::kPriceReport: {
        Bytes tx = encode_tx(c.report);
        if (auto r = dry_run(tx)) return Outcome{r, {}, {}, 0};
        records.push_back({Kind::kPriceReport, at_ms, tx});
        return process_step_command(tx, "price report");
      }
      default: break;
    }
    return Outcome{refusal("internal", "unknown command"), {}, {}, 0};
  }

  // The devnet's oracle: the committee's dev keys sign a random walk of ETH and BTC prices.
  std::optional<PriceReportTx> feeder_report(uint32_t u, uint64_t ts) {
    auto o = oracle_leaf(u);
    if (o && o->timestamp >= ts) return std::nullopt;
    int64_t& px = feeder_prices[u];
    if (o) px = static_cast<int64_t>(o->price);
    std::normal_distribution<double> step(0.0, 0.002);
    px = std::max<int64_t>(kMicro, static_cast<int64_t>(static_cast<double>(px) * (1.0 + step(feeder_rng))));
    PriceReport r{u, static_cast<uint64_t>(px), 650'000 + feeder_rng() % 100'000, ts};
    PriceReportTx t{r, {}};
    for (size_t i = 0; i < devnet::kOracleThreshold; ++i)
      t.sigs.push_back(*sign(typed_digest(params().domain_separator, r), devnet::dev_keys()[devnet::kOracleFirst + i]));
    return t;
  }

  // ================= replay =================

  Status<std::string> replay() {
    replaying = true;
    auto st = db->prepare("SELECT kind, at, body FROM log ORDER BY seq");
    if (!st) return err(st.error());
    size_t n = 0;
    while (st->step()) {
      Record r{static_cast<Kind>(st->i64(0)), st->u64(1), st->blob(2)};
      if (auto s = replay_record(r); !s) return err("log record " + std::to_string(n) + ": " + s.error());
      ++n;
    }
    if (!st->ok()) return err(st->error());
    replaying = false;
    if (n) log("replayed " + std::to_string(n) + " log records: root " + state.root().hex().substr(0, 12));
    return {};
  }

  Status<std::string> replay_record(const Record& r) {
    Reader rd(r.body);
    switch (r.kind) {
      case Kind::kBatchOpen: {
        uint64_t ts = rd.u64(), inbox_to = rd.u64();
        if (!rd.finish()) return err(std::string("bad batch-open record"));
        return open_batch(ts, inbox_to, r.at);
      }
      case Kind::kOrder: {
        SignedOrder so;
        so.order = read_order(rd);
        so.sig = rd.signature();
        OrderHash h = rd.fixed<32, OrderHashTag>();
        if (!rd.finish() || !has_open_batch()) return err(std::string("bad order record"));
        // Checked before it was logged: the cache spares the replay a signature recovery.
        cache.insert(so, SigCache::Entry{h, so.order.account});
        (void)process_order(so, h, r.at);
        return {};
      }
      case Kind::kCancel: {
        auto tx = decode_tx(r.body);
        if (!tx || !std::holds_alternative<CancelTx>(*tx) || !has_open_batch()) return err(std::string("bad cancel record"));
        (void)process_cancel(std::get<CancelTx>(*tx));
        return {};
      }
      case Kind::kWithdraw:
      case Kind::kPriceReport:
        if (!has_open_batch()) return err(std::string("step outside a batch"));
        (void)apply_step(r.body);
        return {};
      case Kind::kBatchClose:
        close_batch();
        return {};
      case Kind::kBatchPosted: {
        uint64_t seq = rd.u64(), index = rd.u64();
        for (auto& b : batches)
          if (b.seq == seq) {
            b.l1_index = index;
            b.state = BatchState::kPosted;
          }
        return {};
      }
    }
    return err(std::string("unknown record kind"));
  }

  // ================= the sequencer thread =================

  void sequencer_loop() {
    for (;;) {
      std::vector<std::unique_ptr<Command>> cmds;
      {
        std::unique_lock lock(q_mu);
        q_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping || !queue.empty(); });
        if (stopping && queue.empty()) break;
        while (!queue.empty() && cmds.size() < 4096) {
          cmds.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      const uint64_t now = wall_ms();
      std::vector<Record> records;
      std::vector<Outcome> outcomes;
      {
        std::lock_guard lock(mu);
        if (batch_due(now)) {
          close_batch();
          Writer w;
          w.u64(batches.back().seq);
          records.push_back({Kind::kBatchClose, now, w.take()});
        }
        uint64_t inbox_len, head_ts;
        {
          std::lock_guard l(l1_mu);
          inbox_len = l1_inbox_length;
          head_ts = l1_head_ts;
        }
        bool feeder_due = cfg.oracle_feeder && now >= last_report_ms + cfg.oracle_interval_ms;
        bool inbox_due = inbox_len > inbox_consumed;
        bool expiry_due = settlement_due(std::max<uint64_t>(last_l2_ts, now / 1000));
        if (!has_open_batch() && (!cmds.empty() || feeder_due || inbox_due || expiry_due)) {
          // The batch's time: the wall clock, never behind the last batch, never far ahead of the L1.
          uint64_t ts = std::max<uint64_t>(last_l2_ts, now / 1000);
          if (head_ts && ts > head_ts + l1_config.max_timestamp_drift_seconds / 2) ts = std::max(last_l2_ts, head_ts);
          if (auto s = open_batch(ts, inbox_len, now); !s) {
            log("cannot open a batch: " + s.error());
          } else {
            Writer w;
            w.u64(ts).u64(open_batch_ref().inbox_to);
            records.push_back({Kind::kBatchOpen, now, w.take()});
          }
        }
        if (has_open_batch()) {
          if (feeder_due) {
            last_report_ms = now;
            for (uint32_t u : {devnet::kEth, devnet::kBtc}) {
              if (auto rep = feeder_report(u, last_l2_ts)) {
                Command c;
                c.kind = Kind::kPriceReport;
                c.report = *rep;
                (void)run_command(c, now, records);
              }
            }
          }
          for (auto& c : cmds) outcomes.push_back(run_command(*c, now, records));
        } else {
          for (size_t i = 0; i < cmds.size(); ++i) outcomes.push_back(Outcome{refusal("not_ready", "the node cannot open a batch now"), {}, {}, 0});
        }
        stats.resting_orders = book.size();
        stats.pending_txs = has_open_batch() ? batches.back().steps.size() : 0;
      }
      auto s = append_log(records);
      for (size_t i = 0; i < cmds.size(); ++i) {
        if (!s) outcomes[i].refusal = refusal("storage", "the node cannot write its log: " + s.error());
        cmds[i]->done.set_value(outcomes[i]);
      }
      flush_outbox();
      if (!s) fail("cannot write its log " + s.error());
    }
  }

  // The log cannot be written: nothing more is accepted (what was in flight has been refused) and the
  // threads stop; Node::failure() tells the process why.
  void fail(const std::string& why) {
    log("FATAL: " + why + "; stopping");
    {
      std::lock_guard lock(q_mu);
      if (failure.empty()) failure = why;
      stopping = true;
    }
    q_cv.notify_all();
    l1_cv.notify_all();
  }

  bool settlement_due(uint64_t ts) const {
    GlobalLeaf g = global_leaf();
    for (uint64_t id = 1; id < g.next_instrument_id; ++id) {
      auto inst = instrument_leaf(id);
      if (!inst) continue;
      if (inst->status == InstrumentStatus::kActive && ts >= inst->expiry) {
        auto o = oracle_leaf(inst->underlying);
        if (o && o->timestamp >= inst->expiry) return true;
      }
      if (inst->status == InstrumentStatus::kExpired) {
        auto it = holders.find(id);
        if (it != holders.end() && !it->second.empty()) return true;
      }
    }
    return false;
  }

  Result<Outcome, Refusal> enqueue(std::unique_ptr<Command> c) {
    auto fut = c->done.get_future();
    {
      std::lock_guard lock(q_mu);
      if (stopping) return err(refusal("not_ready", "the node is stopping"));
      queue.push_back(std::move(c));
    }
    q_cv.notify_one();
    return fut.get();
  }

  // ================= the L1 thread: poster, follower, defender =================

  void l1_loop() {
    while (true) {
      {
        std::unique_lock lock(q_mu);
        if (stopping) break;
      }
      refresh_l1();
      post_batches();
      follow_events();
      if (defender) (void)defender->poll();
      std::unique_lock lock(q_mu);
      l1_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping; });
    }
  }

  void refresh_l1() {
    auto head = l1.head();
    if (!head) {
      stats.l1_errors++;
      return;
    }
    uint64_t have;
    {
      std::lock_guard lock(l1_mu);
      l1_head_ts = head->timestamp;
      have = inbox_cache.size();
    }
    while (have < head->inbox_length) {
      auto msgs = l1.inbox(have, 500);
      if (!msgs || msgs->empty()) break;
      std::lock_guard lock(l1_mu);
      for (auto& m : *msgs) {
        if (m.index != inbox_cache.size()) continue;
        Bytes buf;
        append(buf, inbox_acc.back().view());
        append(buf, keccak256(m.l2_tx).view());
        inbox_acc.push_back(keccak256(buf));
        inbox_cache.push_back(std::move(m));
      }
      have = inbox_cache.size();
    }
    std::lock_guard lock(l1_mu);
    l1_inbox_length = std::min<uint64_t>(head->inbox_length, inbox_cache.size());
  }

  // Posts closed batches in order. A batch is never posted twice: one whose posting answer was lost is
  // found on the L1 by its roots and data (adopt()).
  void post_batches() {
    for (;;) {
      LocalBatch b;
      {
        std::lock_guard lock(mu);
        auto it = std::find_if(batches.begin(), batches.end(), [](const LocalBatch& x) { return !x.l1_index; });
        if (it == batches.end() || it->state != BatchState::kClosed) return;
        b = *it;
      }
      auto head = l1.head();
      if (!head) return;
      if (head->tip_root != b.roots.front()) {
        // Posted already, with the record of it lost (killed between the L1's answer and the log)? Then
        // the L1's tip is this batch: adopt it. Otherwise wait for a dispute to remove a wrong batch.
        if (head->next_batch_index > 0 && adopt(b, head->next_batch_index - 1)) continue;
        if (waiting_logged != std::pair{b.seq, head->tip_root}) {  // once per batch and tip, not per poll
          waiting_logged = std::pair{b.seq, head->tip_root};
          log("waiting to post batch " + std::to_string(b.seq) + ": the L1 tip root " + head->tip_root.hex().substr(0, 12) +
              " is not its start root " + b.roots.front().hex().substr(0, 12) +
              " (a dispute of a wrong batch in progress, or this node's log is behind the L1)");
        }
        return;
      }
      if (auto stake = ensure_stake(); !stake) return;
      uint64_t index = head->next_batch_index;
      Hash32 post = b.roots.back();
      bool fault = cfg.fault_at_batch && *cfg.fault_at_batch == index;
      if (fault) post = keccak256(post.view());  // fault injection: a root nobody can justify
      l1::PostBatchArgs args{index, b.roots.front(), post, b.steps.size() - b.inbox_steps, b.inbox_to,
                             l1_accumulator(b.inbox_to), b.l2_ts};
      Bytes data = l1::compress_batch(b.frames());
      auto r = l1.submit(cfg.proposer_key, l1::make_post_batch(proposer, args, data, 0));
      if (!r) {
        stats.l1_errors++;
        log("posting batch " + std::to_string(b.seq) + " refused: " + r.error().code + " " + r.error().message);
        adopt(b, index);
        return;
      }
      mark_posted(b.seq, index, post, fault);
    }
  }

  // The inbox accumulator after n messages, from the cached inbox (the L1 checks it against its own).
  Hash32 l1_accumulator(uint64_t n) {
    std::lock_guard lock(l1_mu);
    return n < inbox_acc.size() ? inbox_acc[n] : Hash32{};
  }

  // The stake can be slashed by a lost game: it is topped up from the proposer's bond tokens.
  Status<std::string> ensure_stake() {
    auto a = l1.account(proposer);
    if (!a) return err(a.error().message);
    const uint64_t min = l1_config.min_proposer_stake;
    if (a->stake >= min) return {};
    auto r = l1.submit(cfg.proposer_key, l1::make_register_proposer(proposer, min - a->stake, 0));
    if (!r) {
      log("cannot stake as proposer: " + r.error().code + " " + r.error().message);
      return err(r.error().message);
    }
    log("staked " + format_decimal(static_cast<int64_t>(min - a->stake)) + " bond tokens as proposer");
    return {};
  }

  // A posting whose answer was lost (or a restart after posting): the L1 may already hold the batch.
  bool adopt(const LocalBatch& b, uint64_t from_index) {
    for (uint64_t i = from_index > 2 ? from_index - 2 : 0; i <= from_index; ++i) {
      auto rec = l1.batch(i);
      if (!rec) continue;
      if (rec->status != l1::BatchStatus::kRemoved && rec->proposer == proposer && rec->prev_root == b.roots.front() &&
          rec->data_hash == keccak256(l1::compress_batch(b.frames()))) {
        log("batch " + std::to_string(b.seq) + " is already L1 batch " + std::to_string(i) + ": adopted");
        mark_posted(b.seq, i, rec->post_root, rec->post_root != b.roots.back());
        return true;
      }
    }
    return false;
  }

  void mark_posted(uint64_t seq, uint64_t index, const Hash32& post, bool faulted) {
    Writer w;
    w.u64(seq).u64(index);
    // Without this record a restart still finds the batch on the L1 (adopt()); but a log that cannot be
    // written stops the node.
    if (auto st = append_log({Record{Kind::kBatchPosted, wall_ms(), w.take()}}); !st) fail("cannot write its log " + st.error());
    std::lock_guard lock(mu);
    for (auto& b : batches)
      if (b.seq == seq) {
        b.l1_index = index;
        b.state = BatchState::kPosted;
        b.claimed_post = post;
        b.faulted = faulted;
      }
    stats.batches_posted++;
    log("posted batch " + std::to_string(seq) + " as L1 batch " + std::to_string(index) + (faulted ? " WITH A WRONG ROOT (fault injection)" : ""));
    publish("batches", {{"index", index}, {"status", "pending"}, {"postRoot", post.hex()}});
  }

  // The roots the proposer claims for one of its L1 batches (honest except an injected fault's last).
  std::optional<std::vector<Hash32>> claimed_roots(uint64_t index) {
    std::lock_guard lock(mu);
    for (auto& b : batches)
      if (b.l1_index == index) {
        auto r = step_roots(b);
        if (!r) return std::nullopt;
        r->back() = b.claimed_post;
        return r;
      }
    return std::nullopt;
  }

  // The roots after each step of a closed batch that is not final yet (held under mu). The state is
  // rewound to the batch's start (its journal mark), the batch is executed again taking the root after
  // every step, and every later step is executed again up to the tip. apply() is deterministic, so this
  // ends exactly where it began; the start, post and tip roots are checked all the same.
  std::optional<std::vector<Hash32>> step_roots(LocalBatch& b) {
    if (!b.step_roots.empty()) return b.step_roots;
    if (b.state == BatchState::kOpen || b.roots.size() != 2) return std::nullopt;
    const Hash32 tip = Hash32::from(state.root());
    if (!state.revert_to(b.mark)) {
      log("cannot compute the step roots of batch " + std::to_string(b.seq) + ": its start is no longer in the journal");
      return std::nullopt;
    }
    std::vector<Hash32> roots{Hash32::from(state.root())};
    bool from_b = false;
    for (auto& x : batches) {
      from_b = from_b || &x == &b;
      if (!from_b) continue;
      x.mark = state.mark();
      for (size_t i = 0; i < x.steps.size(); ++i) {
        (void)apply(params(), StepContext{x.l2_ts, i < x.inbox_steps}, x.steps[i], state, ApplyOptions{&cache, nullptr});
        if (&x == &b) roots.push_back(Hash32::from(state.root()));
      }
    }
    if (roots.front() != b.roots.front() || roots.back() != b.roots.back() || Hash32::from(state.root()) != tip) {
      // Cannot happen with a deterministic apply(); if it did, answering a game with these roots would lose it.
      log("FATAL: re-executing batch " + std::to_string(b.seq) + " did not reproduce its roots");
      return std::nullopt;
    }
    b.step_roots = std::move(roots);
    return b.step_roots;
  }

  void follow_events() {
    for (int pages = 0; pages < 20; ++pages) {
      auto page = l1.events(next_event_block);
      if (!page) {
        stats.l1_errors++;
        return;
      }
      for (const auto& e : page->events) {
        if (e.block < last_event_block || (e.block == last_event_block && static_cast<int64_t>(e.index) <= last_event_index)) continue;
        if (e.type == "batch_removed" && !on_removed(e.fields.at("index").get<uint64_t>())) {
          stats.l1_errors++;
          return;  // the L1 could not be read: this event again next time
        }
        last_event_block = e.block;
        last_event_index = e.index;
        if (e.type == "batch_finalized") on_finalized(e.fields.at("index").get<uint64_t>());
        else if (e.type == "withdrawal_paid") {
          std::lock_guard lock(mu);
          claimed.insert(e.fields.at("index").get<uint64_t>());
        } else if (e.type == "game_started" || e.type == "game_ended") {
          std::lock_guard lock(mu);
          publish("batches", {{"index", e.fields.value("batch", uint64_t{0})}, {"event", e.type}, {"game", e.fields.value("game", uint64_t{0})}});
        }
      }
      next_event_block = page->next;
      if (!page->more) break;
    }
    flush_outbox();
  }

  void on_finalized(uint64_t index) {
    std::lock_guard lock(mu);
    while (!batches.empty() && batches.front().l1_index && *batches.front().l1_index <= index &&
           batches.front().state == BatchState::kPosted) {
      LocalBatch& b = batches.front();
      // Withdrawal proofs come from a copy of the state at the last final batch.
      (void)apply_steps(params(), b.l2_ts, b.steps, b.inbox_steps, final_state, &cache);
      final_seq_applied = b.seq;
      b.state = BatchState::kFinal;
      state.forget_before(batches.size() > 1 ? batches[1].mark : state.mark());
      LocalBatch meta = b;
      meta.steps.clear();
      meta.steps.shrink_to_fit();
      final_batches_meta[b.seq] = std::move(meta);
      stats.batches_final++;
      publish("batches", {{"index", *b.l1_index}, {"status", "final"}, {"postRoot", b.claimed_post.hex()}});
      batches.pop_front();
    }
  }

  // A lost game removed L1 batches from `index` on. The node's own state was honest all along (a fault
  // only touches the posted root), so it posts the same batches again, honestly, from the last good root.
  //
  // Only batches the L1 reports removed are posted again: after a restart the node reads the L1's events
  // from the start, and a removal it reads again may be older than the batches it posted since (the
  // re-posts themselves, at higher indexes). Returns false when the L1 cannot be read.
  bool on_removed(uint64_t index) {
    std::vector<uint64_t> mine;
    {
      std::lock_guard lock(mu);
      for (const auto& b : batches)
        if (b.l1_index && *b.l1_index >= index) mine.push_back(*b.l1_index);
    }
    std::set<uint64_t> gone;
    for (uint64_t i : mine) {
      auto rec = l1.batch(i);
      if (!rec) return false;
      if (rec->status == l1::BatchStatus::kRemoved) gone.insert(i);
    }
    std::lock_guard lock(mu);
    bool any = false;
    for (auto& b : batches) {
      if (b.l1_index && gone.count(*b.l1_index)) {
        b.l1_index.reset();
        b.state = BatchState::kClosed;
        b.faulted = false;
        b.claimed_post = b.roots.back();
        any = true;
      }
    }
    if (any) {
      stats.batches_removed++;
      log("L1 batches from " + std::to_string(index) + " were removed: posting them again from the last good root");
    }
    publish("batches", {{"index", index}, {"status", "removed"}});
    return true;
  }

  // The L1 index a local batch was posted as (nullopt while it is not posted).
  std::optional<uint64_t> l1_index_of(uint64_t seq) const {
    for (const auto& b : batches)
      if (b.seq == seq) return b.l1_index;
    if (auto f = final_batches_meta.find(seq); f != final_batches_meta.end()) return f->second.l1_index;
    return std::nullopt;
  }

  BatchView view_of(const l1::BatchRecord& r) {
    BatchView v;
    v.index = r.index;
    v.prev_root = r.prev_root;
    v.post_root = r.post_root;
    v.tx_data_root = r.tx_data_root;
    v.tx_count = r.tx_count;
    v.inbox_from = r.inbox_from;
    v.inbox_to = r.inbox_to;
    v.l2_timestamp = r.l2_timestamp;
    v.l1_block = r.posted_block;
    v.posted_at = r.posted_time;
    auto games = l1.games_of_batch(r.index);
    if (games) v.games = *games;
    v.status = l1::to_string(r.status);
    if (r.status == l1::BatchStatus::kPending &&
        std::any_of(v.games.begin(), v.games.end(), [](const fp::Game& g) { return g.status == fp::GameStatus::kOpen; }))
      v.status = "challenged";
    return v;
  }
};

// ================= Node =================

Result<std::unique_ptr<Node>, std::string> Node::open(NodeConfig config, fp::L1Port& l1) {
  auto impl = std::make_unique<Impl>(std::move(config), l1);
  Impl& m = *impl;
  auto who = address_of(m.cfg.proposer_key);
  if (!who) return err(std::string("proposer key: ") + to_string(who.error()));
  m.proposer = *who;
  auto cfg = l1.config();
  if (!cfg) return err("cannot read the L1 config: " + cfg.error().message);
  m.l1_config = *cfg;
  m.l1_config_json = l1::config_to_json(*cfg);
  if (auto s = m.cfg.genesis.build(m.state); !s) return err(std::string(to_string(s.error())));
  (void)m.cfg.genesis.build(m.final_state);
  m.final_state.set_journaling(false);
  if (Hash32::from(m.state.root()) != cfg->genesis_root)
    return err("the L1's genesis root " + cfg->genesis_root.hex() + " is not this node's genesis (" + m.state.root().hex() + ")");
  if (auto s = m.open_db(); !s) return err(s.error());
  m.refresh_l1();
  {
    std::lock_guard lock(m.mu);
    if (auto s = m.replay(); !s) return err("replaying the log: " + s.error());
  }
  m.defender = std::make_unique<fp::Defender>(
      m.cfg.proposer_key, l1, [p = impl.get()](uint64_t b) { return p->claimed_roots(b); },
      [p = impl.get()](const std::string& s) { p->log("defender: " + s); });
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() { stop(); }

void Node::start() {
  Impl& m = *impl_;
  m.sequencer = std::thread([&m] { m.sequencer_loop(); });
  m.l1_thread = std::thread([&m] { m.l1_loop(); });
}

std::optional<std::string> Node::failure() const {
  std::lock_guard lock(impl_->q_mu);
  if (impl_->failure.empty()) return std::nullopt;
  return impl_->failure;
}

void Node::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.q_mu);
    m.stopping = true;
  }
  m.q_cv.notify_all();
  m.l1_cv.notify_all();
  if (m.sequencer.joinable()) m.sequencer.join();
  if (m.l1_thread.joinable()) m.l1_thread.join();
}

Result<OrderAck, Refusal> Node::submit_order(const SignedOrder& order) {
  Impl& m = *impl_;
  // The signature is checked here, on the caller's thread, so recoveries run in parallel.
  OrderHash h = order_hash(m.params().domain_separator, order.order);
  auto who = recover(Hash32::from(h), order.sig);
  if (!who) return err(refusal(who.error() == SigError::kHighS ? "high_s_signature" : "bad_signature", to_string(who.error())));
  if (*who != order.order.account)
    return err(refusal("signer_mismatch", "the signature recovers to " + to_checksum(*who) +
                                              ", not the order's account (signed for another chain or contract?)"));
  {
    std::lock_guard lock(m.mu);
    m.cache.insert(order, SigCache::Entry{h, *who});
  }
  auto c = std::make_unique<Command>();
  c->kind = Kind::kOrder;
  c->order = order;
  c->hash = h;
  auto o = m.enqueue(std::move(c));
  if (!o) return err(o.error());
  if (o->refusal) return err(*o->refusal);
  return o->ack;
}

Result<OrderHash, Refusal> Node::submit_cancel(const CancelTx& cancel) {
  auto c = std::make_unique<Command>();
  c->kind = Kind::kCancel;
  c->cancel = cancel;
  auto o = impl_->enqueue(std::move(c));
  if (!o) return err(o.error());
  if (o->refusal) return err(*o->refusal);
  return o->cancel_hash;
}

Result<uint64_t, Refusal> Node::submit_withdrawal(const WithdrawTx& withdraw) {
  auto c = std::make_unique<Command>();
  c->kind = Kind::kWithdraw;
  c->withdraw = withdraw;
  auto o = impl_->enqueue(std::move(c));
  if (!o) return err(o.error());
  if (o->refusal) return err(*o->refusal);
  return o->value;
}

Result<uint64_t, Refusal> Node::submit_price_report(const PriceReportTx& report) {
  auto c = std::make_unique<Command>();
  c->kind = Kind::kPriceReport;
  c->report = report;
  auto o = impl_->enqueue(std::move(c));
  if (!o) return err(o.error());
  if (o->refusal) return err(*o->refusal);
  return o->value;
}

const Genesis& Node::genesis() const { return impl_->cfg.genesis; }
const Hash32& Node::domain_separator() const { return impl_->params().domain_separator; }
nlohmann::json Node::l1_config() const { return impl_->l1_config_json; }

std::vector<InstrumentView> Node::instruments() const {
  std::lock_guard lock(impl_->mu);
  std::vector<InstrumentView> out;
  GlobalLeaf g = impl_->global_leaf();
  for (uint64_t id = 1; id < g.next_instrument_id; ++id) {
    auto l = impl_->instrument_leaf(id);
    if (!l) continue;
    std::string status = l->status == InstrumentStatus::kActive ? "active" : (l->long_open || l->short_open) ? "expired" : "settled";
    out.push_back({*l, instrument_name(*l), status});
  }
  return out;
}

std::optional<InstrumentView> Node::instrument(uint64_t id) const {
  for (auto& v : instruments())
    if (v.leaf.id == id) return v;
  return std::nullopt;
}

std::optional<BookView> Node::book(uint64_t instrument, size_t depth) const {
  std::lock_guard lock(impl_->mu);
  const market::OrderBook* b = impl_->book.book(instrument);
  if (!b) {
    if (!impl_->instrument_leaf(instrument)) return std::nullopt;
    return BookView{instrument, {}, {}, impl_->book_sequence};
  }
  market::Depth d = b->depth(depth);
  BookView v{instrument, {}, {}, impl_->book_sequence};
  for (const auto& l : d.bids) v.bids.push_back({l.price, l.qty, l.count});
  for (const auto& l : d.asks) v.asks.push_back({l.price, l.qty, l.count});
  return v;
}

std::vector<TradeView> Node::trades(std::optional<uint64_t> instrument, size_t limit) const {
  std::lock_guard lock(impl_->mu);
  std::vector<TradeView> out;
  for (size_t i = impl_->trades.size(); i-- > 0 && out.size() < limit;) {
    const TradeView& t = impl_->trades[i];
    if (instrument && t.instrument != *instrument) continue;
    out.push_back(t);
    out.back().batch = impl_->l1_index_of(impl_->trade_seqs[i]);
  }
  return out;
}

AccountView Node::account(const Address& a) const {
  std::lock_guard lock(impl_->mu);
  return impl_->account_view(a);
}

std::optional<OrderView> Node::order(const OrderHash& h) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->orders.find(h);
  if (it == impl_->orders.end()) return std::nullopt;
  OrderView v = it->second.view;
  if (auto r = impl_->book.find(h)) v.filled = v.order.order.quantity - r->remaining;
  return v;
}

std::vector<OrderView> Node::orders(const Address& account, std::optional<OrderStatus> status, size_t limit) const {
  std::lock_guard lock(impl_->mu);
  std::vector<OrderView> out;
  auto it = impl_->orders_by_account.find(account);
  if (it == impl_->orders_by_account.end()) return out;
  for (auto h = it->second.rbegin(); h != it->second.rend() && out.size() < limit; ++h) {
    const OrderView& v = impl_->orders.at(*h).view;
    if (!status || v.status == *status) out.push_back(v);
  }
  return out;
}

std::vector<WithdrawalView> Node::withdrawals(const Address& account) const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  std::vector<WithdrawalView> out;
  auto it = m.withdrawals_by_account.find(account);
  if (it == m.withdrawals_by_account.end()) return out;
  for (uint64_t idx : it->second) {
    WithdrawalView w;
    const Bytes* v = m.state.find(withdrawal_key(idx));
    if (!v) continue;
    auto leaf = decode_withdrawal(*v);
    if (!leaf) continue;
    w.leaf = *leaf;
    uint64_t seq = m.withdrawal_batch[idx];
    bool is_final = m.final_seq_applied != UINT64_MAX && seq <= m.final_seq_applied;
    std::optional<uint64_t> l1_index;
    for (const auto& b : m.batches)
      if (b.seq == seq) l1_index = b.l1_index;
    if (auto f = m.final_batches_meta.find(seq); f != m.final_batches_meta.end()) l1_index = f->second.l1_index;
    w.batch = l1_index;
    w.status = m.claimed.count(idx) ? "claimed" : is_final ? "final" : "pending";
    if (is_final) {
      auto last = m.final_batches_meta.find(m.final_seq_applied);
      if (last != m.final_batches_meta.end() && last->second.l1_index) {
        w.proof_batch = last->second.l1_index;
        w.proof = m.final_state.tree().prove(withdrawal_key(idx)).encode();
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<BatchView> Node::batches(uint64_t from, size_t limit) const {
  std::vector<BatchView> out;
  for (uint64_t i = from; out.size() < limit; ++i) {
    auto r = impl_->l1.batch(i);
    if (!r) break;
    out.push_back(impl_->view_of(*r));
  }
  return out;
}

std::optional<BatchView> Node::batch(uint64_t index) const {
  auto r = impl_->l1.batch(index);
  if (!r) return std::nullopt;
  return impl_->view_of(*r);
}

NodeStats Node::stats() const {
  std::lock_guard lock(impl_->mu);
  NodeStats s = impl_->stats;
  s.root = impl_->state.root();
  s.resting_orders = impl_->book.size();
  return s;
}

StateRoot Node::root() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state.root();
}

void Node::set_publisher(Publisher p, std::function<bool(const std::string&)> wanted) {
  auto h = std::make_shared<const Impl::Hooks>(Impl::Hooks{std::move(p), std::move(wanted)});
  std::lock_guard lock(impl_->hooks_mu);
  impl_->hooks = std::move(h);
}

}  // namespace opt::node
