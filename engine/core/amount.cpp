#include "engine/core/amount.h"

namespace opt {

const char* to_string(DecimalError e) {
  switch (e) {
    case DecimalError::kEmpty: return "empty number";
    case DecimalError::kBadCharacter: return "number contains a character that is not a digit";
    case DecimalError::kTooManyDecimals: return "number has more decimal places than allowed";
    case DecimalError::kOutOfRange: return "number is out of range";
    case DecimalError::kNegative: return "number must not be negative";
  }
  return "unknown number error";
}

Result<int64_t, DecimalError> parse_decimal(std::string_view s, int decimals, bool allow_negative) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (negative && !allow_negative) return err(DecimalError::kNegative);
  if (s.empty()) return err(DecimalError::kEmpty);
  i128 units = 0;
  int frac_digits = -1;  // -1: no point seen yet
  bool any_digit = false;
  for (char c : s) {
    if (c == '.') {
      if (frac_digits >= 0) return err(DecimalError::kBadCharacter);
      frac_digits = 0;
      continue;
    }
    if (c < '0' || c > '9') return err(DecimalError::kBadCharacter);
    any_digit = true;
    if (frac_digits >= 0 && ++frac_digits > decimals) return err(DecimalError::kTooManyDecimals);
    units = units * 10 + (c - '0');
    if (units > static_cast<i128>(INT64_MAX)) return err(DecimalError::kOutOfRange);
  }
  if (!any_digit) return err(DecimalError::kEmpty);
  for (int i = frac_digits < 0 ? 0 : frac_digits; i < decimals; ++i) {
    units *= 10;
    if (units > static_cast<i128>(INT64_MAX)) return err(DecimalError::kOutOfRange);
  }
  return static_cast<int64_t>(negative ? -units : units);
}

std::string format_decimal(int64_t units, int decimals) {
  bool negative = units < 0;
  u128 mag = negative ? static_cast<u128>(-static_cast<i128>(units)) : static_cast<u128>(units);
  u128 scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  u128 whole = mag / scale, frac = mag % scale;
  std::string w;
  do {
    w.insert(w.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
    whole /= 10;
  } while (whole);
  std::string out = negative ? "-" + w : w;
  if (frac) {
    std::string f(static_cast<size_t>(decimals), '0');
    for (int i = decimals - 1; i >= 0; --i) {
      f[static_cast<size_t>(i)] = static_cast<char>('0' + static_cast<int>(frac % 10));
      frac /= 10;
    }
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

}  // namespace opt
