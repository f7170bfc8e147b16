#include "engine/node/node.h"

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "engine/common/devnet.h"
#include "engine/core/eip712.h"
#include "engine/node/batch_poster.h"
#include "engine/node/devnet_oracle.h"
#include "engine/node/input_log.h"
#include "engine/node/l1_follower.h"
#include "engine/node/read_model.h"
#include "engine/node/replica.h"
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
  std::string u = l.underlying == devnet::kEth   ? "ETH"
                  : l.underlying == devnet::kBtc ? "BTC"
                                                 : "U" + std::to_string(l.underlying);
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

const char* to_string(NodeError e) {
  switch (e) {
    case NodeError::kRefusedByRules: return "refused_by_rules";
    case NodeError::kZeroAmount: return "zero_amount";
    case NodeError::kOutOfRange: return "out_of_range";
    case NodeError::kBadFlags: return "bad_flags";
    case NodeError::kOrderExpired: return "order_expired";
    case NodeError::kFeeAboveMax: return "fee_above_max";
    case NodeError::kUnknownInstrument: return "unknown_instrument";
    case NodeError::kInstrumentExpired: return "instrument_expired";
    case NodeError::kDuplicateOrder: return "duplicate_order";
    case NodeError::kOrderReplayed: return "order_replayed";
    case NodeError::kReduceOnlyViolated: return "reduce_only_violated";
    case NodeError::kTooManyPositions: return "too_many_positions";
    case NodeError::kNoOraclePrice: return "no_oracle_price";
    case NodeError::kStaleOracle: return "stale_oracle";
    case NodeError::kInsufficientMargin: return "insufficient_margin";
    case NodeError::kBadSignature: return "bad_signature";
    case NodeError::kHighSSignature: return "high_s_signature";
    case NodeError::kSignerMismatch: return "signer_mismatch";
    case NodeError::kNotReady: return "not_ready";
    case NodeError::kStorage: return "storage";
    case NodeError::kInternal: return "internal";
  }
  return "unknown";
}

// The components and the threads that run them. Construction order is dependency order; each component
// keeps its own state under its own lock (see each header), so the wiring holds none of its own except
// the L1 thread's wake-up.
struct Node::Impl {
  NodeConfig cfg;
  fp::L1Port& l1;
  Address proposer;
  l1::L1Config l1_config;

  NodeCounters counters;
  EventHub events;
  SharedSigCache cache;
  ReadModel read_model;
  std::unique_ptr<InputLog> input_log;
  std::unique_ptr<L1Follower> follower;
  std::unique_ptr<Sequencer> sequencer;
  std::unique_ptr<Replica> replica;
  std::unique_ptr<BatchPoster> poster;
  std::unique_ptr<fp::Defender> defender;
  std::unique_ptr<DevnetOracle> oracle;

  std::thread l1_thread;
  std::mutex l1_mu;  // guards l1_stop
  std::condition_variable l1_cv;
  bool l1_stop = false;

  Impl(NodeConfig c, fp::L1Port& port) : cfg(std::move(c)), l1(port) {}

  void log(const std::string& s) const {
    if (cfg.log) cfg.log(s);
  }

  void wake_l1(bool stop) {
    {
      std::lock_guard lock(l1_mu);
      if (stop) l1_stop = true;
    }
    l1_cv.notify_all();
  }

  // The L1 thread: follower, poster, defender, every 250 ms.
  void l1_loop() {
    for (;;) {
      follower->refresh_head();
      poster->post();
      follower->follow_events();
      if (defender) (void)defender->poll();
      std::unique_lock lock(l1_mu);
      if (l1_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return l1_stop; })) return;
    }
  }

  // L1 batches up to `index` are final: the replica advances over them (withdrawal proofs follow).
  void on_finalized(uint64_t index) {
    for (auto& b : sequencer->finalize_upto(index)) {
      replica->advance(b.to_steps(), b.l1_index);
      counters.batches_final++;
      if (events.active()) events.emit(BatchStatusEvent{*b.l1_index, BatchStatus::kFinal, b.claimed_post});
    }
  }

  // A lost game removed L1 batches from `index` on. The node's own state was honest all along (a fault
  // only touches the posted root), so it posts the same batches again, honestly, from the last good root.
  //
  // Only batches the L1 reports removed are posted again: after a restart the node reads the L1's events
  // from the start, and a removal it reads again may be older than the batches it posted since (the
  // re-posts themselves, at higher indexes). Returns false when the L1 cannot be read.
  bool on_removed(uint64_t index) {
    std::set<uint64_t> gone;
    for (uint64_t i : sequencer->posted_from(index)) {
      auto rec = l1.batch(i);
      if (!rec) return false;
      if (rec->status == l1::BatchStatus::kRemoved) gone.insert(i);
    }
    if (sequencer->unpost(gone)) {
      counters.batches_removed++;
      log("L1 batches from " + std::to_string(index) + " were removed: posting them again from the last good root");
    }
    if (events.active()) events.emit(BatchStatusEvent{index, BatchStatus::kRemoved, std::nullopt});
    return true;
  }

  // The roots the proposer claims for one of its L1 batches (honest except an injected fault's last),
  // computed on the replica.
  std::optional<std::vector<Hash32>> claimed_roots(uint64_t index) {
    auto c = sequencer->claim(index);
    if (!c) return std::nullopt;
    auto roots = replica->step_roots(c->before, c->target);
    if (!roots) {
      log("FATAL: re-executing batch " + std::to_string(c->target.seq) + " on the replica did not reproduce its roots");
      return std::nullopt;
    }
    roots->back() = c->claimed_post;
    return roots;
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
  {
    FullState probe;
    if (auto s = m.cfg.genesis.build(probe); !s) return err(std::string(to_string(s.error())));
    if (Hash32::from(probe.root()) != cfg->genesis_root)
      return err("the L1's genesis root " + cfg->genesis_root.hex() + " is not this node's genesis (" +
                 probe.root().hex() + ")");
  }
  auto input_log = InputLog::open(m.cfg.data_dir, m.cfg.durable);
  if (!input_log) return err(input_log.error());
  m.input_log = std::move(*input_log);
  m.follower = std::make_unique<L1Follower>(l1, m.read_model, m.events, m.counters);

  SequencerConfig sc;
  sc.genesis = m.cfg.genesis;
  sc.batch_interval_ms = m.cfg.batch_interval_ms;
  sc.max_batch_txs = m.cfg.max_batch_txs;
  sc.max_timestamp_drift_seconds = m.l1_config.max_timestamp_drift_seconds;
  sc.log = m.cfg.log;
  sc.on_command = m.cfg.on_command;
  m.sequencer = std::make_unique<Sequencer>(std::move(sc), *m.input_log, *m.follower, m.read_model, m.events,
                                            m.counters, m.cache);
  m.sequencer->on_failure([p = impl.get()] { p->wake_l1(true); });
  m.replica = std::make_unique<Replica>(m.cfg.genesis, &m.cache);

  PosterConfig pc;
  pc.proposer_key = m.cfg.proposer_key;
  pc.proposer = m.proposer;
  pc.min_proposer_stake = m.l1_config.min_proposer_stake;
  pc.fault_at_batch = m.cfg.fault_at_batch;
  pc.log = m.cfg.log;
  pc.fail = [p = impl.get()](const std::string& why) { p->sequencer->fail(why); };
  m.poster =
      std::make_unique<BatchPoster>(std::move(pc), l1, *m.sequencer, *m.follower, *m.input_log, m.events, m.counters);

  m.follower->set_handlers(FollowerHandlers{
      [p = impl.get()](uint64_t i) { p->on_finalized(i); },
      [p = impl.get()](uint64_t i) { return p->on_removed(i); },
      [p = impl.get()](uint64_t w) { p->sequencer->withdrawal_paid(w); },
  });

  m.follower->refresh_head();
  if (auto s = m.sequencer->replay(); !s) return err("replaying the log: " + s.error());
  m.defender = std::make_unique<fp::Defender>(
      m.cfg.proposer_key, l1, [p = impl.get()](uint64_t b) { return p->claimed_roots(b); },
      [p = impl.get()](const std::string& s) { p->log("defender: " + s); });

  if (m.cfg.oracle_feeder) {
    DevnetOracleConfig oc;
    oc.domain_separator = m.cfg.genesis.params.domain_separator;
    oc.interval_ms = m.cfg.oracle_interval_ms;
    oc.oracle = [p = impl.get()](uint32_t u) { return p->sequencer->oracle(u); };
    oc.step_timestamp = [p = impl.get()] { return p->sequencer->step_timestamp(); };
    oc.submit = [p = impl.get()](const PriceReportTx& t) { return p->sequencer->submit_price_report(t).ok(); };
    m.oracle = std::make_unique<DevnetOracle>(std::move(oc));
  }
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() {
  stop();
}

void Node::start() {
  Impl& m = *impl_;
  m.sequencer->start();
  m.l1_thread = std::thread([&m] { m.l1_loop(); });
  if (m.oracle) m.oracle->start();
}

std::optional<std::string> Node::failure() const {
  return impl_->sequencer->failure();
}

void Node::stop() {
  Impl& m = *impl_;
  if (m.oracle) m.oracle->stop();
  m.sequencer->stop();
  m.wake_l1(true);
  if (m.l1_thread.joinable()) m.l1_thread.join();
}

void Node::submit_order_async(const SignedOrder& order, Done<OrderAck> done) {
  Impl& m = *impl_;
  // The signature is checked here, on the caller's thread, so recoveries run in parallel.
  OrderHash h = order_hash(m.cfg.genesis.params.domain_separator, order.order);
  auto who = recover(Hash32::from(h), order.sig);
  if (!who)
    return done(err(Refusal{who.error() == SigError::kHighS ? NodeError::kHighSSignature : NodeError::kBadSignature,
                            Code::kOk, to_string(who.error())}));
  if (*who != order.order.account)
    return done(err(Refusal{NodeError::kSignerMismatch, Code::kOk,
                            "the signature recovers to " + to_checksum(*who) +
                                ", not the order's account (signed for another chain or contract?)"}));
  m.cache.insert(order, SigCache::Entry{h, *who});
  m.sequencer->submit_order_async(order, h, std::move(done));
}

void Node::submit_cancel_async(const CancelTx& cancel, Done<OrderHash> done) {
  impl_->sequencer->submit_cancel_async(cancel, std::move(done));
}

void Node::submit_withdrawal_async(const WithdrawTx& withdraw, Done<uint64_t> done) {
  impl_->sequencer->submit_withdrawal_async(withdraw, std::move(done));
}

Result<OrderAck, Refusal> Node::submit_order(const SignedOrder& order) {
  std::promise<Result<OrderAck, Refusal>> answer;
  auto got = answer.get_future();
  submit_order_async(order, [&answer](Result<OrderAck, Refusal> r) { answer.set_value(std::move(r)); });
  return got.get();
}

Result<OrderHash, Refusal> Node::submit_cancel(const CancelTx& cancel) {
  return impl_->sequencer->submit_cancel(cancel);
}
Result<uint64_t, Refusal> Node::submit_withdrawal(const WithdrawTx& withdraw) {
  return impl_->sequencer->submit_withdrawal(withdraw);
}
Result<uint64_t, Refusal> Node::submit_price_report(const PriceReportTx& report) {
  return impl_->sequencer->submit_price_report(report);
}

const Genesis& Node::genesis() const {
  return impl_->cfg.genesis;
}
const Hash32& Node::domain_separator() const {
  return impl_->cfg.genesis.params.domain_separator;
}
const l1::L1Config& Node::l1_config() const {
  return impl_->l1_config;
}

std::vector<InstrumentView> Node::instruments() const {
  return impl_->read_model.instruments();
}
std::optional<InstrumentView> Node::instrument(uint64_t id) const {
  return impl_->read_model.instrument(id);
}
std::optional<BookView> Node::book(uint64_t instrument, size_t depth) const {
  return impl_->read_model.book(instrument, depth);
}
std::vector<TradeView> Node::trades(std::optional<uint64_t> instrument, size_t limit) const {
  return impl_->read_model.trades(instrument, limit);
}
std::vector<BatchView> Node::batches(uint64_t from, size_t limit) const {
  return impl_->read_model.batches(from, limit);
}
std::optional<BatchView> Node::batch(uint64_t index) const {
  return impl_->read_model.batch(index);
}

AccountView Node::account(const Address& a) const {
  return impl_->sequencer->account(a);
}
std::optional<OrderView> Node::order(const OrderHash& h) const {
  return impl_->sequencer->order(h);
}
std::vector<OrderView> Node::orders(const Address& account, std::optional<OrderStatus> status, size_t limit) const {
  return impl_->sequencer->orders(account, status, limit);
}

std::vector<WithdrawalView> Node::withdrawals(const Address& account) const {
  Impl& m = *impl_;
  // Finality and proofs from the replica (at the last final batch), so a withdrawal says final only
  // with a proof against that batch's root.
  const auto final_seq = m.replica->final_seq();
  std::vector<WithdrawalView> out;
  for (const auto& e : m.sequencer->withdrawals(account)) {
    WithdrawalView w;
    w.leaf = e.leaf;
    w.batch = m.read_model.l1_index(e.seq);
    const bool is_final = final_seq && e.seq <= *final_seq;
    w.status = e.claimed ? "claimed" : is_final ? "final" : "pending";
    if (is_final)
      if (auto p = m.replica->prove(withdrawal_key(e.leaf.index))) {
        w.proof_batch = p->first;
        w.proof = std::move(p->second);
      }
    out.push_back(std::move(w));
  }
  return out;
}

NodeStats Node::stats() const {
  NodeStats s = impl_->counters.snapshot();
  s.log_commits = impl_->input_log->commits();
  s.log_records = impl_->input_log->records();
  s.root = impl_->sequencer->root();
  return s;
}

StateRoot Node::root() const {
  return impl_->sequencer->root();
}

void Node::set_event_sink(std::shared_ptr<EventSink> sink) {
  impl_->events.set(std::move(sink));
}

}  // namespace opt::node
