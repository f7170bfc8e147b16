// The adversarial simulator: a seeded, deterministic world on virtual time that drives the real state
// machine, the real L1 (SQLite in memory), the real game and the real agents through one scenario per
// seed, and checks that the honest side wins every game, never loses a bond, and that a game decided by a
// one-step proof took exactly ceil(log_k N) + 1 moves. Used by the tests, a benchmark and
// `optrollup simulate`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace opt::l1 {
class L1Chain;
}

namespace opt::fp {

class GameModule;

enum class Scenario : uint8_t {
  kWrongRoot,            // the proposer posts a wrong root; an honest challenger disputes it
  kMaliciousChallenger,  // a challenger disputes a correct root; the honest proposer answers
  kLazyProposer,         // the proposer posts a wrong root and never answers: it loses on time
  kLazyChallenger,       // a malicious challenger disputes a correct root and then stalls
  kLastSecond,           // both sides move in the last second of their clocks
  kManyChallengers,      // two honest challengers on a wrong root and a malicious one on a correct root
  kRestart,              // the honest challenger is dropped mid-game (as by kill -9) and reopened
  kCount,
};
const char* to_string(Scenario s);

struct SimOptions {
  uint64_t seed = 1;
  uint64_t degree = 0;                          // 0: chosen by the seed among 2, 4 and 16
  int scenario = -1;                            // -1: chosen by the seed
  std::string work_dir;                         // for the restarted agent's SQLite file (a temp directory if empty)
  std::function<void(const std::string&)> log;  // agent log lines, if wanted
  // Called once the games are over (before the proposer reposts): the simulated L1 and its games, for a
  // test to check the outcomes (bonds, stakes, batch status) on the L1 itself.
  std::function<void(const l1::L1Chain&, const GameModule&)> on_games_over;
};

struct GameReport {
  uint64_t game = 0;
  uint64_t batch = 0;
  uint64_t steps = 0;
  uint64_t rounds = 0;
  uint64_t moves = 0;
  std::string status;      // challenger_won | proposer_won | cancelled
  std::string end_reason;  // step_proof | timeout | batch_removed
  bool proposer_wrong = false;
  bool honest_won = false;
  bool moves_ok = true;  // a step-proof game took rounds + 1 moves
};

struct SimReport {
  uint64_t seed = 0;
  uint64_t degree = 0;
  Scenario scenario = Scenario::kWrongRoot;
  std::string fault_tx;  // the type of the step after which the proposer's root went wrong
  std::vector<GameReport> games;
  bool ok = true;
  std::string failure;  // what went wrong, if !ok
  uint64_t virtual_seconds = 0;
  std::string line() const;  // one line per seed
};

SimReport simulate(const SimOptions& options);

struct SimTotals {
  // A seed plays one game or more (a game can be followed by another: a second challenger, or a proposer
  // re-posting a removed batch), so games >= seeds.
  uint64_t seeds = 0, games = 0, honest_wins = 0, proposer_wrong = 0, challenger_wrong = 0, moves_off = 0, failures = 0;
  void add(const SimReport& r);
  // "seeds: S games: N honest_wins: N proposer_wrong: A challenger_wrong: B moves_off: 0"
  std::string summary() const;
};

}  // namespace opt::fp
