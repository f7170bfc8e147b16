// `optrollup simulate`: the adversarial simulator from the command line, for demos and long runs.
#include <cstdio>

#include "engine/cli/command.h"
#include "fraudproof/sim/simulator.h"

namespace opt::cli {

namespace {

constexpr const char* kName = "simulate";

int simulate_cmd(const Args& a) {
  auto seed = a.u64_or("--seed", 1);
  if (!seed) return usage_error(kName, seed.error());
  auto games = a.u64_or("--games", 20, 1);
  if (!games) return usage_error(kName, games.error());
  // Seeds seed, seed+1, ...: the last one must not wrap around.
  if (*games - 1 > UINT64_MAX - *seed) return usage_error(kName, "--seed plus --games runs past the largest seed");
  auto degree = a.u64_or("--k", 0, 2, 64);
  if (!degree) return usage_error(kName, degree.error());
  std::vector<std::string> names;
  for (int i = 0; i < static_cast<int>(fp::Scenario::kCount); ++i)
    names.push_back(fp::to_string(static_cast<fp::Scenario>(i)));
  auto chosen = a.choice("--scenario", names);
  if (!chosen) return usage_error(kName, chosen.error());
  int scenario = -1;
  for (int i = 0; i < static_cast<int>(names.size()); ++i)
    if (*chosen && **chosen == names[static_cast<size_t>(i)]) scenario = i;
  if (a.flag("--verbose") && a.flag("--quiet")) return usage_error(kName, "give --verbose or --quiet, not both");

  fp::SimTotals totals;
  for (uint64_t i = 0; i < *games; ++i) {
    fp::SimOptions o;
    o.seed = *seed + i;
    o.degree = *degree;
    o.scenario = scenario;
    if (a.flag("--verbose")) o.log = [](const std::string& s) { std::printf("    %s\n", s.c_str()); };
    fp::SimReport r = fp::simulate(o);
    totals.add(r);
    if (!a.flag("--quiet") || !r.ok) std::printf("%s\n", r.line().c_str());
    std::fflush(stdout);
  }
  std::printf("%s\n", totals.summary().c_str());
  return totals.failures == 0 && totals.honest_wins == totals.games && totals.moves_off == 0 ? 0 : kFailureExit;
}

}  // namespace

std::vector<Command> simulate_commands() {
  std::string scenarios;
  for (int i = 0; i < static_cast<int>(fp::Scenario::kCount); ++i)
    scenarios += (scenarios.empty() ? "" : " | ") + std::string(fp::to_string(static_cast<fp::Scenario>(i)));
  Command c;
  c.name = kName;
  c.summary = "run the adversarial fraud-proof simulator on virtual time";
  c.usage =
      "usage: optrollup simulate [--seed S] [--games N] [--k K] [--scenario NAME] [--verbose | --quiet]\n\n"
      "Plays N seeds (S, S+1, ...) with the real state machine, L1, game and agents on virtual time, and\n"
      "prints one line per seed and a summary. A seed plays one game or more (some scenarios start another,\n"
      "e.g. a second challenger), so the summary counts both:\n"
      "  seeds: N games: G honest_wins: G proposer_wrong: A challenger_wrong: B moves_off: 0";
  c.flags = {
      {"--seed", "S", "integer", "1", "the first game's seed"},
      {"--games", "N", "integer >= 1", "20", "how many seeds to play (each plays one game or more)"},
      {"--k", "K", "integer 2..64", "2, 4 or 16 by seed", "dissection degree"},
      {"--scenario", "NAME", scenarios, "by seed", "the scenario every game plays"},
      {"--verbose", "", "", "", "print every agent's log lines"},
      {"--quiet", "", "", "", "print only failures and the summary"},
  };
  c.notes = "Exit status 0 when the honest side won every game with the expected number of moves.";
  c.run = simulate_cmd;
  return {c};
}

}  // namespace opt::cli
