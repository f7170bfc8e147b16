#include "engine/risk/black_scholes.h"

#include "engine/risk/fixed_math.h"

namespace opt {
namespace {

constexpr u128 kUYear = kSecondsPerYear;

// v = sigma * sqrt(T) in WAD, rounded down. vol^2 * t (at most 1e14 * 2^63 < 2^127) carries 12 decimals
// of vol^2 and seconds, so v^2 = vol^2 t / (1e12 * year) and v * 1e18 = sqrt(vol^2 t * 1e24 / year).
std::optional<i128> total_vol_wad(int64_t vol, int64_t t_seconds) {
  u128 x = static_cast<u128>(vol) * static_cast<u128>(vol) * static_cast<u128>(t_seconds);
  u128 q = x / kUYear, r = x % kUYear;
  constexpr u128 k1e24 = static_cast<u128>(kWad) * 1'000'000;
  if (q < 300'000'000'000'000) {
    // v^2 in units of 1e-36 fits in 128 bits (q * 1e24 + r * 1e24 / year < 3.0e38 + 3.2e31): the
    // integer square root then is exactly floor(v * 1e18), even for the shortest, calmest options.
    return static_cast<i128>(isqrt(q * k1e24 + (r * k1e24) / kUYear));
  }
  // v^2 >= 300: WAD resolution of v^2 is far more than enough.
  return sqrt_wad(static_cast<i128>(q * 1'000'000 + (r * 1'000'000) / kUYear));
}

}  // namespace

const char* to_string(RiskError e) {
  switch (e) {
    case RiskError::kNonPositiveSpot: return "spot price must be positive";
    case RiskError::kNonPositiveStrike: return "strike must be positive";
    case RiskError::kVolOutOfRange: return "volatility out of range";
    case RiskError::kOverflow: return "arithmetic overflow in option pricing";
  }
  return "unknown risk error";
}

int64_t intrinsic(int64_t spot, int64_t strike, bool is_call) {
  i128 v = is_call ? static_cast<i128>(spot) - strike : static_cast<i128>(strike) - spot;
  if (v <= 0) return 0;
  return v > INT64_MAX ? INT64_MAX : static_cast<int64_t>(v);
}

Result<int64_t, RiskError> bs_price(int64_t spot, int64_t strike, int64_t vol, int64_t t_seconds, bool is_call) {
  if (spot <= 0) return err(RiskError::kNonPositiveSpot);
  if (strike <= 0) return err(RiskError::kNonPositiveStrike);
  if (vol < 0 || vol > kMaxVol) return err(RiskError::kVolOutOfRange);
  int64_t floor_value = intrinsic(spot, strike, is_call);
  if (t_seconds <= 0 || vol == 0) return floor_value;

  auto v = total_vol_wad(vol, t_seconds);
  // ln(S / K) as ln(S * 1e18) - ln(K * 1e18): both arguments fit (< 2^63 * 1e18 < 2^127) and keep full
  // precision for any ratio, where a WAD quotient S / K would lose it when K >> S.
  auto ln_s = ln_wad(static_cast<i128>(spot) * kWad);
  auto ln_k = ln_wad(static_cast<i128>(strike) * kWad);
  if (!v || *v <= 0 || !ln_s || !ln_k) return err(RiskError::kOverflow);
  // |ln(S/K)| <= 44 and v >= 1.7e-10 (vol >= 1e-6, t >= 1 s), so d1 fits easily; huge |d| just saturates
  // the CDF at 0 or 1.
  auto moneyness = div_wad_nearest(*ln_s - *ln_k, *v);
  if (!moneyness) return err(RiskError::kOverflow);
  // d1 - d2 == v exactly: rounding errors in ln(S/K) / v then shift d1 and d2 together, which moves the
  // price only to second order (S n(d1) == K n(d2) is the first-order term that cancels).
  i128 half = *v / 2;
  i128 d1 = *moneyness + (*v - half);
  i128 d2 = *moneyness - half;
  // In micro-USDC * 1e18: |S N(d1)|, |K N(d2)| <= 2^63 * 1e18 < 2^123, no overflow.
  i128 scaled = static_cast<i128>(spot) * norm_cdf_wad(d1) - static_cast<i128>(strike) * norm_cdf_wad(d2);
  // Put from the same value: K N(-d2) - S N(-d1) == call + (K - S), exactly, since N(-d) == 1 - N(d) in WAD.
  if (!is_call) scaled += (static_cast<i128>(strike) - spot) * kWad;
  i128 price = floor_div(scaled + kWad / 2, kWad);
  i128 cap = is_call ? spot : strike;
  if (price < floor_value) price = floor_value;
  if (price > cap) price = cap;
  return static_cast<int64_t>(price);
}

}  // namespace opt
