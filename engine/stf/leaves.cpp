#include "engine/stf/leaves.h"

#include <algorithm>

#include "engine/core/keccak.h"

namespace opt {

namespace {
SmtKey key_of(std::string_view word, ByteView suffix) {
  uint8_t buf[64];  // the longest word ("withdrawal", "instrument") plus a 32-byte hash fits
  std::memcpy(buf, word.data(), word.size());
  std::memcpy(buf + word.size(), suffix.data(), suffix.size());
  return keccak256(ByteView(buf, word.size() + suffix.size()));
}
template <size_t N>
ByteView be(uint64_t v, uint8_t (&buf)[N]) {
  for (size_t i = 0; i < N; ++i) buf[i] = static_cast<uint8_t>(v >> (8 * (N - 1 - i)));
  return ByteView(buf, N);
}
}  // namespace

SmtKey account_key(const Address& a) {
  return key_of("account", a.view());
}
SmtKey fill_key(const OrderHash& h) {
  return key_of("fill", h.view());
}
SmtKey instrument_key(uint64_t id) {
  uint8_t b[8];
  return key_of("instrument", be(id, b));
}
SmtKey oracle_key(uint32_t underlying) {
  uint8_t b[4];
  return key_of("oracle", be(underlying, b));
}
SmtKey withdrawal_key(uint64_t index) {
  uint8_t b[8];
  return key_of("withdrawal", be(index, b));
}
SmtKey global_key() {
  static const SmtKey k = keccak256(std::string_view("global"));
  return k;
}
SmtKey listing_key(uint32_t underlying, uint64_t strike, uint64_t expiry, bool is_call) {
  Bytes b;
  append_be32(b, underlying);
  append_be64(b, strike);
  append_be64(b, expiry);
  b.push_back(is_call ? 1 : 0);
  return key_of("listing", b);
}

Position* AccountLeaf::find(uint64_t instrument) {
  auto it = std::lower_bound(positions.begin(), positions.end(), instrument,
                             [](const Position& p, uint64_t id) { return p.instrument < id; });
  return (it != positions.end() && it->instrument == instrument) ? &*it : nullptr;
}
const Position* AccountLeaf::find(uint64_t instrument) const {
  return const_cast<AccountLeaf*>(this)->find(instrument);
}

namespace {

void write_u128(Writer& w, u128 v) {
  w.u64(static_cast<uint64_t>(v >> 64)).u64(static_cast<uint64_t>(v));
}
u128 read_u128(Reader& r) {
  u128 hi = r.u64();
  return hi << 64 | r.u64();
}

template <class T, class F>
Result<T, CodecError> decode_with(ByteView b, F&& read) {
  Reader r(b);
  T v = read(r);
  if (auto s = r.finish(); !s) return err(s.error());
  return v;
}

}  // namespace

Bytes encode_leaf(const AccountLeaf& v) {
  Writer w;
  w.bytes().reserve(17 + 37 * v.positions.size());  // one allocation per leaf, not one per doubling
  w.u64(v.nonce).i64(v.collateral).u8(static_cast<uint8_t>(v.positions.size()));
  for (const auto& p : v.positions)
    w.u64(p.instrument).u32(p.underlying).u64(p.strike).u64(p.expiry).boolean(p.is_call).i64(p.qty);
  return w.take();
}

Result<AccountLeaf, CodecError> decode_account(ByteView b) {
  return decode_with<AccountLeaf>(b, [](Reader& r) {
    AccountLeaf v;
    v.nonce = r.u64();
    v.collateral = r.i64();
    uint8_t n = r.u8();
    if (n > kMaxPositions) r.fail(CodecError::kTooMany);
    if (r.ok()) v.positions.reserve(n);
    for (uint8_t i = 0; i < n && r.ok(); ++i) {
      Position p;
      p.instrument = r.u64();
      p.underlying = r.u32();
      p.strike = r.u64();
      p.expiry = r.u64();
      p.is_call = r.boolean();
      p.qty = r.i64();
      // Canonical: strictly ascending instruments, no empty positions.
      if (p.qty == 0 || (!v.positions.empty() && v.positions.back().instrument >= p.instrument))
        r.fail(CodecError::kNonCanonical);
      v.positions.push_back(p);
    }
    return v;
  });
}

Bytes encode_leaf(const FillLeaf& v) {
  Writer w;
  w.bytes().reserve(29);
  w.fixed(v.owner).u64(v.filled).boolean(v.cancelled);
  return w.take();
}

Result<FillLeaf, CodecError> decode_fill(ByteView b) {
  return decode_with<FillLeaf>(b, [](Reader& r) {
    FillLeaf v;
    v.owner = r.fixed<20, AddressTag>();
    v.filled = r.u64();
    v.cancelled = r.boolean();
    return v;
  });
}

Bytes encode_leaf(const InstrumentLeaf& v) {
  Writer w;
  w.bytes().reserve(62);
  w.u64(v.id).u32(v.underlying).u64(v.strike).u64(v.expiry).boolean(v.is_call).u8(static_cast<uint8_t>(v.status));
  w.u64(v.settlement_price).u64(v.long_open).u64(v.short_open).i64(v.settlement_pool);
  return w.take();
}

Result<InstrumentLeaf, CodecError> decode_instrument(ByteView b) {
  return decode_with<InstrumentLeaf>(b, [](Reader& r) {
    InstrumentLeaf v;
    v.id = r.u64();
    v.underlying = r.u32();
    v.strike = r.u64();
    v.expiry = r.u64();
    v.is_call = r.boolean();
    uint8_t s = r.u8();
    if (s > 1) r.fail(CodecError::kBadTag);
    v.status = static_cast<InstrumentStatus>(s);
    v.settlement_price = r.u64();
    v.long_open = r.u64();
    v.short_open = r.u64();
    v.settlement_pool = r.i64();
    return v;
  });
}

Bytes encode_leaf(const OracleLeaf& v) {
  Writer w;
  w.bytes().reserve(45 + 24 * v.checkpoints.size());
  w.u32(v.underlying).u64(v.price).u64(v.volatility).u64(v.timestamp);
  write_u128(w, v.cumulative);
  w.u8(static_cast<uint8_t>(v.checkpoints.size()));
  for (const auto& c : v.checkpoints) {
    w.u64(c.time);
    write_u128(w, c.cumulative);
  }
  return w.take();
}

Result<OracleLeaf, CodecError> decode_oracle(ByteView b) {
  return decode_with<OracleLeaf>(b, [](Reader& r) {
    OracleLeaf v;
    v.underlying = r.u32();
    v.price = r.u64();
    v.volatility = r.u64();
    v.timestamp = r.u64();
    v.cumulative = read_u128(r);
    uint8_t n = r.u8();
    if (n > kOracleCheckpoints) r.fail(CodecError::kTooMany);
    if (r.ok()) v.checkpoints.reserve(n);
    for (uint8_t i = 0; i < n && r.ok(); ++i) {
      OracleCheckpoint c;
      c.time = r.u64();
      c.cumulative = read_u128(r);
      if (!v.checkpoints.empty() && v.checkpoints.back().time >= c.time) r.fail(CodecError::kNonCanonical);
      v.checkpoints.push_back(c);
    }
    return v;
  });
}

Bytes encode_leaf(const WithdrawalLeaf& v) {
  Writer w;
  w.bytes().reserve(56);
  w.u64(v.index).fixed(v.account).fixed(v.recipient).u64(v.amount);
  return w.take();
}

Result<WithdrawalLeaf, CodecError> decode_withdrawal(ByteView b) {
  return decode_with<WithdrawalLeaf>(b, [](Reader& r) {
    WithdrawalLeaf v;
    v.index = r.u64();
    v.account = r.fixed<20, AddressTag>();
    v.recipient = r.fixed<20, AddressTag>();
    v.amount = r.u64();
    return v;
  });
}

Bytes encode_leaf(const GlobalLeaf& v) {
  Writer w;
  w.bytes().reserve(48);
  w.u64(v.next_instrument_id).u64(v.withdrawal_count);
  w.i64(v.total_deposits).i64(v.total_withdrawals).i64(v.fee_pool).i64(v.insurance_fund);
  return w.take();
}

Result<GlobalLeaf, CodecError> decode_global(ByteView b) {
  return decode_with<GlobalLeaf>(b, [](Reader& r) {
    GlobalLeaf v;
    v.next_instrument_id = r.u64();
    v.withdrawal_count = r.u64();
    v.total_deposits = r.i64();
    v.total_withdrawals = r.i64();
    v.fee_pool = r.i64();
    v.insurance_fund = r.i64();
    return v;
  });
}

Bytes encode_leaf(const ListingLeaf& v) {
  Writer w;
  w.u64(v.instrument);
  return w.take();
}

Result<ListingLeaf, CodecError> decode_listing(ByteView b) {
  return decode_with<ListingLeaf>(b, [](Reader& r) { return ListingLeaf{r.u64()}; });
}

}  // namespace opt
