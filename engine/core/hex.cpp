#include "engine/core/bytes.h"
#include "engine/core/keccak.h"

namespace opt {

const char* to_string(HexError e) {
  switch (e) {
    case HexError::kMissingPrefix: return "hex string must start with 0x";
    case HexError::kOddLength: return "hex string has an odd number of digits";
    case HexError::kBadCharacter: return "hex string contains a character that is not a hex digit";
    case HexError::kWrongLength: return "hex string has the wrong length for this value";
    case HexError::kBadChecksum: return "mixed-case address fails its EIP-55 checksum";
  }
  return "unknown hex error";
}

namespace {
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<Bytes, HexError> parse_hex(std::string_view s, bool require_prefix) {
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
  } else if (require_prefix) {
    return err(HexError::kMissingPrefix);
  }
  if (s.size() % 2 != 0) return err(HexError::kOddLength);
  Bytes out(s.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return err(HexError::kBadCharacter);
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string to_hex(ByteView b, bool prefix) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2 + 2);
  if (prefix) out += "0x";
  for (uint8_t v : b) {
    out += kDigits[v >> 4];
    out += kDigits[v & 15];
  }
  return out;
}

std::string to_checksum(const Address& a) {
  std::string lower = to_hex(a.view(), false);
  Hash32 h = keccak256(std::string_view(lower));
  std::string out = "0x";
  for (size_t i = 0; i < lower.size(); ++i) {
    char c = lower[i];
    int bits = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 15);
    out += (c >= 'a' && bits >= 8) ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

Result<Address, HexError> parse_address(std::string_view s) {
  auto a = Address::from_hex(s, /*require_prefix=*/true);
  if (!a) return a;
  std::string_view digits = s.substr(2);
  bool has_lower = false, has_upper = false;
  for (char c : digits) {
    has_lower |= (c >= 'a' && c <= 'f');
    has_upper |= (c >= 'A' && c <= 'F');
  }
  if (has_lower && has_upper && to_checksum(*a).substr(2) != digits) return err(HexError::kBadChecksum);
  return a;
}

}  // namespace opt
