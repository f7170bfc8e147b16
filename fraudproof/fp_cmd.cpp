// `optrollup simulate`: the adversarial simulator from the command line, for demos and long runs.
#include <cstdio>

#include "engine/cli/command.h"
#include "fraudproof/simulator.h"

namespace opt::cli {

namespace {

int simulate_cmd(const Args& a) {
  uint64_t seed = 1, games = 20, degree = 0;
  try {
    if (auto s = a.get("--seed")) seed = std::stoull(*s);
    if (auto g = a.get("--games")) games = std::stoull(*g);
    if (auto k = a.get("--k")) degree = std::stoull(*k);
  } catch (const std::exception&) {
    return usage_error("simulate", "--seed, --games and --k take non-negative integers");
  }
  if (degree == 1 || degree > 64) return usage_error("simulate", "--k must be between 2 and 64");
  if (games == 0) return usage_error("simulate", "--games must be at least 1");
  int scenario = -1;
  if (auto s = a.get("--scenario")) {
    for (int i = 0; i < static_cast<int>(fp::Scenario::kCount); ++i)
      if (*s == fp::to_string(static_cast<fp::Scenario>(i))) scenario = i;
    if (scenario < 0) return usage_error("simulate", "unknown scenario " + *s);
  }
  fp::SimTotals totals;
  for (uint64_t i = 0; i < games; ++i) {
    fp::SimOptions o;
    o.seed = seed + i;
    o.degree = degree;
    o.scenario = scenario;
    if (a.flag("--verbose")) o.log = [](const std::string& s) { std::printf("    %s\n", s.c_str()); };
    fp::SimReport r = fp::simulate(o);
    totals.add(r);
    if (!a.flag("--quiet") || !r.ok) std::printf("%s\n", r.line().c_str());
    std::fflush(stdout);
  }
  std::printf("%s\n", totals.summary().c_str());
  return totals.failures == 0 && totals.honest_wins == totals.games && totals.moves_off == 0 ? 0 : 1;
}

}  // namespace

std::vector<Command> fraudproof_commands() {
  return {
      {"simulate", "run the adversarial fraud-proof simulator on virtual time",
       "usage: optrollup simulate [--seed S] [--games N] [--k K] [--scenario NAME] [--verbose] [--quiet]\n\n"
       "Plays N seeded games (seeds S, S+1, ...) with the real state machine, L1, game and agents on virtual\n"
       "time, and prints one line per seed and a summary:\n"
       "  games: N honest_wins: N proposer_wrong: A challenger_wrong: B moves_off: 0\n"
       "  --k K            dissection degree (2..64); default: 2, 4 or 16 by seed\n"
       "  --scenario NAME  wrong_root | malicious_challenger | lazy_proposer | lazy_challenger |\n"
       "                   last_second | many_challengers | restart; default: by seed\n"
       "  --verbose        print every agent's log lines\n"
       "  --quiet          print only failures and the summary\n"
       "Exit status 0 when the honest side won every game with the expected number of moves.",
       {"--seed", "--games", "--k", "--scenario"}, {"--verbose", "--quiet"}, simulate_cmd},
  };
}

}  // namespace opt::cli
