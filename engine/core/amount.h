// Checked fixed-point money. Amount (micro-USDC), Price (micro-USDC per contract) and Qty (micro-contracts)
// are distinct types over int64. Every operation that can overflow returns std::nullopt instead of
// wrapping (signed overflow would be UB); rounding direction is in the function name.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/result.h"

namespace opt {

using i128 = __int128;
using u128 = unsigned __int128;

constexpr int64_t kMicro = 1'000'000;  // 6 decimals for USDC, prices and quantities

inline std::optional<int64_t> checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline std::optional<int64_t> checked_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline std::optional<int64_t> narrow(i128 v) {
  if (v > INT64_MAX || v < INT64_MIN) return std::nullopt;
  return static_cast<int64_t>(v);
}
// floor(a * b / d) and ceil(a * b / d) for d > 0, computed in 128 bits.
inline i128 floor_div(i128 n, i128 d) {
  i128 q = n / d;
  if ((n % d != 0) && ((n < 0) != (d < 0))) --q;
  return q;
}
inline i128 ceil_div(i128 n, i128 d) {
  return -floor_div(-n, d);
}
inline std::optional<int64_t> mul_div_down(int64_t a, int64_t b, int64_t d) {
  if (d <= 0) return std::nullopt;
  return narrow(floor_div(static_cast<i128>(a) * b, d));
}
inline std::optional<int64_t> mul_div_up(int64_t a, int64_t b, int64_t d) {
  if (d <= 0) return std::nullopt;
  return narrow(ceil_div(static_cast<i128>(a) * b, d));
}

template <class Tag>
class Fixed {
 public:
  constexpr Fixed() = default;
  constexpr explicit Fixed(int64_t micro) : v_(micro) {}
  constexpr int64_t micro() const { return v_; }

  std::optional<Fixed> add(Fixed o) const {
    auto r = checked_add(v_, o.v_);
    if (!r) return std::nullopt;
    return Fixed(*r);
  }
  std::optional<Fixed> sub(Fixed o) const {
    auto r = checked_sub(v_, o.v_);
    if (!r) return std::nullopt;
    return Fixed(*r);
  }
  std::optional<Fixed> neg() const {
    if (v_ == INT64_MIN) return std::nullopt;
    return Fixed(-v_);
  }
  auto operator<=>(const Fixed&) const = default;

 private:
  int64_t v_ = 0;
};

using Amount = Fixed<struct AmountTag>;
using Price = Fixed<struct PriceTag>;
using Qty = Fixed<struct QtyTag>;

// Notional of qty contracts at price: price * qty / 1e6, rounded as named. What a user pays is computed
// with _up, what a user receives with _down, so rounding never creates money.
inline std::optional<Amount> notional_up(Price p, Qty q) {
  auto r = mul_div_up(p.micro(), q.micro(), kMicro);
  if (!r) return std::nullopt;
  return Amount(*r);
}
inline std::optional<Amount> notional_down(Price p, Qty q) {
  auto r = mul_div_down(p.micro(), q.micro(), kMicro);
  if (!r) return std::nullopt;
  return Amount(*r);
}

enum class DecimalError : uint8_t { kEmpty, kBadCharacter, kTooManyDecimals, kOutOfRange, kNegative };
const char* to_string(DecimalError e);

// Parses a human decimal ("1000", "12.5", "-0.25") into integer units with `decimals` digits after the
// point. More fractional digits than `decimals` is an error, not a silent rounding.
Result<int64_t, DecimalError> parse_decimal(std::string_view s, int decimals = 6, bool allow_negative = false);
// Formats units with `decimals` digits as a decimal without trailing zeros ("12.5").
std::string format_decimal(int64_t units, int decimals = 6);

}  // namespace opt
