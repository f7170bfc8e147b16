// One-step proofs (fraudproof/proof.h): OneStepProof::decode and referee_step over a fixed batch of real
// transactions (tests/fuzz/fuzz_batch.h), whose honest roots are computed at start-up.
// Invariants:
//  - OneStepProof::decode is canonical;
//  - the referee is sound: whatever proof it accepts for step s from the honest root before s, the
//    root it returns is exactly the honest root after s (for padding steps: unchanged). A fraud proof
//    that could make the referee compute another root would let a cheater win a game;
//  - the honest proof of every step is accepted (checked once at start-up).
//
// Input: a step selector (modulo steps + 2, so two padding steps too), then the proof's bytes.
#include "fraudproof/proof.h"
#include "tests/fuzz/fuzz_batch.h"

using namespace opt;

namespace {

struct OneStep {
  fuzz::Batch batch;
  fp::StepFacts facts;
  std::vector<Hash32> roots;  // honest roots after 0..N steps
  std::vector<Bytes> proofs;  // the honest proof of each step (and of two padding steps)

  OneStep() {
    facts = fp::StepFacts{batch.inbox_count, batch.frames.size(), tx_data_root(batch.frames), batch.timestamp};
    const Params& params = batch.world.params();
    roots = batch.run([&](size_t i) {
      proofs.push_back(fp::build_proof(params, facts, i, batch.world.state(), batch.steps[i], batch.frames).encode());
    });
    for (uint64_t s = facts.steps(); s < facts.steps() + 2; ++s)
      proofs.push_back(fp::build_proof(params, facts, s, batch.world.state(), Bytes{}, batch.frames).encode());
  }
  uint64_t positions() const { return facts.steps() + 2; }
  fp::InboxReader inbox() const {
    return [this](uint64_t step) -> std::optional<Bytes> {
      if (step >= batch.inbox_count) return std::nullopt;
      return batch.steps[step];
    };
  }
  const Hash32& before(uint64_t s) const { return roots[std::min<uint64_t>(s, facts.steps())]; }
  const Hash32& after(uint64_t s) const { return roots[std::min<uint64_t>(s + 1, facts.steps())]; }
};

OneStep& fixture() {
  static OneStep* f = [] {
    auto* f = new OneStep;
    for (uint64_t s = 0; s < f->positions(); ++s) {
      auto r = fp::referee_step(f->batch.world.params(), f->facts, s, StateRoot::from(f->before(s)), f->proofs[s],
                                f->inbox());
      FUZZ_CHECK(r && Hash32::from(*r) == f->after(s), "the honest proof of step %llu is refused or wrong",
                 static_cast<unsigned long long>(s));
    }
    return f;
  }();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  OneStep& f = fixture();
  if (!std::getenv("OPT_FUZZ_SEEDS_OUT")) return 0;
  for (uint64_t s = 0; s < f.positions(); ++s) {
    uint8_t sel = static_cast<uint8_t>(s);
    fuzz::write_seed(fuzz::concat({ByteView(&sel, 1), f.proofs[s]}));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  OneStep& f = fixture();
  const uint64_t step = data[0] % f.positions();
  ByteView bytes(data + 1, size - 1);

  if (auto p = fp::OneStepProof::decode(bytes)) {
    FUZZ_CHECK(p->encode() == Bytes(bytes.begin(), bytes.end()),
               "OneStepProof::decode accepted a non-canonical encoding");
  }
  auto r = fp::referee_step(f.batch.world.params(), f.facts, step, StateRoot::from(f.before(step)), bytes, f.inbox());
  if (r) {
    FUZZ_CHECK(Hash32::from(*r) == f.after(step),
               "the referee accepted a proof of step %llu giving root %s, not the honest %s",
               static_cast<unsigned long long>(step), r->hex().c_str(), f.after(step).hex().c_str());
  }
  return 0;
}
