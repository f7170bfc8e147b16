// Private helpers shared by the full tree (smt.cpp) and the partial tree (smt_partial.cpp).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "engine/state/smt.h"

namespace opt::smt_detail {

// Keys are 256 bits, so a leaf sits at depth <= 256 and an internal node at depth <= 255 (its children
// split on the bit at its own depth).
inline constexpr unsigned kKeyBits = 256;

// Multiproof node tags (smt.h).
inline constexpr uint8_t kTagEmpty = 0x00;
inline constexpr uint8_t kTagHash = 0x01;
inline constexpr uint8_t kTagLeafHash = 0x02;
inline constexpr uint8_t kTagLeaf = 0x03;
inline constexpr uint8_t kTagInternal = 0x04;

// The first bit where two different keys differ (< 256).
inline unsigned first_diff_bit(const SmtKey& a, const SmtKey& b) {
  for (unsigned i = 0; i < 32; ++i) {
    uint8_t x = static_cast<uint8_t>(a[i] ^ b[i]);
    if (x) return i * 8 + static_cast<unsigned>(std::countl_zero(x));
  }
  return kKeyBits;
}

// True iff a and b agree on bits [0, bits).
inline bool same_prefix(const SmtKey& a, const SmtKey& b, unsigned bits) {
  unsigned whole = bits >> 3;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  unsigned rest = bits & 7;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return ((a[whole] ^ b[whole]) & mask) == 0;
}

// Compares bits [0, bits) of a and b as big-endian numbers: <0, 0 or >0.
inline int compare_prefix(const SmtKey& a, const SmtKey& b, unsigned bits) {
  unsigned whole = bits >> 3;
  if (int c = std::memcmp(a.data(), b.data(), whole); c != 0) return c;
  unsigned rest = bits & 7;
  if (rest == 0) return 0;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return static_cast<int>(a[whole] & mask) - static_cast<int>(b[whole] & mask);
}

}  // namespace opt::smt_detail
