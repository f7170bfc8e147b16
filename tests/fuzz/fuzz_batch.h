// A fixed small batch of real, signed transactions over the test genesis (tests/stf/stf_fixture.h), built
// once at start-up by fuzz_one_step (its steps and honest roots) and fuzz_apply (the state after it).
#pragma once

#include "engine/core/merkle.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/stf/stf_fixture.h"

namespace opt::fuzz {

struct Batch {
  test::World world;          // its state is at genesis until run() is called
  std::vector<Bytes> steps;   // the inbox messages, then the sequencer's frames
  std::vector<Bytes> frames;  // the frames alone (txDataRoot)
  size_t inbox_count = 0;
  uint64_t timestamp = 0;  // the batch's L2 timestamp
  Bytes listed;            // a ListInstrument of the batch (its instrument gets id 5)

  Batch() {
    using namespace test;
    World& w = world;
    for (size_t d = 0; d < 4; ++d) steps.push_back(encode_tx(w.deposit(d, 200'000 * kUsdc)));
    steps.push_back(encode_tx(ForcedWithdrawTx{4, dev_address(3), 5 * kUsdc}));
    inbox_count = steps.size();
    auto frame = [&](const Tx& tx) { frames.push_back(encode_tx(tx)); };
    frame(w.report(kEth, 3000 * kUsdc));
    frame(w.report(kBtc, 60000 * kUsdc));
    frame(w.simple_trade(1, 2, 1, kContract, 50 * kUsdc));       // a call
    frame(w.simple_trade(0, 3, 2, 2 * kContract, 40 * kUsdc));   // a put
    frame(w.simple_trade(2, 0, 3, kContract / 2, 900 * kUsdc));  // BTC
    frame(w.simple_trade(3, 1, 4, kContract, 5 * kUsdc));        // the short-dated call
    Order resting = w.order(1, 1, false, 3 * kContract, 60 * kUsdc);
    frame(w.cancel(1, w.hash_of(resting)));
    frame(w.withdraw(0, 10 * kUsdc, 0));
    ListInstrumentTx l = w.list(kEth, 3200 * kUsdc, kT0 + 2 * 86400, true);
    listed = encode_tx(l);
    frame(l);
    frame(w.liquidate(0, 2, 1, kContract / 2));  // refused: not liquidatable
    frame(ExpireTx{4});                          // refused: not expired yet
    frame(SettleTx{dev_address(1), 1});          // refused
    frame(w.deposit(0, 1));                      // refused: inbox only
    frames.push_back(Bytes(9, 0xee));            // does not decode
    steps.insert(steps.end(), frames.begin(), frames.end());
    w.advance(5);
    timestamp = w.now();
  }

  StepContext ctx(size_t step) const { return StepContext{timestamp, step < inbox_count}; }

  // Runs every step on the world's state; `before(i)` runs before step i with the state as it is then.
  template <class F>
  std::vector<Hash32> run(F&& before) {
    std::vector<Hash32> roots{Hash32::from(world.state().root())};
    for (size_t i = 0; i < steps.size(); ++i) {
      before(i);
      auto r = apply(world.params(), ctx(i), steps[i], world.state());
      FUZZ_CHECK(r.ok(), "the fixed batch's step %zu does not execute", i);
      roots.push_back(Hash32::from(world.state().root()));
    }
    return roots;
  }
};

}  // namespace opt::fuzz
