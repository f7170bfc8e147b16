// The bridge end to end with the real L2 state machine (FullState + apply): deposit on L1 -> Deposit step on
// L2 -> batch posted -> Withdraw (and a forced withdrawal) on L2 -> batches final after the period ->
// claims on L1 paid once; the escrow invariant and L1/L2 agreement checked throughout. Every batch is also
// re-executed from the L1's own data (step_input), as a challenger would, and must reach its postRoot.
#include "engine/core/eip712.h"
#include "engine/stf/apply.h"
#include "engine/stf/leaves.h"
#include "tests/bridge/bridge_fixture.h"

namespace opt::l1::test {

namespace {

Params l2_params() {
  Params p;
  p.chain_id = 777001;
  p.rollup_address = L1Config::default_rollup_address();
  p.admin = addr(6);
  p.oracle_committee = {addr(7), addr(8), addr(9)};
  p.oracle_threshold = 2;
  p.seal();
  return p;
}

// The L2 side of the test: a node that executes batches and proves withdrawal leaves.
struct L2Node {
  Params params = l2_params();
  FullState state;

  Receipt step(ByteView tx, uint64_t timestamp) {
    const bool inbox = !tx.empty() && (tx[0] == static_cast<uint8_t>(TxType::kDeposit) ||
                                       tx[0] == static_cast<uint8_t>(TxType::kForcedWithdraw));
    auto r = apply(params, StepContext{timestamp, inbox}, tx, state);
    REQUIRE(r.ok());
    return *r;
  }
  GlobalLeaf global() { return *decode_global(*state.find(global_key())); }
  Hash32 root() { return Hash32::from(state.root()); }
};

// Re-executes every live batch from genesis using only what the L1 serves, and checks each postRoot.
void replay_from_l1(const L1Chain& chain, uint64_t genesis_time) {
  L2Node fresh;
  REQUIRE(write_genesis(fresh.state, {}, genesis_time).ok());
  REQUIRE(fresh.root() == chain.config().genesis_root);
  for (const auto& b : chain.batches(0, 1000)) {
    if (b.status == BatchStatus::kRemoved) continue;
    CHECK(b.prev_root == fresh.root());
    for (uint64_t i = 0; i < b.step_count(); ++i) {
      auto input = chain.step_input(b.index, i);
      REQUIRE(input.ok());
      (void)fresh.step(*input, b.l2_timestamp);
    }
    CHECK(fresh.root() == b.post_root);
  }
}

}  // namespace

TEST_CASE("scenario: deposit, L2 execution, withdrawal, finality, claim paid once") {
  L2Node node;
  const uint64_t genesis_time = 1'700'000'000;
  REQUIRE(write_genesis(node.state, {}, genesis_time).ok());
  L1Config cfg = test_config();
  cfg.genesis_root = node.root();
  Fixture f(cfg);
  f.register_proposer(0, 1000 * kUsdc);
  auto check_all = [&] {
    f.check_invariants();
    Totals t = f.chain->totals();
    // Escrow is exactly what the L2 holds for users: deposited minus what L1 paid out.
    CHECK(t.escrow == t.deposited - t.paid);
  };

  // 1. Deposits on L1 land in the inbox.
  f.deposit(1, 5000 * kUsdc);
  f.deposit(2, 1000 * kUsdc);
  check_all();

  // 2. The node executes the inbox steps, reading them from the L1, and posts batch 0.
  f.advance(2);
  uint64_t ts0 = f.chain->now();
  for (const auto& m : f.chain->inbox(0, 10)) CHECK(node.step(m.l2_tx, ts0).ok());
  CHECK(*decode_account(*node.state.find(account_key(addr(1)))) ==
        AccountLeaf{0, 5000 * static_cast<int64_t>(kUsdc), {}});
  auto p0 = f.honest_post({}, node.root());
  p0.args.l2_timestamp = ts0;
  REQUIRE(f.post(0, p0).ok());

  // 3. dev 2 asks for a forced withdrawal on L1; dev 1 signs a Withdraw on L2 to dev 7's L1 address.
  f.advance(3);
  REQUIRE(f.submit(2, make_forced_withdraw({}, 300 * kUsdc, 0)).ok());
  Withdraw w{addr(1), 1200 * kUsdc, addr(7), 0};
  auto sig = sign(typed_digest(node.params.domain_separator, w), key(1));
  REQUIRE(sig.ok());
  Bytes withdraw_tx = encode_tx(WithdrawTx{w, *sig});
  uint64_t ts1 = f.chain->now();
  auto r_forced = node.step(f.chain->inbox(2, 1).at(0).l2_tx, ts1);  // inbox steps come first
  auto r_withdraw = node.step(withdraw_tx, ts1);
  REQUIRE(r_forced.ok());
  REQUIRE(r_withdraw.ok());
  WithdrawalLeaf forced_leaf{r_forced.value, addr(2), addr(2), 300 * kUsdc};
  WithdrawalLeaf leaf{r_withdraw.value, addr(1), addr(7), 1200 * kUsdc};
  CHECK(*node.state.find(withdrawal_key(leaf.index)) == encode_leaf(leaf));
  CHECK(*node.state.find(withdrawal_key(forced_leaf.index)) == encode_leaf(forced_leaf));
  auto p1 = f.honest_post({withdraw_tx}, node.root());
  p1.args.l2_timestamp = ts1;
  REQUIRE(f.post(0, p1).ok());
  check_all();
  replay_from_l1(*f.chain, genesis_time);

  // L2 and L1 agree on what came in.
  CHECK(static_cast<uint64_t>(node.global().total_deposits) == f.chain->totals().deposited);

  // 4. Not final yet: claims wait.
  Bytes proof = node.state.tree().prove(withdrawal_key(leaf.index)).encode();
  Bytes forced_proof = node.state.tree().prove(withdrawal_key(forced_leaf.index)).encode();
  auto claim = f.submit(7, make_finalize_withdrawal({}, 1, leaf, proof, 0));
  REQUIRE_FALSE(claim.ok());
  CHECK(claim.error().wire_code() == "not_final");

  // 5. After the challenge period both batches are final (0 first, then 1).
  f.advance(60);
  CHECK(f.chain->batch(0)->status == BatchStatus::kFinal);
  CHECK(f.chain->batch(1)->status == BatchStatus::kFinal);

  // 6. Claims are paid once; anyone can submit dev 2's claim for it.
  uint64_t usdc7 = f.chain->account(addr(7)).usdc, usdc2 = f.chain->account(addr(2)).usdc;
  REQUIRE(f.submit(7, make_finalize_withdrawal({}, 1, leaf, proof, 0)).ok());
  REQUIRE(f.submit(9, make_finalize_withdrawal({}, 1, forced_leaf, forced_proof, 0)).ok());
  CHECK(f.chain->account(addr(7)).usdc == usdc7 + 1200 * kUsdc);
  CHECK(f.chain->account(addr(2)).usdc == usdc2 + 300 * kUsdc);
  check_all();
  CHECK(f.chain->totals().escrow == 4500 * kUsdc);
  CHECK(static_cast<uint64_t>(node.global().total_withdrawals) == f.chain->totals().paid);
  auto again = f.submit(1, make_finalize_withdrawal({}, 1, leaf, proof, 0));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().wire_code() == "already_claimed");
  check_all();

  // 7. The node keeps going: a later batch still proves the (paid) leaf, which stays unpayable.
  f.deposit(3, 10 * kUsdc);
  uint64_t ts2 = f.chain->now();
  CHECK(node.step(f.chain->inbox(3, 1).at(0).l2_tx, ts2).ok());
  auto p2 = f.honest_post({}, node.root());
  p2.args.l2_timestamp = ts2;
  REQUIRE(f.post(0, p2).ok());
  f.advance(60);
  Bytes proof2 = node.state.tree().prove(withdrawal_key(leaf.index)).encode();
  CHECK(f.submit(7, make_finalize_withdrawal({}, 2, leaf, proof2, 0)).error().wire_code() == "already_claimed");
  replay_from_l1(*f.chain, genesis_time);
  check_all();

  // 8. The whole history survives a restart.
  nlohmann::json before = snapshot(*f.chain);
  f.reopen();
  CHECK(snapshot(*f.chain) == before);
}

}  // namespace opt::l1::test
