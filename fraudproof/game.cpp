#include "fraudproof/game.h"

#include "engine/common/genesis_json.h"
#include "engine/core/amount.h"
#include "fraudproof/proof.h"

namespace opt::fp {

using l1::Action;
using l1::ActionSpec;
using l1::L1Context;
using l1::Refusal;
using l1::refuse;
using nlohmann::json;

namespace {

const ActionSpec& make_spec(std::string_view name, std::string_view type, std::string data_field = "",
                            size_t max_data = 0) {
  // Called once per spec from the function-local statics below; a bad built-in string is a programming
  // error caught by every test run.
  static std::vector<std::unique_ptr<ActionSpec>> specs;
  auto s = ActionSpec::make(std::string(name), type, std::move(data_field), max_data);
  if (!s) std::abort();
  specs.push_back(std::make_unique<ActionSpec>(std::move(*s)));
  return *specs.back();
}

}  // namespace

const ActionSpec& challenge_spec() {
  static const ActionSpec& s = make_spec("challenge", kChallengeType);
  return s;
}
const ActionSpec& dissect_spec() {
  static const ActionSpec& s = make_spec("dissect", kDissectType);
  return s;
}
const ActionSpec& choose_spec() {
  static const ActionSpec& s = make_spec("choose", kChooseType);
  return s;
}
const ActionSpec& prove_step_spec() {
  static const ActionSpec& s = make_spec("prove_step", kProveStepType, "proofHash", l1::kMaxProofDataBytes * 16);
  return s;
}
const ActionSpec& timeout_spec() {
  static const ActionSpec& s = make_spec("timeout", kTimeoutType);
  return s;
}

const char* to_string(GameRefusal r) {
  switch (r) {
    case GameRefusal::kAlreadyChallenging: return "already_challenging";
    case GameRefusal::kBadChoice: return "bad_choice";
    case GameRefusal::kBadDissection: return "bad_dissection";
    case GameRefusal::kBatchFinal: return "batch_final";
    case GameRefusal::kClockExpired: return "clock_expired";
    case GameRefusal::kClockNotExpired: return "clock_not_expired";
    case GameRefusal::kGameOver: return "game_over";
    case GameRefusal::kNoL2Genesis: return "no_l2_genesis";
    case GameRefusal::kNotYourTurn: return "not_your_turn";
    case GameRefusal::kNothingToDispute: return "nothing_to_dispute";
    case GameRefusal::kSelfChallenge: return "self_challenge";
    case GameRefusal::kUnknownGame: return "unknown_game";
    case GameRefusal::kWrongStep: return "wrong_step";
  }
  return "unknown";
}

const char* to_string(Turn t) {
  switch (t) {
    case Turn::kDissect: return "dissect";
    case Turn::kChoose: return "choose";
    case Turn::kProve: return "prove";
  }
  return "unknown";
}

const char* to_string(GameStatus s) {
  switch (s) {
    case GameStatus::kOpen: return "open";
    case GameStatus::kChallengerWon: return "challenger_won";
    case GameStatus::kProposerWon: return "proposer_won";
    case GameStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

uint64_t dissection_rounds(uint64_t n, uint64_t k) {
  uint64_t rounds = 0;
  for (uint64_t span = 1; span < n; span *= k) ++rounds;
  return rounds;
}

json to_json(const Game& g) {
  json roots = json::array();
  for (const auto& r : g.roots) roots.push_back(r.hex());
  json j = {{"id", g.id},
            {"batch", g.batch},
            {"proposer", to_checksum(g.proposer)},
            {"challenger", to_checksum(g.challenger)},
            {"steps", g.steps},
            {"span", g.span},
            {"rounds", g.rounds},
            {"degree", g.degree},
            {"segment", {{"from", g.a}, {"to", g.b}, {"fromRoot", g.root_a.hex()}, {"toRoot", g.root_b.hex()}}},
            {"pendingRoots", roots},
            {"turn", g.status == GameStatus::kOpen ? to_string(g.turn) : "none"},
            {"mover", g.status == GameStatus::kOpen ? json(to_checksum(g.mover())) : json(nullptr)},
            {"status", to_string(g.status)},
            {"clocks", {{"proposer", g.proposer_left}, {"challenger", g.challenger_left}}},
            {"turnStarted", g.turn_started},
            {"moves", g.moves},
            {"started", g.started}};
  if (g.status != GameStatus::kOpen) {
    j["ended"] = g.ended;
    j["endReason"] = g.end_reason;
    j["winner"] = g.status == GameStatus::kChallengerWon ? to_checksum(g.challenger)
                  : g.status == GameStatus::kProposerWon ? to_checksum(g.proposer)
                                                         : "";
  }
  return j;
}

GameModule::GameModule(GameConfig config) : config_(std::move(config)) {}

l1::L1Config rollup_config(const Genesis& genesis, l1::L1Config base) {
  base.genesis_root = Hash32::from(genesis.root());
  base.l2_genesis = genesis_to_json(genesis);
  base.rollup_address = genesis.params.rollup_address;
  base.l2_chain_id = genesis.params.chain_id;
  return base;
}

Result<Genesis, std::string> genesis_of(const l1::L1Config& config) {
  if (config.l2_genesis.is_null()) return err(std::string("the L1 config has no l2Genesis"));
  auto g = genesis_from_json(config.l2_genesis);
  if (!g) return err(g.error());
  if (Hash32::from(g->root()) != config.genesis_root)
    return err("l2Genesis builds root " + g->root().hex() + ", not the genesis root " + config.genesis_root.hex());
  return std::move(*g);
}

Result<const Params*, Refusal> GameModule::params(L1Context& ctx) {
  if (!config_.l2) {
    auto g = genesis_of(ctx.config());
    if (!g) return refuse(GameRefusal::kNoL2Genesis, g.error());
    config_.l2 = g->params;
  }
  return &*config_.l2;
}

std::vector<l1::ActionDef> GameModule::actions() {
  auto bind = [this](auto method) {
    return [this, method](L1Context& ctx, const Action& a) { return (this->*method)(ctx, a); };
  };
  return {
      {challenge_spec(), bind(&GameModule::challenge)}, {dissect_spec(), bind(&GameModule::dissect)},
      {choose_spec(), bind(&GameModule::choose)},       {prove_step_spec(), bind(&GameModule::prove_step)},
      {timeout_spec(), bind(&GameModule::timeout)},
  };
}

l1::DisputeState GameModule::dispute_state(uint64_t batch) const {
  std::lock_guard lock(mu_);
  l1::DisputeState s = l1::DisputeState::kNone;
  auto [lo, hi] = by_batch_.equal_range(batch);
  for (auto it = lo; it != hi; ++it) {
    const Game& g = games_[it->second];
    if (g.status == GameStatus::kChallengerWon) return l1::DisputeState::kChallengerWon;
    if (g.status == GameStatus::kOpen) s = l1::DisputeState::kOpen;
  }
  return s;
}

void GameModule::snapshot_for_undo(L1Context& ctx) {
  // Games are few and small: restoring a copy is the simplest correct undo.
  auto games = games_;
  auto by_batch = by_batch_;
  ctx.on_undo([this, games = std::move(games), by_batch = std::move(by_batch)]() mutable {
    std::lock_guard lock(mu_);
    games_ = std::move(games);
    by_batch_ = std::move(by_batch);
  });
}

Result<Game*, Refusal> GameModule::open_game(uint64_t id) {
  if (id >= games_.size()) return refuse(GameRefusal::kUnknownGame, "no game " + std::to_string(id));
  Game& g = games_[id];
  if (g.status != GameStatus::kOpen) return refuse(GameRefusal::kGameOver, "game " + std::to_string(id) + " has ended");
  return &g;
}

Status<Refusal> GameModule::charge_clock(L1Context& ctx, Game& g) {
  uint64_t elapsed = ctx.now() - g.turn_started;
  uint64_t& left = g.turn == Turn::kDissect ? g.proposer_left : g.challenger_left;
  if (elapsed > left) return refuse(GameRefusal::kClockExpired, "the mover's clock ran out; the game ends by timeout");
  left -= elapsed;
  g.turn_started = ctx.now();
  // The side that moves next keeps at least the extension, however late this move came.
  uint64_t& other = g.turn == Turn::kDissect ? g.challenger_left : g.proposer_left;
  other = std::max(other, ctx.config().clock_extension_seconds);
  return {};
}

Status<Refusal> GameModule::finish(L1Context& ctx, Game& g, GameStatus outcome, const std::string& reason) {
  const l1::L1Config& cfg = ctx.config();
  const uint64_t bond = cfg.challenge_bond;
  if (outcome == GameStatus::kChallengerWon) {
    // The batch and everything after it go; the proposer pays, the challenger is rewarded.
    if (auto s = ctx.remove_batches_from(g.batch); !s) return s;
    uint64_t slash = std::min(ctx.account(g.proposer).stake, cfg.min_proposer_stake);
    uint64_t reward = static_cast<uint64_t>(static_cast<u128>(slash) * config_.reward_share_ppm / 1'000'000);
    if (auto s = ctx.slash_stake(g.proposer, reward, g.challenger); !s) return s;
    if (auto s = ctx.slash_stake(g.proposer, slash - reward, std::nullopt); !s) return s;
    if (auto s = ctx.unlock_bond(g.challenger, bond); !s) return s;
    ctx.emit("stake_slashed", {{"proposer", to_checksum(g.proposer)},
                               {"amount", std::to_string(slash)},
                               {"toChallenger", std::to_string(reward)},
                               {"game", g.id}});
    // Other games on the removed batches are moot: they end, their bonds go back.
    for (Game& o : games_) {
      if (o.id == g.id || o.status != GameStatus::kOpen || o.batch < g.batch) continue;
      if (auto s = ctx.unlock_bond(o.challenger, bond); !s) return s;
      o.status = GameStatus::kCancelled;
      o.ended = ctx.now();
      o.end_reason = "batch_removed";
      ctx.emit("game_ended", {{"game", o.id},
                              {"batch", o.batch},
                              {"status", to_string(o.status)},
                              {"reason", o.end_reason},
                              {"moves", o.moves}});
    }
  } else if (outcome == GameStatus::kProposerWon) {
    uint64_t reward = static_cast<uint64_t>(static_cast<u128>(bond) * config_.reward_share_ppm / 1'000'000);
    if (auto s = ctx.slash_locked(g.challenger, reward, g.proposer); !s) return s;
    if (auto s = ctx.slash_locked(g.challenger, bond - reward, std::nullopt); !s) return s;
    ctx.emit("bond_slashed", {{"challenger", to_checksum(g.challenger)},
                              {"amount", std::to_string(bond)},
                              {"toProposer", std::to_string(reward)},
                              {"game", g.id}});
  }
  g.status = outcome;
  g.ended = ctx.now();
  g.end_reason = reason;
  ctx.emit("game_ended", {{"game", g.id},
                          {"batch", g.batch},
                          {"status", to_string(outcome)},
                          {"reason", reason},
                          {"moves", g.moves},
                          {"winner", to_checksum(outcome == GameStatus::kChallengerWon ? g.challenger : g.proposer)}});
  return {};
}

Result<json, Refusal> GameModule::challenge(L1Context& ctx, const Action& a) {
  std::lock_guard lock(mu_);
  const uint64_t index = a.u64("batch");
  const l1::BatchRecord* b = ctx.batch(index);
  if (!b) return refuse(l1::RefusalCode::kUnknownBatch, "no batch " + std::to_string(index));
  if (b->status == l1::BatchStatus::kRemoved) return refuse(l1::RefusalCode::kRemovedBatch, "the batch was removed");
  if (b->status == l1::BatchStatus::kFinal || ctx.is_final(index))
    return refuse(GameRefusal::kBatchFinal, "the batch is final");
  if (a.sender() == b->proposer)
    return refuse(GameRefusal::kSelfChallenge, "a proposer cannot challenge its own batch");
  if (b->step_count() == 0) return refuse(GameRefusal::kNothingToDispute, "the batch has no steps");
  auto [lo, hi] = by_batch_.equal_range(index);
  for (auto it = lo; it != hi; ++it) {
    const Game& o = games_[it->second];
    if (o.status == GameStatus::kOpen && o.challenger == a.sender())
      return refuse(GameRefusal::kAlreadyChallenging, "this challenger already has an open game on the batch");
  }
  if (auto s = ctx.lock_bond(a.sender(), ctx.config().challenge_bond); !s) return err(s.error());

  snapshot_for_undo(ctx);
  Game g;
  g.id = games_.size();
  g.batch = index;
  g.proposer = b->proposer;
  g.challenger = a.sender();
  g.steps = b->step_count();
  g.degree = ctx.config().dissection_degree;
  g.rounds = dissection_rounds(g.steps, g.degree);
  g.span = 1;
  for (uint64_t i = 0; i < g.rounds; ++i) g.span *= g.degree;
  g.a = 0;
  g.b = g.span;
  g.root_a = b->prev_root;
  g.root_b = b->post_root;
  g.turn = g.span == 1 ? Turn::kProve : Turn::kDissect;
  g.proposer_left = g.challenger_left = ctx.config().clock_seconds;
  g.turn_started = g.started = ctx.now();
  games_.push_back(g);
  by_batch_.emplace(index, g.id);
  ctx.emit("game_started", {{"game", g.id},
                            {"batch", index},
                            {"proposer", to_checksum(g.proposer)},
                            {"challenger", to_checksum(g.challenger)},
                            {"steps", g.steps},
                            {"span", g.span},
                            {"rounds", g.rounds},
                            {"degree", g.degree},
                            {"fromRoot", g.root_a.hex()},
                            {"toRoot", g.root_b.hex()},
                            {"turn", to_string(g.turn)}});
  return json{{"game", g.id}, {"span", g.span}, {"rounds", g.rounds}};
}

Result<json, Refusal> GameModule::dissect(L1Context& ctx, const Action& a) {
  std::lock_guard lock(mu_);
  auto gp = open_game(a.u64("game"));
  if (!gp) return err(gp.error());
  Game g = **gp;  // work on a copy; commit after every check
  if (g.turn != Turn::kDissect) return refuse(GameRefusal::kNotYourTurn, "the game is not waiting for a dissection");
  if (a.sender() != g.proposer) return refuse(GameRefusal::kNotYourTurn, "only the proposer dissects");
  const auto& roots = a.b32s("roots");
  if (roots.size() != g.degree - 1)
    return refuse(GameRefusal::kBadDissection,
                  "expected " + std::to_string(g.degree - 1) + " roots, got " + std::to_string(roots.size()));
  if (auto s = charge_clock(ctx, g); !s) return err(s.error());
  g.roots = roots;
  g.turn = Turn::kChoose;
  snapshot_for_undo(ctx);
  **gp = g;
  json rs = json::array();
  for (const auto& r : roots) rs.push_back(r.hex());
  ctx.emit("game_dissected", {{"game", g.id},
                              {"from", g.a},
                              {"to", g.b},
                              {"roots", rs},
                              {"proposerClock", g.proposer_left},
                              {"challengerClock", g.challenger_left}});
  return json{{"game", g.id}};
}

Result<json, Refusal> GameModule::choose(L1Context& ctx, const Action& a) {
  std::lock_guard lock(mu_);
  auto gp = open_game(a.u64("game"));
  if (!gp) return err(gp.error());
  Game g = **gp;
  if (g.turn != Turn::kChoose) return refuse(GameRefusal::kNotYourTurn, "the game is not waiting for a choice");
  if (a.sender() != g.challenger) return refuse(GameRefusal::kNotYourTurn, "only the challenger chooses");
  const uint64_t part = a.u64("part");
  if (part >= g.degree) return refuse(GameRefusal::kBadChoice, "part must be below " + std::to_string(g.degree));
  if (auto s = charge_clock(ctx, g); !s) return err(s.error());
  const uint64_t len = (g.b - g.a) / g.degree;
  Hash32 new_a = part == 0 ? g.root_a : g.roots[part - 1];
  Hash32 new_b = part + 1 == g.degree ? g.root_b : g.roots[part];
  g.a += part * len;
  g.b = g.a + len;
  g.root_a = new_a;
  g.root_b = new_b;
  g.roots.clear();
  g.moves++;
  g.turn = len == 1 ? Turn::kProve : Turn::kDissect;
  snapshot_for_undo(ctx);
  **gp = g;
  ctx.emit("game_chosen", {{"game", g.id},
                           {"part", part},
                           {"from", g.a},
                           {"to", g.b},
                           {"fromRoot", g.root_a.hex()},
                           {"toRoot", g.root_b.hex()},
                           {"turn", to_string(g.turn)},
                           {"moves", g.moves},
                           {"proposerClock", g.proposer_left},
                           {"challengerClock", g.challenger_left}});
  return json{{"game", g.id}, {"from", g.a}, {"to", g.b}};
}

Result<json, Refusal> GameModule::prove_step(L1Context& ctx, const Action& a) {
  std::lock_guard lock(mu_);
  auto gp = open_game(a.u64("game"));
  if (!gp) return err(gp.error());
  Game g = **gp;
  if (g.turn != Turn::kProve) return refuse(GameRefusal::kNotYourTurn, "the game is not at a single step yet");
  if (a.sender() != g.challenger) return refuse(GameRefusal::kNotYourTurn, "only the challenger proves the step");
  if (a.u64("step") != g.a) return refuse(GameRefusal::kWrongStep, "the disputed step is " + std::to_string(g.a));
  const l1::BatchRecord* b = ctx.batch(g.batch);
  if (!b) return refuse(l1::RefusalCode::kUnknownBatch, "the game's batch is gone");
  StepFacts facts{b->inbox_to - b->inbox_from, b->tx_count, b->tx_data_root, b->l2_timestamp};
  const uint64_t batch = g.batch;
  auto inbox = [&ctx, batch](uint64_t step) -> std::optional<Bytes> {
    auto in = ctx.step_input(batch, step);
    if (!in) return std::nullopt;
    return std::move(*in);
  };
  auto params = this->params(ctx);
  if (!params) return err(params.error());
  auto computed = referee_step(**params, facts, g.a, StateRoot::from(g.root_a), a.data, inbox);
  // A proof that cannot be checked changes nothing: the challenger may try again within its clock.
  if (!computed) return l1::refuse_extension(to_string(computed.error()), "the one-step proof was refused");
  if (auto s = charge_clock(ctx, g); !s) return err(s.error());
  g.moves++;
  const bool proposer_wrong = Hash32::from(*computed) != g.root_b;
  snapshot_for_undo(ctx);
  ctx.emit("game_step_proved", {{"game", g.id},
                                {"step", g.a},
                                {"computedRoot", computed->hex()},
                                {"claimedRoot", g.root_b.hex()},
                                {"moves", g.moves}});
  if (auto s = finish(ctx, g, proposer_wrong ? GameStatus::kChallengerWon : GameStatus::kProposerWon, "step_proof"); !s)
    return err(s.error());
  **gp = g;
  return json{{"game", g.id}, {"status", to_string(g.status)}, {"computedRoot", computed->hex()}};
}

Result<json, Refusal> GameModule::timeout(L1Context& ctx, const Action& a) {
  std::lock_guard lock(mu_);
  auto gp = open_game(a.u64("game"));
  if (!gp) return err(gp.error());
  Game g = **gp;
  uint64_t left = g.turn == Turn::kDissect ? g.proposer_left : g.challenger_left;
  if (ctx.now() - g.turn_started <= left) return refuse(GameRefusal::kClockNotExpired, "the mover still has time");
  snapshot_for_undo(ctx);
  GameStatus outcome = g.turn == Turn::kDissect ? GameStatus::kChallengerWon : GameStatus::kProposerWon;
  if (auto s = finish(ctx, g, outcome, "timeout"); !s) return err(s.error());
  **gp = g;
  return json{{"game", g.id}, {"status", to_string(g.status)}};
}

void GameModule::on_block(L1Context& ctx) {
  std::lock_guard lock(mu_);
  bool snapshotted = false;
  for (Game& g : games_) {
    if (g.status != GameStatus::kOpen) continue;
    uint64_t left = g.turn == Turn::kDissect ? g.proposer_left : g.challenger_left;
    if (ctx.now() - g.turn_started <= left) continue;
    if (!snapshotted) {
      snapshot_for_undo(ctx);
      snapshotted = true;
    }
    Game copy = g;
    GameStatus outcome = g.turn == Turn::kDissect ? GameStatus::kChallengerWon : GameStatus::kProposerWon;
    if (finish(ctx, copy, outcome, "timeout")) g = copy;
  }
}

std::optional<Game> GameModule::game(uint64_t id) const {
  std::lock_guard lock(mu_);
  if (id >= games_.size()) return std::nullopt;
  return games_[id];
}

std::vector<Game> GameModule::games(uint64_t from, size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<Game> out;
  for (uint64_t i = from; i < games_.size() && out.size() < limit; ++i) out.push_back(games_[i]);
  return out;
}

std::vector<Game> GameModule::games_of_batch(uint64_t batch) const {
  std::lock_guard lock(mu_);
  std::vector<Game> out;
  auto [lo, hi] = by_batch_.equal_range(batch);
  for (auto it = lo; it != hi; ++it) out.push_back(games_[it->second]);
  return out;
}

size_t GameModule::game_count() const {
  std::lock_guard lock(mu_);
  return games_.size();
}

Result<std::vector<Game>, std::string> replay_games(const std::vector<l1::Event>& events, const l1::L1Config& l1) {
  std::vector<Game> games;
  auto get = [&](const json& f) -> Result<Game*, std::string> {
    uint64_t id = f.at("game").get<uint64_t>();
    if (id >= games.size()) return err("event for unknown game " + std::to_string(id));
    return &games[id];
  };
  try {
    for (const auto& e : events) {
      const json& f = e.fields;
      if (e.type == "game_started") {
        Game g;
        g.id = f.at("game");
        if (g.id != games.size()) return err(std::string("game ids out of order"));
        g.batch = f.at("batch");
        g.proposer = *parse_address(f.at("proposer").get<std::string>());
        g.challenger = *parse_address(f.at("challenger").get<std::string>());
        g.steps = f.at("steps");
        g.degree = f.at("degree");
        g.rounds = dissection_rounds(g.steps, g.degree);
        if (g.rounds != f.at("rounds").get<uint64_t>()) return err(std::string("rounds do not follow from steps"));
        g.span = f.at("span");
        g.a = 0;
        g.b = g.span;
        g.root_a = *Hash32::from_hex(f.at("fromRoot").get<std::string>());
        g.root_b = *Hash32::from_hex(f.at("toRoot").get<std::string>());
        g.turn = g.span == 1 ? Turn::kProve : Turn::kDissect;
        g.proposer_left = g.challenger_left = l1.clock_seconds;
        g.started = g.turn_started = e.block;  // block numbers stand in for time here
        games.push_back(g);
      } else if (e.type == "game_dissected") {
        auto g = get(f);
        if (!g) return err(g.error());
        if ((*g)->turn != Turn::kDissect || (*g)->status != GameStatus::kOpen)
          return err(std::string("dissection out of turn"));
        if (f.at("from").get<uint64_t>() != (*g)->a || f.at("to").get<uint64_t>() != (*g)->b)
          return err(std::string("dissection of another segment"));
        (*g)->roots.clear();
        for (const auto& r : f.at("roots")) (*g)->roots.push_back(*Hash32::from_hex(r.get<std::string>()));
        if ((*g)->roots.size() != (*g)->degree - 1) return err(std::string("wrong number of roots"));
        (*g)->turn = Turn::kChoose;
      } else if (e.type == "game_chosen") {
        auto g = get(f);
        if (!g) return err(g.error());
        Game& x = **g;
        if (x.turn != Turn::kChoose || x.status != GameStatus::kOpen) return err(std::string("choice out of turn"));
        uint64_t part = f.at("part");
        uint64_t len = (x.b - x.a) / x.degree;
        Hash32 na = part == 0 ? x.root_a : x.roots.at(part - 1);
        Hash32 nb = part + 1 == x.degree ? x.root_b : x.roots.at(part);
        x.a += part * len;
        x.b = x.a + len;
        x.root_a = na;
        x.root_b = nb;
        x.roots.clear();
        x.moves++;
        x.turn = len == 1 ? Turn::kProve : Turn::kDissect;
        if (f.at("from").get<uint64_t>() != x.a || f.at("toRoot").get<std::string>() != x.root_b.hex())
          return err(std::string("choice does not follow from the dissection"));
      } else if (e.type == "game_step_proved") {
        auto g = get(f);
        if (!g) return err(g.error());
        Game& x = **g;
        if (x.turn != Turn::kProve || f.at("step").get<uint64_t>() != x.a)
          return err(std::string("proof of another step"));
        if (f.at("claimedRoot").get<std::string>() != x.root_b.hex())
          return err(std::string("proof against another claim"));
        x.moves++;
        // The verdict must follow from the published roots: the challenger wins iff they differ.
        bool differs = f.at("computedRoot").get<std::string>() != x.root_b.hex();
        x.status = differs ? GameStatus::kChallengerWon : GameStatus::kProposerWon;
      } else if (e.type == "game_ended") {
        auto g = get(f);
        if (!g) return err(g.error());
        Game& x = **g;
        std::string status = f.at("status");
        std::string reason = f.at("reason");
        if (reason == "step_proof" && status != to_string(x.status))
          return err(std::string("verdict contradicts the proof"));
        if (reason == "timeout") {
          GameStatus expect = x.turn == Turn::kDissect ? GameStatus::kChallengerWon : GameStatus::kProposerWon;
          if (status != to_string(expect)) return err(std::string("timeout verdict against the wrong side"));
          x.status = expect;
        }
        if (reason == "batch_removed") x.status = GameStatus::kCancelled;
        x.end_reason = reason;
        x.ended = e.block;
      }
    }
  } catch (const std::exception& ex) {
    return err(std::string("malformed game event: ") + ex.what());
  }
  return games;
}

}  // namespace opt::fp
