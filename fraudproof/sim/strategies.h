// The dishonest strategies of the simulator's agents (fraudproof/strategy.h), for tests and demos only:
// production code never links them. Each shows a way to lose a game that the protocol must punish.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "fraudproof/strategy.h"

namespace opt::fp {

enum class Behaviour : uint8_t {
  kHonest,     // verifies, disputes only wrong roots, plays at once (fraudproof/strategy.h)
  kMalicious,  // disputes `target` (a correct batch) and takes no part in any other; chooses parts at
               // random from `seed`, so a simulation replays exactly. It must lose its bond.
  kLazy,       // never moves: its games end by timeout
  kSlow,       // moves in the last second of its clock
};

// A fresh strategy (each agent needs its own). `seed` and `target` are for kMalicious only.
std::shared_ptr<Strategy> make_strategy(Behaviour b, uint64_t seed = 1, std::optional<uint64_t> target = std::nullopt);

}  // namespace opt::fp
