// Black-Scholes marks for the margin engine, in integers (docs/risk.md).
//
// Model: European options on one unit of the underlying, cash-settled in USDC with a linear payoff,
// interest rate r = 0 and no dividends, so
//   call = S N(d1) - K N(d2),  put = K N(-d2) - S N(-d1),
//   d1 = (ln(S / K) + v^2 / 2) / v,  d2 = d1 - v,  v = sigma * sqrt(T),
// with T in years of 365 days (31,536,000 s; calendar time, no day-count subtleties).
#pragma once

#include <cstdint>

#include "engine/core/result.h"

namespace opt {

constexpr int64_t kSecondsPerYear = 31'536'000;  // 365 days
constexpr int64_t kVolScale = 1'000'000;         // volatility has 6 decimals: 800'000 = 80 % a year
constexpr int64_t kMaxVol = 10'000'000;          // 1000 % a year; beyond it a quote is an input error

enum class RiskError : uint8_t {
  kNonPositiveSpot,    // spot <= 0: no price for an asset worth nothing or less
  kNonPositiveStrike,  // strike <= 0: listings have positive strikes
  kVolOutOfRange,      // vol < 0 or vol > kMaxVol
  kOverflow,           // an intermediate left its range (not reachable with valid inputs; kept for totality)
};
const char* to_string(RiskError e);

// Payoff at expiry of one unit: max(S - K, 0) for a call, max(K - S, 0) for a put, in the units of the
// inputs. Total: computed in 128 bits and saturated at INT64_MAX, so any int64 inputs are safe.
int64_t intrinsic(int64_t spot, int64_t strike, bool is_call);

// Price of one option on one unit of the underlying, in micro-USDC.
//   spot, strike: micro-USDC, > 0 (any positive int64: deep ITM/OTM and huge values cannot overflow)
//   vol:          annualised volatility with 6 decimals, 0 <= vol <= kMaxVol
//   t_seconds:    seconds to expiry; t_seconds <= 0 or vol == 0 gives the intrinsic value
// Rounded to the nearest micro-USDC (halves up) from a value computed to about 1e-18 relative to the
// spot and strike, then clamped to the no-arbitrage bounds [intrinsic, S] for calls and [intrinsic, K]
// for puts. Calls and puts come from the same unrounded value, shifted by exactly (K - S) * 1e18, so
// put-call parity C - P = S - K holds exactly after rounding and clamping.
// Accuracy: |price - exact| <= 0.5 micro-USDC + (S + K) * 2e-18 (i.e. within 1 micro-USDC for any spot
// and strike below 1e11 USDC); tests/risk/risk_math_test.cpp checks it against a long double reference.
// Cost: two ln, one integer square root, two normal CDFs: about 0.5 us (risk_bs_bench), so marking 64
// positions takes about 30 us.
Result<int64_t, RiskError> bs_price(int64_t spot, int64_t strike, int64_t vol, int64_t t_seconds, bool is_call);

}  // namespace opt
