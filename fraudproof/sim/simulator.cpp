#include "fraudproof/sim/simulator.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "bridge/compress.h"
#include "engine/common/devnet.h"
#include "engine/core/eip712.h"
#include "engine/core/keccak.h"
#include "engine/risk/margin.h"
#include "engine/stf/apply.h"
#include "engine/stf/leaves.h"
#include "fraudproof/agent.h"
#include "fraudproof/sim/strategies.h"

namespace opt::fp {

const char* to_string(Scenario s) {
  switch (s) {
    case Scenario::kWrongRoot: return "wrong_root";
    case Scenario::kMaliciousChallenger: return "malicious_challenger";
    case Scenario::kLazyProposer: return "lazy_proposer";
    case Scenario::kLazyChallenger: return "lazy_challenger";
    case Scenario::kLastSecond: return "last_second";
    case Scenario::kManyChallengers: return "many_challengers";
    case Scenario::kRestart: return "restart";
    case Scenario::kCount: break;
  }
  return "unknown";
}

namespace {

constexpr uint64_t kGenesisTime = 1'800'000'000;
constexpr int64_t kUsdc = 1'000'000;
constexpr uint64_t kMaxVirtualSeconds = 2000;

struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
};

struct Failure : std::exception {
  std::string what_;
  explicit Failure(std::string w) : what_(std::move(w)) {}
  const char* what() const noexcept override { return what_.c_str(); }
};
void expect(bool cond, const std::string& what) {
  if (!cond) throw Failure(what);
}

const PrivateKey& dev(size_t i) {
  return devnet::dev_keys()[i];
}
const Address& dev_addr(size_t i) {
  return devnet::dev_addresses()[i];
}

class World {
 public:
  World(const SimOptions& o, uint64_t degree, Scenario scenario)
      : opt_(o), scenario_(scenario), rng_{o.seed * 0x2545F4914F6CDD1DULL + 1}, clock_(kGenesisTime * 1000) {
    genesis_ = devnet::genesis(kGenesisTime);
    (void)genesis_.build(state_);
    l1::L1Config cfg = rollup_config(genesis_);
    cfg.block_time_ms = 1000;
    cfg.challenge_period_seconds = 600;
    cfg.clock_seconds = 20;
    cfg.clock_extension_seconds = 4;
    cfg.dissection_degree = degree;
    cfg.forced_inclusion_delay_seconds = 600;
    games_ = std::make_shared<GameModule>(GameConfig{});
    l1::OpenOptions oo;
    oo.config = cfg;
    oo.extensions = {games_};
    oo.durable = false;
    auto chain = l1::L1Chain::open(":memory:", clock_, oo);
    if (!chain) throw Failure("L1: " + chain.error());
    chain_ = std::move(*chain);
    port_ = std::make_unique<LocalL1>(*chain_, *games_);
  }

  // ---- the proposer ----
  void register_stake() {
    auto r = port_->submit(dev(devnet::kProposer), l1::make_register_proposer(dev_addr(devnet::kProposer),
                                                                              chain_->config().min_proposer_stake, 0));
    expect(r.ok(), "register proposer: " + (r ? "" : r.error().message));
  }

  void l1_deposit(size_t user, int64_t amount) {
    auto r =
        port_->submit(dev(user), l1::make_deposit(dev_addr(user), dev_addr(user), static_cast<uint64_t>(amount), 0));
    expect(r.ok(), "deposit: " + (r ? "" : r.error().message));
  }
  void l1_forced_withdraw(size_t user, int64_t amount) {
    auto r = port_->submit(dev(user), l1::make_forced_withdraw(dev_addr(user), static_cast<uint64_t>(amount), 0));
    expect(r.ok(), "forced withdraw: " + (r ? "" : r.error().message));
  }

  struct Posted {
    uint64_t index;
    std::vector<Bytes> txs;
    uint64_t inbox_from;
    size_t mark;
  };

  // Executes and posts a batch: the unconsumed inbox, then `txs`. With `fault`, the proposer's state goes
  // wrong right after that step (as a bug in its execution would), so every later root it claims is wrong.
  uint64_t post(const std::vector<Bytes>& txs, std::optional<size_t> fault = std::nullopt) {
    l1::Head head = chain_->head();
    std::vector<Bytes> steps;
    for (const auto& m : chain_->inbox(inbox_consumed_, static_cast<size_t>(head.inbox_length - inbox_consumed_)))
      steps.push_back(m.l2_tx);
    const uint64_t inbox_count = steps.size();
    steps.insert(steps.end(), txs.begin(), txs.end());
    const uint64_t ts = chain_->now();
    Posted p{head.next_batch_index, txs, inbox_consumed_, state_.mark()};
    std::vector<Hash32> roots{Hash32::from(state_.root())};
    for (size_t i = 0; i < steps.size(); ++i) {
      std::vector<SmtKey> touched;
      ApplyOptions ao;
      ao.touched = &touched;
      auto r = apply(genesis_.params, StepContext{ts, i < inbox_count}, steps[i], state_, ao);
      expect(r.ok(), "proposer apply failed");
      if (fault && *fault == i) corrupt(touched, steps[i]);
      roots.push_back(Hash32::from(state_.root()));
    }
    l1::PostBatchArgs args{p.index,    roots.front(),     roots.back(),
                           txs.size(), head.inbox_length, chain_->inbox_accumulator(head.inbox_length),
                           ts};
    auto r = port_->submit(dev(devnet::kProposer),
                           l1::make_post_batch(dev_addr(devnet::kProposer), args, l1::compress_batch(txs), 0));
    expect(r.ok(), "post batch: " + (r ? "" : r.error().code + " " + r.error().message));
    claimed_[p.index] = std::move(roots);
    inbox_consumed_ = head.inbox_length;
    posted_.push_back(std::move(p));
    return posted_.back().index;
  }

  // After the challenger won: back to the last good root and post the same transactions again, honestly.
  void recover_and_repost(uint64_t removed_from) {
    auto it = std::find_if(posted_.begin(), posted_.end(), [&](const Posted& p) { return p.index == removed_from; });
    expect(it != posted_.end(), "unknown removed batch");
    state_.revert_to(it->mark);
    inbox_consumed_ = it->inbox_from;
    std::vector<std::vector<Bytes>> again;
    for (auto j = it; j != posted_.end(); ++j) again.push_back(j->txs);
    posted_.erase(it, posted_.end());
    if (chain_->account(dev_addr(devnet::kProposer)).stake < chain_->config().min_proposer_stake) register_stake();
    for (const auto& txs : again) post(txs);
  }

  std::optional<std::vector<Hash32>> claimed(uint64_t batch) {
    auto it = claimed_.find(batch);
    if (it == claimed_.end()) return std::nullopt;
    return it->second;
  }

  // ---- transactions ----
  Bytes report(uint32_t u, int64_t price) {
    PriceReport r{u, static_cast<uint64_t>(price), 600'000 + rng_.below(400'000), chain_->now()};
    PriceReportTx t{r, {}};
    for (size_t i = 0; i < devnet::kOracleThreshold; ++i)
      t.sigs.push_back(*sign(typed_digest(genesis_.params.domain_separator, r), dev(devnet::kOracleFirst + i)));
    return encode_tx(t);
  }

  // A mix with every sequencer transaction type at least once, in a seeded order.
  std::vector<Bytes> random_txs() {
    std::vector<Bytes> txs;
    const Hash32& dom = genesis_.params.domain_separator;
    size_t n = 6 + rng_.below(20);
    uint64_t now = chain_->now();
    std::set<uint32_t> reported;
    std::map<size_t, uint64_t> nonces;
    for (size_t i = 0; i < n; ++i) {
      uint64_t kind = i < 9 ? i : rng_.below(9);
      size_t a = rng_.below(4), b = (a + 1 + rng_.below(3)) % 4;
      uint64_t inst = 1 + rng_.below(genesis_.ladder.size());
      switch (kind) {
        case 0: {  // trade at the mark
          int64_t mark = mark_of(inst);
          int64_t qty = static_cast<int64_t>(100'000 + rng_.below(900'000));
          Order mo{dev_addr(a), inst,       false, static_cast<uint64_t>(qty), static_cast<uint64_t>(mark), 500'000,
                   rng_.next(), now + 3600, 0};
          Order to{dev_addr(b), inst,       true, static_cast<uint64_t>(qty), static_cast<uint64_t>(mark), 500'000,
                   rng_.next(), now + 3600, 0};
          orders_.push_back({mo, a});
          txs.push_back(encode_tx(TradeTx{{mo, *sign(typed_digest(dom, mo), dev(a))},
                                          {to, *sign(typed_digest(dom, to), dev(b))},
                                          static_cast<uint64_t>(qty),
                                          static_cast<uint64_t>(mark)}));
          break;
        }
        case 1: {  // cancel an order seen before (or a fresh hash)
          Cancel c{dev_addr(a), OrderHash::from(keccak256(std::string_view("x" + std::to_string(rng_.next()))))};
          if (!orders_.empty()) {
            const auto& [o, owner] = orders_[rng_.below(orders_.size())];
            c = Cancel{dev_addr(owner), order_hash(dom, o)};
            a = owner;
          }
          txs.push_back(encode_tx(CancelTx{c, *sign(typed_digest(dom, c), dev(a))}));
          break;
        }
        case 2: {  // one price report per underlying per batch (a second one would be stale)
          uint32_t u = rng_.below(2) ? devnet::kEth : devnet::kBtc;
          if (reported.count(u)) u = u == devnet::kEth ? devnet::kBtc : devnet::kEth;
          if (reported.count(u)) break;
          reported.insert(u);
          int64_t& px = prices_[u];
          px += static_cast<int64_t>(rng_.below(static_cast<uint64_t>(px / 25))) - px / 50;
          txs.push_back(report(u, px));
          break;
        }
        case 3: {
          uint64_t expiry = ((now + 7200) / 1800 + rng_.below(10)) * 1800;
          ListInstrument l{devnet::kEth, (2000 + rng_.below(30) * 100) * static_cast<uint64_t>(kUsdc), expiry,
                           rng_.below(2) == 0};
          txs.push_back(encode_tx(ListInstrumentTx{l, *sign(typed_digest(dom, l), dev(devnet::kAdmin))}));
          break;
        }
        case 4: {
          Liquidate l{dev_addr(b), dev_addr(a), inst, 100'000, account(b).nonce + nonces[b]};
          txs.push_back(encode_tx(LiquidateTx{l, *sign(typed_digest(dom, l), dev(b))}));
          break;
        }
        case 5: txs.push_back(encode_tx(ExpireTx{inst})); break;
        case 6: txs.push_back(encode_tx(SettleTx{dev_addr(a), inst})); break;
        case 7: {
          uint64_t nonce = account(a).nonce + nonces[a]++;
          Withdraw w{dev_addr(a), static_cast<uint64_t>(1 + rng_.below(50 * kUsdc)), dev_addr(a), nonce};
          txs.push_back(encode_tx(WithdrawTx{w, *sign(typed_digest(dom, w), dev(a))}));
          break;
        }
        default: {  // bytes that do not decode: still a step
          Bytes junk(1 + rng_.below(40));
          for (auto& x : junk) x = static_cast<uint8_t>(rng_.next());
          txs.push_back(junk);
        }
      }
    }
    return txs;
  }

  // ---- running ----
  void tick() {
    clock_.advance_s(1);
    chain_->tick();
    for (auto& c : challengers_) {
      if (!c) continue;
      auto s = c->poll();
      expect(s.ok(), "challenger: " + (s ? "" : s.error()));
      if (after_poll_) after_poll_();
    }
    if (defender_) (void)defender_->poll();
    ++seconds_;
  }
  // Runs after each agent's poll (e.g. to drop an agent the moment it has acted).
  void set_after_poll(std::function<void()> f) { after_poll_ = std::move(f); }

  Challenger& add_challenger(size_t dev_index, Behaviour b, std::optional<uint64_t> target = std::nullopt,
                             std::string db_path = "") {
    ChallengerOptions co;
    co.key = dev(dev_index);
    co.genesis = genesis_;
    co.strategy = make_strategy(b, opt_.seed, target);
    co.db_path = std::move(db_path);
    co.log = opt_.log;
    auto c = Challenger::open(co, *port_);
    expect(c.ok(), "challenger open: " + (c ? "" : c.error()));
    challengers_.push_back(std::move(*c));
    options_.push_back(co);
    return *challengers_.back();
  }
  // Drops the challenger without any shutdown (as kill -9 would) and opens it again from its database.
  void restart_challenger(size_t i) {
    challengers_[i].reset();
    auto c = Challenger::open(options_[i], *port_);
    expect(c.ok(), "challenger reopen: " + (c ? "" : c.error()));
    challengers_[i] = std::move(*c);
  }
  void set_defender(Behaviour b) {
    defender_ = std::make_unique<Defender>(
        dev(devnet::kProposer), *port_, [this](uint64_t batch) { return claimed(batch); }, opt_.log, make_strategy(b));
  }

  l1::L1Chain& chain() { return *chain_; }
  GameModule& games() { return *games_; }
  uint64_t seconds() const { return seconds_; }
  StateRoot proposer_root() { return state_.root(); }
  std::vector<std::unique_ptr<Challenger>>& challengers() { return challengers_; }
  Rng& rng() { return rng_; }

  std::string type_of_step(uint64_t batch, size_t step) {
    auto b = chain_->batch(batch);
    auto in = chain_->step_input(batch, step);
    if (!b || !in) return "?";
    auto t = decode_tx(*in);
    return t ? opt::to_string(type_of(*t)) : "malformed";
  }

 private:
  // The proposer's view; after a fault its leaves may not decode, and the generator goes on regardless.
  AccountLeaf account(size_t user) {
    const Bytes* v = state_.find(account_key(dev_addr(user)));
    if (!v) return AccountLeaf{};
    auto a = decode_account(*v);
    return a ? *a : AccountLeaf{};
  }

  int64_t mark_of(uint64_t inst) {
    const Bytes* iv = state_.find(instrument_key(inst));
    auto l = iv ? decode_instrument(*iv) : Result<InstrumentLeaf, CodecError>(err(CodecError::kTruncated));
    if (!l) return kUsdc;
    const Bytes* ov = state_.find(oracle_key(l->underlying));
    auto o = ov ? decode_oracle(*ov) : Result<OracleLeaf, CodecError>(err(CodecError::kTruncated));
    if (!o) return kUsdc;
    Position p{inst, l->underlying, l->strike, l->expiry, l->is_call, 1};
    auto m = mark_price(p, *o, chain_->now());
    return m && *m > 0 ? *m : kUsdc;
  }

  // The proposer's bug: a leaf the step touched ends one bit off, and a stray leaf appears (so a later
  // step cannot heal the difference by overwriting the damaged leaf).
  void corrupt(const std::vector<SmtKey>& touched, const Bytes&) {
    for (const auto& k : touched) {
      if (const Bytes* v = state_.find(k)) {
        Bytes w = *v;
        w.back() ^= 1;
        (void)state_.put(k, w);
        break;
      }
    }
    (void)state_.put(keccak256(std::string_view("fault" + std::to_string(posted_.size()))), Bytes{1});
  }

  const SimOptions& opt_;
  Scenario scenario_;
  Rng rng_;
  l1::ManualClock clock_;
  Genesis genesis_;
  FullState state_;
  std::shared_ptr<GameModule> games_;
  std::unique_ptr<l1::L1Chain> chain_;
  std::unique_ptr<LocalL1> port_;
  std::map<uint64_t, std::vector<Hash32>> claimed_;
  std::vector<Posted> posted_;
  uint64_t inbox_consumed_ = 0;
  std::vector<std::pair<Order, size_t>> orders_;
  std::map<uint32_t, int64_t> prices_{{devnet::kEth, 3000 * kUsdc}, {devnet::kBtc, 60000 * kUsdc}};
  std::vector<std::unique_ptr<Challenger>> challengers_;
  std::vector<ChallengerOptions> options_;
  std::unique_ptr<Defender> defender_;
  std::function<void()> after_poll_;
  uint64_t seconds_ = 0;
};

// Runs until every game has ended (and at least `min_games` started), or fails after the time limit.
void run_games(World& w, size_t min_games, const std::function<void()>& each_tick = {}) {
  for (uint64_t t = 0; t < kMaxVirtualSeconds; ++t) {
    w.tick();
    if (each_tick) each_tick();
    size_t n = w.games().game_count();
    if (n < min_games) continue;
    bool open = false;
    for (const auto& g : w.games().games(0, n)) open |= g.status == GameStatus::kOpen;
    if (!open) return;
  }
  throw Failure("games did not end within " + std::to_string(kMaxVirtualSeconds) + " virtual seconds");
}

}  // namespace

std::string SimReport::line() const {
  std::ostringstream out;
  out << "seed " << seed << " k=" << degree << " " << to_string(scenario);
  if (!fault_tx.empty()) out << " fault_after=" << fault_tx;
  for (const auto& g : games)
    out << " | game " << g.game << " batch " << g.batch << " steps=" << g.steps << " rounds=" << g.rounds
        << " moves=" << g.moves << " " << g.status << " (" << g.end_reason << ")"
        << (g.honest_won ? "" : " HONEST LOST") << (g.moves_ok ? "" : " MOVES OFF");
  out << " | " << virtual_seconds << " s" << (ok ? "" : " | FAILED: " + failure);
  return out.str();
}

void SimTotals::add(const SimReport& r) {
  if (!r.ok) ++failures;
  ++seeds;
  for (const auto& g : r.games) {
    ++games;
    honest_wins += g.honest_won;
    (g.proposer_wrong ? proposer_wrong : challenger_wrong)++;
    moves_off += !g.moves_ok;
  }
}

std::string SimTotals::summary() const {
  return "seeds: " + std::to_string(seeds) + " games: " + std::to_string(games) +
         " honest_wins: " + std::to_string(honest_wins) + " proposer_wrong: " + std::to_string(proposer_wrong) +
         " challenger_wrong: " + std::to_string(challenger_wrong) + " moves_off: " + std::to_string(moves_off);
}

SimReport simulate(const SimOptions& o) {
  static const uint64_t kDegrees[] = {2, 4, 16};
  SimReport rep;
  rep.seed = o.seed;
  rep.scenario = o.scenario >= 0 ? static_cast<Scenario>(o.scenario)
                                 : static_cast<Scenario>(o.seed % static_cast<uint64_t>(Scenario::kCount));
  rep.degree = o.degree ? o.degree : kDegrees[(o.seed / static_cast<uint64_t>(Scenario::kCount)) % 3];
  std::string db_file;
  try {
    World w(o, rep.degree, rep.scenario);
    w.register_stake();
    const bool proposer_faulty = rep.scenario == Scenario::kWrongRoot || rep.scenario == Scenario::kLazyProposer ||
                                 rep.scenario == Scenario::kLastSecond || rep.scenario == Scenario::kManyChallengers ||
                                 rep.scenario == Scenario::kRestart;
    const Behaviour defender = rep.scenario == Scenario::kLazyProposer ? Behaviour::kLazy
                               : rep.scenario == Scenario::kLastSecond ? Behaviour::kSlow
                                                                       : Behaviour::kHonest;
    w.set_defender(defender);
    switch (rep.scenario) {
      case Scenario::kWrongRoot:
      case Scenario::kLazyProposer: w.add_challenger(devnet::kChallenger, Behaviour::kHonest); break;
      case Scenario::kLastSecond: w.add_challenger(devnet::kChallenger, Behaviour::kSlow); break;
      case Scenario::kMaliciousChallenger: w.add_challenger(3, Behaviour::kMalicious, 1); break;
      case Scenario::kLazyChallenger:
        // Malicious and then lazy: it disputes a correct root and is gone the moment it has: it never
        // moves again and must lose on time.
        w.add_challenger(3, Behaviour::kMalicious, 1);
        w.set_after_poll([&w] {
          if (w.games().game_count() > 0 && w.challengers()[0]) w.challengers()[0].reset();
        });
        break;
      case Scenario::kManyChallengers:
        w.add_challenger(devnet::kChallenger, Behaviour::kHonest);
        w.add_challenger(2, Behaviour::kHonest);
        w.add_challenger(3, Behaviour::kMalicious, 1);
        break;
      case Scenario::kRestart: {
        std::string dir = o.work_dir.empty() ? std::filesystem::temp_directory_path().string() : o.work_dir;
        db_file = dir + "/optrollup-sim-" + std::to_string(o.seed) + "-" + std::to_string(::getpid()) + ".db";
        std::filesystem::remove(db_file);
        w.add_challenger(devnet::kChallenger, Behaviour::kHonest, std::nullopt, db_file);
        break;
      }
      case Scenario::kCount: break;
    }

    // Batch 0: deposits (through the L1 inbox) and the first prices.
    for (size_t u = 0; u < 4; ++u) w.l1_deposit(u, 200'000 * kUsdc);
    w.tick();
    w.post({w.report(devnet::kEth, 3000 * kUsdc), w.report(devnet::kBtc, 60000 * kUsdc)});
    w.tick();
    // Batches 1..B: random transactions, with a deposit and a forced withdrawal in the inbox.
    const uint64_t batches = 2 + w.rng().below(2);
    // With many challengers the malicious one disputes batch 1, which must then be correct.
    const uint64_t first_faulty = rep.scenario == Scenario::kManyChallengers ? 2 : 1;
    const uint64_t faulty = proposer_faulty ? first_faulty + w.rng().below(batches + 1 - first_faulty) : UINT64_MAX;
    const uint8_t target_type = static_cast<uint8_t>(1 + o.seed % 10);
    uint64_t faulty_index = UINT64_MAX;
    for (uint64_t i = 1; i <= batches; ++i) {
      w.l1_deposit(w.rng().below(4), 1000 * kUsdc);
      w.l1_forced_withdraw(w.rng().below(4), 10 * kUsdc);
      std::vector<Bytes> txs = w.random_txs();
      std::optional<size_t> fault;
      if (i == faulty) {
        // A step of the target type, if the batch has one (inbox steps come first: 2 of them).
        std::vector<size_t> candidates;
        for (size_t s = 0; s < txs.size() + 2; ++s) {
          const Bytes& b = s < 2 ? Bytes{} : txs[s - 2];
          uint8_t t = s < 2 ? (s == 0 ? 1 : 10) : (b.empty() ? 0 : b[0]);
          if (s >= 2 && !decode_tx(b)) t = 0;
          if (t == target_type) candidates.push_back(s);
        }
        fault = candidates.empty() ? w.rng().below(txs.size() + 2) : candidates[w.rng().below(candidates.size())];
      }
      uint64_t index = w.post(txs, fault);
      if (fault) {
        faulty_index = index;
        rep.fault_tx = w.type_of_step(index, *fault);
      }
      // No tick between batches: every batch is posted before any game can remove one (later batches
      // build on the wrong one and must go with it).
    }

    const size_t expected_games = rep.scenario == Scenario::kManyChallengers ? 3 : 1;
    bool restarted = false;
    run_games(w, expected_games, [&] {
      if (rep.scenario == Scenario::kRestart && !restarted) {
        auto g = w.games().game(0);
        if (g && g->moves >= 1) {
          w.restart_challenger(0);
          restarted = true;
        }
      }
    });
    if (rep.scenario == Scenario::kRestart) expect(restarted, "the game ended before the agent could be restarted");
    if (rep.scenario == Scenario::kLazyChallenger) {
      auto g = w.games().game(0);
      expect(g && g->end_reason == "timeout", "the lazy challenger's game did not end on time");
    }
    if (rep.scenario == Scenario::kLazyProposer) {
      auto g = w.games().game(0);
      expect(g && g->end_reason == "timeout", "the lazy proposer's game did not end on time");
    }

    if (o.on_games_over) o.on_games_over(w.chain(), w.games());

    // Check every game.
    const l1::L1Config& cfg = w.chain().config();
    for (const auto& g : w.games().games(0, w.games().game_count())) {
      GameReport r;
      r.game = g.id;
      r.batch = g.batch;
      r.steps = g.steps;
      r.rounds = g.rounds;
      r.moves = g.moves;
      r.status = to_string(g.status);
      r.end_reason = g.end_reason;
      r.proposer_wrong = g.batch == faulty_index;
      r.honest_won = r.proposer_wrong ? (g.status == GameStatus::kChallengerWon || g.status == GameStatus::kCancelled)
                                      : g.status == GameStatus::kProposerWon;
      r.moves_ok = g.end_reason != "step_proof" || g.moves == g.rounds + 1;
      rep.games.push_back(r);
      expect(r.honest_won, "the honest side lost game " + std::to_string(g.id));
      expect(r.moves_ok, "game " + std::to_string(g.id) + " took " + std::to_string(g.moves) + " moves for " +
                             std::to_string(g.rounds) + " rounds");
    }
    // Honest parties never lose a bond.
    for (size_t i = 0; i < w.challengers().size(); ++i) {
      auto& c = w.challengers()[i];
      if (!c) continue;
      bool honest = rep.scenario != Scenario::kMaliciousChallenger && rep.scenario != Scenario::kLazyChallenger &&
                    !(rep.scenario == Scenario::kManyChallengers && i == 2);
      if (!honest) continue;
      l1::L1Account a = w.chain().account(c->address());
      expect(a.locked == 0, "an honest challenger's bond is still locked");
      expect(a.bond >= 10'000 * l1::kTokenUnit, "an honest challenger lost bond tokens");
    }
    if (faulty_index != UINT64_MAX) {
      auto b = w.chain().batch(faulty_index);
      expect(b && b->status == l1::BatchStatus::kRemoved, "the wrong batch was not removed");
      // The honest proposer continues from the last good root; the honest challenger agrees with it.
      w.recover_and_repost(faulty_index);
      for (int t = 0; t < 3; ++t) w.tick();
      Hash32 tip = w.chain().head().tip_root;
      expect(tip == Hash32::from(w.proposer_root()), "the reposted chain does not end at the proposer's root");
      for (size_t i = 0; i < w.challengers().size(); ++i) {
        auto& c = w.challengers()[i];
        bool malicious = rep.scenario == Scenario::kManyChallengers && i == 2;
        if (c && !malicious)
          expect(Hash32::from(c->honest_root()) == tip, "an honest challenger disagrees with the reposted tip");
      }
    } else {
      l1::L1Account p = w.chain().account(dev_addr(devnet::kProposer));
      expect(p.stake == cfg.min_proposer_stake, "the honest proposer's stake was slashed");
    }
    expect(!rep.games.empty(), "no game was played");
    rep.virtual_seconds = w.seconds();
  } catch (const Failure& f) {
    rep.ok = false;
    rep.failure = f.what();
  } catch (const std::exception& e) {
    rep.ok = false;
    rep.failure = std::string("exception: ") + e.what();
  }
  if (!db_file.empty()) {
    std::filesystem::remove(db_file);
    std::filesystem::remove(db_file + "-wal");
    std::filesystem::remove(db_file + "-shm");
  }
  return rep;
}

}  // namespace opt::fp
