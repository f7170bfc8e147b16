#include "engine/node/sequencer.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "engine/common/wall_clock.h"
#include "engine/core/eip712.h"
#include "engine/market/matching.h"
#include "engine/node/admission.h"
#include "engine/node/l1_follower.h"
#include "engine/node/state_reads.h"
#include "engine/stf/apply.h"
#include "engine/stf/batch.h"
#include "engine/stf/conservation.h"

namespace opt::node {

namespace {

Refusal refusal(NodeError code, std::string message) {
  return Refusal{code, Code::kOk, std::move(message)};
}
Refusal refused_by_rules(Code c, std::string message) {
  return Refusal{NodeError::kRefusedByRules, c, std::move(message)};
}

struct Outcome {
  std::optional<Refusal> refusal;
  OrderAck ack;
  OrderHash cancel_hash;
  uint64_t value = 0;
};

struct Command {
  LogKind kind;
  SignedOrder order;
  OrderHash hash;
  CancelTx cancel;
  WithdrawTx withdraw;
  PriceReportTx report;
  // Called once, when the command's inputs are durable (or it was refused), from the committer's thread.
  std::function<void(Outcome)> done;
};

market::Culprit culprit_of(Code c) {
  switch (c) {
    case Code::kOrderCancelled:
    case Code::kOverfill:
    case Code::kOrderExpired:
    case Code::kTooManyPositions: return market::Culprit::kMaker;
    default: return market::Culprit::kTaker;
  }
}

// The depth of the book snapshots readers get (the API's largest depth).
constexpr size_t kSnapshotDepth = 1000;

}  // namespace

struct Sequencer::Impl {
  SequencerConfig cfg;
  InputLog& input_log;
  L1Follower& l1;
  ReadModel& read_model;
  EventHub& events;
  NodeCounters& counters;
  SharedSigCache& cache;
  std::function<void()> on_failure;

  // ---- guarded by mu ----
  mutable std::mutex mu;
  FullState state;
  market::MatchingEngine book;
  std::unordered_map<OrderHash, OrderView, FixedBytesHash> orders;
  std::unordered_map<Address, std::vector<OrderHash>, FixedBytesHash> orders_by_account;
  uint64_t next_trade_id = 1;
  std::map<uint64_t, std::set<Address>> holders;  // instrument -> accounts with a position
  std::set<Address> accounts;                     // every account a step touched: the conservation check's
  std::map<uint64_t, uint64_t> withdrawal_batch;  // withdrawal index -> local batch seq
  std::unordered_map<Address, std::vector<uint64_t>, FixedBytesHash> withdrawals_by_account;
  std::set<uint64_t> claimed;
  std::deque<LocalBatch> batches;  // every batch not yet final (and the open one last)
  uint64_t next_seq = 0;
  uint64_t inbox_consumed = 0;
  uint64_t last_l2_ts = 0;
  uint64_t book_sequence = 0;
  bool replaying = false;
  // What the current command group changed, published to the read model and the hub when it ends.
  std::set<uint64_t> dirty_books;
  bool instruments_dirty = true;
  std::vector<std::pair<TradeView, uint64_t>> group_trades;  // with the local batch
  std::vector<Event> outbox;  // emitted after the lock is released (a sink may query the node)

  // Mirrors for step_timestamp(), which takes no lock.
  std::atomic<uint64_t> open_ts{0}, last_ts{0};

  // ---- the command queue (guarded by q_mu) ----
  mutable std::mutex q_mu;
  std::condition_variable q_cv;
  std::deque<std::unique_ptr<Command>> queue;
  bool stopping = false;
  std::string failure;  // why the log could not be written; the node stops on it
  std::thread thread;

  // ---- the committer (guarded by c_mu) ----
  // The sequencer hands each processed command group to the committer and goes on with the next group
  // while the committer writes: all groups waiting are appended in one transaction (one fsync), and only
  // then are their commands answered and their events emitted. So the fsync overlaps the next group's
  // matching, and a group commit grows with the load instead of stalling it.
  struct Group {
    std::vector<LogRecord> records;
    std::vector<std::unique_ptr<Command>> cmds;
    std::vector<Outcome> outcomes;
    std::vector<Event> events;
    std::optional<uint64_t> closed_seq;  // the batch this group closed
  };
  std::mutex c_mu;
  std::condition_variable c_cv;
  std::deque<Group> commits;
  bool commit_stop = false;
  std::thread committer;
  // The newest local batch whose close record is durable (-1: none): the poster posts no batch before its
  // close is in the log, so a restart always knows every batch the L1 may hold.
  std::atomic<int64_t> durable_closed{-1};

  Impl(SequencerConfig c, InputLog& log, L1Follower& f, ReadModel& rm, EventHub& ev, NodeCounters& ct,
       SharedSigCache& sc)
      : cfg(std::move(c)),
        input_log(log),
        l1(f),
        read_model(rm),
        events(ev),
        counters(ct),
        cache(sc),
        book(std::random_device{}()) {}

  void log(const std::string& s) const {
    if (cfg.log) cfg.log(s);
  }
  const Params& params() const { return cfg.genesis.params; }
  bool publishing() const { return !replaying && events.active(); }

  // Reads of the live state (state_reads.h).
  std::optional<InstrumentLeaf> instrument_leaf(uint64_t id) const { return reads::instrument(state, id); }
  GlobalLeaf global_leaf() const { return reads::global(state); }
  std::optional<OracleLeaf> oracle_leaf(uint32_t u) const { return reads::oracle(state, u); }
  AccountLeaf account_leaf(const Address& a) const { return reads::account(state, a); }

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

  void publish_account(const Address& a) {
    if (publishing()) outbox.push_back(AccountChangedEvent{a});
  }

  void note_account(const Address& a) {
    accounts.insert(a);
    const Bytes* v = state.find(account_key(a));
    auto acc = v ? decode_account(*v) : Result<AccountLeaf, CodecError>(AccountLeaf{});
    if (!acc) return;
    for (auto& [inst, set] : holders) set.erase(a);
    for (const auto& p : acc->positions) holders[p.instrument].insert(a);
    publish_account(a);
  }

  void after_step(const Bytes& tx, const Receipt& rc, LocalBatch& b) {
    if (!rc.ok()) return;
    instruments_dirty = true;
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
            accounts.insert(t.recipient);
            publish_account(t.recipient);
          } else if constexpr (std::is_same_v<T, WithdrawTx>) {
            accounts.insert(t.withdraw.account);
            withdrawal_batch[rc.value] = b.seq;
            withdrawals_by_account[t.withdraw.account].push_back(rc.value);
            publish_account(t.withdraw.account);
          } else if constexpr (std::is_same_v<T, ForcedWithdrawTx>) {
            accounts.insert(t.account);
            withdrawal_batch[rc.value] = b.seq;
            withdrawals_by_account[t.account].push_back(rc.value);
            publish_account(t.account);
          }
        },
        *d);
  }

  // ================= batches =================

  // Opens a batch: the inbox messages up to inbox_to, then Expire and Settle for expired instruments.
  Status<std::string> open_batch(uint64_t ts, uint64_t inbox_to, uint64_t at_ms) {
    std::vector<Bytes> inbox_steps;
    if (inbox_to > inbox_consumed) {
      auto msgs = l1.inbox_range(inbox_consumed, inbox_to);
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
    last_ts.store(ts);
    open_ts.store(ts);
    for (const auto& m : inbox_steps) apply_step(m, true);
    open_batch_ref().inbox_steps = inbox_steps.size();
    inbox_consumed = open_batch_ref().inbox_to;
    auto_settlement(ts);
    return {};
  }

  // Expired instruments are settled by the sequencer itself: holders are paid without doing anything.
  void auto_settlement(uint64_t ts) {
    GlobalLeaf g = global_leaf();
    for (uint64_t id = 1; id < g.next_instrument_id; ++id) {
      auto inst = instrument_leaf(id);
      if (!inst) continue;
      if (inst->status == InstrumentStatus::kActive) {
        if (!book.book(id)) {
          book.add_instrument(id);
          dirty_books.insert(id);
        }
        if (ts < inst->expiry) continue;
        auto o = oracle_leaf(inst->underlying);
        if (!o || o->timestamp < inst->expiry) continue;  // waits for a report at or after expiry
        if (!apply_step(encode_tx(ExpireTx{id})).ok()) continue;
        auto swept = book.remove_instrument(id);
        dirty_books.insert(id);
        for (const auto& r : swept.removed) set_order_status(r.hash, OrderStatus::kExpired, "instrument expired");
        inst = instrument_leaf(id);
      }
      if (!inst || inst->status != InstrumentStatus::kExpired) continue;
      auto it = holders.find(id);
      if (it == holders.end() || it->second.empty()) continue;
      std::vector<Address> accs(it->second.begin(), it->second.end());
      for (const auto& a : accs) apply_step(encode_tx(SettleTx{a, id}));
    }
  }

  void close_batch() {
    if (!has_open_batch()) return;
    open_ts.store(0);
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
    counters.batches_closed++;
    check_conservation(b);
    if (!replaying)
      log("batch " + std::to_string(b.seq) + " closed: " + std::to_string(b.steps.size()) +
          (b.steps.size() == 1 ? " step" : " steps") + ", root " + b.roots.back().hex().substr(0, 12));
  }

  // docs/risk.md's conservation identity over the state after the batch. It cannot fail with a correct
  // apply(); if it does, the batch is still posted (its root is what apply() computes, and any verifier
  // computes the same), but the operator must know at once.
  void check_conservation(const LocalBatch& b) {
    std::vector<Address> all(accounts.begin(), accounts.end());
    auto t = conservation_totals(state, all);
    counters.batches_checked++;
    if (t && t->holds()) return;
    counters.conservation_failures++;
    log("CONSERVATION FAILURE after batch " + std::to_string(b.seq) + ": " +
        (t ? "held " + std::to_string(static_cast<int64_t>(t->held)) + " != deposits - withdrawals " +
                 std::to_string(static_cast<int64_t>(t->owed))
           : std::string("a leaf does not decode: ") + to_string(t.error())));
  }

  bool batch_due(uint64_t now_ms) const {
    if (!has_open_batch()) return false;
    const LocalBatch& b = batches.back();
    return now_ms >= b.opened_ms + cfg.batch_interval_ms || b.steps.size() >= cfg.max_batch_txs;
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

  // The batch's time: the wall clock, never behind the last batch, never far ahead of the L1.
  uint64_t next_batch_ts(uint64_t now_ms, uint64_t last, uint64_t head_ts) const {
    uint64_t ts = std::max<uint64_t>(last, now_ms / 1000);
    if (head_ts && ts > head_ts + cfg.max_timestamp_drift_seconds / 2) ts = std::max(last, head_ts);
    return ts;
  }

  // ================= commands =================

  void set_order_status(const OrderHash& h, OrderStatus s, const std::string& reason) {
    auto it = orders.find(h);
    if (it == orders.end()) return;
    it->second.status = s;
    it->second.reason = reason;
  }

  void publish_deltas(const std::vector<market::LevelDelta>& deltas) {
    if (deltas.empty()) return;
    ++book_sequence;
    for (const auto& d : deltas) dirty_books.insert(d.instrument);
    if (!publishing()) return;
    std::map<uint64_t, BookDeltaEvent> by_inst;
    for (const auto& d : deltas) {
      auto& e = by_inst[d.instrument];
      e.instrument = d.instrument;
      e.sequence = book_sequence;
      (d.side == market::Side::kBuy ? e.bids : e.asks).push_back({d.price, d.qty, d.count});
    }
    for (auto& [inst, e] : by_inst) outbox.push_back(std::move(e));
  }

  Outcome process_order(const SignedOrder& so, const OrderHash& h, uint64_t at_ms) {
    Outcome out;
    const uint64_t ts = last_l2_ts;
    if (auto r = admit(params(), state, so, h, ts, orders.count(h) > 0)) {
      out.refusal = r;
      counters.orders_rejected++;
      return out;
    }
    std::optional<uint64_t> cap;
    if (so.order.flags & kReduceOnly) {
      AccountLeaf acc = account_leaf(so.order.account);
      Position* p = acc.find(so.order.instrument);
      cap = p ? static_cast<uint64_t>(p->qty < 0 ? -p->qty : p->qty) : 0;
    }
    OrderView rec;
    rec.hash = h;
    rec.order = so;
    rec.created_at = at_ms;
    orders[h] = rec;
    orders_by_account[so.order.account].push_back(h);

    const bool fok = so.order.flags & kFok;
    const size_t mark = state.mark();
    LocalBatch& b = open_batch_ref();
    const size_t steps_before = b.steps.size();
    const size_t trades_before = group_trades.size();
    // The engine's own result buffer, valid until the book next changes (no copy per order).
    const market::SubmitResult* res = &book.submit(so, h, ts, cap);
    std::vector<market::LevelDelta> earlier;  // the deltas of rounds before a refused fill
    uint64_t filled = 0;
    for (;;) {
      std::optional<market::Refusal> refused;
      for (size_t i = 0; i < res->fills.size(); ++i) {
        const market::Fill& f = res->fills[i];
        Receipt rc = apply_step(encode_tx(market::to_trade(f, so)));
        if (!rc.ok()) {
          counters.trades_refused++;
          log("trade refused by the state machine (" + std::string(opt::to_string(rc.code)) + "): book corrected");
          refused = market::Refusal{i, fok ? 0 : i, culprit_of(rc.code)};
          break;
        }
        record_trade(f, so, b.seq, at_ms);
        filled += f.quantity;
      }
      for (const auto& r : res->removed)
        set_order_status(r.hash,
                         r.reason == market::RemoveReason::kExpired ? OrderStatus::kExpired : OrderStatus::kCancelled,
                         market::to_string(r.reason));
      if (!refused) break;
      if (fok) {
        // All or nothing: undo the fills already applied.
        state.revert_to(mark);
        b.steps.resize(steps_before);
        group_trades.resize(trades_before);
        filled = 0;
      }
      earlier.insert(earlier.end(), res->deltas.begin(), res->deltas.end());
      res = &book.refuse_fill(so, *res, *refused, ts);
      if (res->status == market::SubmitStatus::kDropped) break;
    }
    counters.trades += group_trades.size() - trades_before;
    if (publishing())
      for (size_t i = trades_before; i < group_trades.size(); ++i) outbox.push_back(TradeEvent{group_trades[i].first});
    if (earlier.empty()) {
      publish_deltas(res->deltas);
    } else {
      earlier.insert(earlier.end(), res->deltas.begin(), res->deltas.end());
      publish_deltas(earlier);
    }

    OrderView& v = orders[h];
    v.filled = filled;
    switch (res->status) {
      case market::SubmitStatus::kFilled: v.status = OrderStatus::kFilled; break;
      case market::SubmitStatus::kPartiallyFilledResting:
      case market::SubmitStatus::kResting: v.status = OrderStatus::kOpen; break;
      case market::SubmitStatus::kCancelledIoc: v.status = OrderStatus::kCancelled, v.reason = "ioc remainder"; break;
      case market::SubmitStatus::kRejectedExpired: v.status = OrderStatus::kExpired; break;
      default: v.status = OrderStatus::kRejected, v.reason = market::to_string(res->status);
    }
    counters.orders_accepted++;
    out.ack.hash = h;
    out.ack.status = v.status;
    out.ack.filled = filled;
    for (size_t i = trades_before; i < group_trades.size(); ++i) out.ack.trade_ids.push_back(group_trades[i].first.id);
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
    group_trades.emplace_back(t, seq);
    auto m = orders.find(f.maker_hash);
    if (m != orders.end()) {
      m->second.filled += f.quantity;
      if (f.maker_remaining == 0) m->second.status = OrderStatus::kFilled;
    }
  }

  Outcome process_cancel(const CancelTx& c) {
    Outcome out;
    Receipt rc = apply_step(encode_tx(c));
    if (!rc.ok()) {
      out.refusal = refused_by_rules(rc.code, "the cancel was refused");
      return out;
    }
    if (auto f = book.find(c.cancel.order_hash); f && f->order.order.account == c.cancel.account) {
      auto gone = book.cancel(c.cancel.order_hash);
      if (gone) publish_deltas({gone->delta});
    }
    auto it = orders.find(c.cancel.order_hash);
    if (it != orders.end() && it->second.order.order.account == c.cancel.account &&
        it->second.status == OrderStatus::kOpen)
      set_order_status(c.cancel.order_hash, OrderStatus::kCancelled, "cancelled by its owner");
    out.cancel_hash = c.cancel.order_hash;
    return out;
  }

  Outcome process_step_command(const Bytes& tx, const char* what) {
    Outcome out;
    Receipt rc = apply_step(tx);
    if (!rc.ok()) {
      out.refusal = refused_by_rules(rc.code, std::string("the ") + what + " was refused");
      return out;
    }
    out.value = rc.value;
    return out;
  }

  // Checks a command without changing anything, so a refusal leaves the log and the state untouched.
  std::optional<Refusal> dry_run(const Bytes& tx) {
    Overlay probe(state);
    auto r = apply(params(), StepContext{last_l2_ts}, tx, probe, ApplyOptions{&cache, nullptr});
    if (!r) return refusal(NodeError::kInternal, "the state machine faulted");
    if (!r->ok()) return refused_by_rules(r->code, describe(r->code));
    return std::nullopt;
  }

  Outcome run_command(Command& c, uint64_t at_ms, std::vector<LogRecord>& records) {
    if (cfg.on_command) cfg.on_command();
    Writer w;
    switch (c.kind) {
      case LogKind::kOrder: {
        Outcome o = process_order(c.order, c.hash, at_ms);
        if (!o.refusal) {
          write_order(w, c.order.order);
          w.fixed(c.order.sig).fixed(c.hash);
          records.push_back({LogKind::kOrder, at_ms, w.take()});
        }
        return o;
      }
      case LogKind::kCancel: {
        Bytes tx = encode_tx(c.cancel);
        if (auto r = dry_run(tx)) return Outcome{r, {}, {}, 0};
        records.push_back({LogKind::kCancel, at_ms, tx});
        return process_cancel(c.cancel);
      }
      case LogKind::kWithdraw: {
        Bytes tx = encode_tx(c.withdraw);
        if (auto r = dry_run(tx)) return Outcome{r, {}, {}, 0};
        records.push_back({LogKind::kWithdraw, at_ms, tx});
        return process_step_command(tx, "withdrawal");
      }
      case LogKind::kPriceReport: {
        Bytes tx = encode_tx(c.report);
        if (auto r = dry_run(tx)) return Outcome{r, {}, {}, 0};
        records.push_back({LogKind::kPriceReport, at_ms, tx});
        return process_step_command(tx, "price report");
      }
      default: break;
    }
    return Outcome{refusal(NodeError::kInternal, "unknown command"), {}, {}, 0};
  }

  // What readers see, after a command group (under mu): the books that changed, the instruments, the
  // trades. Returned to be handed to the read model after the lock is released.
  struct Reads {
    std::vector<std::shared_ptr<const BookView>> books;
    uint64_t book_sequence = 0;
    std::optional<std::vector<InstrumentView>> instruments;
    std::vector<std::pair<TradeView, uint64_t>> trades;
  };
  Reads take_reads() {
    Reads r;
    for (uint64_t id : dirty_books) {
      auto v = std::make_shared<BookView>();
      v->instrument = id;
      v->sequence = book_sequence;
      if (const market::OrderBook* b = book.book(id)) {
        market::Depth d = b->depth(kSnapshotDepth);
        for (const auto& l : d.bids) v->bids.push_back({l.price, l.qty, l.count});
        for (const auto& l : d.asks) v->asks.push_back({l.price, l.qty, l.count});
      }
      r.books.push_back(std::move(v));
    }
    dirty_books.clear();
    r.book_sequence = book_sequence;
    if (instruments_dirty) r.instruments = reads::instrument_views(state);
    instruments_dirty = false;
    r.trades.swap(group_trades);
    counters.resting_orders.store(book.size());
    counters.pending_txs.store(has_open_batch() ? batches.back().steps.size() : 0);
    return r;
  }
  void publish_reads(Reads r) {
    if (!r.books.empty()) read_model.publish_books(std::move(r.books), r.book_sequence);
    if (r.instruments) read_model.publish_instruments(std::move(*r.instruments));
    read_model.add_trades(r.trades);
  }

  // ================= replay =================

  Status<std::string> replay() {
    size_t n = 0;
    {
      std::lock_guard lock(mu);
      replaying = true;
      auto s = input_log.replay([&](const LogRecord& r) {
        ++n;
        auto st = replay_record(r);
        // Only the newest trades are kept for readers.
        if (group_trades.size() > 2 * ReadModel::kTradesKept)
          group_trades.erase(group_trades.begin(), group_trades.end() - static_cast<long>(ReadModel::kTradesKept));
        return st;
      });
      replaying = false;
      if (!s) return s;
      // Everything replayed is durable: the batches closed in the log may be posted.
      for (const auto& b : batches)
        if (b.state != BatchState::kOpen) durable_closed.store(static_cast<int64_t>(b.seq));
      publish_reads(take_reads());
    }
    if (n) log("replayed " + std::to_string(n) + " log records: root " + state.root().hex().substr(0, 12));
    return {};
  }

  Status<std::string> replay_record(const LogRecord& r) {
    Reader rd(r.body);
    switch (r.kind) {
      case LogKind::kBatchOpen: {
        uint64_t ts = rd.u64(), inbox_to = rd.u64();
        if (!rd.finish()) return err(std::string("bad batch-open record"));
        return open_batch(ts, inbox_to, r.at);
      }
      case LogKind::kOrder: {
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
      case LogKind::kCancel: {
        auto tx = decode_tx(r.body);
        if (!tx || !std::holds_alternative<CancelTx>(*tx) || !has_open_batch())
          return err(std::string("bad cancel record"));
        (void)process_cancel(std::get<CancelTx>(*tx));
        return {};
      }
      case LogKind::kWithdraw:
      case LogKind::kPriceReport:
        if (!has_open_batch()) return err(std::string("step outside a batch"));
        (void)apply_step(r.body);
        return {};
      case LogKind::kBatchClose: close_batch(); return {};
      case LogKind::kBatchPosted: {
        uint64_t seq = rd.u64(), index = rd.u64();
        for (auto& b : batches)
          if (b.seq == seq) {
            b.l1_index = index;
            b.state = BatchState::kPosted;
          }
        read_model.set_l1_index(seq, index);
        return {};
      }
    }
    return err(std::string("unknown record kind"));
  }

  // ================= the sequencer thread =================

  void loop() {
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
      const uint64_t inbox_len = l1.inbox_length(), head_ts = l1.head_timestamp();
      Group group;
      std::vector<LogRecord> records;
      std::vector<Outcome> outcomes;
      Reads reads;
      {
        std::lock_guard lock(mu);
        if (batch_due(now)) {
          close_batch();
          Writer w;
          w.u64(batches.back().seq);
          records.push_back({LogKind::kBatchClose, now, w.take()});
          if (batches.back().state == BatchState::kClosed) group.closed_seq = batches.back().seq;
        }
        bool inbox_due = inbox_len > inbox_consumed;
        bool expiry_due = settlement_due(std::max<uint64_t>(last_l2_ts, now / 1000));
        if (!has_open_batch() && (!cmds.empty() || inbox_due || expiry_due)) {
          uint64_t ts = next_batch_ts(now, last_l2_ts, head_ts);
          if (auto s = open_batch(ts, inbox_len, now); !s) {
            log("cannot open a batch: " + s.error());
          } else {
            Writer w;
            w.u64(ts).u64(open_batch_ref().inbox_to);
            records.push_back({LogKind::kBatchOpen, now, w.take()});
          }
        }
        if (has_open_batch()) {
          for (auto& c : cmds) outcomes.push_back(run_command(*c, now, records));
        } else {
          for (size_t i = 0; i < cmds.size(); ++i)
            outcomes.push_back(Outcome{refusal(NodeError::kNotReady, "the node cannot open a batch now"), {}, {}, 0});
        }
        reads = take_reads();
        group.events.swap(outbox);
      }
      publish_reads(std::move(reads));
      group.records = std::move(records);
      group.cmds = std::move(cmds);
      group.outcomes = std::move(outcomes);
      {
        std::lock_guard lock(c_mu);
        commits.push_back(std::move(group));
      }
      c_cv.notify_one();
    }
  }

  // The committer's thread: see Group.
  void commit_loop() {
    bool broken = false;  // the log failed once: nothing after it is durable, so nothing is acknowledged
    std::string why;
    for (;;) {
      std::deque<Group> take;
      {
        std::unique_lock lock(c_mu);
        c_cv.wait(lock, [&] { return commit_stop || !commits.empty(); });
        if (commits.empty()) break;
        take.swap(commits);
      }
      size_t n = 0;
      for (const auto& g : take) n += g.records.size();
      std::vector<LogRecord> all;
      all.reserve(n);
      for (auto& g : take)
        for (auto& r : g.records) all.push_back(std::move(r));
      if (!broken) {
        if (auto s = input_log.append(all); !s) {
          broken = true;
          why = s.error();
          fail("cannot write its log " + why);
        }
      }
      for (auto& g : take) {
        for (size_t i = 0; i < g.cmds.size(); ++i) {
          if (broken) g.outcomes[i].refusal = refusal(NodeError::kStorage, "the node cannot write its log: " + why);
          g.cmds[i]->done(std::move(g.outcomes[i]));
        }
        if (broken) continue;
        if (g.closed_seq) durable_closed.store(static_cast<int64_t>(*g.closed_seq));
        events.emit(g.events);
      }
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
    if (on_failure) on_failure();
  }

  // Queues a command; its done() is called once it is durable or refused (at once if the node stops).
  void enqueue(std::unique_ptr<Command> c) {
    {
      std::unique_lock lock(q_mu);
      if (!stopping) {
        queue.push_back(std::move(c));
        lock.unlock();
        q_cv.notify_one();
        return;
      }
    }
    Outcome o;
    o.refusal = refusal(NodeError::kNotReady, "the node is stopping");
    c->done(std::move(o));
  }

  // The same, waiting for the answer.
  Outcome run(std::unique_ptr<Command> c) {
    std::promise<Outcome> answer;
    auto got = answer.get_future();
    c->done = [&answer](Outcome o) { answer.set_value(std::move(o)); };
    enqueue(std::move(c));
    return got.get();
  }
};

// ================= Sequencer =================

Sequencer::Sequencer(SequencerConfig cfg, InputLog& log, L1Follower& l1, ReadModel& read_model, EventHub& events,
                     NodeCounters& counters, SharedSigCache& cache)
    : impl_(std::make_unique<Impl>(std::move(cfg), log, l1, read_model, events, counters, cache)) {
  (void)impl_->cfg.genesis.build(impl_->state);
}

Sequencer::~Sequencer() {
  stop();
}

void Sequencer::on_failure(std::function<void()> f) {
  impl_->on_failure = std::move(f);
}
void Sequencer::fail(const std::string& why) {
  impl_->fail(why);
}

Status<std::string> Sequencer::replay() {
  return impl_->replay();
}

void Sequencer::start() {
  impl_->committer = std::thread([m = impl_.get()] { m->commit_loop(); });
  impl_->thread = std::thread([m = impl_.get()] { m->loop(); });
}

void Sequencer::stop() {
  {
    std::lock_guard lock(impl_->q_mu);
    impl_->stopping = true;
  }
  impl_->q_cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  // The sequencer has handed over its last group: the committer writes and answers it, then ends.
  {
    std::lock_guard lock(impl_->c_mu);
    impl_->commit_stop = true;
  }
  impl_->c_cv.notify_all();
  if (impl_->committer.joinable()) impl_->committer.join();
}

bool Sequencer::stopping() const {
  std::lock_guard lock(impl_->q_mu);
  return impl_->stopping;
}

std::optional<std::string> Sequencer::failure() const {
  std::lock_guard lock(impl_->q_mu);
  if (impl_->failure.empty()) return std::nullopt;
  return impl_->failure;
}

namespace {

// Turns an outcome into the answer of one kind of command.
template <class T, class F>
Result<T, Refusal> answer_of(Outcome o, F value) {
  if (o.refusal) return err(std::move(*o.refusal));
  return value(o);
}

}  // namespace

void Sequencer::submit_order_async(const SignedOrder& order, const OrderHash& hash, Done<OrderAck> done) {
  auto c = std::make_unique<Command>();
  c->kind = LogKind::kOrder;
  c->order = order;
  c->hash = hash;
  c->done = [done = std::move(done)](Outcome o) {
    done(answer_of<OrderAck>(std::move(o), [](Outcome& x) { return x.ack; }));
  };
  impl_->enqueue(std::move(c));
}

void Sequencer::submit_cancel_async(const CancelTx& cancel, Done<OrderHash> done) {
  auto c = std::make_unique<Command>();
  c->kind = LogKind::kCancel;
  c->cancel = cancel;
  c->done = [done = std::move(done)](Outcome o) {
    done(answer_of<OrderHash>(std::move(o), [](Outcome& x) { return x.cancel_hash; }));
  };
  impl_->enqueue(std::move(c));
}

void Sequencer::submit_withdrawal_async(const WithdrawTx& withdraw, Done<uint64_t> done) {
  auto c = std::make_unique<Command>();
  c->kind = LogKind::kWithdraw;
  c->withdraw = withdraw;
  c->done = [done = std::move(done)](Outcome o) {
    done(answer_of<uint64_t>(std::move(o), [](Outcome& x) { return x.value; }));
  };
  impl_->enqueue(std::move(c));
}

namespace {

// Waits for an asynchronous submission's answer.
template <class T, class Submit>
Result<T, Refusal> wait_for(Submit submit) {
  std::promise<Result<T, Refusal>> answer;
  auto got = answer.get_future();
  submit([&answer](Result<T, Refusal> r) { answer.set_value(std::move(r)); });
  return got.get();
}

}  // namespace

Result<OrderAck, Refusal> Sequencer::submit_order(const SignedOrder& order, const OrderHash& hash) {
  return wait_for<OrderAck>([&](Done<OrderAck> d) { submit_order_async(order, hash, std::move(d)); });
}

Result<OrderHash, Refusal> Sequencer::submit_cancel(const CancelTx& cancel) {
  return wait_for<OrderHash>([&](Done<OrderHash> d) { submit_cancel_async(cancel, std::move(d)); });
}

Result<uint64_t, Refusal> Sequencer::submit_withdrawal(const WithdrawTx& withdraw) {
  return wait_for<uint64_t>([&](Done<uint64_t> d) { submit_withdrawal_async(withdraw, std::move(d)); });
}

Result<uint64_t, Refusal> Sequencer::submit_price_report(const PriceReportTx& report) {
  auto c = std::make_unique<Command>();
  c->kind = LogKind::kPriceReport;
  c->report = report;
  return answer_of<uint64_t>(impl_->run(std::move(c)), [](Outcome& x) { return x.value; });
}

AccountView Sequencer::account(const Address& a) const {
  std::lock_guard lock(impl_->mu);
  const uint64_t now = std::max<uint64_t>(impl_->last_l2_ts, wall_ms() / 1000);
  return reads::account_view(impl_->state, impl_->params(), a, now);
}

std::optional<OrderView> Sequencer::order(const OrderHash& h) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->orders.find(h);
  if (it == impl_->orders.end()) return std::nullopt;
  OrderView v = it->second;
  if (auto r = impl_->book.find(h)) v.filled = v.order.order.quantity - r->remaining;
  return v;
}

std::vector<OrderView> Sequencer::orders(const Address& account, std::optional<OrderStatus> status,
                                         size_t limit) const {
  std::lock_guard lock(impl_->mu);
  std::vector<OrderView> out;
  auto it = impl_->orders_by_account.find(account);
  if (it == impl_->orders_by_account.end()) return out;
  for (auto h = it->second.rbegin(); h != it->second.rend() && out.size() < limit; ++h) {
    const OrderView& v = impl_->orders.at(*h);
    if (!status || v.status == *status) out.push_back(v);
  }
  return out;
}

std::vector<WithdrawalEntry> Sequencer::withdrawals(const Address& account) const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  std::vector<WithdrawalEntry> out;
  auto it = m.withdrawals_by_account.find(account);
  if (it == m.withdrawals_by_account.end()) return out;
  for (uint64_t idx : it->second) {
    const Bytes* v = m.state.find(withdrawal_key(idx));
    if (!v) continue;
    auto leaf = decode_withdrawal(*v);
    if (!leaf) continue;
    out.push_back({*leaf, m.withdrawal_batch[idx], m.claimed.count(idx) > 0});
  }
  return out;
}

std::optional<OracleLeaf> Sequencer::oracle(uint32_t underlying) const {
  std::lock_guard lock(impl_->mu);
  return impl_->oracle_leaf(underlying);
}

StateRoot Sequencer::root() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state.root();
}

uint64_t Sequencer::step_timestamp() const {
  if (uint64_t t = impl_->open_ts.load()) return t;
  return impl_->next_batch_ts(wall_ms(), impl_->last_ts.load(), impl_->l1.head_timestamp());
}

std::optional<LocalBatch> Sequencer::next_to_post() const {
  std::lock_guard lock(impl_->mu);
  auto& bs = impl_->batches;
  auto it = std::find_if(bs.begin(), bs.end(), [](const LocalBatch& x) { return !x.l1_index; });
  if (it == bs.end() || it->state != BatchState::kClosed) return std::nullopt;
  if (static_cast<int64_t>(it->seq) > impl_->durable_closed.load())
    return std::nullopt;  // its close is not durable yet
  return *it;
}

void Sequencer::mark_posted(uint64_t seq, uint64_t index, const Hash32& post, bool faulted) {
  std::lock_guard lock(impl_->mu);
  for (auto& b : impl_->batches)
    if (b.seq == seq) {
      b.l1_index = index;
      b.state = BatchState::kPosted;
      b.claimed_post = post;
      b.faulted = faulted;
    }
  impl_->read_model.set_l1_index(seq, index);
}

std::vector<LocalBatch> Sequencer::finalize_upto(uint64_t index) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  std::vector<LocalBatch> out;
  while (!m.batches.empty() && m.batches.front().l1_index && *m.batches.front().l1_index <= index &&
         m.batches.front().state == BatchState::kPosted) {
    LocalBatch& b = m.batches.front();
    b.state = BatchState::kFinal;
    // A final batch is never reverted: its journal entries go.
    m.state.forget_before(m.batches.size() > 1 ? m.batches[1].mark : m.state.mark());
    out.push_back(std::move(b));
    m.batches.pop_front();
  }
  return out;
}

std::vector<uint64_t> Sequencer::posted_from(uint64_t index) const {
  std::lock_guard lock(impl_->mu);
  std::vector<uint64_t> out;
  for (const auto& b : impl_->batches)
    if (b.l1_index && *b.l1_index >= index) out.push_back(*b.l1_index);
  return out;
}

bool Sequencer::unpost(const std::set<uint64_t>& gone) {
  std::lock_guard lock(impl_->mu);
  bool any = false;
  for (auto& b : impl_->batches) {
    if (b.l1_index && gone.count(*b.l1_index)) {
      b.l1_index.reset();
      b.state = BatchState::kClosed;
      b.faulted = false;
      b.claimed_post = b.roots.back();
      impl_->read_model.set_l1_index(b.seq, std::nullopt);
      any = true;
    }
  }
  return any;
}

void Sequencer::withdrawal_paid(uint64_t index) {
  std::lock_guard lock(impl_->mu);
  impl_->claimed.insert(index);
}

std::optional<Sequencer::Claim> Sequencer::claim(uint64_t index) const {
  std::lock_guard lock(impl_->mu);
  Claim c;
  for (const auto& b : impl_->batches) {
    if (b.state == BatchState::kOpen || b.roots.size() != 2) return std::nullopt;
    if (b.l1_index == index) {
      c.target = b.to_steps();
      c.claimed_post = b.claimed_post;
      return c;
    }
    c.before.push_back(b.to_steps());
  }
  return std::nullopt;
}

}  // namespace opt::node
