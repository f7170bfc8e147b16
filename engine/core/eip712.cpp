#include "engine/core/eip712.h"

#include "engine/core/keccak.h"

namespace opt {

Hash32 type_hash(std::string_view encode_type) {
  return keccak256(encode_type);
}

Hash32 Eip712Domain::separator() const {
  static const Hash32 kWithContract =
      type_hash("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
  static const Hash32 kWithoutContract = type_hash("EIP712Domain(string name,string version,uint256 chainId)");
  StructEncoder e(verifying_contract ? kWithContract : kWithoutContract);
  e.string(name).string(version).uint(chain_id);
  if (verifying_contract) e.address(*verifying_contract);
  return e.finish();
}

StructEncoder::StructEncoder(const Hash32& th) {
  word(th.data(), 32);
}

void StructEncoder::word(const uint8_t* p, size_t n) {
  uint8_t w[32] = {};
  std::memcpy(w + 32 - n, p, n);
  if (spill_.empty() && size_ + 32 <= sizeof inline_) {
    std::memcpy(inline_ + size_, w, 32);
  } else {
    if (spill_.empty()) spill_.assign(inline_, inline_ + size_);
    spill_.insert(spill_.end(), w, w + 32);
  }
  size_ += 32;
}

StructEncoder& StructEncoder::address(const Address& a) {
  word(a.data(), 20);
  return *this;
}
StructEncoder& StructEncoder::uint(uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  word(b, 8);
  return *this;
}
StructEncoder& StructEncoder::boolean(bool b) {
  return uint(b ? 1 : 0);
}
StructEncoder& StructEncoder::bytes32(const Hash32& h) {
  word(h.data(), 32);
  return *this;
}
StructEncoder& StructEncoder::string(std::string_view s) {
  return bytes32(keccak256(s));
}
StructEncoder& StructEncoder::bytes(ByteView b) {
  return bytes32(keccak256(b));
}
Hash32 StructEncoder::finish() const {
  return spill_.empty() ? keccak256(ByteView(inline_, size_)) : keccak256(spill_);
}

Hash32 eip712_digest(const Hash32& domain_separator, const Hash32& struct_hash) {
  uint8_t buf[66];
  buf[0] = 0x19;
  buf[1] = 0x01;
  std::memcpy(buf + 2, domain_separator.data(), 32);
  std::memcpy(buf + 34, struct_hash.data(), 32);
  return keccak256(ByteView(buf, sizeof buf));
}

Hash32 struct_hash(const Order& m) {
  static const Hash32 th = type_hash(kOrderType);
  return StructEncoder(th)
      .address(m.account)
      .uint(m.instrument)
      .boolean(m.is_buy)
      .uint(m.quantity)
      .uint(m.limit_price)
      .uint(m.max_fee)
      .uint(m.nonce)
      .uint(m.expiry)
      .uint(m.flags)
      .finish();
}

Hash32 struct_hash(const Cancel& m) {
  static const Hash32 th = type_hash(kCancelType);
  return StructEncoder(th).address(m.account).bytes32(Hash32::from(m.order_hash)).finish();
}

Hash32 struct_hash(const Withdraw& m) {
  static const Hash32 th = type_hash(kWithdrawType);
  return StructEncoder(th).address(m.account).uint(m.amount).address(m.recipient).uint(m.nonce).finish();
}

Hash32 struct_hash(const PriceReport& m) {
  static const Hash32 th = type_hash(kPriceReportType);
  return StructEncoder(th).uint(m.underlying).uint(m.price).uint(m.volatility).uint(m.timestamp).finish();
}

Hash32 struct_hash(const ListInstrument& m) {
  static const Hash32 th = type_hash(kListInstrumentType);
  return StructEncoder(th).uint(m.underlying).uint(m.strike).uint(m.expiry).boolean(m.is_call).finish();
}

Hash32 struct_hash(const Liquidate& m) {
  static const Hash32 th = type_hash(kLiquidateType);
  return StructEncoder(th)
      .address(m.liquidator)
      .address(m.account)
      .uint(m.instrument)
      .uint(m.quantity)
      .uint(m.nonce)
      .finish();
}

}  // namespace opt
