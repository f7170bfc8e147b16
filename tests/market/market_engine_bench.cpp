// Matching-engine throughput on the seeded stream of tests/market/market_stream.h (2M limit orders, prices
// uniform in 950..1050, quantities 1..100, random side, 1,000 buying and 1,000 selling accounts), without
// and with 10% of operations being cancels. Beside each figure, its bound measured in the same process on
// the same stream: the conventional std::map price-level book of market_map_book.h. Prints
// `name: value unit` lines: the engine's rate, the bound's rate and their ratio.
//
// Time is this thread's CPU time, not wall time, so that other jobs on a shared machine do not count
// against either book; engine and bound run interleaved, three rounds each, and the medians are printed.
// Both books must agree on what traded and what rests, or the run fails: a faster book that matched
// differently would prove nothing.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "engine/market/matching.h"
#include "tests/bench_util.h"
#include "tests/market/market_map_book.h"
#include "tests/market/market_stream.h"

using namespace opt;
using namespace opt::market;
using opt::test::MapBook;
using opt::test::OrderStream;

namespace {

constexpr size_t kOrders = 2'000'000;
constexpr int kRounds = 3;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Outcome {
  double seconds = 0;
  uint64_t traded = 0;  // total fill quantity
  size_t fills = 0;
  size_t cancelled = 0;  // cancels that hit a resting order
  size_t resting = 0;    // at the end
  bool operator==(const Outcome& o) const {
    return traded == o.traded && fills == o.fills && cancelled == o.cancelled && resting == o.resting;
  }
};

Outcome run_engine(const OrderStream& s) {
  MatchingEngine e(0x5eed);
  e.add_instrument(test::kStreamInstrument);
  Outcome out;
  const double t0 = cpu_seconds();
  for (const test::StreamOp& op : s.ops) {
    const test::StreamOrder& m = s.orders[op.order];
    if (op.cancel) {
      out.cancelled += e.cancel(m.hash).has_value();
      continue;
    }
    const SubmitResult& r = e.submit(m.so, m.hash, test::kStreamNow);
    out.traded += r.filled;
    out.fills += r.fills.size();
  }
  out.seconds = cpu_seconds() - t0;
  out.resting = e.size();
  return out;
}

Outcome run_bound(const OrderStream& s) {
  MapBook b;
  Outcome out;
  const double t0 = cpu_seconds();
  for (const test::StreamOp& op : s.ops) {
    const test::StreamOrder& m = s.orders[op.order];
    if (op.cancel) {
      out.cancelled += b.cancel(m.hash);
      continue;
    }
    for (const MapBook::Fill& f : b.submit(m.so.order, m.hash, test::kStreamNow)) {
      out.traded += f.quantity;
      ++out.fills;
    }
  }
  out.seconds = cpu_seconds() - t0;
  out.resting = b.size();
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void measure(const std::string& name, unsigned cancel_percent, uint64_t seed) {
  const OrderStream s = test::make_order_stream(kOrders, cancel_percent, seed);
  std::vector<double> engine, bound;
  for (int round = 0; round < kRounds; ++round) {
    const Outcome e = run_engine(s);
    const Outcome b = run_bound(s);
    if (!(e == b)) {
      std::fprintf(stderr,
                   "%s: the books disagree: engine traded %llu in %zu fills, %zu cancels hit, %zu rest; "
                   "bound traded %llu in %zu fills, %zu cancels hit, %zu rest\n",
                   name.c_str(), static_cast<unsigned long long>(e.traded), e.fills, e.cancelled, e.resting,
                   static_cast<unsigned long long>(b.traded), b.fills, b.cancelled, b.resting);
      std::exit(1);
    }
    if (round == 0)
      std::fprintf(stderr, "%s: %zu ops (%zu cancels, %zu hit), %zu fills, %zu resting at the end\n", name.c_str(),
                   s.ops.size(), s.cancels, e.cancelled, e.fills, e.resting);
    engine.push_back(static_cast<double>(s.ops.size()) / e.seconds);
    bound.push_back(static_cast<double>(s.ops.size()) / b.seconds);
  }
  const double er = median(engine), br = median(bound);
  bench::report(name + "_ops_per_s", er, "ops/s", "median of " + std::to_string(kRounds) + ", CPU time");
  bench::report(name + "_bound_ops_per_s", br, "ops/s", "std::map price-level book, same stream, same run");
  bench::report(name + "_vs_bound", er / br, "x");
}

}  // namespace

int main() {
  measure("market_stream", 0, 12);
  measure("market_stream_cancels", 10, 13);
  return 0;
}
