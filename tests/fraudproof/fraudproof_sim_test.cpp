// The adversarial simulator (fraudproof/simulator.h) over seeds 1..500: the CI run the project requires
// ("CI runs at least 500 seeded games"). Each seed plays one scenario with the real state machine, L1,
// game and agents on virtual time; the honest side must win every game, a game decided by a step proof
// must take exactly ceil(log_k N) + 1 moves, and the seeds must cover every scenario, every dissection
// degree and a fault after each of the ten transaction types.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <unistd.h>

#include "fraudproof/sim/simulator.h"

namespace opt::fp {

TEST_CASE("simulator: seeds 1..500, the honest side wins every game") {
  const std::string dir = (std::filesystem::temp_directory_path() / ("optrollup-fp-sim-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  SimTotals totals;
  std::map<std::string, int> scenarios, fault_types, end_reasons;
  std::map<uint64_t, int> degrees;
  uint64_t step_proof_games = 0, max_rounds = 0;
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.work_dir = dir;
    SimReport r = simulate(o);
    totals.add(r);
    CAPTURE(seed);
    CHECK_MESSAGE(r.ok, r.line());
    CHECK(r.seed == seed);
    CHECK(!r.games.empty());
    scenarios[to_string(r.scenario)]++;
    degrees[r.degree]++;
    if (!r.fault_tx.empty()) fault_types[r.fault_tx]++;
    for (const auto& g : r.games) {
      CHECK_MESSAGE(g.honest_won, r.line());
      CHECK_MESSAGE(g.moves_ok, r.line());
      end_reasons[g.end_reason]++;
      if (g.end_reason == "step_proof") {
        ++step_proof_games;
        CHECK(g.moves == g.rounds + 1);
      }
      max_rounds = std::max(max_rounds, g.rounds);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  MESSAGE(totals.summary());
  CHECK(totals.failures == 0);
  CHECK(totals.games >= 500);
  CHECK(totals.honest_wins == totals.games);
  CHECK(totals.moves_off == 0);
  CHECK(totals.proposer_wrong > 0);
  CHECK(totals.challenger_wrong > 0);
  CHECK(totals.proposer_wrong + totals.challenger_wrong == totals.games);

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
  for (const char* t : {"deposit", "trade", "cancel", "price_report", "list_instrument", "liquidate", "expire", "settle",
                        "withdraw", "forced_withdraw"}) {
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
