// The adversarial simulator (fraudproof/simulator.h) over seeds 1..500: the CI run the project requires
// ("CI runs at least 500 seeded games"). Each seed plays one scenario with the real state machine, L1,
// game and agents on virtual time. The outcome is read off the simulated L1 itself, not the simulator's
// verdict: a batch an honest challenger disputed is removed with everything after it, the proposer's
// stake is slashed and the winner paid its share; a correct batch a malicious challenger disputed stays,
// the challenger's bond is slashed and the proposer paid its share; no bond stays locked. A game decided
// by a step proof must take exactly ceil(log_k N) + 1 moves, and the seeds must cover every scenario,
// every dissection degree and a fault after each of the ten transaction types.
#include <doctest/doctest.h>

#include <map>
#include <optional>

#include "bridge/chain.h"
#include "engine/common/devnet.h"
#include "fraudproof/game.h"
#include "fraudproof/sim/simulator.h"
#include "tests/support/temp_dir.h"

namespace opt::fp {

namespace {

// What the L1 holds once a seed's games are over.
struct L1Snapshot {
  l1::L1Config config;
  uint64_t reward_share_ppm = 0;
  std::vector<Game> games;
  std::vector<l1::BatchRecord> batches;
  std::map<Address, l1::L1Account> accounts;  // the proposer's and every challenger's
};

uint64_t genesis_bond(const l1::L1Config& cfg, const Address& a) {
  for (const auto& b : cfg.balances)
    if (b.address == a) return b.bond;
  return 0;
}

uint64_t share(uint64_t amount, uint64_t ppm) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(amount) * ppm / 1'000'000);
}

struct L1Counts {
  uint64_t challenger_won = 0, proposer_won = 0, cancelled = 0;
};

// The simulator's dishonest challenger is dev account 3, in the scenarios that have one
// (fraudproof/simulator.cpp); the honest challengers only ever dispute a wrong batch.
bool malicious(const Address& challenger, Scenario s) {
  return challenger == devnet::dev_addresses().at(3) &&
         (s == Scenario::kMaliciousChallenger || s == Scenario::kLazyChallenger || s == Scenario::kManyChallengers);
}

L1Counts check_l1(const L1Snapshot& l1, Scenario scenario) {
  L1Counts n;
  const l1::L1Config& cfg = l1.config;
  const Address proposer = devnet::dev_addresses().at(devnet::kProposer);
  std::optional<uint64_t> first_removed;  // the lowest batch an honest challenger disputed
  uint64_t paid_to_proposer = 0;
  for (const Game& g : l1.games) {
    CAPTURE(g.id);
    CAPTURE(g.batch);
    REQUIRE(g.batch < l1.batches.size());
    const l1::BatchRecord& b = l1.batches[g.batch];
    const l1::L1Account& c = l1.accounts.at(g.challenger);
    const uint64_t start = genesis_bond(cfg, g.challenger);
    CHECK(g.proposer == proposer);
    CHECK(c.locked == 0);  // no bond is left locked once the games are over
    if (malicious(g.challenger, scenario)) {
      // A correct batch: it stays, the challenger's whole bond goes, the proposer gets its share.
      CHECK(g.status == GameStatus::kProposerWon);
      CHECK(b.status != l1::BatchStatus::kRemoved);
      CHECK(c.bond == start - cfg.challenge_bond);
      paid_to_proposer += share(cfg.challenge_bond, l1.reward_share_ppm);
      ++n.proposer_won;
    } else {
      // A wrong batch: it is gone; the challenger who won is paid, one whose game was made moot by that
      // removal gets its bond back.
      CHECK(b.status == l1::BatchStatus::kRemoved);
      first_removed = std::min(first_removed.value_or(g.batch), g.batch);
      if (g.status == GameStatus::kChallengerWon) {
        CHECK(c.bond == start + share(cfg.min_proposer_stake, l1.reward_share_ppm));
        ++n.challenger_won;
      } else {
        CHECK(g.status == GameStatus::kCancelled);
        CHECK(c.bond == start);
        ++n.cancelled;
      }
    }
  }
  // The removed batches are exactly the disputed wrong one and everything after it.
  for (const auto& b : l1.batches) {
    CAPTURE(b.index);
    CHECK((b.status == l1::BatchStatus::kRemoved) == (first_removed && b.index >= *first_removed));
  }
  // The proposer staked the minimum: all of it is slashed if it lost a game, none otherwise.
  const l1::L1Account& p = l1.accounts.at(proposer);
  CHECK(n.challenger_won <= 1);
  CHECK(p.stake == (n.challenger_won ? 0 : cfg.min_proposer_stake));
  CHECK(p.locked == 0);
  CHECK(p.bond == genesis_bond(cfg, proposer) - cfg.min_proposer_stake + paid_to_proposer);
  return n;
}

}  // namespace

TEST_CASE("simulator: seeds 1..500, the honest side wins every game") {
  const opt::test::TempDir tmp("optrollup-fp-sim");
  const std::string dir = tmp.path();
  SimTotals totals;
  L1Counts l1_totals;
  std::map<std::string, int> scenarios, fault_types, end_reasons;
  std::map<uint64_t, int> degrees;
  uint64_t step_proof_games = 0, max_rounds = 0;
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.work_dir = dir;
    std::optional<L1Snapshot> l1;
    o.on_games_over = [&](const l1::L1Chain& chain, const GameModule& gm) {
      L1Snapshot snap;
      snap.config = chain.config();
      snap.reward_share_ppm = gm.config().reward_share_ppm;
      snap.games = gm.games(0, gm.game_count());
      snap.batches = chain.batches(0, 100'000);
      snap.accounts[devnet::dev_addresses().at(devnet::kProposer)] =
          chain.account(devnet::dev_addresses().at(devnet::kProposer));
      for (const Game& g : snap.games) snap.accounts[g.challenger] = chain.account(g.challenger);
      l1 = std::move(snap);
    };
    SimReport r = simulate(o);
    totals.add(r);
    CAPTURE(seed);
    CHECK_MESSAGE(r.ok, r.line());
    REQUIRE_MESSAGE(l1.has_value(), r.line());
    CHECK(l1->games.size() == r.games.size());
    {
      INFO(r.line());
      L1Counts c = check_l1(*l1, r.scenario);
      l1_totals.challenger_won += c.challenger_won;
      l1_totals.proposer_won += c.proposer_won;
      l1_totals.cancelled += c.cancelled;
    }
    CHECK(r.seed == seed);
    CHECK(!r.games.empty());
    scenarios[to_string(r.scenario)]++;
    degrees[r.degree]++;
    if (!r.fault_tx.empty()) fault_types[r.fault_tx]++;
    for (const auto& g : r.games) {
      CHECK_MESSAGE(g.moves_ok, r.line());
      end_reasons[g.end_reason]++;
      if (g.end_reason == "step_proof") {
        ++step_proof_games;
        CHECK(g.moves == g.rounds + 1);
      }
      max_rounds = std::max(max_rounds, g.rounds);
    }
  }
  MESSAGE(totals.summary());
  CHECK(totals.failures == 0);
  CHECK(totals.games >= 500);
  CHECK(totals.moves_off == 0);
  // On the L1: wrong batches removed with the proposer slashed, and malicious challengers slashed, both
  // seen many times; every game ended one of the three ways.
  MESSAGE("on the L1: challenger_won " << l1_totals.challenger_won << ", proposer_won " << l1_totals.proposer_won
                                       << ", cancelled " << l1_totals.cancelled);
  CHECK(l1_totals.challenger_won > 100);
  CHECK(l1_totals.proposer_won > 100);
  CHECK(l1_totals.cancelled > 0);
  CHECK(l1_totals.challenger_won + l1_totals.proposer_won + l1_totals.cancelled == totals.games);

  // Coverage: every scenario, every degree, a fault after every transaction type, every way to end.
  for (int s = 0; s < static_cast<int>(Scenario::kCount); ++s) {
    const std::string name = to_string(static_cast<Scenario>(s));
    CAPTURE(name);
    CHECK(scenarios[name] > 0);
  }
  for (uint64_t k : {2u, 4u, 16u}) {
    CAPTURE(k);
    CHECK(degrees[k] > 0);
  }
  CHECK(degrees.size() == 3);
  for (const char* t : {"deposit", "trade", "cancel", "price_report", "list_instrument", "liquidate", "expire",
                        "settle", "withdraw", "forced_withdraw"}) {
    const std::string type = t;
    CAPTURE(type);
    CHECK(fault_types[type] > 0);
  }
  for (const char* e : {"step_proof", "timeout", "batch_removed"}) {
    const std::string reason = e;
    CAPTURE(reason);
    CHECK(end_reasons[reason] > 0);
  }
  CHECK(step_proof_games > 100);
  CHECK(max_rounds >= 4);
  std::string coverage;
  for (const auto& [name, n] : scenarios) coverage += " " + name + "=" + std::to_string(n);
  MESSAGE("scenarios:" << coverage);
  coverage.clear();
  for (const auto& [name, n] : fault_types) coverage += " " + name + "=" + std::to_string(n);
  MESSAGE("fault after:" << coverage);
}

TEST_CASE("simulator: a seed replays exactly") {
  for (uint64_t seed : {7u, 42u, 333u}) {
    SimOptions o;
    o.seed = seed;
    SimReport a = simulate(o), b = simulate(o);
    CHECK(a.line() == b.line());
    CHECK(a.ok);
  }
}

}  // namespace opt::fp
