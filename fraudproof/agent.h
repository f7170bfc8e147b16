// The fraud-proof agents.
//
// Challenger (`optrollup challenger`): follows the L1 events from its last checkpoint, re-executes every
// posted batch from the L1's own data, compares each post root, challenges the first wrong one, computes
// intermediate roots, plays every move as soon as it is its turn (well before its clock runs out) and
// submits the one-step proof. Progress (event checkpoint, verified batches, games) is kept in its own
// SQLite file, so a restart — also after kill -9 — rebuilds its state and resumes its games. It never
// challenges a root it computed itself.
//
// Defender (inside the proposer): answers every game against the proposer's batches with the roots the
// proposer claims, and claims timeouts.
//
// Both are driven by poll(): one round of work, no threads of their own. The devnet and the CLI call it
// on a timer; the simulator calls it on virtual time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/stf/genesis.h"
#include "fraudproof/l1_port.h"
#include "fraudproof/strategy.h"

namespace opt::fp {

struct ChallengerOptions {
  PrivateKey key;
  Genesis genesis;
  std::string db_path;  // the agent's SQLite file; empty: keep progress in memory only
  // How it plays; null: honest (verifies, disputes only wrong roots, plays at once). Each agent needs its
  // own (a strategy may keep state, such as a seeded choice).
  std::shared_ptr<Strategy> strategy;
  std::function<void(const std::string&)> log;  // one plain line per thing it does
};

struct ChallengerMetrics {
  uint64_t batches_verified = 0;
  uint64_t batches_wrong = 0;
  uint64_t games_open = 0;
  uint64_t games_won = 0;
  uint64_t games_lost = 0;
  uint64_t moves = 0;
  uint64_t checkpoint_block = 0;
};

class Challenger {
 public:
  static Result<std::unique_ptr<Challenger>, std::string> open(ChallengerOptions options, L1Port& l1);
  ~Challenger();

  // One round: follow new events, verify new batches, dispute, play. L1 refusals and network errors are
  // logged and retried next round; an error is returned only for a fault that stops the agent (its
  // database, or an L1 whose genesis differs from ours).
  Status<std::string> poll();
  ChallengerMetrics metrics() const;
  std::string metrics_text() const;  // Prometheus text format
  const Address& address() const;
  StateRoot honest_root() const;

 private:
  struct Impl;
  explicit Challenger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The proposer's side. `claimed_roots(batch)` returns the roots the proposer claims after each step of one
// of its batches (N + 1 roots, from the pre root to the post root), or nullopt if it does not know it.
class Defender {
 public:
  using RootsFn = std::function<std::optional<std::vector<Hash32>>(uint64_t batch)>;
  // `strategy` null: honest (answers at once).
  Defender(PrivateKey key, L1Port& l1, RootsFn claimed_roots, std::function<void(const std::string&)> log = {},
           std::shared_ptr<Strategy> strategy = nullptr);
  // Answers every open game against this proposer's batches whose turn is the proposer's; claims the
  // win when the challenger's clock ran out.
  Status<std::string> poll();
  uint64_t moves() const { return moves_; }

 private:
  PrivateKey key_;
  Address address_;
  L1Port& l1_;
  RootsFn roots_;
  std::function<void(const std::string&)> log_;
  std::shared_ptr<Strategy> strategy_;
  uint64_t next_game_ = 0;
  std::vector<uint64_t> open_;
  uint64_t moves_ = 0;
};

// The steps of a batch as the L1 defines them: its inbox messages, then its frames.
PortResult<std::vector<Bytes>> batch_steps(L1Port& l1, const l1::BatchRecord& b);

}  // namespace opt::fp
