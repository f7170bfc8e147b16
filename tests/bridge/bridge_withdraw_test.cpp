// FinalizeWithdrawal: paid once, only from a final root, only for a leaf that is really under it; and a
// randomized run of every action type with the conservation invariants checked after each one.
#include "engine/state/smt.h"
#include "engine/stf/leaves.h"
#include "tests/bridge/bridge_fixture.h"
#include "tests/test_util.h"

namespace opt::l1::test {

namespace {

// An L2 state with some withdrawal leaves (and an unrelated leaf), as a Withdraw step would leave it.
struct L2Tree {
  SparseMerkleTree tree;
  std::vector<WithdrawalLeaf> leaves;

  void add(const WithdrawalLeaf& w) {
    tree.put(withdrawal_key(w.index), encode_leaf(w));
    leaves.push_back(w);
  }
  Hash32 root() { return tree.root(); }
  Bytes proof(uint64_t index) { return tree.prove(withdrawal_key(index)).encode(); }
};

}  // namespace

TEST_CASE("FinalizeWithdrawal pays a proven leaf of a final batch once") {
  Fixture f;
  f.register_proposer(0, 1000 * kUsdc);
  f.deposit(1, 700 * kUsdc);
  L2Tree l2;
  l2.tree.put(global_key(), Bytes{1, 2, 3});
  l2.add({0, addr(1), addr(7), 300 * kUsdc});
  l2.add({1, addr(1), addr(1), 100 * kUsdc});
  l2.add({2, addr(2), addr(2), 900 * kUsdc});  // more than the escrow holds (a false root could say so)
  uint64_t b = f.post_ok(0, some_frames(2), l2.root());

  auto claim = [&](size_t dev, uint64_t batch, const WithdrawalLeaf& w, const Bytes& proof) {
    return f.submit(dev, make_finalize_withdrawal({}, batch, w, proof, 0));
  };
  auto expect = [&](Result<Accepted, Refusal> r, const std::string& code) {
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().wire_code() == code, why(r));
    f.check_invariants();
  };

  expect(claim(3, b, l2.leaves[0], l2.proof(0)), "not_final");
  expect(claim(3, 5, l2.leaves[0], l2.proof(0)), "unknown_batch");
  f.advance(59);
  expect(claim(3, b, l2.leaves[0], l2.proof(0)), "not_final");
  f.advance(1);
  REQUIRE(f.chain->batch(b)->status == BatchStatus::kFinal);

  nlohmann::json before = snapshot(*f.chain);
  // Forged leaves: another amount, another recipient, another index, another account.
  WithdrawalLeaf forged = l2.leaves[0];
  forged.amount += 1;
  expect(claim(3, b, forged, l2.proof(0)), "bad_proof");
  forged = l2.leaves[0];
  forged.recipient = addr(3);
  expect(claim(3, b, forged, l2.proof(0)), "bad_proof");
  forged = l2.leaves[0];
  forged.index = 1;
  expect(claim(3, b, forged, l2.proof(0)), "bad_proof");
  expect(claim(3, b, forged, l2.proof(1)), "bad_proof");
  forged = l2.leaves[0];
  forged.account = addr(2);
  expect(claim(3, b, forged, l2.proof(0)), "bad_proof");
  // A withdrawal that is not in the tree at all, with a (valid) non-membership proof.
  expect(claim(3, b, WithdrawalLeaf{9, addr(1), addr(1), 5}, l2.proof(9)), "bad_proof");
  expect(claim(3, b, l2.leaves[0], Bytes{1, 2, 3}), "bad_proof");
  expect(claim(3, b, WithdrawalLeaf{0, addr(1), addr(7), 0}, l2.proof(0)), "zero_amount");
  expect(claim(3, b, l2.leaves[2], l2.proof(2)), "insufficient_escrow");
  CHECK(snapshot(*f.chain) == before);

  // Anyone may submit the claim; the recipient is paid.
  uint64_t usdc7 = f.chain->account(addr(7)).usdc;
  auto r = claim(3, b, l2.leaves[0], l2.proof(0));
  REQUIRE_MESSAGE(r.ok(), why(r));
  CHECK(f.chain->account(addr(7)).usdc == usdc7 + 300 * kUsdc);
  CHECK(f.chain->totals().escrow == 400 * kUsdc);
  CHECK(f.chain->withdrawal_claimed(0));
  CHECK_FALSE(f.chain->withdrawal_claimed(1));
  f.check_invariants();
  auto ev = f.chain->events(f.chain->head().block, f.chain->head().block, 10);
  REQUIRE(ev.size() == 2);  // the batch became final at the start of this block, then the claim
  CHECK(ev[0].type == "batch_finalized");
  CHECK(ev[1].type == "withdrawal_paid");
  CHECK(ev[1].fields["recipient"] == to_checksum(addr(7)));
  CHECK(ev[1].fields["by"] == to_checksum(addr(3)));

  // Paid once: the same leaf again, or proven against a later root that still holds it, is refused.
  expect(claim(3, b, l2.leaves[0], l2.proof(0)), "already_claimed");
  expect(claim(1, b, l2.leaves[0], l2.proof(0)), "already_claimed");
  l2.tree.put(global_key(), Bytes{4});
  uint64_t b2 = f.post_ok(0, some_frames(1), l2.root());
  f.advance(60);
  REQUIRE(f.chain->batch(b2)->status == BatchStatus::kFinal);
  expect(claim(3, b2, l2.leaves[0], l2.proof(0)), "already_claimed");
  REQUIRE(claim(1, b2, l2.leaves[1], l2.proof(1)).ok());
  f.check_invariants();
}

TEST_CASE("FinalizeWithdrawal refuses a removed batch and a batch behind a pending predecessor") {
  // A dispute module that keeps batch 0 open and can remove batches on request.
  class Holder final : public L1Extension {
   public:
    std::vector<ActionDef> actions() override {
      return {{*ActionSpec::make("remove", "Remove(address sender,uint64 batch,uint64 nonce)"),
               [](L1Context& ctx, const Action& a) -> Result<nlohmann::json, Refusal> {
                 if (auto r = ctx.remove_batches_from(a.u64("batch")); !r) return err(r.error());
                 return nlohmann::json::object();
               }}};
    }
    DisputeState dispute_state(uint64_t batch) const override {
      return batch == held ? DisputeState::kOpen : DisputeState::kNone;
    }
    uint64_t held = 0;
  };
  auto holder = std::make_shared<Holder>();
  Fixture f(test_config(), {holder});
  f.register_proposer(0, 1000 * kUsdc);
  f.deposit(1, 100 * kUsdc);
  L2Tree l2;
  l2.add({0, addr(1), addr(1), 10 * kUsdc});
  uint64_t b0 = f.post_ok(0, some_frames(1), l2.root());
  uint64_t b1 = f.post_ok(0, some_frames(1), l2.root());
  f.advance(120);
  // Batch 1's period is over, but its predecessor is held by a dispute: neither is final.
  CHECK(f.chain->batch(b1)->status == BatchStatus::kPending);
  auto r = f.submit(2, make_finalize_withdrawal({}, b1, l2.leaves[0], l2.proof(0), 0));
  CHECK(r.error().wire_code() == "not_final");
  Action rm(*f.chain->find_spec("remove"));
  rm.set("batch", b0);
  REQUIRE(f.submit(2, rm).ok());
  r = f.submit(2, make_finalize_withdrawal({}, b1, l2.leaves[0], l2.proof(0), 0));
  CHECK(r.error().wire_code() == "removed_batch");
  r = f.submit(2, make_finalize_withdrawal({}, b0, l2.leaves[0], l2.proof(0), 0));
  CHECK(r.error().wire_code() == "removed_batch");
  // Removing twice, or removing a final batch, is refused.
  Action rm2(*f.chain->find_spec("remove"));
  rm2.set("batch", b1);
  CHECK(f.submit(2, rm2).error().wire_code() == "removed_batch");
  holder->held = kNoBatch;
  uint64_t b2 = f.post_ok(0, some_frames(1), l2.root());
  f.advance(60);
  REQUIRE(f.chain->batch(b2)->status == BatchStatus::kFinal);
  Action rm3(*f.chain->find_spec("remove"));
  rm3.set("batch", b2);
  CHECK(f.submit(2, rm3).error().wire_code() == "final_batch");
  CHECK(f.submit(2, make_finalize_withdrawal({}, b2, l2.leaves[0], l2.proof(0), 0)).ok());
  f.check_invariants();
}

TEST_CASE("property: random actions keep escrow == deposited - paid and both supplies constant") {
  opt::test::Rng rng(20240611);
  Fixture f;
  f.register_proposer(0, 2000 * kUsdc);
  L2Tree l2;
  uint64_t next_withdrawal = 0;
  uint64_t deposited = 0, paid = 0;
  struct Claimable {
    uint64_t batch;
    WithdrawalLeaf leaf;
    Bytes proof;  // against that batch's root
  };
  std::vector<Claimable> claimable;
  for (int step = 0; step < 400; ++step) {
    size_t dev = 1 + rng.below(9);
    switch (rng.below(7)) {
      case 0:
      case 1: {  // deposits, some refused (too large)
        uint64_t amount = rng.coin() ? rng.below(1000 * kUsdc) + 1 : kGenesisUsdc * 2;
        auto r = f.submit(dev, make_deposit({}, addr(rng.below(10)), amount, 0));
        if (r.ok())
          deposited += amount;
        else
          CHECK(r.error().wire_code() == "insufficient_funds");
        break;
      }
      case 2: {  // the L2 pays out part of the escrow: add a withdrawal leaf and post a batch
        uint64_t room = deposited - paid;
        if (room == 0) break;
        WithdrawalLeaf w{next_withdrawal++, addr(dev), addr(rng.below(10)),
                         1 + rng.below(std::min<uint64_t>(room, 50 * kUsdc))};
        l2.add(w);
        uint64_t b = f.post_ok(0, some_frames(1 + rng.below(3)), l2.root());
        claimable.push_back({b, w, l2.proof(w.index)});
        break;
      }
      case 3: {  // claims, correct or forged
        if (claimable.empty()) break;
        const Claimable& c = claimable[rng.below(claimable.size())];
        bool forge = rng.below(4) == 0;
        WithdrawalLeaf leaf = c.leaf;
        if (forge) leaf.amount += 1 + rng.below(5);
        auto r = f.submit(dev, make_finalize_withdrawal({}, c.batch, leaf, c.proof, 0));
        if (r.ok()) {
          CHECK_FALSE(forge);
          paid += leaf.amount;
        }
        break;
      }
      case 4: (void)f.submit(dev, make_forced_withdraw({}, rng.below(3), 0)); break;
      case 5: f.advance(rng.below(40)); break;
      default:  // a refused action with a bad nonce
        CHECK(f.chain->submit(signed_by(*f.chain, key(dev), make_deposit({}, addr(dev), 1, 0), 999))
                  .error()
                  .wire_code() == "bad_nonce");
        break;
    }
    f.check_invariants();
    Totals t = f.chain->totals();
    CHECK(t.deposited == deposited);
    CHECK(t.paid == paid);
  }
  CHECK(paid > 0);
}

}  // namespace opt::l1::test
