#include "fraudproof/sim/strategies.h"

namespace opt::fp {

namespace {

class Malicious final : public Strategy {
 public:
  Malicious(uint64_t seed, std::optional<uint64_t> target) : rng_(seed), target_(target) {}
  bool treat_as_correct(uint64_t batch, bool root_matches) override {
    (void)root_matches;
    return !(target_ && *target_ == batch);
  }
  uint64_t choose_part(uint64_t honest_part, uint64_t degree) override {
    (void)honest_part;
    return next_random() % degree;
  }
  const char* dispute_note() const override { return " (pretending)"; }

 private:
  // splitmix64
  uint64_t next_random() {
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t rng_;
  std::optional<uint64_t> target_;
};

class Lazy final : public Strategy {
 public:
  bool move_now(uint64_t elapsed, uint64_t left) override {
    (void)elapsed;
    (void)left;
    return false;
  }
};

class Slow final : public Strategy {
 public:
  bool move_now(uint64_t elapsed, uint64_t left) override { return elapsed + 1 >= left; }
};

}  // namespace

std::shared_ptr<Strategy> make_strategy(Behaviour b, uint64_t seed, std::optional<uint64_t> target) {
  switch (b) {
    case Behaviour::kHonest: return honest_strategy();
    case Behaviour::kMalicious: return std::make_shared<Malicious>(seed, target);
    case Behaviour::kLazy: return std::make_shared<Lazy>();
    case Behaviour::kSlow: return std::make_shared<Slow>();
  }
  return honest_strategy();
}

}  // namespace opt::fp
