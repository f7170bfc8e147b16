// One-step proofs without an L1 (fraudproof/proof.h): build_proof on the prover's side and referee_step
// on the L1's, over a batch with every transaction type (accepted and refused ones) on a state with
// history. For every step the honest proof reproduces the honest next root; no single changed byte, no
// proof of another step, no witness short of a key makes the referee compute any other root (it refuses,
// or the change was immaterial and the root is the honest one); and decoding is total.
#include <doctest/doctest.h>

#include <map>

#include "engine/core/merkle.h"
#include "engine/stf/batch.h"
#include "fraudproof/proof.h"
#include "tests/stf/stf_fixture.h"

namespace opt::fp {

namespace {

using test::kBtc;
using test::kContract;
using test::kEth;
using test::kT0;
using test::kUsdc;

// A state with history (deposits, positions, an oracle with settlement checkpoints) and, on it, one batch
// that holds every transaction type: inbox messages first, then the sequencer's frames.
struct Corpus {
  test::World w;
  std::vector<Bytes> steps;
  std::vector<Bytes> frames;
  StepFacts facts;
  std::vector<Receipt> receipts;
  std::vector<Hash32> roots;              // before step 0 .. after the last step
  std::vector<Bytes> proofs;              // the honest proof of each step
  std::vector<std::vector<SmtKey>> keys;  // the keys each step reads or writes
  // For each step and each of its keys: a witness of every other key (prove_many over the set minus one),
  // and whether the left-out key holds a value before the step.
  std::vector<std::vector<Bytes>> short_witnesses;
  std::vector<std::vector<bool>> key_present;
  Params params;

  Corpus() {
    // History, applied directly: deposits, prices every 250 s across the first expiry (so the oracle holds
    // its settlement checkpoints), positions in the expiring instrument 4 and a short call of dev 5 that a
    // price jump will put under maintenance margin.
    for (size_t d = 0; d < 5; ++d) REQUIRE(w.run(w.deposit(d, 200'000 * kUsdc)).ok());
    REQUIRE(w.run(w.deposit(5, 600 * kUsdc)).ok());
    REQUIRE(w.run(w.report_at(kEth, 3000 * kUsdc, w.now())).ok());
    REQUIRE(w.run(w.report_at(kBtc, 60000 * kUsdc, w.now())).ok());
    REQUIRE(w.run(w.simple_trade(0, 1, 4, kContract, 1 * kUsdc)).ok());
    REQUIRE(w.run(w.simple_trade(2, 3, 1, kContract, 60 * kUsdc)).ok());
    REQUIRE(w.run(w.simple_trade(5, 2, 1, kContract, 60 * kUsdc)).ok());
    for (uint64_t t = kT0 + 300; t <= kT0 + 7300; t += 250) {
      w.set_now(t);
      REQUIRE(w.run(w.report_at(kEth, 3000 * kUsdc + static_cast<int64_t>(t % 7) * kUsdc, t)).ok());
      REQUIRE(w.run(w.report_at(kBtc, 60000 * kUsdc, t)).ok());
    }
    // The batch, at one L2 time after instrument 4 expired.
    w.set_now(kT0 + 7400);
    steps.push_back(encode_tx(w.deposit(4, 100'000 * kUsdc)));
    steps.push_back(encode_tx(ForcedWithdrawTx{99, test::dev_address(2), 100 * kUsdc}));
    steps.push_back(encode_tx(w.deposit(0, 5 * kUsdc)));
    facts.inbox_count = steps.size();
    const Order resting = w.order(1, 2, false, kContract, 40 * kUsdc);
    TradeTx bad_sig = w.simple_trade(0, 3, 2, kContract, 40 * kUsdc);
    bad_sig.taker.sig[7] ^= 1;
    frames = {
        encode_tx(w.report_at(kEth, 3600 * kUsdc, w.now())),  // ETH jumps: dev 5's short call is under water
        encode_tx(w.report_at(kBtc, 61000 * kUsdc, w.now())),
        encode_tx(w.trade(1, resting, 0, w.order(0, 2, true, kContract / 2, 40 * kUsdc), kContract / 2, 40 * kUsdc)),
        encode_tx(w.simple_trade(3, 0, 3, kContract / 4, 900 * kUsdc)),
        encode_tx(w.cancel(1, w.hash_of(resting))),
        encode_tx(w.trade(1, resting, 3, w.order(3, 2, true, kContract / 4, 40 * kUsdc), kContract / 4, 40 * kUsdc)),
        encode_tx(w.list(kEth, 4000 * kUsdc, kT0 + 86400 * 2, false)),
        encode_tx(w.list(kEth, 4000 * kUsdc, kT0 + 86400 * 2, false)),  // a duplicate: refused
        encode_tx(w.liquidate(4, 5, 1, kContract / 10)),
        encode_tx(ExpireTx{4}),
        encode_tx(SettleTx{test::dev_address(0), 4}),
        encode_tx(SettleTx{test::dev_address(1), 4}),
        encode_tx(SettleTx{test::dev_address(1), 4}),  // nothing left to settle
        encode_tx(w.withdraw(1, 1'000 * kUsdc)),
        encode_tx(w.withdraw(1, 1'000 * kUsdc, 7)),  // wrong nonce
        encode_tx(ExpireTx{77}),                     // no such instrument
        encode_tx(bad_sig),
        encode_tx(w.report_at(kBtc, 61000 * kUsdc, kT0)),  // older than the last report
        Bytes{0x02, 0x00, 0x01},                           // a trade tag with nothing after it
        Bytes{},                                           // the empty string is a step too
        Bytes(40, 0xab),
    };
    steps.insert(steps.end(), frames.begin(), frames.end());
    facts.tx_count = frames.size();
    facts.tx_data_root = tx_data_root(frames);
    facts.l2_timestamp = w.now();

    // The prover's side, step by step on the full state.
    FullState& s = w.state();
    roots.push_back(Hash32::from(s.root()));
    for (uint64_t i = 0; i < steps.size(); ++i) {
      std::vector<SmtKey> touched;
      {
        Overlay probe(s);
        ApplyOptions o;
        o.touched = &touched;
        (void)apply(w.params(), StepContext{w.now(), i < facts.inbox_count}, steps[i], probe, o);
      }
      keys.push_back(touched);
      std::vector<Bytes> shorts;
      std::vector<bool> present;
      for (size_t k = 0; k < touched.size(); ++k) {
        std::vector<SmtKey> fewer = touched;
        fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(k));
        shorts.push_back(s.tree().prove_many(fewer));
        present.push_back(s.find(touched[k]) != nullptr);
      }
      short_witnesses.push_back(std::move(shorts));
      key_present.push_back(std::move(present));
      proofs.push_back(build_proof(w.params(), facts, i, s, steps[i], frames).encode());
      REQUIRE(Hash32::from(s.root()) == roots.back());  // build_proof leaves the state as it was
      auto r = apply(w.params(), StepContext{w.now(), i < facts.inbox_count}, steps[i], s);
      REQUIRE(r.ok());
      receipts.push_back(*r);
      roots.push_back(Hash32::from(s.root()));
    }
    params = w.params();
  }

  InboxReader inbox() const {
    return [this](uint64_t step) -> std::optional<Bytes> {
      if (step >= facts.inbox_count) return std::nullopt;
      return steps[step];
    };
  }
  Result<StateRoot, ProofVerdict> referee(uint64_t step, const Hash32& before, ByteView proof) const {
    return referee_step(params, facts, step, StateRoot::from(before), proof, inbox());
  }
};

Corpus& corpus() {
  static Corpus c;
  return c;
}

std::string verdict(const Result<StateRoot, ProofVerdict>& r) {
  return r.ok() ? "ok" : to_string(r.error());
}

}  // namespace

TEST_CASE("the corpus holds every transaction type, accepted and refused") {
  const Corpus& c = corpus();
  std::map<TxType, int> ok, refused;
  int undecoded = 0;
  for (const auto& r : c.receipts) {
    if (!r.decoded) {
      ++undecoded;
      continue;
    }
    (r.ok() ? ok : refused)[r.type]++;
  }
  for (uint8_t t = 1; t <= 10; ++t) {
    const std::string type = to_string(static_cast<TxType>(t));
    CAPTURE(type);
    CHECK(ok[static_cast<TxType>(t)] >= 1);
  }
  CHECK(refused.size() >= 6);
  CHECK(undecoded == 3);
  // Every accepted step changed the root (so each proof below is checked against a real transition).
  for (size_t i = 0; i < c.receipts.size(); ++i)
    if (c.receipts[i].ok()) CHECK(c.roots[i] != c.roots[i + 1]);
}

TEST_CASE("referee_step: the honest proof of every step reproduces the honest next root") {
  const Corpus& c = corpus();
  for (uint64_t i = 0; i < c.steps.size(); ++i) {
    CAPTURE(i);
    auto r = c.referee(i, c.roots[i], c.proofs[i]);
    REQUIRE_MESSAGE(r.ok(), verdict(r));
    CHECK(Hash32::from(*r) == c.roots[i + 1]);
    auto decoded = OneStepProof::decode(c.proofs[i]);
    REQUIRE(decoded.ok());
    CHECK(decoded->step == i);
    CHECK(decoded->encode() == c.proofs[i]);
    // Inbox steps carry no transaction: the referee reads the message from the L1's storage.
    CHECK(decoded->tx == (i < c.facts.inbox_count ? Bytes{} : c.steps[i]));
  }
  // Padding: positions at and beyond N are no-ops proven by an empty proof, and only by one.
  const uint64_t n = c.steps.size();
  for (uint64_t p = n; p < n + 3; ++p) {
    auto r = c.referee(p, c.roots.back(), OneStepProof{p, {}, {}, {}}.encode());
    REQUIRE(r.ok());
    CHECK(Hash32::from(*r) == c.roots.back());
    CHECK(verdict(c.referee(p, c.roots.back(), OneStepProof{p, {}, {}, Bytes{0}}.encode())) == "unexpected_tx");
    CHECK(verdict(c.referee(p, c.roots.back(), OneStepProof{p, c.frames[0], {}, {}}.encode())) == "unexpected_tx");
  }
}

TEST_CASE("referee_step: no single changed byte of a proof yields another root") {
  const Corpus& c = corpus();
  // Each of the eight single-bit flips and the all-bits flip, at every byte of every step's proof.
  static const uint8_t kMasks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
  std::map<std::string, uint64_t> verdicts;
  uint64_t flips = 0;
  for (uint64_t i = 0; i < c.steps.size(); ++i) {
    CAPTURE(i);
    const Bytes& honest = c.proofs[i];
    for (size_t j = 0; j < honest.size(); ++j) {
      for (uint8_t mask : kMasks) {
        Bytes p = honest;
        p[j] ^= mask;
        auto r = c.referee(i, c.roots[i], p);
        ++flips;
        verdicts[verdict(r)]++;
        if (r.ok() && Hash32::from(*r) != c.roots[i + 1])
          FAIL_CHECK("step " << i << ": byte " << j << " changed gives another root");
      }
    }
  }
  MESSAGE("byte changes tried: " << flips);
  for (const auto& [v, n] : verdicts) MESSAGE("  " << v << ": " << n);
  // The refusals are the expected kinds, and all of them occur.
  for (const char* v : {"malformed_proof", "wrong_step", "bad_tx_proof", "bad_witness"}) CHECK(verdicts[v] > 0);
}

TEST_CASE("referee_step: the proof of one step does not prove another") {
  const Corpus& c = corpus();
  const uint64_t n = c.steps.size();
  uint64_t restamped_refused = 0;
  for (uint64_t i = 0; i < n; ++i) {
    for (uint64_t j = 0; j < n + 2; ++j) {
      if (i == j) continue;
      CAPTURE(i);
      CAPTURE(j);
      const Hash32& before = c.roots[std::min(j, n)];
      const Hash32& after = c.roots[std::min(j + 1, n)];
      CHECK(verdict(c.referee(j, before, c.proofs[i])) == "wrong_step");
      // The same proof renumbered as step j: refused, or (a step whose input and witness happen to fit)
      // exactly the honest root of step j.
      OneStepProof p = *OneStepProof::decode(c.proofs[i]);
      p.step = j;
      auto r = c.referee(j, before, p.encode());
      if (r.ok())
        CHECK(Hash32::from(*r) == after);
      else
        ++restamped_refused;
    }
  }
  CHECK(restamped_refused > n * (n - 1) / 2);
}

TEST_CASE("referee_step: a witness short of any key the step reads is refused or immaterial") {
  const Corpus& c = corpus();
  uint64_t tried = 0, incomplete = 0;
  for (uint64_t i = 0; i < c.steps.size(); ++i) {
    CAPTURE(i);
    const OneStepProof honest = *OneStepProof::decode(c.proofs[i]);
    uint64_t step_incomplete = 0;
    for (size_t k = 0; k < c.keys[i].size(); ++k) {
      CAPTURE(k);
      OneStepProof p = honest;
      p.witness = c.short_witnesses[i][k];
      auto r = c.referee(i, c.roots[i], p.encode());
      ++tried;
      if (r.ok()) {
        // The left-out key was still covered by the others' paths (proven absent): same root.
        CHECK_FALSE(c.key_present[i][k]);
        CHECK(Hash32::from(*r) == c.roots[i + 1]);
      } else {
        CHECK(verdict(r) == "incomplete_witness");
        ++step_incomplete;
      }
      // A key that holds a value is never answered without its leaf.
      if (c.key_present[i][k]) CHECK_FALSE(r.ok());
    }
    if (!c.keys[i].empty()) CHECK(step_incomplete >= 1);
    incomplete += step_incomplete;
  }
  MESSAGE("witnesses short of one key: " << tried << ", refused as incomplete: " << incomplete);
  CHECK(incomplete > 0);
}

TEST_CASE("decoding is total: random bytes, truncations and extensions are refused, never a crash") {
  const Corpus& c = corpus();
  test::Rng rng(2024);
  for (int i = 0; i < 20'000; ++i) {
    Bytes b = rng.bytes(rng.below(i < 10'000 ? 40 : 400));
    if (i % 3 == 0 && b.size() >= 8) std::fill(b.begin(), b.begin() + 8, 0);  // a plausible step number
    (void)OneStepProof::decode(b);
    const uint64_t step = rng.below(c.steps.size());
    auto r = c.referee(step, c.roots[step], b);
    if (r.ok()) CHECK(Hash32::from(*r) == c.roots[step + 1]);
  }
  for (uint64_t i = 0; i < c.steps.size(); ++i) {
    const Bytes& p = c.proofs[i];
    for (size_t len = 0; len < p.size(); ++len) {
      auto d = OneStepProof::decode(ByteView(p.data(), len));
      CHECK_FALSE(d.ok());
      CHECK(verdict(c.referee(i, c.roots[i], ByteView(p.data(), len))) == "malformed_proof");
    }
    Bytes longer = p;
    longer.push_back(0);
    CHECK(verdict(c.referee(i, c.roots[i], longer)) == "malformed_proof");
  }
  // Valid framing around hostile contents: a random witness, a random transaction.
  for (int i = 0; i < 2'000; ++i) {
    const uint64_t step = rng.below(c.steps.size());
    OneStepProof p = *OneStepProof::decode(c.proofs[step]);
    if (i % 2) {
      p.witness = rng.bytes(rng.below(600));
      if (!p.witness.empty()) p.witness[0] = static_cast<uint8_t>(rng.below(5));  // a real node tag
    } else {
      p.tx = rng.bytes(rng.below(300));
    }
    auto r = c.referee(step, c.roots[step], p.encode());
    if (r.ok()) CHECK(Hash32::from(*r) == c.roots[step + 1]);
  }
}

}  // namespace opt::fp
