// A real in-process L1 with the fraud-proof game for tests: an in-memory L1Chain on a manual clock with the
// GameModule, the devnet L2 genesis, and a proposer that executes batches with the real state machine
// (FullState + apply) and can be told to go wrong after a chosen step. The fixture also keeps the honest
// execution of every batch, so a test can play the honest side of any game by hand: the roots a proposer
// posts, the part an honest challenger names and the one-step proof it submits.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/chain.h"
#include "bridge/client.h"
#include "bridge/compress.h"
#include "bridge/service.h"
#include "engine/common/devnet.h"
#include "engine/core/eip712.h"
#include "engine/core/keccak.h"
#include "engine/core/merkle.h"
#include "engine/stf/apply.h"
#include "engine/stf/batch.h"
#include "engine/stf/leaves.h"
#include "fraudproof/game.h"
#include "fraudproof/l1_port.h"
#include "fraudproof/proof.h"

namespace opt::fp::test {

constexpr uint64_t kGenesisTime = 1'800'000'000;
constexpr uint64_t kUnit = l1::kTokenUnit;  // one bond token
constexpr int64_t kUsdc = 1'000'000;
constexpr size_t kProposer = devnet::kProposer;
constexpr size_t kChallenger = devnet::kChallenger;

inline const PrivateKey& dev(size_t i) {
  return devnet::dev_keys().at(i);
}
inline const Address& dev_addr(size_t i) {
  return devnet::dev_addresses().at(i);
}

// ceil(log_k n), computed here independently of the game's own helper.
inline uint64_t expected_rounds(uint64_t n, uint64_t k) {
  uint64_t r = 0, p = 1;
  while (p < n) {
    p *= k;
    ++r;
  }
  return r;
}

template <class T>
std::string why(const PortResult<T>& r) {
  return r.ok() ? std::string() : r.error().code + ": " + r.error().message;
}
template <class T>
std::string code_of(const PortResult<T>& r) {
  return r.ok() ? std::string("ok") : r.error().code;
}

// Forwards the game to the chain, but can hold back its on_block hook. The real chain ends a game whose
// mover ran out of time when the next block opens, before any action of that block runs, so the refusals
// that guard the same rule inside the actions (clock_expired on a late move, the Timeout action) can only
// be reached with the hook held back. Tests that do not set `hold` see the game exactly as registered.
class GatedGames final : public l1::L1Extension {
 public:
  explicit GatedGames(std::shared_ptr<GameModule> inner) : inner_(std::move(inner)) {}
  std::vector<l1::ActionDef> actions() override { return inner_->actions(); }
  l1::DisputeState dispute_state(uint64_t batch) const override { return inner_->dispute_state(batch); }
  void on_block(l1::L1Context& ctx) override {
    if (!hold) inner_->on_block(ctx);
  }
  void add_routes(http::Router& router) const override { inner_->add_routes(router); }
  bool hold = false;

 private:
  std::shared_ptr<GameModule> inner_;
};

struct FpOptions {
  uint64_t degree = 2;
  uint64_t challenge_period = 600;
  uint64_t clock = 20;
  uint64_t extension = 5;
  uint64_t proposer_stake = 1'500 * kUnit;  // above the minimum (1,000): the slash takes the minimum
  // Also serve the chain's HTTP API (the real L1Service, with the game's routes) on 127.0.0.1, any free
  // port, on the same manual clock: for comparing RemoteL1 with LocalL1.
  bool serve = false;
};

struct Posted {
  uint64_t index = 0;
  uint64_t l2_timestamp = 0;
  std::vector<Bytes> steps;   // the inbox messages, then the frames
  std::vector<Bytes> frames;  // the sequencer's transactions
  StepFacts facts;
  std::vector<Hash32> honest;   // honest roots after 0..N steps (honest[0]: the pre root)
  std::vector<Hash32> claimed;  // what the proposer claims (differs after a fault)
  std::optional<size_t> fault;
  uint64_t steps_count() const { return steps.size(); }
};

class Fixture {
 public:
  explicit Fixture(FpOptions o = {}) : opt_(o), clock_(kGenesisTime * 1000) {
    genesis_ = devnet::genesis(kGenesisTime);
    REQUIRE(genesis_.build(honest_).ok());
    REQUIRE(genesis_.build(proposer_).ok());
    l1::L1Config cfg = rollup_config(genesis_);
    cfg.block_time_ms = 1000;
    cfg.challenge_period_seconds = o.challenge_period;
    cfg.clock_seconds = o.clock;
    cfg.clock_extension_seconds = o.extension;
    cfg.dissection_degree = o.degree;
    cfg.forced_inclusion_delay_seconds = 3600;
    games_ = std::make_shared<GameModule>(GameConfig{});
    gate_ = std::make_shared<GatedGames>(games_);
    l1::OpenOptions oo;
    oo.config = cfg;
    oo.extensions = {gate_};
    oo.durable = false;
    if (o.serve) {
      l1::ServiceOptions so;
      so.db_path = ":memory:";
      so.host = "127.0.0.1";
      so.port = 0;
      so.open = oo;
      so.clock = &clock_;
      so.http_threads = 2;
      auto service = l1::L1Service::start(std::move(so));
      if (!service) FAIL("cannot start the L1 service: " << service.error());
      service_ = std::move(*service);
      chain_ = &service_->chain();
    } else {
      auto chain = l1::L1Chain::open(":memory:", clock_, oo);
      if (!chain) FAIL("cannot open the L1: " << chain.error());
      owned_chain_ = std::move(*chain);
      chain_ = owned_chain_.get();
    }
    port_ = std::make_unique<LocalL1>(*chain_, *games_);
    genesis_totals_ = chain_->totals();
    auto r = submit(dev(kProposer), l1::make_register_proposer(dev_addr(kProposer), o.proposer_stake, 0));
    REQUIRE_MESSAGE(r.ok(), why(r));
  }

  // ---- the L1 ----
  l1::L1Chain& chain() { return *chain_; }
  GameModule& games() { return *games_; }
  GatedGames& gate() { return *gate_; }
  LocalL1& port() { return *port_; }
  const Genesis& genesis() const { return genesis_; }
  const Params& params() const { return genesis_.params; }
  const l1::L1Config& config() const { return chain_->config(); }
  std::string url() const { return service_ ? service_->url() : std::string(); }
  uint64_t now() const { return chain_->now(); }
  // Moves the manual clock and opens the block of the new time (the next actions run in it).
  void advance(uint64_t seconds) {
    clock_.advance_s(seconds);
    chain_->tick();
    check_supply();
  }

  // Signs and submits with the key's own nonce (as LocalL1 does for the agents), then checks that no
  // token was created or destroyed other than by a counted burn.
  PortResult<l1::Accepted> submit(const PrivateKey& key, l1::Action a) {
    auto r = port_->submit(key, std::move(a));
    check_supply();
    return r;
  }
  void check_supply() {
    l1::Totals t = chain_->totals();
    CHECK(t.bond_supply == genesis_totals_.bond_supply);
    CHECK(t.usdc_supply == genesis_totals_.usdc_supply);
    CHECK(t.escrow == t.deposited - t.paid);
  }
  l1::L1Account account(size_t d) { return chain_->account(dev_addr(d)); }

  // ---- the inbox ----
  void deposit(size_t d, uint64_t amount) {
    auto r = submit(dev(d), l1::make_deposit(dev_addr(d), dev_addr(d), amount, 0));
    REQUIRE_MESSAGE(r.ok(), why(r));
  }
  void forced_withdraw(size_t d, uint64_t amount) {
    auto r = submit(dev(d), l1::make_forced_withdraw(dev_addr(d), amount, 0));
    REQUIRE_MESSAGE(r.ok(), why(r));
  }

  // ---- the proposer ----
  // Executes and posts a batch: every unconsumed inbox message, then `txs`, at the L1's current time.
  // With `fault`, the proposer's state goes wrong right after that step (one bit of a leaf the step
  // touched flips and a stray leaf appears), so every root it claims from there on is wrong.
  Posted post(const std::vector<Bytes>& txs, std::optional<size_t> fault = std::nullopt) {
    auto r = try_post(txs, fault);
    REQUIRE_MESSAGE(r.ok(), why(r));
    return posted_.back();
  }
  // The same, returning the L1's answer (the batch is recorded only if the L1 accepts it).
  PortResult<l1::Accepted> try_post(const std::vector<Bytes>& txs, std::optional<size_t> fault = std::nullopt) {
    const l1::Head head = chain_->head();
    Posted p;
    p.index = head.next_batch_index;
    p.l2_timestamp = chain_->now();
    p.fault = fault;
    for (const auto& m : chain_->inbox(inbox_consumed_, static_cast<size_t>(head.inbox_length - inbox_consumed_)))
      p.steps.push_back(m.l2_tx);
    const uint64_t inbox_count = p.steps.size();
    p.steps.insert(p.steps.end(), txs.begin(), txs.end());
    p.frames = txs;
    p.facts = StepFacts{inbox_count, txs.size(), tx_data_root(txs), p.l2_timestamp};
    const size_t honest_mark = honest_.mark(), proposer_mark = proposer_.mark();
    p.honest.push_back(Hash32::from(honest_.root()));
    p.claimed.push_back(Hash32::from(proposer_.root()));
    for (size_t i = 0; i < p.steps.size(); ++i) {
      const StepContext ctx{p.l2_timestamp, i < inbox_count};
      REQUIRE(apply(params(), ctx, p.steps[i], honest_).ok());
      std::vector<SmtKey> touched;
      ApplyOptions ao;
      ao.touched = &touched;
      REQUIRE(apply(params(), ctx, p.steps[i], proposer_, ao).ok());
      if (fault && *fault == i) corrupt(touched, p.index);
      p.honest.push_back(Hash32::from(honest_.root()));
      p.claimed.push_back(Hash32::from(proposer_.root()));
    }
    l1::PostBatchArgs args{p.index,       p.claimed.front(), p.claimed.back(),
                           txs.size(),    head.inbox_length, chain_->inbox_accumulator(head.inbox_length),
                           p.l2_timestamp};
    auto r = submit(dev(kProposer), l1::make_post_batch(dev_addr(kProposer), args, l1::compress_batch(txs), 0));
    if (!r) {
      REQUIRE(honest_.revert_to(honest_mark));
      REQUIRE(proposer_.revert_to(proposer_mark));
      return r;
    }
    REQUIRE(r->result.at("index").get<uint64_t>() == p.index);
    inbox_consumed_ = head.inbox_length;
    posted_.push_back(std::move(p));
    return r;
  }
  const Posted& batch(uint64_t index) const {
    for (const auto& p : posted_)
      if (p.index == index) return p;
    FAIL("no posted batch " << index);
    return posted_.front();
  }

  // The first batch of most tests: deposits for dev 0-3 through the inbox and both prices.
  Posted post_opening_batch() {
    for (size_t d = 0; d < 4; ++d) deposit(d, 200'000 * kUsdc);
    advance(1);
    return post({report(devnet::kEth, 3000 * kUsdc), report(devnet::kBtc, 60000 * kUsdc)});
  }

  // ---- transactions (signed as wallets do, under the genesis domain) ----
  Bytes report(uint32_t u, int64_t price) {
    PriceReport r{u, static_cast<uint64_t>(price), 800'000, chain_->now()};
    PriceReportTx t{r, {}};
    for (size_t i = 0; i < devnet::kOracleThreshold; ++i)
      t.sigs.push_back(*sign(typed_digest(params().domain_separator, r), dev(devnet::kOracleFirst + i)));
    return encode_tx(t);
  }
  Order order(size_t d, uint64_t instrument, bool buy, int64_t qty, int64_t price) {
    return Order{
        dev_addr(d), instrument,           buy, static_cast<uint64_t>(qty), static_cast<uint64_t>(price), 500'000,
        ++salt_,     chain_->now() + 3600, 0};
  }
  SignedOrder signed_order(size_t d, const Order& o) {
    return SignedOrder{o, *sign(typed_digest(params().domain_separator, o), dev(d))};
  }
  // `seller` rests a sell order, `buyer` takes it.
  Bytes trade(size_t seller, size_t buyer, uint64_t instrument, int64_t qty, int64_t price) {
    Order mo = order(seller, instrument, false, qty, price);
    Order to = order(buyer, instrument, true, qty, price);
    last_order_ = {mo, seller};
    return encode_tx(TradeTx{signed_order(seller, mo), signed_order(buyer, to), static_cast<uint64_t>(qty),
                             static_cast<uint64_t>(price)});
  }
  Bytes cancel_last_order() {
    Cancel c{dev_addr(last_order_.second), order_hash(params().domain_separator, last_order_.first)};
    return encode_tx(CancelTx{c, *sign(typed_digest(params().domain_separator, c), dev(last_order_.second))});
  }
  Bytes list(int64_t strike) {
    ListInstrument l{devnet::kEth, static_cast<uint64_t>(strike), ((chain_->now() + 7200) / 1800) * 1800, true};
    return encode_tx(ListInstrumentTx{l, *sign(typed_digest(params().domain_separator, l), dev(devnet::kAdmin))});
  }
  // A withdrawal with the account's next nonce (`pending` earlier withdrawals of the same account in the
  // batch being built).
  Bytes withdraw(size_t d, int64_t amount, uint64_t pending = 0) {
    Withdraw w{dev_addr(d), static_cast<uint64_t>(amount), dev_addr(d), account_leaf(d).nonce + pending};
    return encode_tx(WithdrawTx{w, *sign(typed_digest(params().domain_separator, w), dev(d))});
  }
  Bytes liquidate(size_t liquidator, size_t victim, uint64_t instrument) {
    Liquidate l{dev_addr(liquidator), dev_addr(victim), instrument, 100'000, account_leaf(liquidator).nonce};
    return encode_tx(LiquidateTx{l, *sign(typed_digest(params().domain_separator, l), dev(liquidator))});
  }
  static Bytes expire(uint64_t instrument) { return encode_tx(ExpireTx{instrument}); }
  static Bytes settle(size_t d, uint64_t instrument) { return encode_tx(SettleTx{dev_addr(d), instrument}); }
  static Bytes junk(uint8_t seed, size_t n = 9) { return Bytes(n, static_cast<uint8_t>(0xe0 + seed)); }

  // A mix of `n` transactions (n >= 1): trades, a cancel, a listing, a withdrawal, an expiry, a settlement,
  // a liquidation attempt and undecodable bytes, in a fixed order.
  std::vector<Bytes> mixed_txs(size_t n) {
    std::vector<Bytes> txs;
    uint64_t withdrawals = 0;
    for (size_t i = 0; txs.size() < n; ++i) {
      switch (i % 8) {
        case 0: txs.push_back(trade(i % 4, (i + 1) % 4, 1 + i % 12, 100'000, 50 * kUsdc)); break;
        case 1: txs.push_back(cancel_last_order()); break;
        case 2: txs.push_back(trade((i + 2) % 4, (i + 3) % 4, 1 + (i + 5) % 12, 200'000, 80 * kUsdc)); break;
        case 3: txs.push_back(withdraw(0, 10 * kUsdc, withdrawals++)); break;
        case 4: txs.push_back(list(2000 * kUsdc + static_cast<int64_t>(i) * 100 * kUsdc)); break;
        case 5: txs.push_back(expire(1 + i % 12)); break;
        case 6: txs.push_back(settle(i % 4, 1 + i % 12)); break;
        default: txs.push_back(junk(static_cast<uint8_t>(i))); break;
      }
    }
    return txs;
  }

  // ---- the game, by hand ----
  PortResult<l1::Accepted> challenge(const PrivateKey& key, uint64_t batch) {
    l1::Action a(challenge_spec());
    a.set("batch", batch);
    return submit(key, a);
  }
  PortResult<l1::Accepted> challenge(size_t d, uint64_t batch) { return challenge(dev(d), batch); }
  uint64_t challenge_ok(size_t d, uint64_t batch) {
    auto r = challenge(d, batch);
    REQUIRE_MESSAGE(r.ok(), why(r));
    return r->result.at("game").get<uint64_t>();
  }
  PortResult<l1::Accepted> dissect(size_t d, uint64_t game, const std::vector<Hash32>& roots) {
    l1::Action a(dissect_spec());
    a.set("game", game).set("roots", roots);
    return submit(dev(d), a);
  }
  PortResult<l1::Accepted> choose(size_t d, uint64_t game, uint64_t part) {
    l1::Action a(choose_spec());
    a.set("game", game).set("part", part);
    return submit(dev(d), a);
  }
  PortResult<l1::Accepted> prove(size_t d, uint64_t game, uint64_t step, Bytes proof) {
    l1::Action a(prove_step_spec());
    a.set("game", game).set("step", step);
    a.data = std::move(proof);
    return submit(dev(d), a);
  }
  PortResult<l1::Accepted> timeout(size_t d, uint64_t game) {
    l1::Action a(timeout_spec());
    a.set("game", game);
    return submit(dev(d), a);
  }

  Game game(uint64_t id) {
    auto g = games_->game(id);
    REQUIRE(g.has_value());
    return *g;
  }

  // The roots the proposer posts for the game's current segment: its own claims at the k-1 inner points
  // (positions at or beyond N are padding: the post root).
  std::vector<Hash32> proposer_roots(const Game& g) {
    const Posted& p = batch(g.batch);
    const uint64_t len = (g.b - g.a) / g.degree;
    std::vector<Hash32> out;
    for (uint64_t j = 1; j < g.degree; ++j) out.push_back(p.claimed[std::min<uint64_t>(g.a + j * len, p.steps.size())]);
    return out;
  }
  Hash32 honest_at(const Posted& p, uint64_t position) const {
    return p.honest[std::min<uint64_t>(position, p.steps.size())];
  }
  // The part an honest challenger names: the first whose claimed end differs from the honest root.
  uint64_t honest_part(const Game& g) {
    const Posted& p = batch(g.batch);
    const uint64_t len = (g.b - g.a) / g.degree;
    for (uint64_t j = 0; j < g.degree; ++j) {
      const Hash32& end = j + 1 < g.degree ? g.roots[j] : g.root_b;
      if (end != honest_at(p, g.a + (j + 1) * len)) return j;
    }
    return g.degree - 1;
  }

  // Runs `fn` on the honest state as it is right before `step` of `batch` (rebuilt from genesis by
  // re-executing every earlier batch honestly), with the step's input.
  template <class F>
  void at_step(uint64_t batch_index, uint64_t step, F&& fn) {
    FullState s;
    REQUIRE(genesis_.build(s).ok());
    for (const auto& p : posted_) {
      if (p.index >= batch_index) break;
      REQUIRE(apply_steps(params(), p.l2_timestamp, p.steps, p.facts.inbox_count, s).ok());
    }
    const Posted& b = batch(batch_index);
    const uint64_t upto = std::min<uint64_t>(step, b.steps.size());
    REQUIRE(apply_steps(params(), b.l2_timestamp, std::span<const Bytes>(b.steps.data(), upto), b.facts.inbox_count, s)
                .ok());
    const Bytes input = step < b.steps.size() ? b.steps[step] : Bytes{};
    fn(s, input, b);
  }
  OneStepProof honest_proof(uint64_t batch_index, uint64_t step) {
    OneStepProof out;
    at_step(batch_index, step, [&](FullState& s, const Bytes& input, const Posted& b) {
      out = build_proof(params(), b.facts, step, s, input, b.frames);
    });
    return out;
  }
  // The keys step `step` reads or writes (sorted, unique).
  std::vector<SmtKey> step_keys(uint64_t batch_index, uint64_t step) {
    std::vector<SmtKey> keys;
    at_step(batch_index, step, [&](FullState& s, const Bytes& input, const Posted& b) {
      Overlay probe(s);
      ApplyOptions o;
      o.touched = &keys;
      (void)apply(params(), StepContext{b.l2_timestamp, step < b.facts.inbox_count}, input, probe, o);
    });
    return keys;
  }

  // Plays the honest proposer and the honest challenger until the game is at a single step; returns the
  // number of Dissect and Choose moves made.
  std::pair<uint64_t, uint64_t> play_to_step(uint64_t id) {
    uint64_t dissects = 0, chooses = 0;
    for (int guard = 0; guard < 200; ++guard) {
      Game g = game(id);
      REQUIRE(g.status == GameStatus::kOpen);
      if (g.turn == Turn::kProve) return {dissects, chooses};
      if (g.turn == Turn::kDissect) {
        auto r = dissect(kProposer, id, proposer_roots(g));
        REQUIRE_MESSAGE(r.ok(), why(r));
        ++dissects;
      } else {
        auto r = choose(challenger_dev(g), id, honest_part(g));
        REQUIRE_MESSAGE(r.ok(), why(r));
        ++chooses;
      }
    }
    FAIL("the game did not reach a single step");
    return {dissects, chooses};
  }
  static size_t challenger_dev(const Game& g) {
    for (size_t d = 0; d < devnet::dev_addresses().size(); ++d)
      if (dev_addr(d) == g.challenger) return d;
    FAIL("the challenger is not a dev account");
    return 0;
  }

  AccountLeaf account_leaf(size_t d) {
    const Bytes* v = honest_.find(account_key(dev_addr(d)));
    if (!v) return AccountLeaf{};
    auto a = decode_account(*v);
    return a ? *a : AccountLeaf{};
  }

 private:
  void corrupt(const std::vector<SmtKey>& touched, uint64_t batch_index) {
    for (const auto& k : touched) {
      if (const Bytes* v = proposer_.find(k)) {
        Bytes w = *v;
        w.back() ^= 1;
        REQUIRE(proposer_.put(k, w).ok());
        break;
      }
    }
    REQUIRE(proposer_.put(keccak256(std::string_view("fault" + std::to_string(batch_index))), Bytes{1}).ok());
  }

  FpOptions opt_;
  l1::ManualClock clock_;
  Genesis genesis_;
  FullState honest_;    // every posted batch executed honestly
  FullState proposer_;  // the proposer's own execution (goes wrong at a fault)
  std::shared_ptr<GameModule> games_;
  std::shared_ptr<GatedGames> gate_;
  std::unique_ptr<l1::L1Chain> owned_chain_;
  std::unique_ptr<l1::L1Service> service_;  // with FpOptions::serve: it owns the chain
  l1::L1Chain* chain_ = nullptr;
  std::unique_ptr<LocalL1> port_;
  l1::Totals genesis_totals_;
  std::vector<Posted> posted_;
  uint64_t inbox_consumed_ = 0;
  uint64_t salt_ = 0;
  std::pair<Order, size_t> last_order_{Order{}, 0};
};

}  // namespace opt::fp::test
