// The fraud-proof game (docs/fraud-proofs.md), played on the L1 as an extension of the rollup contract.
//
// A challenger disputes a batch that is not final, locking a bond. The game runs over the batch's steps
// padded to P = k^R positions (R = ceil(log_k N)); positions at or beyond N are no-op steps whose root is
// the batch's post root. Padding makes every path the same length, so a game on the one-step-proof path
// takes exactly R dissection rounds and one proof.
//
//   Dissect  (proposer)    posts the roots at the k-1 inner points of the disputed segment [a, b]
//   Choose   (challenger)  names one of the k parts: it accepts the part's start root, disputes its end
//   ProveStep(challenger)  at a segment of length 1: the step's input and a multiproof of every leaf the
//                          step reads against root_a; the L1 re-executes the step with the same apply()
//                          over a WitnessState and compares the result with the proposer's root_b
//   Timeout  (anyone)      ends a game whose mover ran out of time; the mover loses
//
// Chess clocks: each side has clock_seconds in total; a move made late tops the other side up to
// clock_extension_seconds, so it cannot be left without time to answer (bounded: one top-up per move).
// A mover whose clock runs out loses; the L1 also ends such games itself when a block opens.
//
// Outcome. Proposer wrong: the batch and every later batch are removed, the proposer's stake is slashed
// (reward_share to the challenger, the rest burned), the challenger's bond is returned. Challenger wrong:
// its bond is slashed the same way in the proposer's favour. Games on batches removed by another game end
// as cancelled with their bonds returned. Every move is an event, so a game can be replayed and checked
// from the event log alone (replay_game below).
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "bridge/chain.h"
#include "engine/stf/genesis.h"
#include "engine/stf/params.h"

namespace opt::fp {

inline constexpr std::string_view kChallengeType = "Challenge(address sender,uint64 batch,uint64 nonce)";
inline constexpr std::string_view kDissectType = "Dissect(address sender,uint64 game,bytes32[] roots,uint64 nonce)";
inline constexpr std::string_view kChooseType = "Choose(address sender,uint64 game,uint64 part,uint64 nonce)";
inline constexpr std::string_view kProveStepType =
    "ProveStep(address sender,uint64 game,uint64 step,bytes32 proofHash,uint64 nonce)";
inline constexpr std::string_view kTimeoutType = "Timeout(address sender,uint64 game,uint64 nonce)";

const l1::ActionSpec& challenge_spec();
const l1::ActionSpec& dissect_spec();
const l1::ActionSpec& choose_spec();
const l1::ActionSpec& prove_step_spec();
const l1::ActionSpec& timeout_spec();

struct GameConfig {
  // The state machine's genesis parameters, which the referee needs. If not given they are read from the
  // L1 config's l2Genesis (the normal case: one source of truth for every party).
  std::optional<Params> l2;
  uint32_t reward_share_ppm = 500'000;  // of a slashed stake or bond, to the winner; the rest is burned
};

// The L1 config of a rollup with this genesis: genesis root, l2Genesis, rollup address and L2 chain id.
l1::L1Config rollup_config(const Genesis& genesis, l1::L1Config base = {});
// The L2 genesis recorded in an L1 config, checked against its genesis root.
Result<Genesis, std::string> genesis_of(const l1::L1Config& config);

// The game's refusals (its layer's enum). They reach the L1's API as extension refusals (422), each with its
// wire code; a refused one-step proof carries its ProofVerdict's code instead (fraudproof/proof.h).
enum class GameRefusal : uint8_t {
  kAlreadyChallenging,
  kBadChoice,
  kBadDissection,
  kBatchFinal,
  kClockExpired,
  kClockNotExpired,
  kGameOver,
  kNoL2Genesis,
  kNotYourTurn,
  kNothingToDispute,
  kSelfChallenge,
  kUnknownGame,
  kWrongStep,
};
const char* to_string(GameRefusal r);
inline Err<l1::Refusal> refuse(GameRefusal r, std::string message) {
  return l1::refuse_extension(to_string(r), std::move(message));
}

enum class Turn : uint8_t { kDissect = 0, kChoose = 1, kProve = 2 };
enum class GameStatus : uint8_t { kOpen = 0, kChallengerWon = 1, kProposerWon = 2, kCancelled = 3 };
const char* to_string(Turn t);
const char* to_string(GameStatus s);

struct Game {
  uint64_t id = 0;
  uint64_t batch = 0;
  Address proposer;
  Address challenger;
  uint64_t steps = 0;         // N
  uint64_t span = 0;          // P = k^R, the padded length
  uint64_t rounds = 0;        // R
  uint64_t degree = 2;        // k
  uint64_t a = 0, b = 0;      // the disputed segment
  Hash32 root_a, root_b;      // agreed start, the proposer's claimed end
  std::vector<Hash32> roots;  // posted by the last Dissect, awaiting the challenger's choice
  Turn turn = Turn::kDissect;
  GameStatus status = GameStatus::kOpen;
  uint64_t proposer_left = 0, challenger_left = 0;  // seconds on each clock
  uint64_t turn_started = 0;                        // L1 time when the current turn began
  uint64_t moves = 0;                               // completed dissection rounds, plus one for the step proof
  uint64_t started = 0, ended = 0;
  std::string end_reason;  // step_proof | timeout | batch_removed
  bool operator==(const Game&) const = default;

  const Address& mover() const { return turn == Turn::kDissect ? proposer : challenger; }
};
nlohmann::json to_json(const Game& g);

// ceil(log_k n) for n >= 1.
uint64_t dissection_rounds(uint64_t n, uint64_t k);

class GameModule final : public l1::L1Extension {
 public:
  explicit GameModule(GameConfig config);

  std::vector<l1::ActionDef> actions() override;
  l1::DisputeState dispute_state(uint64_t batch) const override;
  void on_block(l1::L1Context& ctx) override;
  // GET /l1/v1/games/{id} and GET /l1/v1/games?batch=&from=&limit= (fraudproof/game_api.cpp).
  void add_routes(http::Router& router) const override;

  // Reads, for the API and tests (call under L1Chain::run_locked from other threads, or use these,
  // which take the module's own lock).
  std::optional<Game> game(uint64_t id) const;
  std::vector<Game> games(uint64_t from, size_t limit) const;
  std::vector<Game> games_of_batch(uint64_t batch) const;
  size_t game_count() const;
  const GameConfig& config() const { return config_; }

 private:
  Result<nlohmann::json, l1::Refusal> challenge(l1::L1Context& ctx, const l1::Action& a);
  Result<nlohmann::json, l1::Refusal> dissect(l1::L1Context& ctx, const l1::Action& a);
  Result<nlohmann::json, l1::Refusal> choose(l1::L1Context& ctx, const l1::Action& a);
  Result<nlohmann::json, l1::Refusal> prove_step(l1::L1Context& ctx, const l1::Action& a);
  Result<nlohmann::json, l1::Refusal> timeout(l1::L1Context& ctx, const l1::Action& a);

  Result<Game*, l1::Refusal> open_game(uint64_t id);
  // Charges the mover's clock for the turn that ends now; refuses if it ran out.
  Status<l1::Refusal> charge_clock(l1::L1Context& ctx, Game& g);
  Status<l1::Refusal> finish(l1::L1Context& ctx, Game& g, GameStatus outcome, const std::string& reason);
  Result<const Params*, l1::Refusal> params(l1::L1Context& ctx);
  void snapshot_for_undo(l1::L1Context& ctx);

  GameConfig config_;
  mutable std::mutex mu_;
  std::vector<Game> games_;
  std::multimap<uint64_t, uint64_t> by_batch_;  // batch -> game ids
};

// Rebuilds every game from the L1 event log alone (game_* events in order) and returns them; a watcher
// can compare the result with GET /l1/v1/games to check that the L1 played by the rules it publishes.
Result<std::vector<Game>, std::string> replay_games(const std::vector<l1::Event>& events, const l1::L1Config& l1);

}  // namespace opt::fp
