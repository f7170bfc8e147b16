// Matching-engine throughput on one core. Prints `name: value unit` lines:
//  - market_inserts_per_s: limit orders that cross nothing and rest (liquibook publishes 2.0-2.5 M/s);
//  - market_mixed_ops_per_s: a steady-state mix of resting inserts, cancels and crossing orders.
// Orders and hashes are generated before the clock starts: signature checks and hashing are the
// sequencer's cost, not the book's. Time is this thread's CPU time, not wall time, so that other jobs on a
// shared machine (parallel builds, other benchmarks) do not count against the book; each figure is the
// best of a few rounds.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

#include "engine/market/matching.h"
#include "tests/bench_util.h"
#include "tests/test_util.h"

using namespace opt;
using namespace opt::market;

namespace {

struct Made {
  SignedOrder so;
  OrderHash hash;
};

constexpr size_t kAccounts = 1000;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
constexpr uint64_t kMid = 100'000;  // micro-USDC; prices in ticks of 1 around it

std::vector<Address> make_accounts(test::Rng& rng) {
  std::vector<Address> out(kAccounts);
  for (auto& a : out) a = Address::from(rng.bytes(Address::kSize));
  return out;
}

Made make(test::Rng& rng, const std::vector<Address>& accounts, bool buy, uint64_t price, uint64_t qty,
          uint8_t flags = 0) {
  Made m;
  m.so.order.account = accounts[rng.below(accounts.size())];
  m.so.order.instrument = 1;
  m.so.order.is_buy = buy;
  m.so.order.quantity = qty;
  m.so.order.limit_price = price;
  m.so.order.max_fee = 100;
  m.so.order.nonce = rng.next();
  m.so.order.expiry = 4'000'000'000;
  m.so.order.flags = flags;
  m.hash = OrderHash::from(rng.hash());
  return m;
}

// Bids below the mid, asks above, 1000 levels each: nothing crosses.
double inserts_per_s() {
  constexpr size_t kOrders = 250'000;
  constexpr int kRounds = 8;
  test::Rng rng(1);
  auto accounts = make_accounts(rng);
  std::vector<Made> orders;
  orders.reserve(kOrders);
  for (size_t i = 0; i < kOrders; ++i) {
    const bool buy = rng.coin();
    const uint64_t off = 1 + rng.below(1000);
    orders.push_back(make(rng, accounts, buy, buy ? kMid - off : kMid + off, 1'000'000 * (1 + rng.below(10))));
  }
  double best = 0;
  for (int round = 0; round < kRounds; ++round) {
    MatchingEngine e;
    e.add_instrument(1);
    e.reserve(kOrders);
    size_t resting = 0;
    const double t0 = cpu_seconds();
    for (const Made& m : orders) resting += e.submit(m.so, m.hash, 1000).status == SubmitStatus::kResting;
    const double s = cpu_seconds() - t0;
    if (resting != kOrders) {
      std::fprintf(stderr, "expected every insert to rest, %zu did\n", resting);
      std::exit(1);
    }
    best = std::max(best, static_cast<double>(kOrders) / s);
  }
  return best;
}

// A book kept near 10k resting orders (it starts there and ends near it): 40% resting inserts within 50
// ticks of the mid, 45% cancels of a random earlier resting order (some were filled since: a miss is an
// op too, as it is for the node), 15% crossing orders (half IOC) that take one to a few levels.
double mixed_ops_per_s() {
  constexpr size_t kOps = 1'000'000;
  test::Rng rng(2);
  auto accounts = make_accounts(rng);
  enum class Op : uint8_t { kInsert, kCancel, kCross };
  struct Step {
    Op op;
    Made m;
  };
  std::vector<Step> steps;
  steps.reserve(kOps);
  for (size_t i = 0; i < kOps; ++i) {
    const uint64_t r = rng.below(100);
    const bool buy = rng.coin();
    if (r < 40) {
      const uint64_t off = 1 + rng.below(50);
      steps.push_back({Op::kInsert, make(rng, accounts, buy, buy ? kMid - off : kMid + off, 1 + rng.below(10))});
    } else if (r < 85) {
      steps.push_back({Op::kCancel, {}});
    } else {
      const uint64_t through = rng.below(4);
      steps.push_back({Op::kCross, make(rng, accounts, buy, buy ? kMid + through : kMid - through, 1 + rng.below(30),
                                        rng.coin() ? kIoc : 0)});
    }
  }
  // Best of a few rounds, each from the same warm-up book, so the measured part is at steady state.
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    test::Rng crng(3);
    MatchingEngine e;
    e.add_instrument(1);
    e.reserve(1 << 16);
    std::vector<OrderHash> live;
    live.reserve(kOps);
    for (size_t i = 0; i < 10'000; ++i) {
      const bool buy = crng.coin();
      const uint64_t off = 1 + crng.below(50);
      Made m = make(crng, accounts, buy, buy ? kMid - off : kMid + off, 1 + crng.below(10));
      (void)e.submit(m.so, m.hash, 1000);
      live.push_back(m.hash);
    }
    size_t fills = 0, cancelled = 0, cancels = 0;
    const double t0 = cpu_seconds();
    for (const Step& s : steps) {
      switch (s.op) {
        case Op::kInsert:
        case Op::kCross: {
          SubmitResult r = e.submit(s.m.so, s.m.hash, 1000);
          fills += r.fills.size();
          if (r.resting) live.push_back(s.m.hash);
          break;
        }
        case Op::kCancel: {
          if (live.empty()) break;
          const size_t k = crng.below(live.size());
          cancelled += e.cancel(live[k]).has_value();
          ++cancels;
          live[k] = live.back();
          live.pop_back();
          break;
        }
      }
    }
    const double secs = cpu_seconds() - t0;
    if (round == 0)
      std::fprintf(stderr, "mixed: %zu ops, %zu fills, %zu of %zu cancels hit, %zu resting at the end\n", kOps, fills,
                   cancelled, cancels, e.size());
    best = std::max(best, static_cast<double>(kOps) / secs);
  }
  return best;
}

}  // namespace

int main() {
  bench::report("market_inserts_per_s", inserts_per_s(), "orders/s", "bound: liquibook 2.0-2.5 M/s");
  bench::report("market_mixed_ops_per_s", mixed_ops_per_s(), "ops/s", "40% resting inserts, 45% cancels, 15% crossing");
  return 0;
}
