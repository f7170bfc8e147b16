// Fraud-proof benchmarks (meson benchmark 'fraudproof'). Prints `name: value unit` lines:
//  * one-step proof size and referee_step time per transaction type over a corpus on a state of 100k
//    accounts (average and worst), and for the worst case the protocol allows: a trade between two
//    accounts with 64 positions each; targets: worst <= 16384 bytes, <= 1 ms;
//  * the time a Challenger takes to verify a posted batch of 10,000 transactions (re-execution from the
//    L1's data), as steps/s beside the bound set by signature recovery measured in the same run;
//  * full games on virtual time over a wrong 10,000-step batch, k = 2, 4, 16: moves, virtual seconds, wall
//    time;
//  * the adversarial simulator's 10,000 seeded games: the SimTotals counts and the wall time.
// Arguments: "proofs", "verify", "game" or "sim" runs one part; a second argument sets the simulator's
// number of games.
#include <algorithm>
#include <deque>
#include <map>

#include "bridge/compress.h"
#include "engine/common/devnet.h"
#include "engine/core/eip712.h"
#include "engine/core/merkle.h"
#include "engine/stf/batch.h"
#include "fraudproof/agent.h"
#include "fraudproof/game.h"
#include "fraudproof/l1_port.h"
#include "fraudproof/proof.h"
#include "fraudproof/sim/simulator.h"
#include "tests/bench_util.h"
#include "tests/stf/stf_sim.h"

using namespace opt;
using fp::build_proof;
using fp::InboxReader;
using fp::ProofVerdict;
using fp::referee_step;
using fp::StepFacts;

namespace {

int failures = 0;
void fail(const std::string& what) {
  std::printf("error: %s\n", what.c_str());
  ++failures;
}

double recovers_per_s() {
  test::Rng rng(11);
  std::vector<std::pair<Hash32, Signature>> sigs;
  for (int i = 0; i < 256; ++i) {
    Hash32 d = rng.hash();
    sigs.emplace_back(d, *sign(d, test::dev_key(static_cast<size_t>(i) % 10)));
  }
  size_t ok = 0;
  double r = bench::rate(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) ok += recover(sigs[i % sigs.size()].first, sigs[i % sigs.size()].second).ok();
      },
      256, 1.0);
  return ok ? r : 0;
}

// ---------------- one-step proofs over a corpus ----------------

struct Stat {
  size_t n = 0;
  double bytes_sum = 0, bytes_max = 0, us_sum = 0, us_max = 0, prove_us_sum = 0;
  std::vector<double> us;
  void add(size_t bytes, double t, double prove_us) {
    ++n;
    bytes_sum += static_cast<double>(bytes);
    bytes_max = std::max(bytes_max, static_cast<double>(bytes));
    us_sum += t;
    us_max = std::max(us_max, t);
    us.push_back(t);
    prove_us_sum += prove_us;
  }
  double p99() const {
    std::vector<double> v = us;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 99 / 100)];
  }
};

// The batch a measured step sits in: the last 1024 sequencer transactions (a 10-level txDataRoot proof),
// or, for the inbox-only types, a batch whose first step is the message.
class StepMeter {
 public:
  explicit StepMeter(const Params& params) : params_(params) {}

  // Proves `tx` on `w`'s state, checks it with the referee (best of 5 timings: the worst case of a type is
  // about its work, not about the scheduler), then applies it.
  std::pair<size_t, double> measure(test::World& w, const Bytes& tx, double* prove_us = nullptr) {
    auto d = decode_tx(tx);
    const bool inbox = d && (type_of(*d) == TxType::kDeposit || type_of(*d) == TxType::kForcedWithdraw);
    StepFacts facts;
    uint64_t step = 0;
    std::vector<Bytes> frames;
    if (inbox) {
      facts = StepFacts{1, 0, Hash32{}, w.now()};
    } else {
      window_.push_back(tx);
      if (window_.size() > 1024) window_.pop_front();
      frames.assign(window_.begin(), window_.end());
      facts = StepFacts{0, frames.size(), tx_data_root(frames), w.now()};
      step = frames.size() - 1;
    }
    const StateRoot before = w.state().root();
    auto t0 = bench::Clock::now();
    const Bytes proof = build_proof(params_, facts, step, w.state(), tx, frames).encode();
    if (prove_us) *prove_us = bench::seconds_since(t0) * 1e6;
    InboxReader reader = [&](uint64_t) -> std::optional<Bytes> { return tx; };
    double best = 1e30;
    Result<StateRoot, ProofVerdict> r = err(ProofVerdict::kMalformed);
    for (int rep = 0; rep < 5; ++rep) {
      auto t1 = bench::Clock::now();
      r = referee_step(params_, facts, step, before, proof, reader);
      best = std::min(best, bench::seconds_since(t1) * 1e6);
    }
    (void)apply(params_, w.ctx_for(tx), tx, w.state());
    if (!r.ok())
      fail(std::string("referee refused an honest proof: ") + to_string(r.error()));
    else if (*r != w.state().root())
      fail("referee computed another root than the full state");
    return {proof.size(), best};
  }

 private:
  const Params& params_;
  std::deque<Bytes> window_;
};

void proof_sizes() {
  using test::kBtc;
  using test::kContract;
  using test::kEth;
  using test::kT0;
  using test::kUsdc;
  std::map<std::string, Stat> stats;
  test::World w;
  // Grow the state so Merkle paths are realistic: 100k accounts.
  for (uint64_t i = 0; i < 100'000; ++i) {
    Address a = Address::from(ByteView(keccak256(std::string_view("filler" + std::to_string(i))).data(), 20));
    (void)w.run(DepositTx{1'000'000 + i, a, a, 1});
  }
  StepMeter meter(w.params());
  test::TxGen gen(w, 42);
  const int kCorpus = 3000;
  for (int i = 0; i < kCorpus; ++i) {
    Bytes tx = gen.next_tx();
    auto d = decode_tx(tx);
    std::string name = d ? to_string(type_of(*d)) : "malformed";
    double prove_us = 0;
    auto [bytes, us] = meter.measure(w, tx, &prove_us);
    stats[name].add(bytes, us, prove_us);
  }

  // The worst case: a trade between two accounts holding 64 positions each (over both underlyings).
  test::World x;
  StepMeter xmeter(x.params());
  for (size_t d = 0; d < 4; ++d) (void)x.run(x.deposit(d, 10'000'000 * kUsdc));
  (void)x.run(x.report(kEth, 3000 * kUsdc));
  (void)x.run(x.report(kBtc, 60000 * kUsdc));
  for (int i = 0; i < 64; ++i) {
    uint32_t u = i % 2 ? kBtc : kEth;
    int64_t strike = (u == kEth ? 2000 + 50 * i : 40000 + 1000 * i) * kUsdc;
    (void)x.run(x.list(u, strike, kT0 + 86400 * 7, true));
  }
  const uint64_t first = 5;  // ids 1-4 are the genesis ladder
  for (uint64_t id = first; id < first + 64; ++id) {
    int64_t price = x.instrument(id).underlying == kEth ? 500 * kUsdc : 9000 * kUsdc;
    if (!x.run(x.simple_trade(2, 0, id, kContract, price)).ok()) fail("setup trade refused");
    if (!x.run(x.simple_trade(3, 1, id, kContract, price)).ok()) fail("setup trade refused");
  }
  if (x.account(0).positions.size() != 64 || x.account(1).positions.size() != 64)
    fail("the accounts do not hold 64 positions");
  for (int i = 0; i < 1023; ++i)
    (void)xmeter.measure(x, encode_tx(ExpireTx{1000 + static_cast<uint64_t>(i)}));  // fill the window
  auto [wb, wus] = xmeter.measure(x, encode_tx(x.simple_trade(0, 1, first, kContract / 2, 500 * kUsdc)));

  double worst_bytes = 0, worst_us = 0;
  for (const auto& [name, s] : stats) {
    if (!s.n) continue;
    const double n = static_cast<double>(s.n);
    bench::report("fp_proof_bytes_avg_" + name, s.bytes_sum / n, "bytes", "n = " + std::to_string(s.n));
    bench::report("fp_proof_bytes_worst_" + name, s.bytes_max, "bytes", "target <= 16384");
    bench::report("fp_referee_us_avg_" + name, s.us_sum / n, "us");
    bench::report("fp_referee_us_p99_" + name, s.p99(), "us");
    bench::report("fp_referee_us_worst_" + name, s.us_max, "us", "target <= 1000");
    bench::report("fp_build_proof_us_avg_" + name, s.prove_us_sum / n, "us",
                  "includes the txDataRoot proof over 1024 frames");
    worst_bytes = std::max(worst_bytes, s.bytes_max);
    worst_us = std::max(worst_us, s.us_max);
  }
  bench::report("fp_proof_bytes_trade_64x64_positions", static_cast<double>(wb), "bytes", "target <= 16384");
  bench::report("fp_referee_us_trade_64x64_positions", wus, "us", "target <= 1000");
  worst_bytes = std::max(worst_bytes, static_cast<double>(wb));
  worst_us = std::max(worst_us, wus);
  bench::report("fp_proof_bytes_worst", worst_bytes, "bytes",
                worst_bytes <= 16384 ? "target <= 16384: met" : "target <= 16384: MISSED");
  bench::report("fp_referee_us_worst", worst_us, "us",
                worst_us <= 1000 ? "target <= 1000: met" : "target <= 1000: MISSED");
}

// ---------------- an L1 with the game, a proposer and the agents on virtual time ----------------

constexpr uint64_t kGenesisTime = 1'800'000'000;
constexpr int64_t kUsdc = 1'000'000;
const PrivateKey& dev(size_t i) {
  return devnet::dev_keys()[i];
}

class Rollup {
 public:
  explicit Rollup(uint64_t degree) : clock_(kGenesisTime * 1000) {
    genesis_ = devnet::genesis(kGenesisTime);
    (void)genesis_.build(state_);
    l1::L1Config cfg = fp::rollup_config(genesis_);
    cfg.block_time_ms = 1000;
    cfg.challenge_period_seconds = 3600;
    cfg.dissection_degree = degree;
    cfg.forced_inclusion_delay_seconds = 3600;
    games_ = std::make_shared<fp::GameModule>(fp::GameConfig{});
    l1::OpenOptions oo;
    oo.config = cfg;
    oo.extensions = {games_};
    oo.durable = false;
    auto chain = l1::L1Chain::open(":memory:", clock_, oo);
    if (!chain) {
      fail("L1: " + chain.error());
      std::exit(1);
    }
    chain_ = std::move(*chain);
    port_ = std::make_unique<fp::LocalL1>(*chain_, *games_);
    submit(dev(devnet::kProposer), l1::make_register_proposer({}, cfg.min_proposer_stake, 0));
  }

  void submit(const PrivateKey& key, l1::Action a) {
    auto r = port_->submit(key, std::move(a));
    if (!r) {
      fail("L1 refused an action: " + r.error().code + " " + r.error().message);
      std::exit(1);
    }
  }
  void tick() {
    clock_.advance_s(1);
    chain_->tick();
  }
  uint64_t now() const { return chain_->now(); }
  size_t accepted() const { return accepted_; }  // steps of the last posted batch with an ok receipt
  const Params& params() const { return genesis_.params; }
  const Genesis& genesis() const { return genesis_; }
  fp::LocalL1& port() { return *port_; }
  fp::GameModule& games() { return *games_; }
  l1::L1Chain& chain() { return *chain_; }

  // The unconsumed inbox and `txs`; with `fault` the proposer's state goes wrong after that step. Returns
  // the claimed roots (N + 1).
  std::vector<Hash32> post(const std::vector<Bytes>& txs, std::optional<size_t> fault = std::nullopt) {
    const l1::Head head = chain_->head();
    std::vector<Bytes> steps;
    for (const auto& m : chain_->inbox(inbox_consumed_, static_cast<size_t>(head.inbox_length - inbox_consumed_)))
      steps.push_back(m.l2_tx);
    const size_t inbox_count = steps.size();
    steps.insert(steps.end(), txs.begin(), txs.end());
    const uint64_t ts = chain_->now();
    std::vector<Hash32> roots{Hash32::from(state_.root())};
    accepted_ = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
      auto rc = apply(params(), StepContext{ts, i < inbox_count}, steps[i], state_);
      accepted_ += rc.ok() && rc->ok();
      if (fault && *fault == i) (void)state_.put(keccak256(std::string_view("fault")), Bytes{1});
      if (fault) roots.push_back(Hash32::from(state_.root()));  // the game needs every claimed root
    }
    if (!fault) roots.push_back(Hash32::from(state_.root()));
    l1::PostBatchArgs args{head.next_batch_index,
                           roots.front(),
                           roots.back(),
                           txs.size(),
                           head.inbox_length,
                           chain_->inbox_accumulator(head.inbox_length),
                           ts};
    submit(dev(devnet::kProposer), l1::make_post_batch({}, args, l1::compress_batch(txs), 0));
    inbox_consumed_ = head.inbox_length;
    return roots;
  }

  // Batch 0: `accounts` fresh L2 accounts funded through the inbox (deposits paid by dev 0-3), and prices.
  std::vector<PrivateKey> open_accounts(size_t accounts) {
    std::vector<PrivateKey> keys;
    for (size_t i = 0; i < accounts; ++i) {
      keys.push_back(PrivateKey::from(keccak256(std::string_view("bench-trader-" + std::to_string(i)))));
      submit(dev(i % 4), l1::make_deposit({}, *address_of(keys.back()), 1'900 * kUsdc, 0));
    }
    tick();
    post({report(devnet::kEth, 3000 * kUsdc), report(devnet::kBtc, 60000 * kUsdc)});
    tick();
    return keys;
  }
  Bytes report(uint32_t u, int64_t price) {
    PriceReport r{u, static_cast<uint64_t>(price), 800'000, now()};
    PriceReportTx t{r, {}};
    for (size_t i = 0; i < devnet::kOracleThreshold; ++i)
      t.sigs.push_back(*sign(typed_digest(params().domain_separator, r), dev(devnet::kOracleFirst + i)));
    return encode_tx(t);
  }

 private:
  l1::ManualClock clock_;
  Genesis genesis_;
  FullState state_;
  std::shared_ptr<fp::GameModule> games_;
  std::unique_ptr<l1::L1Chain> chain_;
  std::unique_ptr<fp::LocalL1> port_;
  uint64_t inbox_consumed_ = 0;
  size_t accepted_ = 0;
};

// Trades between fresh accounts in the first expiry's ETH options, every one with two fresh signatures
// (the costliest common step: two recoveries, two fill leaves, margin on both accounts).
std::vector<Bytes> trades(const Params& params, const std::vector<PrivateKey>& keys, size_t n, uint64_t now) {
  std::vector<Bytes> out;
  const size_t a = keys.size();
  for (size_t t = 0; t < n; ++t) {
    size_t m = t % a, k = (t * 7 + 1) % a;
    if (m == k) k = (k + 1) % a;
    uint64_t inst = 1 + t % 6;
    int64_t price = 60 * kUsdc;
    Order mo{*address_of(keys[m]), inst, false, 100'000, static_cast<uint64_t>(price), 500'000, t, now + 3600, 0};
    Order to{*address_of(keys[k]), inst, true, 100'000, static_cast<uint64_t>(price), 500'000, t, now + 3600, 0};
    out.push_back(encode_tx(TradeTx{{mo, *sign(typed_digest(params.domain_separator, mo), keys[m])},
                                    {to, *sign(typed_digest(params.domain_separator, to), keys[k])},
                                    100'000,
                                    static_cast<uint64_t>(price)}));
  }
  return out;
}

std::unique_ptr<fp::Challenger> open_challenger(Rollup& r) {
  fp::ChallengerOptions co;
  co.key = dev(devnet::kChallenger);
  co.genesis = r.genesis();
  auto c = fp::Challenger::open(co, r.port());
  if (!c) {
    fail("challenger: " + c.error());
    std::exit(1);
  }
  return std::move(*c);
}

void verify_batch() {
  const size_t kTxs = 10'000;
  Rollup r(2);
  auto keys = r.open_accounts(2000);
  auto challenger = open_challenger(r);
  if (!challenger->poll()) fail("challenger poll");
  std::vector<Bytes> txs = trades(r.params(), keys, kTxs, r.now());
  auto t0 = bench::Clock::now();
  r.post(txs);
  const double post_s = bench::seconds_since(t0);
  if (r.accepted() != kTxs) fail(std::to_string(kTxs - r.accepted()) + " trades of the batch were refused");
  t0 = bench::Clock::now();
  if (!challenger->poll()) fail("challenger poll");
  const double verify_s = bench::seconds_since(t0);
  const fp::ChallengerMetrics m = challenger->metrics();
  if (m.batches_verified != 2 || m.batches_wrong != 0) fail("the challenger did not verify the batch as correct");
  const double bound = recovers_per_s();
  const double rate = static_cast<double>(kTxs) / verify_s;
  char note[200];
  std::snprintf(note, sizeof note, "bound recovers/2 = %.0f steps/s, ratio %.2f", bound / 2, rate / (bound / 2));
  bench::report("ecrecover_per_s", bound, "recovers/s");
  bench::report("fp_proposer_execute_and_post_10k_trades_s", post_s, "s");
  bench::report("fp_challenger_verify_10k_trades_s", verify_s, "s", "read from the L1, re-executed, root compared");
  bench::report("fp_challenger_reexec_steps_per_s", rate, "steps/s", note);
}

void full_games() {
  const size_t kTxs = 10'000;
  std::vector<Bytes> txs;
  for (uint64_t k : {2u, 4u, 16u}) {
    Rollup r(k);
    auto keys = r.open_accounts(2000);
    if (txs.empty()) txs = trades(r.params(), keys, kTxs, r.now());  // the same chain start: reusable
    auto challenger = open_challenger(r);
    const size_t fault = 7'777;
    auto claimed = r.post(txs, fault);
    fp::Defender defender(dev(devnet::kProposer), r.port(), [&](uint64_t batch) -> std::optional<std::vector<Hash32>> {
      if (batch != 1) return std::nullopt;
      return claimed;
    });
    auto t0 = bench::Clock::now();
    const uint64_t start = r.now();
    std::optional<fp::Game> g;
    for (int t = 0; t < 2000; ++t) {
      if (!challenger->poll()) fail("challenger poll");
      (void)defender.poll();
      g = r.games().game(0);
      if (g && g->status != fp::GameStatus::kOpen) break;
      r.tick();
    }
    const double wall = bench::seconds_since(t0);
    if (!g || g->status != fp::GameStatus::kChallengerWon || g->end_reason != "step_proof" ||
        g->moves != g->rounds + 1 || g->a != fault) {
      fail("the game on the 10,000-step batch did not end as expected (k = " + std::to_string(k) + ")");
      continue;
    }
    const std::string suffix = "_10k_steps_k" + std::to_string(k);
    bench::report("fp_game_rounds" + suffix, static_cast<double>(g->rounds), "rounds");
    bench::report("fp_game_moves" + suffix, static_cast<double>(g->moves), "moves", "ceil(log_k N) + 1");
    bench::report("fp_game_virtual_seconds" + suffix, static_cast<double>(g->ended - start), "s",
                  "1 s per L1 block, agents polled each block");
    bench::report("fp_game_wall_seconds" + suffix, wall, "s", "challenger re-execution, roots, proof and every move");
  }
}

void simulator(uint64_t games) {
  fp::SimTotals totals;
  std::map<std::string, uint64_t> scenarios;
  auto t0 = bench::Clock::now();
  for (uint64_t seed = 1; seed <= games; ++seed) {
    fp::SimOptions o;
    o.seed = seed;
    fp::SimReport r = fp::simulate(o);
    totals.add(r);
    scenarios[fp::to_string(r.scenario)]++;
    if (!r.ok) std::printf("%s\n", r.line().c_str());
  }
  const double wall = bench::seconds_since(t0);
  std::printf("%s\n", totals.summary().c_str());
  bench::report("fp_sim_seeds", static_cast<double>(games), "seeds");
  bench::report("fp_sim_games", static_cast<double>(totals.games), "games");
  bench::report("fp_sim_honest_wins", static_cast<double>(totals.honest_wins), "games");
  bench::report("fp_sim_proposer_wrong", static_cast<double>(totals.proposer_wrong), "games");
  bench::report("fp_sim_challenger_wrong", static_cast<double>(totals.challenger_wrong), "games");
  bench::report("fp_sim_moves_off", static_cast<double>(totals.moves_off), "games", "target 0");
  bench::report("fp_sim_failures", static_cast<double>(totals.failures), "seeds", "target 0");
  bench::report("fp_sim_wall_seconds", wall, "s");
  bench::report("fp_sim_seeds_per_s", static_cast<double>(games) / wall, "seeds/s");
  for (const auto& [name, n] : scenarios) bench::report("fp_sim_scenario_" + name, static_cast<double>(n), "seeds");
  if (totals.failures || totals.honest_wins != totals.games || totals.moves_off) fail("the simulator found a failure");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  const uint64_t sim_games = argc > 2 ? std::stoull(argv[2]) : 10'000;
  if (only.empty() || only == "proofs") proof_sizes();
  if (only.empty() || only == "verify") verify_batch();
  if (only.empty() || only == "game") full_games();
  if (only.empty() || only == "sim") simulator(sim_games);
  return failures ? 1 : 0;
}
