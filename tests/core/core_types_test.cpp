// Hex parsing, EIP-55 addresses, checked fixed-point arithmetic and human decimal parsing.
#include <doctest/doctest.h>

#include <type_traits>

#include "engine/core/amount.h"
#include "engine/core/bytes.h"
#include "tests/test_util.h"

using namespace opt;

TEST_CASE("hex parsing rejects bad input with a reason") {
  CHECK(*parse_hex("0x00ff") == Bytes{0x00, 0xff});
  CHECK(*parse_hex("00FF") == Bytes{0x00, 0xff});
  CHECK(parse_hex("").ok());
  CHECK(parse_hex("0x").value().empty());
  CHECK(parse_hex("0x0").error() == HexError::kOddLength);
  CHECK(parse_hex("0xzz").error() == HexError::kBadCharacter);
  CHECK(parse_hex("0x 1").error() == HexError::kBadCharacter);
  CHECK(parse_hex("00", true).error() == HexError::kMissingPrefix);
  CHECK(Hash32::from_hex("0x00").error() == HexError::kWrongLength);
  CHECK(std::string(to_string(HexError::kWrongLength)).find("length") != std::string::npos);
  CHECK(to_hex(Bytes{0xab, 0x01}) == "0xab01");
}

TEST_CASE("addresses: EIP-55 checksum") {
  const std::string good = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
  auto a = parse_address(good);
  REQUIRE(a.ok());
  CHECK(to_checksum(*a) == good);
  CHECK(parse_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").ok());  // all lower: no checksum
  CHECK(parse_address("0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266").ok());  // all upper: no checksum
  CHECK(parse_address("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266").error() == HexError::kBadChecksum);
  CHECK(parse_address("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266").error() == HexError::kMissingPrefix);
  CHECK(parse_address("0xf39Fd6").error() == HexError::kWrongLength);
}

// Whether `a == b` compiles for values of A and B.
template <class A, class B>
constexpr bool comparable = requires(const A& a, const B& b) {
  a == b;
};

TEST_CASE("distinct hash types do not mix implicitly; from() converts explicitly and keeps every byte") {
  // Not convertible, not assignable, not comparable across tags: a StateRoot cannot pass for an OrderHash.
  static_assert(!std::is_convertible_v<StateRoot, OrderHash>);
  static_assert(!std::is_convertible_v<Hash32, TxHash>);
  static_assert(!std::is_assignable_v<OrderHash&, const StateRoot&>);
  static_assert(!comparable<StateRoot, OrderHash>);
  static_assert(comparable<StateRoot, StateRoot>);
  // The explicit conversion copies all 32 bytes in order, whatever their value, both ways.
  Hash32 h;
  for (size_t i = 0; i < Hash32::kSize; ++i) h[i] = static_cast<uint8_t>(0xa0 ^ (i * 7));
  const StateRoot r = StateRoot::from(h);
  for (size_t i = 0; i < Hash32::kSize; ++i) {
    CAPTURE(i);
    CHECK(r[i] == static_cast<uint8_t>(0xa0 ^ (i * 7)));
  }
  CHECK(Hash32::from(r) == h);
  CHECK(OrderHash::from(r).hex() == h.hex());
  // From a byte view, too; and a root that differs in its last byte is a different root.
  CHECK(StateRoot::from(h.view()) == r);
  Hash32 other = h;
  other[31] ^= 1;
  CHECK(StateRoot::from(other) != r);
}

TEST_CASE("checked arithmetic: overflow is an error value") {
  CHECK(checked_add(INT64_MAX, 1) == std::nullopt);
  CHECK(checked_sub(INT64_MIN, 1) == std::nullopt);
  CHECK(checked_mul(INT64_MAX / 2 + 1, 2) == std::nullopt);
  CHECK(checked_add(1, 2) == 3);
  CHECK(Amount(INT64_MAX).add(Amount(1)) == std::nullopt);
  CHECK(Amount(INT64_MIN).neg() == std::nullopt);
  CHECK(Amount(5).sub(Amount(7))->micro() == -2);
  CHECK(mul_div_up(INT64_MAX, INT64_MAX, 1) == std::nullopt);
}

TEST_CASE("rounding direction is explicit and never favours the payer") {
  // 1.5 contracts at 0.333333 USDC: 499999.5 micro-USDC.
  CHECK(notional_up(Price(333333), Qty(1500000))->micro() == 500000);
  CHECK(notional_down(Price(333333), Qty(1500000))->micro() == 499999);
  CHECK(mul_div_down(-7, 1, 2) == -4);  // floor, also for negatives
  CHECK(mul_div_up(-7, 1, 2) == -3);
  CHECK(mul_div_down(7, 1, 0) == std::nullopt);
}

TEST_CASE("human decimals") {
  CHECK(*parse_decimal("1000") == 1000000000);
  CHECK(*parse_decimal("12.5") == 12500000);
  CHECK(*parse_decimal("0.000001") == 1);
  CHECK(*parse_decimal(".5") == 500000);
  CHECK(*parse_decimal("-0.25", 6, true) == -250000);
  CHECK(parse_decimal("-1").error() == DecimalError::kNegative);
  CHECK(parse_decimal("0.0000001").error() == DecimalError::kTooManyDecimals);
  CHECK(parse_decimal("1e5").error() == DecimalError::kBadCharacter);
  CHECK(parse_decimal("1.2.3").error() == DecimalError::kBadCharacter);
  CHECK(parse_decimal("").error() == DecimalError::kEmpty);
  CHECK(parse_decimal(".").error() == DecimalError::kEmpty);
  CHECK(parse_decimal("99999999999999").error() == DecimalError::kOutOfRange);
  CHECK(format_decimal(12500000) == "12.5");
  CHECK(format_decimal(-250000) == "-0.25");
  CHECK(format_decimal(1000000000) == "1000");
  CHECK(format_decimal(1) == "0.000001");
}
