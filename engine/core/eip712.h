// EIP-712 typed-data hashing: domain separators, a generic struct encoder, and the struct hashes of every
// message optrollup users sign (docs/protocol.md, "Signed messages"), so ethers.js signTypedData and MetaMask sign
// exactly the digests the state machine checks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/core/bytes.h"
#include "engine/core/messages.h"

namespace opt {

struct Eip712Domain {
  std::string name;
  std::string version;
  uint64_t chain_id = 0;
  std::optional<Address> verifying_contract;  // the L1 domain has none

  Hash32 separator() const;
};

// Encodes one struct's fields in order (encodeData) and hashes them with the type hash (hashStruct).
class StructEncoder {
 public:
  explicit StructEncoder(const Hash32& type_hash);
  StructEncoder& address(const Address& a);
  StructEncoder& uint(uint64_t v);  // any uintN with N <= 64
  StructEncoder& boolean(bool b);
  StructEncoder& bytes32(const Hash32& h);
  StructEncoder& string(std::string_view s);  // dynamic: keccak256 of the UTF-8 bytes
  StructEncoder& bytes(ByteView b);           // dynamic: keccak256 of the bytes
  StructEncoder& hash(const Hash32& struct_hash) { return bytes32(struct_hash); }  // nested struct
  Hash32 finish() const;

 private:
  void word(const uint8_t* p, size_t n);  // appends n <= 32 bytes right-aligned in a 32-byte word

  // Up to 16 words on the stack (no optrollup struct has more than 10 fields); longer structs spill.
  uint8_t inline_[32 * 16];
  Bytes spill_;
  size_t size_ = 0;
};

Hash32 type_hash(std::string_view encode_type);
// keccak256(0x19 0x01 || domainSeparator || structHash)
Hash32 eip712_digest(const Hash32& domain_separator, const Hash32& struct_hash);

// The encodeType strings of docs/protocol.md, "Signed messages".
inline constexpr std::string_view kOrderType =
    "Order(address account,uint64 instrument,bool isBuy,uint64 quantity,uint64 limitPrice,uint64 maxFee,"
    "uint64 nonce,uint64 expiry,uint8 flags)";
inline constexpr std::string_view kCancelType = "Cancel(address account,bytes32 orderHash)";
inline constexpr std::string_view kWithdrawType =
    "Withdraw(address account,uint64 amount,address recipient,uint64 nonce)";
inline constexpr std::string_view kPriceReportType =
    "PriceReport(uint32 underlying,uint64 price,uint64 volatility,uint64 timestamp)";
inline constexpr std::string_view kListInstrumentType =
    "ListInstrument(uint32 underlying,uint64 strike,uint64 expiry,bool isCall)";
inline constexpr std::string_view kLiquidateType =
    "Liquidate(address liquidator,address account,uint64 instrument,uint64 quantity,uint64 nonce)";

Hash32 struct_hash(const Order& m);
Hash32 struct_hash(const Cancel& m);
Hash32 struct_hash(const Withdraw& m);
Hash32 struct_hash(const PriceReport& m);
Hash32 struct_hash(const ListInstrument& m);
Hash32 struct_hash(const Liquidate& m);

// Digest under the domain whose separator is given (computed once per chain, see Eip712Domain).
template <class M>
Hash32 typed_digest(const Hash32& domain_separator, const M& m) {
  return eip712_digest(domain_separator, struct_hash(m));
}
// An order's hash is its EIP-712 digest (docs/protocol.md, "Signed messages").
inline OrderHash order_hash(const Hash32& domain_separator, const Order& o) {
  return OrderHash::from(typed_digest(domain_separator, o));
}

}  // namespace opt
