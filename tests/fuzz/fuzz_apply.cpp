// apply() (engine/stf/apply.h) on arbitrary bytes over a fixed state: the test genesis after a batch of
// deposits, reports, trades on every instrument, a withdrawal and a listing (tests/fuzz/fuzz_batch.h).
// Invariants:
//  - apply is total over the full state: it never fails (only a witness can be missing) and never crashes;
//  - a refusal changes nothing: the root is unchanged;
//  - the same step over a WitnessState built from a multiproof of exactly the keys it touched gives the
//    same receipt and the same new root (what the L1 referee relies on);
//  - reverting the full state's journal restores the root.
//
// Input: a flags byte, then the transaction's bytes.
//   bit 0: run as an inbox step (Deposit and ForcedWithdraw execute only there);
//   bits 1-2: the step's timestamp: the batch's, one hour later, after the short-dated instrument's
//             expiry, after the others' expiry;
//   bit 3: re-sign: if the bytes decode, replace every signature with a valid one by the key the
//          transaction names (a dev key; others sign with an arbitrary dev key), so the fuzzer gets past
//          signature checks into margin, fees, liquidation and settlement.
#include "tests/fuzz/fuzz_batch.h"

using namespace opt;
using namespace opt::test;

namespace {

struct Fixture {
  fuzz::Batch batch;
  Hash32 root;
  std::map<Address, size_t> devs;

  Fixture() {
    batch.run([](size_t) {});
    batch.world.state().forget_before(batch.world.state().mark());
    root = Hash32::from(batch.world.state().root());
    for (size_t i = 0; i < 10; ++i) devs[dev_address(i)] = i;
  }
  PrivateKey key_for(const Address& a) const {
    auto it = devs.find(a);
    return dev_key(it != devs.end() ? it->second : a[19] % 10);
  }
};

Fixture& fixed() {
  static Fixture* f = new Fixture;
  return *f;
}

Signature signed_by(const Hash32& digest, const PrivateKey& k) {
  auto s = sign(digest, k);
  FUZZ_CHECK(s.ok(), "a dev key cannot sign");
  return *s;
}

Bytes resign(ByteView in) {
  auto tx = decode_tx(in);
  if (!tx) return Bytes(in.begin(), in.end());
  Fixture& f = fixed();
  const Hash32& sep = f.batch.world.params().domain_separator;
  struct V {
    Fixture& f;
    const Hash32& sep;
    void operator()(TradeTx& t) {
      t.maker.sig = signed_by(typed_digest(sep, t.maker.order), f.key_for(t.maker.order.account));
      t.taker.sig = signed_by(typed_digest(sep, t.taker.order), f.key_for(t.taker.order.account));
    }
    void operator()(CancelTx& t) { t.sig = signed_by(typed_digest(sep, t.cancel), f.key_for(t.cancel.account)); }
    void operator()(PriceReportTx& t) {
      // Committee members 7, 8, 9 or dev 0 (not a member), chosen by the old signature's first byte.
      for (auto& s : t.sigs) s = signed_by(typed_digest(sep, t.report), dev_key(s[0] % 4 == 3 ? 0 : 7 + s[0] % 4));
    }
    void operator()(ListInstrumentTx& t) {
      t.sig = signed_by(typed_digest(sep, t.listing), dev_key(t.sig[0] & 1 ? 5 : 6));
    }
    void operator()(LiquidateTx& t) {
      t.sig = signed_by(typed_digest(sep, t.liquidate), f.key_for(t.liquidate.liquidator));
    }
    void operator()(WithdrawTx& t) { t.sig = signed_by(typed_digest(sep, t.withdraw), f.key_for(t.withdraw.account)); }
    void operator()(DepositTx&) {}
    void operator()(ExpireTx&) {}
    void operator()(SettleTx&) {}
    void operator()(ForcedWithdrawTx&) {}
  };
  std::visit(V{f, sep}, *tx);
  return encode_tx(*tx);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Fixture& f = fixed();
  if (!std::getenv("OPT_FUZZ_SEEDS_OUT")) return 0;
  World& w = f.batch.world;
  auto seed = [](uint8_t flags, const Tx& tx) { fuzz::write_seed(fuzz::concat({ByteView(&flags, 1), encode_tx(tx)})); };
  seed(1, w.deposit(2, 1'000 * kUsdc));
  seed(1, ForcedWithdrawTx{9, dev_address(1), 1'000'000 * kUsdc});
  seed(8, w.simple_trade(1, 2, 1, kContract, 55 * kUsdc));            // closes part of a position
  seed(8, w.simple_trade(2, 1, 1, kContract, 45 * kUsdc));            // the other way
  seed(8, w.simple_trade(0, 1, 5, 3 * kContract, 70 * kUsdc));        // the listed instrument
  seed(8, w.simple_trade(3, 0, 2, 100'000 * kContract, 40 * kUsdc));  // far above margin
  seed(8, w.trade(1, w.order(1, 1, false, kContract, 50 * kUsdc, kPostOnly), 2,
                  w.order(2, 1, true, kContract, 50 * kUsdc, kReduceOnly), kContract, 50 * kUsdc));
  seed(8, w.cancel(1, w.hash_of(w.order(1, 1, false, kContract, 50 * kUsdc))));
  seed(8, w.withdraw(1, 1'000 * kUsdc, 0));
  seed(8, w.withdraw(0, 1'000 * kUsdc, 1));
  seed(8, w.report_at(kEth, 4000 * kUsdc, f.batch.timestamp));
  seed(8 | 2 << 1, w.report_at(kEth, 1500 * kUsdc, f.batch.timestamp + 3600));
  seed(8 | 3 << 1, w.report_at(kBtc, 61000 * kUsdc, kT0 + 86400 + 60));
  seed(8, w.list(kBtc, 70000 * kUsdc, kT0 + 3 * 86400, false));
  seed(8 | 1 << 1, w.liquidate(1, 2, 1, kContract / 2));
  seed(2 << 1, ExpireTx{4});
  seed(3 << 1, ExpireTx{1});
  seed(3 << 1, SettleTx{dev_address(1), 1});
  seed(2 << 1, SettleTx{dev_address(3), 4});
  seed(0, ExpireTx{5});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Fixture& f = fixed();
  World& w = f.batch.world;
  const uint8_t flags = data[0];
  static const uint64_t kTimes[4] = {0, 3600, kT0 + 7200 + 60, kT0 + 86400 + 60};
  const uint64_t t = (flags >> 1 & 3) < 2 ? f.batch.timestamp + kTimes[flags >> 1 & 3] : kTimes[flags >> 1 & 3];
  const StepContext ctx{t, (flags & 1) != 0};
  ByteView raw(data + 1, size - 1);
  const Bytes tx = (flags & 8) ? resign(raw) : Bytes(raw.begin(), raw.end());

  FullState& state = w.state();
  const size_t mark = state.mark();
  std::vector<SmtKey> touched;
  ApplyOptions o;
  o.touched = &touched;
  auto full = apply(w.params(), ctx, tx, state, o);
  FUZZ_CHECK(full.ok(), "apply over the full state failed: %s", to_string(full.error()));
  const Hash32 after = Hash32::from(state.root());
  if (!full->ok()) FUZZ_CHECK(after == f.root, "a refused step (%s) changed the root", to_string(full->code));
  FUZZ_CHECK(state.revert_to(mark), "cannot revert");
  FUZZ_CHECK(Hash32::from(state.root()) == f.root, "reverting the journal did not restore the root");

  // The referee's view: only the keys the step touched, from a multiproof against the pre-state root.
  Bytes proof = state.tree().prove_many(touched);
  auto ws = WitnessState::from_proof(StateRoot::from(f.root), proof);
  FUZZ_CHECK(ws.ok(), "a multiproof of the touched keys is refused: %s", to_string(ws.error()));
  auto wit = apply(w.params(), ctx, tx, *ws);
  FUZZ_CHECK(wit.ok(), "the step reads a key it did not report as touched (%s)", to_string(wit.error()));
  FUZZ_CHECK(*wit == *full, "receipts differ: full state %s/%llu, witness %s/%llu", to_string(full->code),
             static_cast<unsigned long long>(full->value), to_string(wit->code),
             static_cast<unsigned long long>(wit->value));
  FUZZ_CHECK(Hash32::from(ws->root()) == after, "the witness state ends at another root than the full state");
  return 0;
}
