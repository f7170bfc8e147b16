// How the agents reach the L1 (fraudproof/l1_port.h): in process (LocalL1) or over the HTTP API
// (RemoteL1). The header promises both give the same answers; here one chain with batches, inbox
// messages and games in every state is served by the real L1Service on 127.0.0.1, and every read is
// compared between the two ports. The events page is checked for the rule the agents rely on: the open
// block is read again until it is sealed, so an event added to it after a read is not lost.
#include "bridge/wire.h"
#include "tests/fraudproof/fp_fixture.h"

namespace opt::fp::test {

namespace {

nlohmann::json events_json(const std::vector<l1::Event>& events) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& e : events) j.push_back(l1::event_to_json(e));
  return j;
}

// Reads every event from `from` the way the challenger does: page after page, re-reading the open block
// and skipping what was seen.
class Follower {
 public:
  explicit Follower(L1Port& port, uint64_t from = 0) : port_(port), next_(from) {}
  const std::vector<l1::Event>& seen() const { return seen_; }

  void poll() {
    for (int pages = 0; pages < 100; ++pages) {
      auto page = port_.events(next_);
      REQUIRE_MESSAGE(page.ok(), (page ? "" : page.error().message));
      for (const auto& e : page->events) {
        if (e.block < last_block_ || (e.block == last_block_ && static_cast<int64_t>(e.index) <= last_index_)) continue;
        seen_.push_back(e);
        last_block_ = e.block;
        last_index_ = e.index;
      }
      next_ = page->next;
      if (!page->more) break;
    }
  }

 private:
  L1Port& port_;
  uint64_t next_ = 0;
  uint64_t last_block_ = 0;
  int64_t last_index_ = -1;
  std::vector<l1::Event> seen_;
};

// The API shows no turn for a game that has ended ("turn": "none"), so RemoteL1 cannot know at which turn
// it ended; nothing depends on it.
Game comparable(Game g) {
  if (g.status != GameStatus::kOpen) g.turn = Turn::kDissect;
  return g;
}
std::vector<Game> comparable(std::vector<Game> gs) {
  for (auto& g : gs) g = comparable(g);
  return gs;
}

}  // namespace

TEST_CASE("RemoteL1 gives the same answers as LocalL1") {
  Fixture f(FpOptions{.serve = true});
  RemoteL1 remote(f.url());
  LocalL1& local = f.port();

  // History: batches (one wrong, one after it), inbox messages, and games open, won, lost and cancelled.
  Posted b0 = f.post_opening_batch();
  f.advance(1);
  f.deposit(2, 7 * kUsdc);
  f.forced_withdraw(3, 1 * kUsdc);
  f.advance(1);
  Posted right = f.post(f.mixed_txs(9));
  f.advance(1);
  Posted wrong = f.post(f.mixed_txs(12), 4);
  f.advance(1);
  Posted later = f.post(f.mixed_txs(3));
  const uint64_t lost = f.challenge_ok(3, right.index);
  const uint64_t cancelled = f.challenge_ok(2, later.index);
  const uint64_t won = f.challenge_ok(kChallenger, wrong.index);
  const uint64_t open = f.challenge_ok(1, b0.index);
  REQUIRE(f.dissect(kProposer, open, f.proposer_roots(f.game(open))).ok());
  Game g = f.game(lost);
  while (g.turn != Turn::kProve) {
    if (g.turn == Turn::kDissect)
      REQUIRE(f.dissect(kProposer, lost, f.proposer_roots(g)).ok());
    else
      REQUIRE(f.choose(3, lost, 0).ok());
    g = f.game(lost);
  }
  REQUIRE(f.prove(3, lost, g.a, f.honest_proof(right.index, g.a).encode()).ok());
  f.advance(1);
  f.play_to_step(won);
  REQUIRE(f.prove(kChallenger, won, f.game(won).a, f.honest_proof(wrong.index, f.game(won).a).encode()).ok());
  REQUIRE(f.game(cancelled).status == GameStatus::kCancelled);
  REQUIRE(f.game(open).status == GameStatus::kOpen);

  auto lc = local.config();
  auto rc = remote.config();
  REQUIRE((lc.ok() && rc.ok()));
  CHECK(*lc == *rc);
  CHECK(l1::head_to_json(*remote.head()) == l1::head_to_json(*local.head()));
  for (uint64_t i = 0; i <= later.index + 1; ++i) {
    CAPTURE(i);
    auto lb = local.batch(i);
    auto rb = remote.batch(i);
    REQUIRE(lb.ok() == rb.ok());
    if (!lb.ok()) continue;  // beyond the last batch (the codes differ: unknown_batch here, not_found from the API)
    CHECK(l1::batch_to_json(*rb) == l1::batch_to_json(*lb));
    CHECK(*remote.frames(i) == *local.frames(i));
    CHECK(*remote.frames(i) == f.batch(i).frames);
    // The games of each batch: the list the node shows beside a batch.
    auto lg = local.games_of_batch(i);
    auto rg = remote.games_of_batch(i);
    REQUIRE((lg.ok() && rg.ok()));
    CHECK(comparable(*rg) == comparable(*lg));
  }
  CHECK(remote.games_of_batch(wrong.index)->size() == 1);
  CHECK(remote.games_of_batch(right.index)->size() == 1);
  CHECK(remote.games_of_batch(b0.index)->size() == 1);
  for (uint64_t id = 0; id <= f.games().game_count(); ++id) {
    CAPTURE(id);
    auto lg = local.game(id);
    auto rg = remote.game(id);
    REQUIRE((lg.ok() && rg.ok()));
    REQUIRE(lg->has_value() == rg->has_value());
    if (lg->has_value()) CHECK(comparable(**rg) == comparable(**lg));
  }
  CHECK_FALSE(remote.game(f.games().game_count())->has_value());
  auto li = local.inbox(0, 100);
  auto ri = remote.inbox(0, 100);
  REQUIRE((li.ok() && ri.ok()));
  REQUIRE(li->size() == ri->size());
  for (size_t i = 0; i < li->size(); ++i) CHECK(l1::inbox_to_json((*ri)[i], {}) == l1::inbox_to_json((*li)[i], {}));
  for (size_t d = 0; d < 10; ++d) CHECK(*remote.account(dev_addr(d)) == *local.account(dev_addr(d)));

  // Events: followed from every starting block, both ports see the same log.
  const uint64_t head = local.head()->block;
  for (uint64_t from = 0; from <= head + 1; ++from) {
    CAPTURE(from);
    Follower lf(local, from), rf(remote, from);
    lf.poll();
    rf.poll();
    CHECK(events_json(rf.seen()) == events_json(lf.seen()));
  }
  // Submitting through either port: the same action result (sender and nonce filled in by the port).
  auto r = remote.submit(dev(4), l1::make_deposit({}, dev_addr(4), 3 * kUsdc, 0));
  REQUIRE(r.ok());
  auto l = local.submit(dev(4), l1::make_deposit({}, dev_addr(4), 3 * kUsdc, 0));
  REQUIRE(l.ok());
  CHECK(l->index == r->index + 1);
  CHECK(code_of(remote.submit(dev(3), l1::make_deposit({}, dev_addr(3), 0, 0))) ==
        code_of(local.submit(dev(3), l1::make_deposit({}, dev_addr(3), 0, 0))));
}

TEST_CASE("events: an event added to the open block after a read is seen on the next read") {
  Fixture f(FpOptions{.serve = true});
  RemoteL1 remote(f.url());
  for (L1Port* port : std::vector<L1Port*>{&f.port(), &remote}) {
    Follower follow(*port);
    f.deposit(0, 1 * kUsdc);  // an event in the open block
    follow.poll();
    const size_t seen = follow.seen().size();
    REQUIRE(seen > 0);
    const uint64_t open_block = f.chain().head().block;
    CHECK(follow.seen().back().block == open_block);
    // Same block (the clock has not moved): a batch is posted after the read.
    Posted b = f.post({f.report(devnet::kEth, 3000 * kUsdc)});
    REQUIRE(f.chain().head().block == open_block);
    follow.poll();
    REQUIRE(follow.seen().size() > seen);
    bool found = false;
    for (const auto& e : follow.seen())
      found |= e.type == "batch_posted" && e.fields.at("index").get<uint64_t>() == b.index;
    CHECK_MESSAGE(found, "the batch_posted event in the open block was missed");
    f.advance(2);
  }
}

}  // namespace opt::fp::test
