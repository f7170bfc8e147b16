// Byte strings, fixed-size byte types with a distinct type per meaning, and hex conversion.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.h"

namespace opt {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

enum class HexError : uint8_t {
  kMissingPrefix,  // "0x" required here
  kOddLength,
  kBadCharacter,
  kWrongLength,  // decoded to a different number of bytes than the type holds
  kBadChecksum,  // mixed-case address whose EIP-55 checksum does not match
};
const char* to_string(HexError e);

// Decodes hex with an optional (or, if require_prefix, mandatory) "0x" prefix.
Result<Bytes, HexError> parse_hex(std::string_view s, bool require_prefix = false);
std::string to_hex(ByteView b, bool prefix = true);

// A fixed-size byte string. The Tag makes e.g. a StateRoot and an OrderHash different types that cannot
// be mixed up by accident (like Bitcoin's Txid vs Wtxid); convert explicitly with `from()`.
template <size_t N, class Tag>
struct FixedBytes {
  static constexpr size_t kSize = N;
  std::array<uint8_t, N> bytes{};

  static FixedBytes from(ByteView b) {  // b.size() must be N; callers check the length first
    FixedBytes out;
    std::memcpy(out.bytes.data(), b.data(), N);
    return out;
  }
  template <class OtherTag>
  static FixedBytes from(const FixedBytes<N, OtherTag>& other) {
    FixedBytes out;
    out.bytes = other.bytes;
    return out;
  }
  static Result<FixedBytes, HexError> from_hex(std::string_view s, bool require_prefix = false) {
    auto r = parse_hex(s, require_prefix);
    if (!r) return err(r.error());
    if (r->size() != N) return err(HexError::kWrongLength);
    return from(*r);
  }

  const uint8_t* data() const { return bytes.data(); }
  uint8_t* data() { return bytes.data(); }
  static constexpr size_t size() { return N; }
  ByteView view() const { return ByteView(bytes.data(), N); }
  uint8_t operator[](size_t i) const { return bytes[i]; }
  uint8_t& operator[](size_t i) { return bytes[i]; }
  bool is_zero() const {
    for (uint8_t b : bytes)
      if (b) return false;
    return true;
  }
  std::string hex() const { return to_hex(view()); }

  auto operator<=>(const FixedBytes&) const = default;
  bool operator==(const FixedBytes&) const = default;
};

struct HashTag {};
struct AddressTag {};
struct StateRootTag {};
struct TxHashTag {};
struct OrderHashTag {};

using Hash32 = FixedBytes<32, HashTag>;
using StateRoot = FixedBytes<32, StateRootTag>;
using TxHash = FixedBytes<32, TxHashTag>;
using OrderHash = FixedBytes<32, OrderHashTag>;
using Address = FixedBytes<20, AddressTag>;

// Address parsing: 0x + 40 hex digits. All-lower or all-upper is accepted as is; mixed case must carry a
// valid EIP-55 checksum, which catches typing mistakes the way wallets do.
Result<Address, HexError> parse_address(std::string_view s);
// EIP-55 mixed-case checksummed form.
std::string to_checksum(const Address& a);

// Hasher for FixedBytes keys in maps outside the core (the bytes are already uniformly distributed when
// they are hashes).
struct FixedBytesHash {
  template <size_t N, class Tag>
  size_t operator()(const FixedBytes<N, Tag>& b) const {
    uint64_t h;
    std::memcpy(&h, b.data(), sizeof h);
    return static_cast<size_t>(h ^ (static_cast<uint64_t>(b.bytes[N - 1]) << 56));
  }
};

inline void append(Bytes& out, ByteView b) {
  out.insert(out.end(), b.begin(), b.end());
}
inline void append(Bytes& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}
inline void append_be64(Bytes& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void append_be32(Bytes& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace opt
