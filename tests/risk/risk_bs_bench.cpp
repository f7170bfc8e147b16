// Throughput of the integer Black-Scholes mark and its building blocks. A margin check prices every
// position of an account (up to 64) inside one state transition step, so a price must cost
// microseconds at most; this prints the rates and the implied cost of a 64-position check.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "engine/risk/black_scholes.h"
#include "engine/risk/fixed_math.h"

using namespace opt;

namespace {

struct Input {
  int64_t spot, strike, vol, t;
  bool call;
};

template <class F>
double rate(size_t n, F&& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - start;
  return static_cast<double>(n) / dt.count();
}

}  // namespace

int main() {
  // Realistic marks: spots 1 .. 200,000 USDC, strikes 0.2x .. 5x, vols 5 % .. 300 %, 1 minute .. 2 years.
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  auto log_uniform = [&](double lo, double hi) { return lo * std::pow(hi / lo, u01(rng)); };
  constexpr size_t kInputs = 4096;
  std::vector<Input> in(kInputs);
  for (auto& x : in) {
    x.spot = static_cast<int64_t>(log_uniform(1e6, 2e11));
    x.strike = static_cast<int64_t>(static_cast<double>(x.spot) * log_uniform(0.2, 5.0));
    x.vol = static_cast<int64_t>(log_uniform(5e4, 3e6));
    x.t = static_cast<int64_t>(log_uniform(60, 63'072'000));
    x.call = (rng() & 1) != 0;
  }
  std::vector<i128> xs(kInputs);
  for (auto& x : xs) x = static_cast<i128>((rng() % 16'000'000'000'000'000'000ULL)) - 8 * kWad;

  constexpr size_t kRounds = 100;
  int64_t sink = 0;
  double bs = rate(kInputs * kRounds, [&] {
    for (size_t r = 0; r < kRounds; ++r)
      for (const auto& x : in) sink += *bs_price(x.spot, x.strike, x.vol, x.t, x.call);
  });
  i128 acc = 0;
  double cdf = rate(kInputs * kRounds, [&] {
    for (size_t r = 0; r < kRounds; ++r)
      for (i128 x : xs) acc += norm_cdf_wad(x + static_cast<i128>(r));
  });
  double ln = rate(kInputs * kRounds, [&] {
    for (size_t r = 0; r < kRounds; ++r)
      for (const auto& x : in) acc += *ln_wad(static_cast<i128>(x.spot) * kWad + static_cast<i128>(r));
  });
  double ex = rate(kInputs * kRounds, [&] {
    for (size_t r = 0; r < kRounds; ++r)
      for (i128 x : xs) acc += *exp_wad(x * 5 + static_cast<i128>(r));
  });
  double sq = rate(kInputs * kRounds, [&] {
    for (size_t r = 0; r < kRounds; ++r)
      for (const auto& x : in) acc += *sqrt_wad(static_cast<i128>(x.spot) * x.t + static_cast<i128>(r));
  });
  std::printf("bs_price_per_s: %.0f prices/s\n", bs);
  std::printf("norm_cdf_per_s: %.0f evals/s\n", cdf);
  std::printf("ln_wad_per_s: %.0f evals/s\n", ln);
  std::printf("exp_wad_per_s: %.0f evals/s\n", ex);
  std::printf("sqrt_wad_per_s: %.0f evals/s\n", sq);
  std::printf("margin_64_positions_us: %.2f us (64 marks)\n", 64.0 / bs * 1e6);
  // Printed so the compiler keeps the work; not a figure (no "name: value" form).
  std::printf("(results sink %lld %lld)\n", static_cast<long long>(sink), static_cast<long long>(acc % 1000));
  return 0;
}
