#include "fraudproof/agent.h"

#include <algorithm>
#include <set>

#include "engine/common/sqlite.h"
#include "engine/stf/batch.h"
#include "fraudproof/proof.h"

namespace opt::fp {

namespace {

std::string short_hex(const Hash32& h) {
  return h.hex().substr(0, 12);
}

l1::Action game_action(const l1::ActionSpec& spec, uint64_t game) {
  l1::Action a(spec);
  a.set("game", game);
  return a;
}

}  // namespace

PortResult<std::vector<Bytes>> batch_steps(L1Port& l1, const l1::BatchRecord& b) {
  std::vector<Bytes> steps;
  uint64_t from = b.inbox_from;
  while (from < b.inbox_to) {
    auto msgs = l1.inbox(from, static_cast<size_t>(std::min<uint64_t>(b.inbox_to - from, 1000)));
    if (!msgs) return err(msgs.error());
    if (msgs->empty()) return err(PortError{"inbox_short", "the L1 inbox ends before the batch's range"});
    for (auto& m : *msgs) {
      if (m.index >= b.inbox_to) break;
      steps.push_back(std::move(m.l2_tx));
      from = m.index + 1;
    }
  }
  auto frames = l1.frames(b.index);
  if (!frames) return err(frames.error());
  for (auto& f : *frames) steps.push_back(std::move(f));
  return steps;
}

// ---------------- Challenger ----------------

struct Challenger::Impl {
  ChallengerOptions opt;
  L1Port& l1;
  Address me;
  std::unique_ptr<db::Db> db;

  FullState state;  // the honest chain: genesis plus every batch this agent found correct
  StateRoot honest_root;
  std::map<uint64_t, size_t> marks;  // applied batch -> journal mark before it

  struct Dispute {
    uint64_t batch = 0;
    size_t mark = 0;            // journal mark before the batch (the state stays there)
    std::vector<Hash32> roots;  // honest roots H_0 (pre) .. H_N (post)
    std::vector<Bytes> steps;
    std::vector<Bytes> frames;
    StepFacts facts;
  };
  std::map<uint64_t, Dispute> disputes;  // wrong batches, by index
  std::map<uint64_t, uint64_t> games;    // my open games: id -> batch
  std::set<uint64_t> wanted;             // wrong batches still to challenge (kept until the challenge lands)

  uint64_t next_block = 0;  // event checkpoint: the first block not fully read
  uint64_t last_event_block = 0;
  int64_t last_event_index = -1;
  ChallengerMetrics m;

  Impl(ChallengerOptions o, L1Port& port) : opt(std::move(o)), l1(port) {
    if (!opt.strategy) opt.strategy = honest_strategy();
  }

  void log(const std::string& s) {
    if (opt.log) opt.log(s);
  }

  Status<std::string> persist_checkpoint() {
    if (!db) return {};
    if (auto s = db->put_meta("next_block", std::to_string(next_block)); !s) return s;
    if (auto s = db->put_meta("last_event", std::to_string(last_event_block) + ":" + std::to_string(last_event_index));
        !s)
      return s;
    return {};
  }
  Status<std::string> persist_game(uint64_t id, uint64_t batch, const std::string& status) {
    if (!db) return {};
    auto st = db->prepare(
        "INSERT INTO games (id, batch, status) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET status = ?3");
    if (!st) return err(st.error());
    return st->bind(1, id).bind(2, batch).bind(3, status).run();
  }
  Status<std::string> persist_verified(uint64_t batch, const Hash32& root) {
    if (!db) return {};
    auto st = db->prepare("INSERT OR REPLACE INTO verified (batch, post_root) VALUES (?1, ?2)");
    if (!st) return err(st.error());
    return st->bind(1, batch).bind(2, ByteView(root.view())).run();
  }
  Status<std::string> forget_verified_from(uint64_t batch) {
    if (!db) return {};
    auto st = db->prepare("DELETE FROM verified WHERE batch >= ?1");
    if (!st) return err(st.error());
    return st->bind(1, batch).run();
  }

  // Applies a batch on the honest chain if it continues it; records a dispute if its root is wrong.
  Status<std::string> on_batch(uint64_t index, bool catching_up) {
    auto b = l1.batch(index);
    if (!b) {
      log("batch " + std::to_string(index) + ": cannot read it (" + b.error().message + "), will retry");
      return err(std::string("retry"));
    }
    if (b->status == l1::BatchStatus::kRemoved || marks.count(index) || disputes.count(index)) return {};
    if (StateRoot::from(b->prev_root) != honest_root) {
      // It builds on a root this agent does not hold: a batch after a wrong one. It goes when that one does.
      return {};
    }
    auto steps = batch_steps(l1, *b);
    if (!steps) {
      log("batch " + std::to_string(index) + ": cannot read its data (" + steps.error().message + "), will retry");
      return err(std::string("retry"));
    }
    const size_t mark = state.mark();
    auto r = apply_steps(opt.genesis.params, b->l2_timestamp, *steps, b->inbox_to - b->inbox_from, state);
    if (!r) return err(std::string("executing batch ") + std::to_string(index) + ": " + to_string(r.error()));
    StateRoot post = state.root();
    bool correct = Hash32::from(post) == b->post_root;
    if (!catching_up) correct = opt.strategy->treat_as_correct(index, correct);
    if (correct) {
      marks[index] = mark;
      honest_root = post;
      m.batches_verified++;
      if (auto s = persist_verified(index, b->post_root); !s) return s;
      if (!catching_up)
        log("verified batch " + std::to_string(index) + ": " + std::to_string(steps->size()) + " steps, root " +
            short_hex(b->post_root) + " ok");
      return {};
    }
    // Wrong: keep the honest roots after every step for the game, and stay before the batch (the honest
    // chain continues from its pre root once it is removed).
    state.revert_to(mark);
    Dispute d;
    d.batch = index;
    d.mark = mark;
    d.steps = std::move(*steps);
    d.facts = StepFacts{b->inbox_to - b->inbox_from, b->tx_count, b->tx_data_root, b->l2_timestamp};
    auto frames = l1.frames(index);
    if (!frames) return err(std::string("retry"));
    d.frames = std::move(*frames);
    d.roots.push_back(b->prev_root);
    auto roots = intermediate_roots(opt.genesis.params, b->l2_timestamp, d.steps, d.facts.inbox_count, state);
    if (!roots) return err(std::string(to_string(roots.error())));
    for (const auto& rt : *roots) d.roots.push_back(Hash32::from(rt));
    state.revert_to(mark);
    m.batches_wrong++;
    log("batch " + std::to_string(index) + ": posted root " + short_hex(b->post_root) + " but execution gives " +
        short_hex(d.roots.back()) + opt.strategy->dispute_note() + ": challenging");
    disputes[index] = std::move(d);
    wanted.insert(index);
    return {};
  }

  void on_batch_removed(uint64_t index) {
    auto it = marks.lower_bound(index);
    if (it != marks.end()) {
      state.revert_to(it->second);
      // The honest tip is the pre root of the first removed batch we had applied.
      auto b = l1.batch(it->first);
      if (b) honest_root = StateRoot::from(b->prev_root);
      marks.erase(it, marks.end());
      (void)forget_verified_from(index);
      log("batch " + std::to_string(index) + " and later removed: back to root " +
          short_hex(Hash32::from(honest_root)));
    }
    for (auto d = disputes.lower_bound(index); d != disputes.end();) {
      wanted.erase(d->first);
      d = disputes.erase(d);
    }
  }

  Status<std::string> follow_events() {
    for (int pages = 0; pages < 100; ++pages) {
      auto page = l1.events(next_block);
      if (!page) {
        log("cannot read L1 events: " + page.error().message);
        return {};
      }
      for (const auto& e : page->events) {
        if (e.block < last_event_block ||
            (e.block == last_event_block && static_cast<int64_t>(e.index) <= last_event_index))
          continue;  // the open block is read again until it is sealed: skip what was handled
        if (e.type == "batch_posted") {
          auto s = on_batch(e.fields.at("index").get<uint64_t>(), false);
          if (!s) {
            if (s.error() == "retry") return {};  // read again from here next round
            return s;
          }
        } else if (e.type == "batch_removed") {
          on_batch_removed(e.fields.at("index").get<uint64_t>());
        } else if (e.type == "batch_finalized") {
          uint64_t index = e.fields.at("index");
          auto next = marks.upper_bound(index);
          if (next != marks.end()) state.forget_before(next->second);  // final batches are never reverted
        } else if (e.type == "game_started") {
          auto c = parse_address(e.fields.at("challenger").get<std::string>());
          if (c && *c == me) {
            uint64_t id = e.fields.at("game"), batch = e.fields.at("batch");
            if (!games.count(id)) {
              games[id] = batch;
              m.games_open++;
              if (auto s = persist_game(id, batch, "open"); !s) return s;
            }
            wanted.erase(batch);
          }
        }
        last_event_block = e.block;
        last_event_index = e.index;
      }
      next_block = page->next;
      if (auto s = persist_checkpoint(); !s) return s;
      if (!page->more) break;
    }
    return {};
  }

  void challenge_wanted(uint64_t now) {
    for (auto it = wanted.begin(); it != wanted.end();) {
      uint64_t index = *it;
      auto b = l1.batch(index);
      if (!b || b->status != l1::BatchStatus::kPending) {
        if (b && b->status == l1::BatchStatus::kFinal)
          log("batch " + std::to_string(index) + " became final before it could be challenged");
        it = wanted.erase(it);
        continue;
      }
      l1::Action a(challenge_spec());
      a.set("batch", index);
      auto r = l1.submit(opt.key, a);
      if (r) {
        uint64_t id = r->result.at("game");
        games[id] = index;
        m.games_open++;
        (void)persist_game(id, index, "open");
        log("challenged batch " + std::to_string(index) + ": game " + std::to_string(id) + " (" +
            std::to_string(r->result.at("rounds").get<uint64_t>()) + " rounds)");
        it = wanted.erase(it);
      } else {
        log("challenge of batch " + std::to_string(index) + " refused: " + r.error().code + " " + r.error().message);
        // Nothing left to challenge (final or removed), or this challenger already plays it.
        const std::string& code = r.error().code;
        if (code == to_string(GameRefusal::kBatchFinal) || code == to_string(l1::RefusalCode::kRemovedBatch) ||
            code == to_string(GameRefusal::kAlreadyChallenging))
          it = wanted.erase(it);
        else
          ++it;
      }
    }
    (void)now;
  }

  Hash32 honest_at(const Dispute& d, uint64_t position) const {
    return d.roots[std::min<uint64_t>(position, d.roots.size() - 1)];
  }

  // Rebuilds the honest state at step `step` of a disputed batch, builds the proof, and returns to the
  // batch's pre state.
  Bytes proof_for(Dispute& d, uint64_t step) {
    state.revert_to(d.mark);
    uint64_t upto = std::min<uint64_t>(step, d.steps.size());
    (void)apply_steps(opt.genesis.params, d.facts.l2_timestamp,
                      std::span<const Bytes>(d.steps.data(), static_cast<size_t>(upto)), d.facts.inbox_count, state);
    Bytes input = step < d.steps.size() ? d.steps[static_cast<size_t>(step)] : Bytes{};
    OneStepProof p = build_proof(opt.genesis.params, d.facts, step, state, input, d.frames);
    state.revert_to(d.mark);
    return p.encode();
  }

  void play(uint64_t now) {
    for (auto it = games.begin(); it != games.end();) {
      const uint64_t id = it->first;
      auto g = l1.game(id);
      if (!g || !*g) {
        ++it;
        continue;
      }
      const Game& game = **g;
      if (game.status != GameStatus::kOpen) {
        bool won = game.status == GameStatus::kChallengerWon;
        if (game.status != GameStatus::kCancelled) (won ? m.games_won : m.games_lost)++;
        m.games_open--;
        log("game " + std::to_string(id) + " on batch " + std::to_string(game.batch) + ": " + to_string(game.status) +
            " (" + game.end_reason + ", " + std::to_string(game.moves) + " moves)");
        (void)persist_game(id, game.batch, to_string(game.status));
        it = games.erase(it);
        continue;
      }
      ++it;
      const uint64_t elapsed = now > game.turn_started ? now - game.turn_started : 0;
      if (game.mover() != me) {
        // The proposer's turn: if its clock ran out, end the game.
        if (elapsed > game.proposer_left) {
          auto r = l1.submit(opt.key, game_action(timeout_spec(), id));
          if (r) log("game " + std::to_string(id) + ": proposer out of time, timeout claimed");
        }
        continue;
      }
      if (!opt.strategy->move_now(elapsed, game.challenger_left)) continue;
      auto d = disputes.find(game.batch);
      if (d == disputes.end()) {
        log("game " + std::to_string(id) + ": no record of batch " + std::to_string(game.batch) + " yet");
        continue;
      }
      if (game.turn == Turn::kChoose) {
        const uint64_t len = (game.b - game.a) / game.degree;
        uint64_t part = game.degree - 1;
        for (uint64_t j = 0; j < game.degree; ++j) {
          const Hash32& claimed_end = j + 1 < game.degree ? game.roots[j] : game.root_b;
          if (claimed_end != honest_at(d->second, game.a + (j + 1) * len)) {
            part = j;
            break;
          }
        }
        part = opt.strategy->choose_part(part, game.degree);
        l1::Action a = game_action(choose_spec(), id);
        a.set("part", part);
        auto r = l1.submit(opt.key, a);
        if (r) {
          m.moves++;
          log("game " + std::to_string(id) + ": chose part " + std::to_string(part) + " of [" + std::to_string(game.a) +
              ", " + std::to_string(game.b) + "] -> [" + std::to_string(game.a + part * len) + ", " +
              std::to_string(game.a + (part + 1) * len) + "]");
        } else {
          log("game " + std::to_string(id) + ": choice refused: " + r.error().code + " " + r.error().message);
        }
      } else if (game.turn == Turn::kProve) {
        l1::Action a(prove_step_spec());
        a.set("game", id);
        a.set("step", game.a);
        a.data = proof_for(d->second, game.a);
        size_t bytes = a.data.size();
        auto r = l1.submit(opt.key, a);
        if (r) {
          m.moves++;
          log("game " + std::to_string(id) + ": submitted the one-step proof for step " + std::to_string(game.a) +
              " (" + std::to_string(bytes) + " bytes): " + r->result.value("status", std::string("?")));
        } else {
          log("game " + std::to_string(id) + ": proof refused: " + r.error().code + " " + r.error().message);
        }
      }
    }
  }

  Status<std::string> open_db() {
    if (opt.db_path.empty()) return {};
    auto d = db::Db::open(opt.db_path, false);
    if (!d) return err(d.error());
    db = std::move(*d);
    for (const char* sql :
         {"CREATE TABLE IF NOT EXISTS games (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, status TEXT NOT NULL)",
          "CREATE TABLE IF NOT EXISTS verified (batch INTEGER PRIMARY KEY, post_root BLOB NOT NULL)"}) {
      if (auto s = db->exec(sql); !s) return s;
    }
    return {};
  }

  // After a restart: rebuild the honest state from the batches verified before (re-executing them from
  // the L1's data), then continue from the event checkpoint; open games resume.
  Status<std::string> restore() {
    if (!db) return {};
    if (auto who = db->meta("challenger"); who && *who != to_checksum(me))
      return err("database " + opt.db_path + " belongs to challenger " + *who);
    if (auto s = db->put_meta("challenger", to_checksum(me)); !s) return s;
    auto nb = db->meta("next_block");
    if (!nb) return {};
    next_block = std::stoull(*nb);
    if (auto le = db->meta("last_event")) {
      auto colon = le->find(':');
      last_event_block = std::stoull(le->substr(0, colon));
      last_event_index = std::stoll(le->substr(colon + 1));
    }
    std::vector<uint64_t> verified;
    {
      auto st = db->prepare("SELECT batch FROM verified ORDER BY batch");
      if (!st) return err(st.error());
      while (st->step()) verified.push_back(st->u64(0));
    }
    for (uint64_t index : verified) {
      auto s = on_batch(index, true);
      if (!s) return err("cannot rebuild batch " + std::to_string(index) + " after restart: " + s.error());
    }
    auto st = db->prepare("SELECT id, batch FROM games WHERE status = 'open'");
    if (!st) return err(st.error());
    while (st->step()) {
      games[st->u64(0)] = st->u64(1);
      m.games_open++;
    }
    // A wrong batch whose game is open: its dispute record is rebuilt from the L1's data.
    for (const auto& [id, batch] : games) {
      if (!disputes.count(batch)) (void)on_batch(batch, true);
      wanted.erase(batch);
    }
    log("resumed at L1 block " + std::to_string(next_block) + " with " + std::to_string(marks.size()) +
        " verified batches and " + std::to_string(games.size()) + " open games");
    return {};
  }
};

Result<std::unique_ptr<Challenger>, std::string> Challenger::open(ChallengerOptions options, L1Port& l1) {
  auto impl = std::make_unique<Impl>(std::move(options), l1);
  auto who = address_of(impl->opt.key);
  if (!who) return err(std::string("challenger key: ") + to_string(who.error()));
  impl->me = *who;
  impl->state.set_journaling(true);
  if (auto s = impl->opt.genesis.build(impl->state); !s) return err(std::string(to_string(s.error())));
  impl->honest_root = impl->state.root();
  auto cfg = l1.config();
  if (!cfg) return err("cannot read the L1 config: " + cfg.error().message);
  if (Hash32::from(impl->honest_root) != cfg->genesis_root)
    return err("the L1's genesis root " + cfg->genesis_root.hex() + " is not this genesis (" + impl->honest_root.hex() +
               ")");
  if (auto s = impl->open_db(); !s) return err(s.error());
  if (auto s = impl->restore(); !s) return err(s.error());
  return std::unique_ptr<Challenger>(new Challenger(std::move(impl)));
}

Challenger::Challenger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Challenger::~Challenger() = default;

Status<std::string> Challenger::poll() {
  Impl& s = *impl_;
  if (auto r = s.follow_events(); !r) return r;
  auto head = s.l1.head();
  if (!head) return {};
  s.m.checkpoint_block = s.next_block;
  s.challenge_wanted(head->timestamp);
  s.play(head->timestamp);
  return {};
}

ChallengerMetrics Challenger::metrics() const {
  return impl_->m;
}
const Address& Challenger::address() const {
  return impl_->me;
}
StateRoot Challenger::honest_root() const {
  return impl_->honest_root;
}

std::string Challenger::metrics_text() const {
  const ChallengerMetrics& m = impl_->m;
  std::string out;
  auto line = [&](const char* name, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name +
           (std::string(name).find("total") != std::string::npos ? " counter\n" : " gauge\n");
    out += std::string(name) + " " + std::to_string(v) + "\n";
  };
  line("optrollup_challenger_batches_verified_total", "Batches re-executed and found correct.", m.batches_verified);
  line("optrollup_challenger_batches_wrong_total", "Batches whose posted root differs from re-execution.",
       m.batches_wrong);
  line("optrollup_challenger_games_open", "Games this challenger is playing.", m.games_open);
  line("optrollup_challenger_games_won_total", "Games won.", m.games_won);
  line("optrollup_challenger_games_lost_total", "Games lost.", m.games_lost);
  line("optrollup_challenger_moves_total", "Game moves made.", m.moves);
  line("optrollup_challenger_checkpoint_block", "First L1 block not yet fully read.", m.checkpoint_block);
  return out;
}

// ---------------- Defender ----------------

Defender::Defender(PrivateKey key, L1Port& l1, RootsFn claimed_roots, std::function<void(const std::string&)> log,
                   std::shared_ptr<Strategy> strategy)
    : key_(key),
      address_(*address_of(key)),
      l1_(l1),
      roots_(std::move(claimed_roots)),
      log_(std::move(log)),
      strategy_(strategy ? std::move(strategy) : honest_strategy()) {}

Status<std::string> Defender::poll() {
  auto say = [&](const std::string& s) {
    if (log_) log_(s);
  };
  // Discover new games against this proposer.
  for (;;) {
    auto g = l1_.game(next_game_);
    if (!g || !*g) break;
    if ((*g)->proposer == address_) open_.push_back(next_game_);
    ++next_game_;
  }
  auto head = l1_.head();
  if (!head) return {};
  const uint64_t now = head->timestamp;
  for (auto it = open_.begin(); it != open_.end();) {
    auto g = l1_.game(*it);
    if (!g || !*g) {
      ++it;
      continue;
    }
    const Game& game = **g;
    if (game.status != GameStatus::kOpen) {
      say("game " + std::to_string(game.id) + " on batch " + std::to_string(game.batch) + ": " +
          to_string(game.status) + " (" + game.end_reason + ")");
      it = open_.erase(it);
      continue;
    }
    ++it;
    const uint64_t elapsed = now > game.turn_started ? now - game.turn_started : 0;
    if (game.mover() != address_) {
      if (elapsed > game.challenger_left) {
        auto r = l1_.submit(key_, game_action(timeout_spec(), game.id));
        if (r) say("game " + std::to_string(game.id) + ": challenger out of time, timeout claimed");
      }
      continue;
    }
    if (!strategy_->move_now(elapsed, game.proposer_left)) continue;
    auto roots = roots_(game.batch);
    if (!roots) {
      say("game " + std::to_string(game.id) + ": no roots for batch " + std::to_string(game.batch));
      continue;
    }
    const uint64_t len = (game.b - game.a) / game.degree;
    std::vector<Hash32> posted;
    for (uint64_t j = 1; j < game.degree; ++j)
      posted.push_back((*roots)[std::min<uint64_t>(game.a + j * len, roots->size() - 1)]);
    l1::Action a = game_action(dissect_spec(), game.id);
    a.set("roots", posted);
    auto r = l1_.submit(key_, a);
    if (r) {
      ++moves_;
      say("game " + std::to_string(game.id) + ": posted " + std::to_string(posted.size()) + " roots for [" +
          std::to_string(game.a) + ", " + std::to_string(game.b) + "]");
    } else {
      say("game " + std::to_string(game.id) + ": dissection refused: " + r.error().code + " " + r.error().message);
    }
  }
  return {};
}

}  // namespace opt::fp
