#include "engine/core/tx.h"

#include "engine/core/keccak.h"

namespace opt {

const char* to_string(TxType t) {
  switch (t) {
    case TxType::kDeposit: return "deposit";
    case TxType::kTrade: return "trade";
    case TxType::kCancel: return "cancel";
    case TxType::kPriceReport: return "price_report";
    case TxType::kListInstrument: return "list_instrument";
    case TxType::kLiquidate: return "liquidate";
    case TxType::kExpire: return "expire";
    case TxType::kSettle: return "settle";
    case TxType::kWithdraw: return "withdraw";
    case TxType::kForcedWithdraw: return "forced_withdraw";
  }
  return "unknown";
}

TxType type_of(const Tx& tx) {
  return static_cast<TxType>(tx.index() + 1);
}

void write_order(Writer& w, const Order& o) {
  w.fixed(o.account)
      .u64(o.instrument)
      .boolean(o.is_buy)
      .u64(o.quantity)
      .u64(o.limit_price)
      .u64(o.max_fee)
      .u64(o.nonce)
      .u64(o.expiry)
      .u8(o.flags);
}

Order read_order(Reader& r) {
  Order o;
  o.account = r.fixed<20, AddressTag>();
  o.instrument = r.u64();
  o.is_buy = r.boolean();
  o.quantity = r.u64();
  o.limit_price = r.u64();
  o.max_fee = r.u64();
  o.nonce = r.u64();
  o.expiry = r.u64();
  o.flags = r.u8();
  return o;
}

namespace {

struct EncodeVisitor {
  Writer& w;
  void operator()(const DepositTx& t) { w.u64(t.inbox_index).fixed(t.l1_sender).fixed(t.recipient).u64(t.amount); }
  void operator()(const TradeTx& t) {
    write_order(w, t.maker.order);
    w.fixed(t.maker.sig);
    write_order(w, t.taker.order);
    w.fixed(t.taker.sig);
    w.u64(t.quantity).u64(t.price);
  }
  void operator()(const CancelTx& t) { w.fixed(t.cancel.account).fixed(t.cancel.order_hash).fixed(t.sig); }
  void operator()(const PriceReportTx& t) {
    w.u32(t.report.underlying).u64(t.report.price).u64(t.report.volatility).u64(t.report.timestamp);
    w.u8(static_cast<uint8_t>(t.sigs.size()));
    for (const auto& s : t.sigs) w.fixed(s);
  }
  void operator()(const ListInstrumentTx& t) {
    w.u32(t.listing.underlying).u64(t.listing.strike).u64(t.listing.expiry).boolean(t.listing.is_call).fixed(t.sig);
  }
  void operator()(const LiquidateTx& t) {
    const Liquidate& l = t.liquidate;
    w.fixed(l.liquidator).fixed(l.account).u64(l.instrument).u64(l.quantity).u64(l.nonce).fixed(t.sig);
  }
  void operator()(const ExpireTx& t) { w.u64(t.instrument); }
  void operator()(const SettleTx& t) { w.fixed(t.account).u64(t.instrument); }
  void operator()(const WithdrawTx& t) {
    const Withdraw& x = t.withdraw;
    w.fixed(x.account).u64(x.amount).fixed(x.recipient).u64(x.nonce).fixed(t.sig);
  }
  void operator()(const ForcedWithdrawTx& t) { w.u64(t.inbox_index).fixed(t.account).u64(t.amount); }
};

Tx read_body(Reader& r, TxType type) {
  switch (type) {
    case TxType::kDeposit: {
      DepositTx t;
      t.inbox_index = r.u64();
      t.l1_sender = r.fixed<20, AddressTag>();
      t.recipient = r.fixed<20, AddressTag>();
      t.amount = r.u64();
      return t;
    }
    case TxType::kTrade: {
      TradeTx t;
      t.maker.order = read_order(r);
      t.maker.sig = r.signature();
      t.taker.order = read_order(r);
      t.taker.sig = r.signature();
      t.quantity = r.u64();
      t.price = r.u64();
      return t;
    }
    case TxType::kCancel: {
      CancelTx t;
      t.cancel.account = r.fixed<20, AddressTag>();
      t.cancel.order_hash = r.fixed<32, OrderHashTag>();
      t.sig = r.signature();
      return t;
    }
    case TxType::kPriceReport: {
      PriceReportTx t;
      t.report.underlying = r.u32();
      t.report.price = r.u64();
      t.report.volatility = r.u64();
      t.report.timestamp = r.u64();
      uint8_t n = r.u8();
      if (n > kMaxReportSignatures) {
        r.fail(CodecError::kTooMany);
        return t;
      }
      for (uint8_t i = 0; i < n && r.ok(); ++i) t.sigs.push_back(r.signature());
      return t;
    }
    case TxType::kListInstrument: {
      ListInstrumentTx t;
      t.listing.underlying = r.u32();
      t.listing.strike = r.u64();
      t.listing.expiry = r.u64();
      t.listing.is_call = r.boolean();
      t.sig = r.signature();
      return t;
    }
    case TxType::kLiquidate: {
      LiquidateTx t;
      t.liquidate.liquidator = r.fixed<20, AddressTag>();
      t.liquidate.account = r.fixed<20, AddressTag>();
      t.liquidate.instrument = r.u64();
      t.liquidate.quantity = r.u64();
      t.liquidate.nonce = r.u64();
      t.sig = r.signature();
      return t;
    }
    case TxType::kExpire: return ExpireTx{r.u64()};
    case TxType::kSettle: {
      SettleTx t;
      t.account = r.fixed<20, AddressTag>();
      t.instrument = r.u64();
      return t;
    }
    case TxType::kWithdraw: {
      WithdrawTx t;
      t.withdraw.account = r.fixed<20, AddressTag>();
      t.withdraw.amount = r.u64();
      t.withdraw.recipient = r.fixed<20, AddressTag>();
      t.withdraw.nonce = r.u64();
      t.sig = r.signature();
      return t;
    }
    case TxType::kForcedWithdraw: {
      ForcedWithdrawTx t;
      t.inbox_index = r.u64();
      t.account = r.fixed<20, AddressTag>();
      t.amount = r.u64();
      return t;
    }
  }
  r.fail(CodecError::kBadTag);
  return ExpireTx{};
}

}  // namespace

Bytes encode_tx(const Tx& tx) {
  Writer w;
  w.u8(static_cast<uint8_t>(type_of(tx)));
  std::visit(EncodeVisitor{w}, tx);
  return w.take();
}

Result<Tx, CodecError> decode_tx(ByteView bytes) {
  Reader r(bytes);
  uint8_t tag = r.u8();
  if (!r.ok()) return err(r.error());
  if (tag < static_cast<uint8_t>(TxType::kDeposit) || tag > static_cast<uint8_t>(TxType::kForcedWithdraw))
    return err(CodecError::kBadTag);
  Tx tx = read_body(r, static_cast<TxType>(tag));
  if (auto s = r.finish(); !s) return err(s.error());
  return tx;
}

TxHash tx_hash(ByteView encoded) {
  return TxHash::from(keccak256(encoded));
}

Bytes encode_batch(const std::vector<Bytes>& txs) {
  Writer w;
  w.u32(static_cast<uint32_t>(txs.size()));
  for (const auto& t : txs) w.var_bytes(t);
  return w.take();
}

Result<std::vector<Bytes>, CodecError> decode_batch(ByteView bytes) {
  Reader r(bytes);
  uint32_t n = r.count(kMaxBatchTxs);
  std::vector<Bytes> out;
  // Each frame takes at least 4 bytes: a count larger than the input allows is refused before allocating.
  if (r.ok() && static_cast<uint64_t>(n) * 4 > r.remaining()) return err(CodecError::kTruncated);
  out.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    ByteView b = r.var_bytes(kMaxTxBytes);
    if (r.ok()) out.emplace_back(b.begin(), b.end());
  }
  if (auto s = r.finish(); !s) return err(s.error());
  return out;
}

}  // namespace opt
