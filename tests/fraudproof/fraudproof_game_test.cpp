// The fraud-proof game's rules (docs/fraud-proofs.md, fraudproof/game.h) against a real in-process L1:
// batches executed by the real state machine and posted to an in-memory L1Chain with the GameModule, every
// move a signed action. Each refusal is checked to change nothing; each outcome is checked in the L1's
// ledgers, with the bond-token supply (free + staked + locked + burned) conserved after every action.
#include "tests/fraudproof/fp_fixture.h"

namespace opt::fp::test {

namespace {

// Everything a refused move could have changed.
struct Snapshot {
  Game game;
  l1::L1Account proposer, challenger;
  size_t games = 0;
  size_t events = 0;
  bool operator==(const Snapshot&) const = default;
};
Snapshot snapshot(Fixture& f, uint64_t id) {
  Game g = f.game(id);
  return Snapshot{g, f.chain().account(g.proposer), f.chain().account(g.challenger), f.games().game_count(),
                  f.chain().events(0, UINT64_MAX, SIZE_MAX).size()};
}

// A fixture with the opening batch (deposits and prices) and a second batch of `n` transactions preceded
// by a deposit and a forced withdrawal in the inbox; the proposer goes wrong after step `fault` of it.
Posted wrong_batch(Fixture& f, size_t n, std::optional<size_t> fault) {
  f.post_opening_batch();
  f.advance(2);
  f.deposit(1, 1'000 * kUsdc);
  f.forced_withdraw(2, 5 * kUsdc);
  f.advance(1);
  return f.post(f.mixed_txs(n), fault);
}

}  // namespace

TEST_CASE("Challenge: every refusal, and none changes anything") {
  Fixture f;
  Posted b0 = f.post_opening_batch();
  const l1::L1Account before = f.account(kChallenger);

  CHECK(code_of(f.challenge(kChallenger, 5)) == "unknown_batch");
  CHECK(code_of(f.challenge(kProposer, b0.index)) == "self_challenge");
  // An account without bond tokens cannot lock the bond.
  const PrivateKey pauper = PrivateKey::from(keccak256(std::string_view("a challenger without bond tokens")));
  CHECK(code_of(f.challenge(pauper, b0.index)) == "insufficient_funds");
  CHECK(f.chain().account(*address_of(pauper)).locked == 0);
  // A batch without steps keeps its root: nothing to dispute.
  f.advance(1);
  Posted empty = f.post({});
  REQUIRE(empty.steps.empty());
  CHECK(code_of(f.challenge(kChallenger, empty.index)) == "nothing_to_dispute");
  CHECK(f.games().game_count() == 0);
  CHECK(f.account(kChallenger) == before);

  // Accepted: the bond moves from free to locked.
  const uint64_t id = f.challenge_ok(kChallenger, b0.index);
  const uint64_t bond = f.config().challenge_bond;
  CHECK(f.account(kChallenger).bond == before.bond - bond);
  CHECK(f.account(kChallenger).locked == bond);
  Game g = f.game(id);
  CHECK(g.batch == b0.index);
  CHECK(g.steps == b0.steps.size());
  CHECK(g.root_a == b0.claimed.front());
  CHECK(g.root_b == b0.claimed.back());
  CHECK(g.turn == Turn::kDissect);
  CHECK(g.proposer_left == f.config().clock_seconds);
  CHECK(g.challenger_left == f.config().clock_seconds);

  // One open game per challenger and batch; another challenger may play its own.
  const Snapshot s = snapshot(f, id);
  CHECK(code_of(f.challenge(kChallenger, b0.index)) == "already_challenging");
  CHECK(snapshot(f, id) == s);
  CHECK(code_of(f.challenge(2, b0.index)) == "ok");
  CHECK(f.games().games_of_batch(b0.index).size() == 2);
}

TEST_CASE("Challenge: a final batch cannot be disputed") {
  Fixture f;
  Posted b0 = f.post_opening_batch();
  f.advance(f.config().challenge_period_seconds - 1);
  CHECK(f.chain().batch(b0.index)->status == l1::BatchStatus::kPending);
  f.advance(1);
  REQUIRE(f.chain().batch(b0.index)->status == l1::BatchStatus::kFinal);
  CHECK(code_of(f.challenge(kChallenger, b0.index)) == "batch_final");
  CHECK(f.games().game_count() == 0);
}

TEST_CASE("Dissect, Choose and ProveStep refuse moves out of turn or out of shape") {
  Fixture f(FpOptions{.degree = 4});
  Posted b = wrong_batch(f, 12, 6);
  const uint64_t id = f.challenge_ok(kChallenger, b.index);
  Game g = f.game(id);
  REQUIRE(g.span == 16);
  const Snapshot s0 = snapshot(f, id);

  // Dissect turn: the challenger may not move at all.
  CHECK(code_of(f.dissect(kChallenger, id, f.proposer_roots(g))) == "not_your_turn");
  CHECK(code_of(f.choose(kChallenger, id, 0)) == "not_your_turn");
  CHECK(code_of(f.prove(kChallenger, id, 0, f.honest_proof(b.index, 0).encode())) == "not_your_turn");
  // The proposer must post exactly k - 1 roots.
  std::vector<Hash32> roots = f.proposer_roots(g);
  CHECK(code_of(f.dissect(kProposer, id, {})) == "bad_dissection");
  CHECK(code_of(f.dissect(kProposer, id, {roots[0], roots[1]})) == "bad_dissection");
  CHECK(code_of(f.dissect(kProposer, id, {roots[0], roots[1], roots[2], roots[2]})) == "bad_dissection");
  CHECK(snapshot(f, id) == s0);
  REQUIRE(f.dissect(kProposer, id, roots).ok());

  // Choose turn.
  g = f.game(id);
  CHECK(g.turn == Turn::kChoose);
  CHECK(g.roots == roots);
  const Snapshot s1 = snapshot(f, id);
  CHECK(code_of(f.dissect(kProposer, id, roots)) == "not_your_turn");
  CHECK(code_of(f.choose(kProposer, id, 0)) == "not_your_turn");
  CHECK(code_of(f.choose(3, id, 0)) == "not_your_turn");  // a bystander
  CHECK(code_of(f.choose(kChallenger, id, 4)) == "bad_choice");
  CHECK(code_of(f.choose(kChallenger, id, 1000)) == "bad_choice");
  CHECK(code_of(f.prove(kChallenger, id, g.a, f.honest_proof(b.index, g.a).encode())) == "not_your_turn");
  CHECK(snapshot(f, id) == s1);
  const uint64_t part = f.honest_part(g);
  CHECK(part == 1);  // the fault is after step 6: in [4, 8)
  REQUIRE(f.choose(kChallenger, id, part).ok());
  g = f.game(id);
  CHECK(g.a == 4);
  CHECK(g.b == 8);
  CHECK(g.root_a == roots[0]);
  CHECK(g.root_b == roots[1]);
  CHECK(g.moves == 1);

  // To the single step; there only the challenger's proof of that very step is taken.
  f.play_to_step(id);
  g = f.game(id);
  REQUIRE(g.turn == Turn::kProve);
  CHECK(g.a == 6);
  CHECK(g.b == 7);
  const Bytes proof = f.honest_proof(b.index, g.a).encode();
  const Snapshot s2 = snapshot(f, id);
  CHECK(code_of(f.dissect(kProposer, id, f.proposer_roots(g))) == "not_your_turn");
  CHECK(code_of(f.choose(kChallenger, id, 0)) == "not_your_turn");
  CHECK(code_of(f.prove(kProposer, id, g.a, proof)) == "not_your_turn");
  CHECK(code_of(f.prove(kChallenger, id, g.a + 1, proof)) == "wrong_step");
  CHECK(code_of(f.prove(kChallenger, id, g.a - 1, f.honest_proof(b.index, g.a - 1).encode())) == "wrong_step");
  CHECK(snapshot(f, id) == s2);
  auto won = f.prove(kChallenger, id, g.a, proof);
  REQUIRE_MESSAGE(won.ok(), why(won));
  CHECK(won->result.at("status") == "challenger_won");

  // Over: every move is refused; an unknown game too.
  CHECK(code_of(f.dissect(kProposer, id, roots)) == "game_over");
  CHECK(code_of(f.prove(kChallenger, id, g.a, proof)) == "game_over");
  CHECK(code_of(f.timeout(kChallenger, id)) == "game_over");
  CHECK(code_of(f.choose(kChallenger, 99, 0)) == "unknown_game");
}

TEST_CASE("one-step proofs: refused proofs change nothing, the mover may retry within its clock") {
  Fixture f;
  // Steps of batch 1: [deposit, forced withdrawal] from the inbox, then trade, cancel, trade, ... The
  // proposer goes wrong at step 2, a trade: a sequencer transaction with its Merkle proof.
  Posted b = wrong_batch(f, 10, 2);
  REQUIRE(b.facts.inbox_count == 2);
  const uint64_t id = f.challenge_ok(kChallenger, b.index);
  f.play_to_step(id);
  Game g = f.game(id);
  REQUIRE(g.a == 2);
  REQUIRE(g.root_a == b.honest[2]);
  REQUIRE(g.root_b == b.claimed[3]);
  const OneStepProof honest = f.honest_proof(b.index, g.a);
  REQUIRE(!honest.tx.empty());
  REQUIRE(!honest.tx_proof.empty());
  const Snapshot s = snapshot(f, id);
  auto refused = [&](const Bytes& proof) {
    auto r = f.prove(kChallenger, id, g.a, proof);
    CHECK(snapshot(f, id) == s);
    return code_of(r);
  };

  // Bytes that do not decode.
  CHECK(refused({}) == "malformed_proof");
  CHECK(refused({1, 2, 3}) == "malformed_proof");
  Bytes enc = honest.encode();
  CHECK(refused(Bytes(enc.begin(), enc.end() - 1)) == "malformed_proof");
  Bytes longer = enc;
  longer.push_back(0);
  CHECK(refused(longer) == "malformed_proof");

  // The transaction must be the batch's transaction at that position.
  OneStepProof p = honest;
  p.tx[p.tx.size() / 2] ^= 1;
  CHECK(refused(p.encode()) == "bad_tx_proof");
  p = honest;
  p.tx_proof[0][0] ^= 0x80;
  CHECK(refused(p.encode()) == "bad_tx_proof");
  p = honest;
  p.tx = b.frames[1];  // another frame of the batch, with the siblings of this position
  CHECK(refused(p.encode()) == "bad_tx_proof");
  p = honest;
  p.tx_proof.pop_back();
  CHECK(refused(p.encode()) == "bad_tx_proof");

  // The witness must prove the agreed root R_a: one built after the step proves another root.
  const std::vector<SmtKey> keys = f.step_keys(b.index, g.a);
  Bytes other_root_witness;
  f.at_step(b.index, g.a + 1, [&](FullState& st, const Bytes&, const Posted&) {
    REQUIRE(Hash32::from(st.root()) != g.root_a);
    other_root_witness = st.tree().prove_many(keys);
  });
  p = honest;
  p.witness = other_root_witness;
  CHECK(refused(p.encode()) == "bad_witness");
  p = honest;
  p.witness[p.witness.size() / 2] ^= 1;
  CHECK(refused(p.encode()) == "bad_witness");

  // The witness must cover every key the step reads: the maker's account left out.
  const SmtKey maker = account_key(dev_addr(0));
  REQUIRE(std::find(keys.begin(), keys.end(), maker) != keys.end());
  std::vector<SmtKey> fewer;
  for (const auto& k : keys)
    if (k != maker) fewer.push_back(k);
  f.at_step(b.index, g.a, [&](FullState& st, const Bytes&, const Posted&) { p.witness = st.tree().prove_many(fewer); });
  p.tx = honest.tx;
  p.tx_proof = honest.tx_proof;
  CHECK(refused(p.encode()) == "incomplete_witness");

  // A proof of another step, even under the right step number of the action.
  CHECK(refused(f.honest_proof(b.index, g.a + 1).encode()) == "wrong_step");
  // No transaction may be supplied... for a sequencer step it must be there.
  p = honest;
  p.tx.clear();
  p.tx_proof.clear();
  CHECK(refused(p.encode()) == "bad_tx_proof");

  // Each refusal cost nothing; with time still on the clock the honest proof wins.
  f.advance(f.config().clock_seconds - 1);
  CHECK(f.game(id).status == GameStatus::kOpen);
  auto r = f.prove(kChallenger, id, g.a, enc);
  REQUIRE_MESSAGE(r.ok(), why(r));
  CHECK(r->result.at("status") == "challenger_won");
  CHECK(r->result.at("computedRoot") == b.honest[3].hex());
  g = f.game(id);
  CHECK(g.status == GameStatus::kChallengerWon);
  CHECK(g.end_reason == "step_proof");
}

TEST_CASE("one-step proofs: an inbox step's message comes from the L1, never from the prover") {
  Fixture f;
  Posted b = wrong_batch(f, 4, 0);  // wrong right after the inbox deposit (step 0)
  const uint64_t id = f.challenge_ok(kChallenger, b.index);
  f.play_to_step(id);
  Game g = f.game(id);
  REQUIRE(g.a == 0);
  const OneStepProof honest = f.honest_proof(b.index, 0);
  CHECK(honest.tx.empty());
  CHECK(honest.tx_proof.empty());
  const Snapshot s = snapshot(f, id);

  OneStepProof p = honest;
  p.tx = b.steps[0];  // the very deposit, supplied by the prover
  CHECK(code_of(f.prove(kChallenger, id, 0, p.encode())) == "unexpected_tx");
  p.tx = b.frames[0];
  p.tx_proof = tx_data_proof(b.frames, 0);  // a real frame with a valid proof of frame 0
  CHECK(code_of(f.prove(kChallenger, id, 0, p.encode())) == "unexpected_tx");
  p.tx.clear();
  CHECK(code_of(f.prove(kChallenger, id, 0, p.encode())) == "unexpected_tx");
  CHECK(snapshot(f, id) == s);

  auto r = f.prove(kChallenger, id, 0, honest.encode());
  REQUIRE_MESSAGE(r.ok(), why(r));
  CHECK(f.game(id).status == GameStatus::kChallengerWon);
}

TEST_CASE("padding: positions at or beyond N are no-op steps proven with an empty proof") {
  SUBCASE("a challenger that disputes a correct batch into the padding loses") {
    Fixture f;
    f.post_opening_batch();
    f.advance(1);
    Posted b = f.post(f.mixed_txs(5));  // 5 steps: padded to 8
    const uint64_t id = f.challenge_ok(3, b.index);
    Game g = f.game(id);
    REQUIRE(g.span == 8);
    REQUIRE(g.rounds == 3);
    while (g.turn != Turn::kProve) {
      if (g.turn == Turn::kDissect)
        REQUIRE(f.dissect(kProposer, id, f.proposer_roots(g)).ok());
      else
        REQUIRE(f.choose(3, id, g.degree - 1).ok());  // always the last part
      g = f.game(id);
    }
    REQUIRE(g.a == 7);
    CHECK(g.root_a == b.honest.back());
    CHECK(g.root_b == b.honest.back());
    // Nothing may be supplied for a padding step.
    OneStepProof p = f.honest_proof(b.index, 7);
    CHECK(p.encode() == OneStepProof{7, {}, {}, {}}.encode());
    OneStepProof stuffed = p;
    stuffed.witness = Bytes{0};
    CHECK(code_of(f.prove(3, id, 7, stuffed.encode())) == "unexpected_tx");
    stuffed = p;
    stuffed.tx = b.frames[0];
    CHECK(code_of(f.prove(3, id, 7, stuffed.encode())) == "unexpected_tx");
    auto r = f.prove(3, id, 7, p.encode());
    REQUIRE_MESSAGE(r.ok(), why(r));
    CHECK(r->result.at("computedRoot") == b.honest.back().hex());
    g = f.game(id);
    CHECK(g.status == GameStatus::kProposerWon);
    CHECK(g.moves == g.rounds + 1);
  }
  SUBCASE("a proposer that claims a change inside the padding loses") {
    Fixture f;
    f.post_opening_batch();
    f.advance(1);
    Posted b = f.post(f.mixed_txs(5));  // a correct batch...
    const uint64_t id = f.challenge_ok(kChallenger, b.index);
    // ...but in the game the proposer claims the root at position 6 (padding) differs from the post root.
    Hash32 bogus = keccak256(std::string_view("bogus"));
    REQUIRE(f.dissect(kProposer, id, {b.honest[4]}).ok());
    REQUIRE(f.choose(kChallenger, id, 1).ok());  // [4, 8]: its end is the (correct) post root
    REQUIRE(f.dissect(kProposer, id, {bogus}).ok());
    REQUIRE(f.choose(kChallenger, id, 0).ok());  // [4, 6]: ends at the bogus root
    REQUIRE(f.dissect(kProposer, id, {b.honest[5]}).ok());
    REQUIRE(f.choose(kChallenger, id, 1).ok());  // [5, 6]: from the post root to the bogus one
    Game g = f.game(id);
    REQUIRE(g.turn == Turn::kProve);
    REQUIRE(g.a == 5);
    auto r = f.prove(kChallenger, id, 5, OneStepProof{5, {}, {}, {}}.encode());
    REQUIRE_MESSAGE(r.ok(), why(r));
    CHECK(r->result.at("computedRoot") == b.honest.back().hex());
    CHECK(f.game(id).status == GameStatus::kChallengerWon);
    CHECK(f.chain().batch(b.index)->status == l1::BatchStatus::kRemoved);
  }
}

TEST_CASE("moves on the step-proof path: exactly ceil(log_k N) + 1, for k = 2, 4 and 16") {
  for (uint64_t k : {2u, 4u, 16u}) {
    for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{k}, size_t{k + 1}, size_t{17}, size_t{40}}) {
      for (int proposer_wrong = 0; proposer_wrong < 2; ++proposer_wrong) {
        CAPTURE(k);
        CAPTURE(n);
        CAPTURE(proposer_wrong);
        Fixture f(FpOptions{.degree = k});
        f.post_opening_batch();
        f.advance(1);
        // The fault lands at a different place for each size: first, middle or last step.
        std::optional<size_t> fault;
        if (proposer_wrong) fault = (n * 7 + k) % n;
        Posted b = f.post(f.mixed_txs(n), fault);
        REQUIRE(b.steps.size() == n);
        const size_t challenger = proposer_wrong ? kChallenger : 3;
        const uint64_t id = f.challenge_ok(challenger, b.index);
        Game g = f.game(id);
        const uint64_t rounds = expected_rounds(n, k);
        CHECK(g.rounds == rounds);
        uint64_t span = 1;
        for (uint64_t i = 0; i < rounds; ++i) span *= k;
        CHECK(g.span == span);
        uint64_t dissects = 0, chooses = 0;
        uint64_t pick = n;  // the disputing challenger's choices when the batch is right: varied
        while (g.turn != Turn::kProve) {
          if (g.turn == Turn::kDissect) {
            REQUIRE(f.dissect(kProposer, id, f.proposer_roots(g)).ok());
            ++dissects;
          } else {
            uint64_t part = proposer_wrong ? f.honest_part(g) : (pick = pick * 31 + 7) % k;
            REQUIRE(f.choose(challenger, id, part).ok());
            ++chooses;
          }
          g = f.game(id);
        }
        if (proposer_wrong) CHECK(g.a == *fault);
        auto r = f.prove(challenger, id, g.a, f.honest_proof(b.index, g.a).encode());
        REQUIRE_MESSAGE(r.ok(), why(r));
        g = f.game(id);
        CHECK(g.status == (proposer_wrong ? GameStatus::kChallengerWon : GameStatus::kProposerWon));
        CHECK(g.end_reason == "step_proof");
        CHECK(dissects == rounds);
        CHECK(chooses == rounds);
        CHECK(g.moves == rounds + 1);
      }
    }
  }
}

TEST_CASE("clocks: the mover's clock, the boundary second and the timeout") {
  SUBCASE("a mover may use its whole clock, to the second") {
    Fixture f;
    Posted b = wrong_batch(f, 6, 3);
    const uint64_t id = f.challenge_ok(kChallenger, b.index);
    CHECK(code_of(f.timeout(kChallenger, id)) == "clock_not_expired");
    f.advance(f.config().clock_seconds);
    CHECK(code_of(f.timeout(kChallenger, id)) == "clock_not_expired");
    REQUIRE(f.dissect(kProposer, id, f.proposer_roots(f.game(id))).ok());
    Game g = f.game(id);
    CHECK(g.proposer_left == 0);
    CHECK(g.challenger_left == f.config().clock_seconds);
    CHECK(g.turn_started == f.now());
  }
  SUBCASE("without a move the next block ends the game: the proposer's clock") {
    Fixture f;
    Posted b = wrong_batch(f, 6, 3);
    const uint64_t id = f.challenge_ok(kChallenger, b.index);
    f.advance(f.config().clock_seconds + 1);
    Game g = f.game(id);
    CHECK(g.status == GameStatus::kChallengerWon);
    CHECK(g.end_reason == "timeout");
    CHECK(g.ended == f.now());
    CHECK(f.chain().batch(b.index)->status == l1::BatchStatus::kRemoved);
    CHECK(code_of(f.dissect(kProposer, id, f.proposer_roots(g))) == "game_over");
  }
  SUBCASE("a late move is refused with clock_expired, and the next block ends the game") {
    Fixture f;
    Posted b = wrong_batch(f, 6, 3);
    const uint64_t id = f.challenge_ok(kChallenger, b.index);
    REQUIRE(f.dissect(kProposer, id, f.proposer_roots(f.game(id))).ok());
    f.gate().hold = true;  // the block opens without the game's hook: the move itself must be refused
    f.advance(f.config().clock_seconds + 1);
    const Snapshot s = snapshot(f, id);
    CHECK(code_of(f.choose(kChallenger, id, f.honest_part(f.game(id)))) == "clock_expired");
    CHECK(snapshot(f, id) == s);
    f.gate().hold = false;
    f.advance(1);
    Game g = f.game(id);
    CHECK(g.status == GameStatus::kProposerWon);  // the challenger ran out: the proposer wins
    CHECK(g.end_reason == "timeout");
    CHECK(f.chain().batch(b.index)->status == l1::BatchStatus::kPending);
    CHECK(f.account(kChallenger).locked == 0);
    CHECK(f.account(kChallenger).bond == 10'000 * kUnit - f.config().challenge_bond);
  }
  SUBCASE("the Timeout action: refused before expiry, anyone may claim it after") {
    Fixture f;
    Posted b = wrong_batch(f, 6, 3);
    const uint64_t id = f.challenge_ok(kChallenger, b.index);
    f.gate().hold = true;
    f.advance(f.config().clock_seconds);
    CHECK(code_of(f.timeout(3, id)) == "clock_not_expired");
    f.advance(1);
    CHECK(code_of(f.dissect(kProposer, id, f.proposer_roots(f.game(id)))) == "clock_expired");
    const l1::L1Account bystander = f.account(3);
    auto r = f.timeout(3, id);
    REQUIRE_MESSAGE(r.ok(), why(r));
    CHECK(r->result.at("status") == "challenger_won");
    Game g = f.game(id);
    CHECK(g.status == GameStatus::kChallengerWon);
    CHECK(g.end_reason == "timeout");
    l1::L1Account after = f.account(3);
    CHECK(after.bond == bystander.bond);  // the claimant earns nothing
    CHECK(after.nonce == bystander.nonce + 1);
    CHECK(f.chain().batch(b.index)->status == l1::BatchStatus::kRemoved);
  }
}

TEST_CASE("clocks: a move in the mover's last second leaves the other side at least the extension") {
  Fixture f(FpOptions{.clock = 20, .extension = 5});
  Posted b = wrong_batch(f, 12, 9);
  const uint64_t id = f.challenge_ok(kChallenger, b.index);
  // The proposer spends 18 s: 2 s left.
  f.advance(18);
  REQUIRE(f.dissect(kProposer, id, f.proposer_roots(f.game(id))).ok());
  Game g = f.game(id);
  CHECK(g.proposer_left == 2);
  CHECK(g.challenger_left == 20);
  // The challenger answers in the last second of its clock: the proposer is topped up to 5 s.
  f.advance(20);
  REQUIRE(f.choose(kChallenger, id, f.honest_part(f.game(id))).ok());
  g = f.game(id);
  CHECK(g.challenger_left == 0);
  CHECK(g.proposer_left == 5);
  // With the extension the proposer can still answer 5 s later, in its own last second...
  f.advance(5);
  REQUIRE(g.status == GameStatus::kOpen);
  REQUIRE(f.dissect(kProposer, id, f.proposer_roots(f.game(id))).ok());
  g = f.game(id);
  CHECK(g.proposer_left == 0);
  CHECK(g.challenger_left == 5);  // ...which tops the challenger up in turn
  // ...and a clock with more than the extension left is not topped up.
  f.advance(1);
  REQUIRE(f.choose(kChallenger, id, f.honest_part(f.game(id))).ok());
  g = f.game(id);
  CHECK(g.challenger_left == 4);
  CHECK(g.proposer_left == 5);
  // Past the extension, the next block ends the game against the side that ran out.
  f.advance(6);
  g = f.game(id);
  CHECK(g.status == GameStatus::kChallengerWon);
  CHECK(g.end_reason == "timeout");
}

TEST_CASE("outcome: a wrong proposer loses its stake and every batch from the wrong one") {
  Fixture f;
  Posted b0 = f.post_opening_batch();
  f.advance(1);
  Posted b1 = f.post(f.mixed_txs(9), 4);
  f.advance(1);
  Posted b2 = f.post(f.mixed_txs(3));  // built on the wrong root
  const l1::L1Account p0 = f.account(kProposer), c0 = f.account(kChallenger);
  const uint64_t burned0 = f.chain().totals().bond_burned;
  const uint64_t id = f.challenge_ok(kChallenger, b1.index);
  f.play_to_step(id);
  REQUIRE(f.prove(kChallenger, id, f.game(id).a, f.honest_proof(b1.index, f.game(id).a).encode()).ok());

  const l1::L1Config& cfg = f.config();
  const uint64_t slash = std::min(p0.stake, cfg.min_proposer_stake);
  const uint64_t reward = slash / 2;  // reward_share_ppm = 500,000
  CHECK(slash == 1'000 * kUnit);
  CHECK(f.account(kProposer).stake == p0.stake - slash);
  CHECK(f.account(kProposer).bond == p0.bond);
  CHECK(f.account(kChallenger).bond == c0.bond + reward);
  CHECK(f.account(kChallenger).locked == 0);
  CHECK(f.chain().totals().bond_burned == burned0 + (slash - reward));
  // The batch and every later batch are removed; the tip is back at the last good root.
  CHECK(f.chain().batch(b0.index)->status == l1::BatchStatus::kPending);
  CHECK(f.chain().batch(b1.index)->status == l1::BatchStatus::kRemoved);
  CHECK(f.chain().batch(b2.index)->status == l1::BatchStatus::kRemoved);
  CHECK(f.chain().head().tip_root == b0.claimed.back());
  CHECK(f.chain().head().tip_batch == b0.index);
  CHECK(f.games().dispute_state(b1.index) == l1::DisputeState::kChallengerWon);
  CHECK(code_of(f.challenge(2, b1.index)) == "removed_batch");
  CHECK(code_of(f.challenge(2, b2.index)) == "removed_batch");
  size_t slashed = 0, removed = 0;
  for (const auto& e : f.chain().events(0, UINT64_MAX, SIZE_MAX)) {
    if (e.type == "stake_slashed") {
      ++slashed;
      CHECK(e.fields.at("amount") == std::to_string(slash));
      CHECK(e.fields.at("toChallenger") == std::to_string(reward));
    }
    removed += e.type == "batch_removed";
  }
  CHECK(slashed == 1);
  CHECK(removed == 2);
  // The removed batches never become final, the good one does.
  f.advance(cfg.challenge_period_seconds + 1);
  CHECK(f.chain().batch(b0.index)->status == l1::BatchStatus::kFinal);
  CHECK(f.chain().batch(b1.index)->status == l1::BatchStatus::kRemoved);
}

TEST_CASE("outcome: a proposer staking exactly the minimum loses all of it") {
  Fixture f(FpOptions{.proposer_stake = 1'000 * kUnit});
  Posted b = wrong_batch(f, 4, 1);
  const uint64_t id = f.challenge_ok(kChallenger, b.index);
  // The stake is exactly the minimum: the slash takes it all and the proposer may post no more.
  f.advance(f.config().clock_seconds + 1);  // the proposer never answers
  CHECK(f.game(id).status == GameStatus::kChallengerWon);
  CHECK(f.account(kProposer).stake == 0);
  CHECK(f.account(kChallenger).bond == 10'000 * kUnit + 500 * kUnit);
}

TEST_CASE("outcome: a wrong challenger loses its bond, half to the proposer, half burned") {
  Fixture f;
  Posted b0 = f.post_opening_batch();
  f.advance(1);
  Posted b1 = f.post(f.mixed_txs(7));
  const l1::L1Account p0 = f.account(kProposer), c0 = f.account(3);
  const uint64_t burned0 = f.chain().totals().bond_burned;
  const uint64_t id = f.challenge_ok(3, b1.index);
  Game g = f.game(id);
  while (g.turn != Turn::kProve) {
    if (g.turn == Turn::kDissect)
      REQUIRE(f.dissect(kProposer, id, f.proposer_roots(g)).ok());
    else
      REQUIRE(f.choose(3, id, 0).ok());
    g = f.game(id);
  }
  REQUIRE(f.prove(3, id, g.a, f.honest_proof(b1.index, g.a).encode()).ok());
  const uint64_t bond = f.config().challenge_bond;
  CHECK(f.game(id).status == GameStatus::kProposerWon);
  CHECK(f.account(3).bond == c0.bond - bond);
  CHECK(f.account(3).locked == 0);
  CHECK(f.account(kProposer).bond == p0.bond + bond / 2);
  CHECK(f.account(kProposer).stake == p0.stake);
  CHECK(f.chain().totals().bond_burned == burned0 + bond / 2);
  CHECK(f.chain().batch(b1.index)->status == l1::BatchStatus::kPending);
  CHECK(f.chain().head().tip_root == b1.claimed.back());
  CHECK(f.games().dispute_state(b1.index) == l1::DisputeState::kNone);
  (void)b0;
}

TEST_CASE("several games on one batch: independent; when one is won the others end cancelled") {
  Fixture f;
  f.post_opening_batch();
  f.advance(1);
  Posted b = f.post(f.mixed_txs(20), 13);
  const l1::L1Account c2 = f.account(2);
  const uint64_t g1 = f.challenge_ok(kChallenger, b.index);
  const uint64_t g2 = f.challenge_ok(2, b.index);
  CHECK(f.account(2).locked == f.config().challenge_bond);
  // Interleaved: each game moves on its own.
  REQUIRE(f.dissect(kProposer, g2, f.proposer_roots(f.game(g2))).ok());
  REQUIRE(f.dissect(kProposer, g1, f.proposer_roots(f.game(g1))).ok());
  REQUIRE(f.choose(2, g2, f.honest_part(f.game(g2))).ok());
  CHECK(f.game(g2).moves == 1);
  CHECK(f.game(g1).moves == 0);
  CHECK(f.game(g1).turn == Turn::kChoose);
  f.play_to_step(g1);
  const l1::L1Account p0 = f.account(kProposer);
  REQUIRE(f.prove(kChallenger, g1, f.game(g1).a, f.honest_proof(b.index, f.game(g1).a).encode()).ok());
  CHECK(f.game(g1).status == GameStatus::kChallengerWon);
  Game other = f.game(g2);
  CHECK(other.status == GameStatus::kCancelled);
  CHECK(other.end_reason == "batch_removed");
  CHECK(f.account(2).locked == 0);
  CHECK(f.account(2).bond == c2.bond);                            // the bond is back in full
  CHECK(f.account(kProposer).stake == p0.stake - 1'000 * kUnit);  // slashed once
  CHECK(code_of(f.choose(2, g2, 0)) == "game_over");
}

TEST_CASE("finality waits while a game is open and follows its end when the proposer wins") {
  Fixture f(FpOptions{.challenge_period = 30});
  Posted b0 = f.post_opening_batch();
  f.advance(1);
  Posted b1 = f.post(f.mixed_txs(6));
  f.advance(20);
  const uint64_t id = f.challenge_ok(3, b0.index);  // a correct batch, disputed
  const uint64_t period_end = f.chain().batch(b0.index)->posted_time + 30;
  Game g = f.game(id);
  while (g.status == GameStatus::kOpen) {
    f.advance(4);
    // Still pending while the game is open, past the period too: b0, and b1 after it (finality is a prefix).
    CHECK(f.chain().batch(b0.index)->status == l1::BatchStatus::kPending);
    CHECK(f.chain().batch(b1.index)->status == l1::BatchStatus::kPending);
    g = f.game(id);
    if (g.turn == Turn::kDissect)
      REQUIRE(f.dissect(kProposer, id, f.proposer_roots(g)).ok());
    else if (g.turn == Turn::kChoose)
      REQUIRE(f.choose(3, id, 0).ok());
    else
      REQUIRE(f.prove(3, id, g.a, f.honest_proof(b0.index, g.a).encode()).ok());
    g = f.game(id);
  }
  CHECK(f.now() > period_end + 10);
  CHECK(g.status == GameStatus::kProposerWon);
  CHECK(g.end_reason == "step_proof");
  CHECK(f.chain().batch(b0.index)->status == l1::BatchStatus::kPending);
  f.advance(1);
  CHECK(f.chain().batch(b0.index)->status == l1::BatchStatus::kFinal);
  CHECK(f.chain().batch(b1.index)->status == l1::BatchStatus::kFinal);
}

TEST_CASE("a game on a later batch ends cancelled when an earlier batch is removed") {
  Fixture f;
  f.post_opening_batch();
  f.advance(1);
  Posted wrong = f.post(f.mixed_txs(8), 5);
  f.advance(1);
  Posted later = f.post(f.mixed_txs(4));
  const l1::L1Account c2 = f.account(2);
  const uint64_t late = f.challenge_ok(2, later.index);
  REQUIRE(f.dissect(kProposer, late, f.proposer_roots(f.game(late))).ok());
  const uint64_t id = f.challenge_ok(kChallenger, wrong.index);
  f.play_to_step(id);
  REQUIRE(f.prove(kChallenger, id, f.game(id).a, f.honest_proof(wrong.index, f.game(id).a).encode()).ok());
  CHECK(f.game(id).status == GameStatus::kChallengerWon);
  Game g = f.game(late);
  CHECK(g.status == GameStatus::kCancelled);
  CHECK(g.end_reason == "batch_removed");
  CHECK(f.account(2).bond == c2.bond);
  CHECK(f.account(2).locked == 0);
  CHECK(f.chain().batch(later.index)->status == l1::BatchStatus::kRemoved);
}

TEST_CASE("replay_games rebuilds every game from the event log, and rejects a doctored log") {
  Fixture f(FpOptions{.degree = 4});
  f.post_opening_batch();
  f.advance(1);
  Posted right = f.post(f.mixed_txs(11));
  f.advance(1);
  Posted wrong = f.post(f.mixed_txs(21), 17);
  f.advance(1);
  // Game 0: a malicious challenger loses on a step proof. Game 1: one that stops moving loses on time.
  // Game 2: an honest challenger wins on a step proof. Game 3: cancelled by it. Game 4: left open.
  const uint64_t lost = f.challenge_ok(3, right.index);
  Game g = f.game(lost);
  while (g.turn != Turn::kProve) {
    if (g.turn == Turn::kDissect)
      REQUIRE(f.dissect(kProposer, lost, f.proposer_roots(g)).ok());
    else
      REQUIRE(f.choose(3, lost, 2).ok());
    g = f.game(lost);
  }
  REQUIRE(f.prove(3, lost, g.a, f.honest_proof(right.index, g.a).encode()).ok());
  const uint64_t stalled = f.challenge_ok(1, right.index);
  REQUIRE(f.dissect(kProposer, stalled, f.proposer_roots(f.game(stalled))).ok());
  f.advance(f.config().clock_seconds + 1);
  REQUIRE(f.game(stalled).status == GameStatus::kProposerWon);
  const uint64_t won = f.challenge_ok(kChallenger, wrong.index);
  const uint64_t cancelled = f.challenge_ok(2, wrong.index);
  REQUIRE(f.dissect(kProposer, cancelled, f.proposer_roots(f.game(cancelled))).ok());
  f.advance(1);
  f.play_to_step(won);
  f.advance(1);
  const uint64_t open = f.challenge_ok(4, right.index);
  REQUIRE(f.dissect(kProposer, open, f.proposer_roots(f.game(open))).ok());
  REQUIRE(f.prove(kChallenger, won, f.game(won).a, f.honest_proof(wrong.index, f.game(won).a).encode()).ok());
  f.advance(1);

  const std::vector<l1::Event> events = f.chain().events(0, UINT64_MAX, SIZE_MAX);
  auto replayed = replay_games(events, f.config());
  REQUIRE_MESSAGE(replayed.ok(), (replayed ? "" : replayed.error()));
  const std::vector<Game> live = f.games().games(0, 100);
  REQUIRE(replayed->size() == live.size());
  REQUIRE(live.size() == 5);
  for (size_t i = 0; i < live.size(); ++i) {
    CAPTURE(i);
    const Game& a = live[i];
    const Game& r = (*replayed)[i];
    CHECK(r.id == a.id);
    CHECK(r.batch == a.batch);
    CHECK(r.proposer == a.proposer);
    CHECK(r.challenger == a.challenger);
    CHECK(r.steps == a.steps);
    CHECK(r.span == a.span);
    CHECK(r.rounds == a.rounds);
    CHECK(r.degree == a.degree);
    CHECK(r.status == a.status);
    CHECK(r.end_reason == a.end_reason);
    CHECK(r.turn == a.turn);
    CHECK(r.a == a.a);
    CHECK(r.b == a.b);
    CHECK(r.root_a == a.root_a);
    CHECK(r.root_b == a.root_b);
    CHECK(r.roots == a.roots);
    CHECK(r.moves == a.moves);
  }
  CHECK(live[lost].status == GameStatus::kProposerWon);
  CHECK(live[stalled].end_reason == "timeout");
  CHECK(live[won].status == GameStatus::kChallengerWon);
  CHECK(live[cancelled].status == GameStatus::kCancelled);
  CHECK(live[open].status == GameStatus::kOpen);
  CHECK(live[open].turn == Turn::kChoose);

  // Doctored logs: each single change that contradicts the rules is caught.
  auto find = [&](const std::string& type, uint64_t game, const std::string& reason = "") {
    for (size_t i = 0; i < events.size(); ++i)
      if (events[i].type == type && events[i].fields.value("game", UINT64_MAX) == game &&
          (reason.empty() || events[i].fields.value("reason", std::string()) == reason))
        return i;
    FAIL("no " << type << " event for game " << game);
    return size_t{0};
  };
  auto rejected = [&](std::vector<l1::Event> doctored) { return !replay_games(doctored, f.config()).ok(); };
  {
    // The verdict flipped: the game_ended status no longer follows from the proof's roots.
    auto d = events;
    d[find("game_ended", won, "step_proof")].fields["status"] = "proposer_won";
    CHECK(rejected(d));
  }
  {
    // The computed root replaced by the claim: the verdict no longer follows.
    auto d = events;
    auto& e = d[find("game_step_proved", won)];
    e.fields["computedRoot"] = e.fields["claimedRoot"];
    CHECK(rejected(d));
  }
  {
    // The step proof moved to another step.
    auto d = events;
    auto& e = d[find("game_step_proved", lost)];
    e.fields["step"] = e.fields["step"].get<uint64_t>() + 1;
    CHECK(rejected(d));
  }
  {
    // A timeout awarded to the side that ran out.
    auto d = events;
    d[find("game_ended", stalled, "timeout")].fields["status"] = "challenger_won";
    CHECK(rejected(d));
  }
  {
    // A choice of a part other than the one whose segment follows.
    auto d = events;
    auto& e = d[find("game_chosen", won)];
    e.fields["part"] = (e.fields["part"].get<uint64_t>() + 1) % 4;
    CHECK(rejected(d));
  }
  {
    // A dissection with a root too few.
    auto d = events;
    auto& e = d[find("game_dissected", open)];
    e.fields["roots"].erase(e.fields["roots"].size() - 1);
    CHECK(rejected(d));
  }
  {
    // A dissection dropped: the choice that follows is out of turn.
    auto d = events;
    d.erase(d.begin() + static_cast<std::ptrdiff_t>(find("game_dissected", lost)));
    CHECK(rejected(d));
  }
  {
    // A game's start describing another number of rounds.
    auto d = events;
    d[find("game_started", won)].fields["rounds"] = 9;
    CHECK(rejected(d));
  }
  // The untouched log still replays.
  CHECK(replay_games(events, f.config()).ok());
}

// A proposer must not be able to mint collateral: a Deposit (or ForcedWithdraw) among the sequencer's own
// frames is refused by the state machine (inbox_only), so honest re-execution credits nothing the L1
// escrow does not hold (docs/l1.md, "Steps": "the content of an inbox step comes from the L1, never from
// the proposer").
TEST_CASE("a Deposit among the sequencer's frames credits nothing the L1 escrow does not hold") {
  Fixture f;
  f.post_opening_batch();
  f.advance(1);
  const uint64_t escrowed = f.chain().totals().deposited;
  const Bytes forged = encode_tx(DepositTx{0, dev_addr(kProposer), dev_addr(kProposer), 1'000'000 * kUsdc});
  auto r = f.try_post({forged, f.withdraw(kProposer, 500'000 * kUsdc)});
  if (!r.ok()) return;  // the L1 refused the batch: nothing was minted
  // Accepted: then its honest execution must give the forged deposit no effect.
  CHECK(f.account_leaf(kProposer).collateral == 0);
  f.at_step(r->result.at("index").get<uint64_t>(), 2, [&](FullState& st, const Bytes&, const Posted&) {
    const GlobalLeaf g = *decode_global(*st.find(global_key()));
    CHECK(static_cast<uint64_t>(g.total_deposits) == escrowed);  // L2 deposits are what the L1 escrowed
    CHECK(st.find(withdrawal_key(0)) == nullptr);
  });
}

}  // namespace opt::fp::test
