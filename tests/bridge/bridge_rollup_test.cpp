// The rollup contract: every PostBatch rule and refusal, the commitment chain, finality (period,
// predecessor, disputes), removal, step inputs, and the extension point the fraud-proof game will use
// (exercised here by a toy game).
#include <set>

#include "engine/core/merkle.h"
#include "tests/bridge/bridge_fixture.h"

namespace opt::l1::test {

namespace {

// A toy dispute module: enough to drive every hook of the extension point. `challenge` locks the
// challenger's bond and opens a dispute; `resolve` ends it either way; `botch` makes ledger changes and
// then refuses, which must leave no trace.
class ToyGame final : public L1Extension {
 public:
  std::vector<ActionDef> actions() override {
    std::vector<ActionDef> out;
    out.push_back({*ActionSpec::make("toy_challenge", "ToyChallenge(address sender,uint64 batch,uint64 nonce)"),
                   [this](L1Context& ctx, const Action& a) { return challenge(ctx, a); }});
    out.push_back(
        {*ActionSpec::make("toy_resolve", "ToyResolve(address sender,uint64 batch,bool challengerWins,uint64 nonce)"),
         [this](L1Context& ctx, const Action& a) { return resolve(ctx, a); }});
    out.push_back({*ActionSpec::make("toy_botch", "ToyBotch(address sender,uint64 batch,uint64 nonce)"),
                   [](L1Context& ctx, const Action& a) -> Result<nlohmann::json, Refusal> {
                     (void)ctx.lock_bond(a.sender(), 5);
                     (void)ctx.slash_stake(ctx.batch(0)->proposer, 1, std::nullopt);
                     ctx.emit("toy_botched", {});
                     (void)ctx.remove_batches_from(a.u64("batch"));
                     return refuse_extension("toy_refused", "changed my mind");
                   }});
    return out;
  }
  DisputeState dispute_state(uint64_t batch) const override {
    auto it = state_.find(batch);
    return it == state_.end() ? DisputeState::kNone : it->second;
  }
  void on_block(L1Context& ctx) override {
    ++blocks_seen;
    last_block_time = ctx.now();
  }

  std::map<uint64_t, DisputeState> state_;
  std::map<uint64_t, Address> challenger_;
  uint64_t blocks_seen = 0;
  uint64_t last_block_time = 0;

 private:
  Result<nlohmann::json, Refusal> challenge(L1Context& ctx, const Action& a) {
    uint64_t b = a.u64("batch");
    const BatchRecord* rec = ctx.batch(b);
    if (!rec || rec->status != BatchStatus::kPending) return refuse_extension("not_challengeable", "no pending batch");
    if (state_.count(b)) return refuse_extension("already_challenged", "one toy game per batch");
    if (auto r = ctx.lock_bond(a.sender(), ctx.config().challenge_bond); !r) return err(r.error());
    state_[b] = DisputeState::kOpen;
    challenger_[b] = a.sender();
    ctx.on_undo([this, b] {
      state_.erase(b);
      challenger_.erase(b);
    });
    ctx.emit("toy_challenged", {{"batch", b}});
    return nlohmann::json{{"batch", b}};
  }
  Result<nlohmann::json, Refusal> resolve(L1Context& ctx, const Action& a) {
    uint64_t b = a.u64("batch");
    if (!state_.count(b) || state_[b] != DisputeState::kOpen) return refuse_extension("no_game", "no open toy game");
    const Address challenger = challenger_[b];
    const Address proposer = ctx.batch(b)->proposer;
    const uint64_t bond = ctx.config().challenge_bond;
    if (a.flag("challengerWins")) {
      uint64_t stake = ctx.account(proposer).stake;
      if (auto r = ctx.unlock_bond(challenger, bond); !r) return err(r.error());
      if (auto r = ctx.slash_stake(proposer, stake / 2, challenger); !r) return err(r.error());
      if (auto r = ctx.slash_stake(proposer, stake - stake / 2, std::nullopt); !r) return err(r.error());
      if (auto r = ctx.remove_batches_from(b); !r) return err(r.error());
      state_[b] = DisputeState::kChallengerWon;
    } else {
      if (auto r = ctx.slash_locked(challenger, bond, proposer); !r) return err(r.error());
      state_.erase(b);
    }
    ctx.emit("toy_resolved", {{"batch", b}});
    return nlohmann::json::object();
  }
};

Action toy(const L1Chain& c, const std::string& name, uint64_t batch, std::optional<bool> wins = {}) {
  Action a(*c.find_spec(name));
  a.set("batch", batch);
  if (wins) a.set("challengerWins", *wins);
  return a;
}

}  // namespace

TEST_CASE("PostBatch: an honest batch is recorded with the L1's own txDataRoot and inbox range") {
  Fixture f;
  f.register_proposer(0, 1000 * kUsdc);
  f.deposit(1, 100 * kUsdc);
  f.deposit(2, 200 * kUsdc);
  auto frames = some_frames(5);
  auto p = f.honest_post(frames, root_of(1));
  auto r = f.post(0, p);
  REQUIRE_MESSAGE(r.ok(), why(r));
  CHECK(r->result["index"] == 0);
  CHECK(r->result["txDataRoot"] == tx_data_root(frames).hex());
  auto b = *f.chain->batch(0);
  CHECK(b.prev_root == root_of(0));
  CHECK(b.post_root == root_of(1));
  CHECK(b.tx_count == 5);
  CHECK(b.tx_data_root == tx_data_root(frames));
  CHECK(b.data_hash == keccak256(p.data));
  CHECK(b.inbox_from == 0);
  CHECK(b.inbox_to == 2);
  CHECK(b.inbox_acc == f.chain->inbox_accumulator(2));
  CHECK(b.proposer == addr(0));
  CHECK(b.posted_time == f.chain->now());
  CHECK(b.status == BatchStatus::kPending);
  CHECK(b.prev_live_index == kNoBatch);
  CHECK(*f.chain->batch_data(0) == p.data);
  CHECK(f.chain->head().tip_root == root_of(1));

  // Steps: the inbox messages first (from the L1's storage), then the frames.
  CHECK(b.step_count() == 7);
  CHECK(*f.chain->step_input(0, 0) == f.chain->inbox(0, 1)[0].l2_tx);
  CHECK(*f.chain->step_input(0, 1) == f.chain->inbox(1, 1)[0].l2_tx);
  CHECK(*f.chain->step_input(0, 2) == frames[0]);
  CHECK(*f.chain->step_input(0, 6) == frames[4]);
  CHECK(f.chain->step_input(0, 7).error().wire_code() == "bad_step");
  CHECK(f.chain->step_input(1, 0).error().wire_code() == "unknown_batch");
  for (size_t i = 0; i < frames.size(); ++i) {
    auto proof = f.chain->frame_proof(0, i);
    REQUIRE(proof.ok());
    CHECK(verify_tx_data_proof(b.tx_data_root, frames.size(), i, frames[i], *proof));
  }
  CHECK(*f.chain->batch_frames(0) == frames);

  // The next batch continues from it: inboxFrom = the previous inboxTo.
  f.deposit(3, 1);
  uint64_t i1 = f.post_ok(0, {}, root_of(2));
  CHECK(f.chain->batch(i1)->inbox_from == 2);
  CHECK(f.chain->batch(i1)->inbox_to == 3);
  CHECK(f.chain->batch(i1)->prev_live_index == 0);
  auto ev = f.chain->events(0, UINT64_MAX, 100);
  CHECK(std::count_if(ev.begin(), ev.end(), [](const Event& e) { return e.type == "batch_posted"; }) == 2);
}

TEST_CASE("PostBatch refusals") {
  Fixture f;
  f.register_proposer(0, 1000 * kUsdc);
  f.register_proposer(1, 999 * kUsdc);  // below the minimum stake
  f.deposit(2, 100 * kUsdc);
  f.post_ok(0, some_frames(2), root_of(1));  // batch 0 consumed message 0
  f.deposit(2, 50 * kUsdc);                  // message 1
  f.deposit(3, 60 * kUsdc);                  // message 2
  nlohmann::json before = snapshot(*f.chain);
  auto frames = some_frames(3, 9);
  auto honest = f.honest_post(frames, root_of(2));
  auto expect = [&](size_t dev, const Fixture::Post& p, const std::string& code) {
    auto r = f.post(dev, p);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().wire_code() == code, why(r));
    CHECK(snapshot(*f.chain) == before);
  };
  auto p = honest;

  SUBCASE("not a proposer") {
    expect(3, p, "not_proposer");
  }
  SUBCASE("stake below the minimum") {
    expect(1, p, "insufficient_stake");
  }
  SUBCASE("index not the next one (no gaps, no reuse)") {
    p.args.index = 0;
    expect(0, p, "bad_index");
    p.args.index = 2;
    expect(0, p, "bad_index");
  }
  SUBCASE("prevRoot is not the tip") {
    p.args.prev_root = root_of(0);  // the genesis root, no longer the tip
    expect(0, p, "prev_root_mismatch");
  }
  SUBCASE("inboxTo below the previous batch's") {
    p.args.inbox_to = 0;
    p.args.inbox_acc = f.chain->inbox_accumulator(0);
    expect(0, p, "bad_inbox_range");
  }
  SUBCASE("inboxTo beyond the inbox") {
    p.args.inbox_to = 4;
    expect(0, p, "bad_inbox_range");
  }
  SUBCASE("inbox accumulator that is not the L1's (a forged or reordered inbox)") {
    p.args.inbox_acc = root_of(7);
    expect(0, p, "inbox_acc_mismatch");
    p.args.inbox_acc = f.chain->inbox_accumulator(2);  // the right value for another inboxTo
    expect(0, p, "inbox_acc_mismatch");
  }
  SUBCASE("L2 timestamp before the previous batch's") {
    auto prev_ts = f.chain->batch(0)->l2_timestamp;
    p.args.l2_timestamp = prev_ts - 1;
    expect(0, p, "timestamp_too_old");
  }
  SUBCASE("L2 timestamp too far ahead of the L1 clock") {
    p.args.l2_timestamp = f.chain->now() + 31;
    expect(0, p, "timestamp_in_future");
    p.args.l2_timestamp = f.chain->now() + 30;  // the bound itself is fine
    CHECK(f.post(0, p).ok());
  }
  SUBCASE("txCount does not match the frames") {
    p.args.tx_count = 4;
    expect(0, p, "tx_count_mismatch");
    p.args.tx_count = 2;
    expect(0, p, "tx_count_mismatch");
  }
  SUBCASE("data that is not zstd") {
    p.data = encode_batch(frames);  // uncompressed
    expect(0, p, "bad_compression");
    p.data = Bytes{};
    expect(0, p, "bad_compression");
    Bytes truncated = honest.data;
    truncated.resize(truncated.size() - 3);
    p.data = truncated;
    expect(0, p, "bad_compression");
    Bytes trailing = honest.data;
    trailing.push_back(0x42);
    p.data = trailing;
    expect(0, p, "bad_compression");
  }
  SUBCASE("a zip bomb is refused before it is expanded") {
    p.data = zstd_compress(Bytes(kMaxBatchBytes + 1, 0), 1);
    CHECK(p.data.size() < 64 * 1024);
    expect(0, p, "bad_compression");
  }
  SUBCASE("zstd data whose content is not a batch frame") {
    p.data = zstd_compress(Bytes{0, 0, 0, 5, 1}, 3);
    expect(0, p, "bad_batch_data");
    Bytes framed = encode_batch(frames);
    framed.push_back(0);  // trailing bytes after the frames
    p.data = zstd_compress(framed, 3);
    expect(0, p, "bad_batch_data");
  }
  SUBCASE("a batch without steps must keep the root") {
    auto f2 = f.honest_post({}, root_of(9), /*inbox_to=*/1);
    expect(0, f2, "bad_empty_batch");
    f2.args.post_root = f.chain->head().tip_root;
    CHECK(f.post(0, f2).ok());
  }
  SUBCASE("the honest batch is accepted") {
    CHECK(f.post(0, honest).ok());
  }
}

TEST_CASE("forced inclusion: a proposer that censors an old inbox message cannot post") {
  Fixture f;  // forced-inclusion delay 120 s
  f.register_proposer(0, 1000 * kUsdc);
  f.deposit(5, 10 * kUsdc);  // the message the proposer ignores
  f.advance(60);
  // Young enough: leaving it out is allowed (the proposer may delay, briefly).
  f.post_ok(0, some_frames(1), root_of(1), /*inbox_to=*/0);
  f.advance(59);
  f.post_ok(0, some_frames(1), root_of(2), /*inbox_to=*/0);
  f.advance(1);  // now the message is exactly 120 s old
  auto censoring = f.honest_post(some_frames(1), root_of(3), /*inbox_to=*/0);
  auto r = f.post(0, censoring);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().wire_code() == "forced_inclusion");
  // Including it (and anything newer is optional) is accepted.
  f.deposit(6, 1);  // a fresh message may still wait
  f.post_ok(0, some_frames(1), root_of(3), /*inbox_to=*/1);
  CHECK(f.chain->batch(2)->inbox_to == 1);
}

TEST_CASE("finality: after the challenge period, in order, and only without disputes") {
  auto game = std::make_shared<ToyGame>();
  Fixture f(test_config(), {game});
  f.register_proposer(0, 1000 * kUsdc);
  f.post_ok(0, some_frames(1), root_of(1));  // batch 0 at t0
  f.advance(30);
  f.post_ok(0, some_frames(1), root_of(2));  // batch 1 at t0+30
  f.advance(29);
  CHECK(f.chain->batch(0)->status == BatchStatus::kPending);
  f.advance(1);  // t0+60: batch 0 final at the start of this block
  CHECK(f.chain->batch(0)->status == BatchStatus::kFinal);
  CHECK(f.chain->batch(1)->status == BatchStatus::kPending);
  CHECK(f.chain->head().last_final_batch == 0);
  auto ev = f.chain->events(f.chain->head().block, f.chain->head().block, 10);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == "batch_finalized");
  CHECK(ev[0].fields["index"] == 0);

  // A dispute on batch 1 holds it back, and batch 2 behind it even once its own period passed.
  auto c = f.submit(3, toy(*f.chain, "toy_challenge", 1));
  REQUIRE_MESSAGE(c.ok(), why(c));
  f.post_ok(0, some_frames(1), root_of(3));  // batch 2 at t0+60
  f.advance(200);
  CHECK(f.chain->batch(1)->status == BatchStatus::kPending);
  CHECK(f.chain->batch(2)->status == BatchStatus::kPending);
  // The challenger loses: its bond goes to the proposer; both batches become final at the next block.
  uint64_t proposer_bond = f.chain->account(addr(0)).bond;
  REQUIRE(f.submit(3, toy(*f.chain, "toy_resolve", 1, false)).ok());
  CHECK(f.chain->account(addr(0)).bond == proposer_bond + f.chain->config().challenge_bond);
  CHECK(f.chain->account(addr(3)).locked == 0);
  CHECK(f.chain->batch(1)->status == BatchStatus::kPending);
  f.advance(1);
  CHECK(f.chain->batch(1)->status == BatchStatus::kFinal);
  CHECK(f.chain->batch(2)->status == BatchStatus::kFinal);
  f.check_invariants();
  CHECK(game->blocks_seen == f.chain->head().block + 1);
  CHECK(game->last_block_time == f.chain->now());
}

TEST_CASE("removal: a won challenge removes the batch and every later one; the chain continues from the good root") {
  auto game = std::make_shared<ToyGame>();
  Fixture f(test_config(), {game});
  f.register_proposer(0, 1000 * kUsdc);
  f.register_proposer(1, 2000 * kUsdc);
  f.deposit(4, 10);
  f.post_ok(0, some_frames(1), root_of(1));  // 0: good, consumes message 0
  f.deposit(4, 20);
  f.post_ok(0, some_frames(1), root_of(2));  // 1: wrong, consumes message 1
  f.post_ok(0, some_frames(2), root_of(3));  // 2: builds on 1
  REQUIRE(f.submit(5, toy(*f.chain, "toy_challenge", 1)).ok());
  f.advance(10);
  uint64_t stake = f.chain->account(addr(0)).stake;
  uint64_t challenger_bond = f.chain->account(addr(5)).bond;
  REQUIRE(f.submit(5, toy(*f.chain, "toy_resolve", 1, true)).ok());
  f.check_invariants();
  CHECK(f.chain->batch(0)->status == BatchStatus::kPending);
  CHECK(f.chain->batch(1)->status == BatchStatus::kRemoved);
  CHECK(f.chain->batch(2)->status == BatchStatus::kRemoved);
  CHECK(f.chain->account(addr(0)).stake == 0);
  CHECK(f.chain->account(addr(5)).bond == challenger_bond + f.chain->config().challenge_bond + stake / 2);
  CHECK(f.chain->totals().bond_burned == stake - stake / 2);
  Head h = f.chain->head();
  CHECK(h.tip_batch == 0);
  CHECK(h.tip_root == root_of(1));
  CHECK(h.next_batch_index == 3);  // indexes are never reused
  auto ev = f.chain->events(h.block, h.block, 100);
  std::vector<uint64_t> removed;
  for (const auto& e : ev)
    if (e.type == "batch_removed") removed.push_back(e.fields["index"].get<uint64_t>());
  CHECK(removed == std::vector<uint64_t>{1, 2});

  // The slashed proposer can no longer post; another proposer continues from the last good root and
  // re-consumes the inbox from where batch 0 stopped.
  auto p = f.honest_post(some_frames(1), root_of(4));
  CHECK(f.post(0, p).error().wire_code() == "not_proposer");
  CHECK(p.args.prev_root == root_of(1));
  auto r = f.post(1, p);
  REQUIRE_MESSAGE(r.ok(), why(r));
  auto b3 = *f.chain->batch(3);
  CHECK(b3.prev_live_index == 0);
  CHECK(b3.inbox_from == 1);
  CHECK(b3.inbox_to == 2);
  // Posting on the removed root is refused.
  auto stale = f.honest_post({}, root_of(3));
  stale.args.prev_root = root_of(3);
  CHECK(f.post(1, stale).error().wire_code() == "prev_root_mismatch");

  // A removed batch never becomes final (batch 0 does, then batch 3).
  f.advance(100);
  CHECK(f.chain->batch(0)->status == BatchStatus::kFinal);
  CHECK(f.chain->batch(1)->status == BatchStatus::kRemoved);
  CHECK(f.chain->batch(3)->status == BatchStatus::kFinal);
  CHECK(f.chain->head().last_final_batch == 3);
}

TEST_CASE("extension: a refused extension action leaves no trace, its types are listed, and replay rebuilds it") {
  auto game = std::make_shared<ToyGame>();
  Fixture f(test_config(), {game});
  f.register_proposer(0, 1000 * kUsdc);
  f.post_ok(0, some_frames(1), root_of(1));
  nlohmann::json before = snapshot(*f.chain);
  auto r = f.submit(2, toy(*f.chain, "toy_botch", 0));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().wire_code() == "toy_refused");
  CHECK(snapshot(*f.chain) == before);
  CHECK(f.chain->batch(0)->status == BatchStatus::kPending);

  // Ledger operations refuse what is not there.
  REQUIRE(f.submit(2, toy(*f.chain, "toy_challenge", 0)).ok());
  CHECK(f.submit(2, toy(*f.chain, "toy_challenge", 0)).error().wire_code() == "already_challenged");
  CHECK(f.chain->account(addr(2)).locked == f.chain->config().challenge_bond);
  std::set<std::string> names;
  for (const auto* s : f.chain->specs()) names.insert(s->name);
  CHECK(names.count("toy_challenge") == 1);
  CHECK(names.count("deposit") == 1);

  // Reopen with a fresh extension object: replaying the log rebuilds its state too.
  nlohmann::json s1 = snapshot(*f.chain);
  auto game2 = std::make_shared<ToyGame>();
  f.chain.reset();
  OpenOptions o;
  o.extensions = {game2};
  auto c = L1Chain::open(f.db(), f.clock, std::move(o));
  REQUIRE(c.ok());
  f.chain = std::move(*c);
  CHECK(snapshot(*f.chain) == s1);
  CHECK(game2->dispute_state(0) == DisputeState::kOpen);

  // Opening without the extension whose actions are in the log fails loudly instead of diverging.
  f.chain.reset();
  auto bare = L1Chain::open(f.db(), f.clock, OpenOptions{});
  REQUIRE_FALSE(bare.ok());
  CHECK(bare.error().find("unknown type toy_challenge") != std::string::npos);

  // Two extensions may not claim one action name.
  OpenOptions dup;
  dup.extensions = {std::make_shared<ToyGame>(), std::make_shared<ToyGame>()};
  auto twice = L1Chain::open(f.db(), f.clock, std::move(dup));
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().find("registered twice") != std::string::npos);
}

}  // namespace opt::l1::test
