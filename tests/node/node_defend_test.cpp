// The sequencer node defends its honest batches: a malicious challenger disputes a correct root, and the
// node's defender answers every dissection with the roots after each step, which the node computes only
// when a game asks for them (it takes no root between steps while sequencing). Wrong roots there would
// lose the game and the proposer's stake; the one-step proof at the end checks them against apply().
#include <doctest/doctest.h>

#include "engine/stf/batch.h"
#include "fraudproof/agent.h"
#include "fraudproof/sim/strategies.h"
#include "tests/node/node_fixture.h"

using namespace opt;
using namespace opt::node::test;
using namespace std::chrono_literals;

TEST_CASE("the node wins a game on its correct batch, with step roots computed on demand") {
  NodeFixture f;
  // Trades and a withdrawal on top of the fixture's deposits and price reports: several steps in a batch.
  for (uint64_t n = 1; n <= 3; ++n) {
    auto ask = f.node().submit_order(f.signed_order(0, f.order(0, 1, false, kContract, 100 * kUsdc, n)));
    REQUIRE(ask.ok());
    auto bid = f.node().submit_order(f.signed_order(1, f.order(1, 1, true, kContract, 100 * kUsdc, n)));
    REQUIRE(bid.ok());
  }
  NodeFixture::wait_for(
      [&] {
        auto s = f.node().stats();
        return s.pending_txs == 0 && s.batches_closed > 0 && s.batches_posted == s.batches_closed;
      },
      "every closed batch is posted");

  // The batch with the most steps is the target.
  auto head = f.port().head();
  REQUIRE(head.ok());
  uint64_t target = 0, steps = 0;
  for (uint64_t i = 0; i < head->next_batch_index; ++i) {
    auto rec = f.port().batch(i);
    REQUIRE(rec.ok());
    const uint64_t n = rec->step_count();
    if (n > steps) {
      steps = n;
      target = i;
    }
  }
  INFO("target batch " << target << " with " << steps << " steps");
  REQUIRE(steps >= 4);

  fp::ChallengerOptions co;
  co.key = dev_key(devnet::kChallenger);
  co.genesis = f.genesis();
  co.strategy = fp::make_strategy(fp::Behaviour::kMalicious, 1, target);
  auto challenger = fp::Challenger::open(co, f.port());
  REQUIRE(challenger.ok());

  std::optional<fp::Game> game;
  NodeFixture::wait_for(
      [&] {
        (void)(*challenger)->poll();
        auto games = f.port().games_of_batch(target);
        if (!games.ok() || games->empty()) return false;
        game = games->front();
        return game->status != fp::GameStatus::kOpen;
      },
      "the game on the target batch ends");
  REQUIRE(game);
  CHECK(game->status == fp::GameStatus::kProposerWon);
  CHECK(game->end_reason == "step_proof");
  // ceil(log_k P) dissections and the step proof: the defender answered every round.
  CHECK(game->moves == game->rounds + 1);
  auto rec = f.port().batch(target);
  REQUIRE(rec.ok());
  CHECK(rec->status != l1::BatchStatus::kRemoved);
  // The agent learns the outcome from the L1's events on its next round.
  NodeFixture::wait_for(
      [&] {
        (void)(*challenger)->poll();
        return (*challenger)->metrics().games_lost == 1;
      },
      "the malicious challenger counts its game lost");
  CHECK((*challenger)->metrics().games_won == 0);

  // Every root the node's defender posted is the honest root at its position: the L1's batches re-executed
  // here from the genesis state, independently of the node.
  FullState state;
  REQUIRE(f.genesis().build(state).ok());
  std::vector<Hash32> honest;
  for (uint64_t i = 0; i <= target; ++i) {
    auto b = f.port().batch(i);
    REQUIRE(b.ok());
    std::vector<Bytes> inputs;
    for (uint64_t s = 0; s < b->step_count(); ++s) {
      auto in = f.chain().step_input(i, s);
      REQUIRE(in.ok());
      inputs.push_back(*in);
    }
    const Hash32 start = Hash32::from(state.root());
    auto roots = intermediate_roots(f.genesis().params, b->l2_timestamp, inputs, b->inbox_to - b->inbox_from, state);
    REQUIRE(roots.ok());
    if (i == target) {
      honest.push_back(start);
      for (const auto& r : *roots) honest.push_back(Hash32::from(r));
    }
  }
  REQUIRE(honest.size() == steps + 1);
  size_t dissections = 0;
  for (uint64_t from = 0;;) {
    auto page = f.port().events(from);
    REQUIRE(page.ok());
    for (const auto& e : page->events) {
      if (e.type != "game_dissected" || e.fields.at("game").get<uint64_t>() != game->id) continue;
      const uint64_t a = e.fields.at("from"), b = e.fields.at("to");
      const auto& posted = e.fields.at("roots");
      REQUIRE(posted.size() == game->degree - 1);
      for (uint64_t j = 1; j < game->degree; ++j) {
        const uint64_t pos = std::min<uint64_t>(a + j * ((b - a) / game->degree), steps);
        INFO("dissection of [" << a << ", " << b << "], root at step " << pos);
        CHECK(posted[j - 1].get<std::string>() == honest[pos].hex());
      }
      ++dissections;
    }
    if (!page->more) break;
    from = page->next;
  }
  CHECK(dissections == game->rounds);
}
