// The canonical codec: golden vectors written by an independent implementation of docs/encoding.md
// (scripts/gen_codec_vectors.py), round trips, and totality (truncations and mutations never crash and
// anything that still decodes re-encodes to exactly the same bytes).
#include <doctest/doctest.h>

#include "engine/core/tx.h"
#include "tests/test_util.h"

using namespace opt;
using namespace opt::test;
using nlohmann::json;

namespace {

Signature sig(const json& j) {
  return Signature::from(hex(j.get<std::string>()));
}

Order order_from(const json& o) {
  return Order{addr(o["account"]), o["instrument"], o["isBuy"],
               o["quantity"],      o["limitPrice"], o["maxFee"],
               o["nonce"],         o["expiry"],     static_cast<uint8_t>(o["flags"].get<int>())};
}

Tx tx_from(const std::string& name, const json& f) {
  if (name == "deposit") return DepositTx{f["inboxIndex"], addr(f["l1Sender"]), addr(f["recipient"]), f["amount"]};
  if (name == "trade")
    return TradeTx{{order_from(f["maker"]["order"]), sig(f["maker"]["signature"])},
                   {order_from(f["taker"]["order"]), sig(f["taker"]["signature"])},
                   f["quantity"],
                   f["price"]};
  if (name == "cancel")
    return CancelTx{Cancel{addr(f["account"]), OrderHash::from(h32(f["orderHash"]))}, sig(f["signature"])};
  if (name == "price_report") {
    PriceReportTx t{PriceReport{f["underlying"], f["price"], f["volatility"], f["timestamp"]}, {}};
    for (const auto& s : f["signatures"]) t.sigs.push_back(sig(s));
    return t;
  }
  if (name == "list_instrument")
    return ListInstrumentTx{ListInstrument{f["underlying"], f["strike"], f["expiry"], f["isCall"]},
                            sig(f["signature"])};
  if (name == "liquidate")
    return LiquidateTx{Liquidate{addr(f["liquidator"]), addr(f["account"]), f["instrument"], f["quantity"], f["nonce"]},
                       sig(f["signature"])};
  if (name == "expire") return ExpireTx{f["instrument"]};
  if (name == "settle") return SettleTx{addr(f["account"]), f["instrument"]};
  if (name == "withdraw")
    return WithdrawTx{Withdraw{addr(f["account"]), f["amount"], addr(f["recipient"]), f["nonce"]}, sig(f["signature"])};
  if (name == "forced_withdraw") return ForcedWithdrawTx{f["inboxIndex"], addr(f["account"]), f["amount"]};
  FAIL("unknown vector " << name);
  return ExpireTx{};
}

const json& golden() {
  static const json v = load_json("codec_vectors.json");
  return v;
}

Signature random_sig(Rng& rng) {
  Signature s = Signature::from(rng.bytes(65));
  s[64] = static_cast<uint8_t>(27 + rng.below(2));
  return s;
}
Address random_addr(Rng& rng) {
  return Address::from(rng.bytes(20));
}
uint64_t random_u64(Rng& rng) {
  switch (rng.below(4)) {
    case 0: return 0;
    case 1: return UINT64_MAX;
    case 2: return rng.below(1000);
    default: return rng.next();
  }
}
Order random_order(Rng& rng) {
  return Order{random_addr(rng), random_u64(rng), rng.coin(),
               random_u64(rng),  random_u64(rng), random_u64(rng),
               random_u64(rng),  random_u64(rng), static_cast<uint8_t>(rng.next())};
}

Tx random_tx(Rng& rng) {
  switch (rng.below(10)) {
    case 0: return DepositTx{random_u64(rng), random_addr(rng), random_addr(rng), random_u64(rng)};
    case 1:
      return TradeTx{
          {random_order(rng), random_sig(rng)}, {random_order(rng), random_sig(rng)}, random_u64(rng), random_u64(rng)};
    case 2: return CancelTx{Cancel{random_addr(rng), OrderHash::from(rng.hash())}, random_sig(rng)};
    case 3: {
      PriceReportTx t{PriceReport{static_cast<uint32_t>(rng.next()), random_u64(rng), random_u64(rng), random_u64(rng)},
                      {}};
      size_t n = rng.below(kMaxReportSignatures + 1);
      for (size_t i = 0; i < n; ++i) t.sigs.push_back(random_sig(rng));
      return t;
    }
    case 4:
      return ListInstrumentTx{
          ListInstrument{static_cast<uint32_t>(rng.next()), random_u64(rng), random_u64(rng), rng.coin()},
          random_sig(rng)};
    case 5:
      return LiquidateTx{
          Liquidate{random_addr(rng), random_addr(rng), random_u64(rng), random_u64(rng), random_u64(rng)},
          random_sig(rng)};
    case 6: return ExpireTx{random_u64(rng)};
    case 7: return SettleTx{random_addr(rng), random_u64(rng)};
    case 8:
      return WithdrawTx{Withdraw{random_addr(rng), random_u64(rng), random_addr(rng), random_u64(rng)},
                        random_sig(rng)};
    default: return ForcedWithdrawTx{random_u64(rng), random_addr(rng), random_u64(rng)};
  }
}

// The canonicality property: whatever decodes re-encodes to exactly the input.
void check_total_and_canonical(const Bytes& b) {
  auto r = decode_tx(b);
  if (r.ok()) CHECK(encode_tx(*r) == b);
}

}  // namespace

TEST_CASE("golden vectors: encode and decode every transaction type") {
  REQUIRE(golden()["transactions"].size() == 10);
  for (const auto& v : golden()["transactions"]) {
    std::string name = v["name"];
    CAPTURE(name);
    Tx tx = tx_from(name, v["fields"]);
    CHECK(static_cast<int>(type_of(tx)) == v["type"].get<int>());
    CHECK(std::string(to_string(type_of(tx))) == name);
    Bytes expected = hex(v["hex"]);
    CHECK(to_hex(encode_tx(tx)) == v["hex"].get<std::string>());
    auto decoded = decode_tx(expected);
    REQUIRE(decoded.ok());
    CHECK(*decoded == tx);
  }
}

TEST_CASE("golden batch framing") {
  const json& b = golden()["batch"];
  std::vector<Bytes> txs;
  for (const auto& t : b["transactions"]) txs.push_back(hex(t));
  CHECK(to_hex(encode_batch(txs)) == b["hex"].get<std::string>());
  auto d = decode_batch(hex(b["hex"]));
  REQUIRE(d.ok());
  CHECK(*d == txs);
}

TEST_CASE("round trip: random transactions of every type") {
  Rng rng(20261125);
  for (int i = 0; i < 5000; ++i) {
    Tx tx = random_tx(rng);
    Bytes enc = encode_tx(tx);
    auto dec = decode_tx(enc);
    REQUIRE(dec.ok());
    CHECK(*dec == tx);
  }
}

TEST_CASE("every truncation of a golden encoding is refused") {
  for (const auto& v : golden()["transactions"]) {
    Bytes full = hex(v["hex"]);
    for (size_t n = 0; n < full.size(); ++n) {
      auto r = decode_tx(ByteView(full.data(), n));
      CHECK_FALSE(r.ok());
    }
    Bytes longer = full;
    longer.push_back(0);
    auto r = decode_tx(longer);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == CodecError::kTrailingBytes);
  }
}

TEST_CASE("random mutations decode to an error or to a canonical value") {
  Rng rng(7);
  size_t decoded_ok = 0, refused = 0;
  for (const auto& v : golden()["transactions"]) {
    Bytes full = hex(v["hex"]);
    for (int i = 0; i < 500; ++i) {
      Bytes m = full;
      size_t flips = 1 + rng.below(4);
      for (size_t f = 0; f < flips; ++f) {
        switch (rng.below(3)) {
          case 0: m[rng.below(m.size())] ^= static_cast<uint8_t>(1 + rng.below(255)); break;
          case 1:
            m.insert(m.begin() + static_cast<long>(rng.below(m.size() + 1)), static_cast<uint8_t>(rng.next()));
            break;
          default:
            if (m.size() > 1) m.erase(m.begin() + static_cast<long>(rng.below(m.size())));
        }
      }
      auto r = decode_tx(m);
      (r.ok() ? decoded_ok : refused)++;
      check_total_and_canonical(m);
    }
  }
  // Both outcomes occur: field flips keep the length, inserts and deletes break it.
  CHECK(decoded_ok > 0);
  CHECK(refused > 0);
}

TEST_CASE("specific refusals carry their reason") {
  CHECK(decode_tx(Bytes{}).error() == CodecError::kTruncated);
  CHECK(decode_tx(Bytes{0}).error() == CodecError::kBadTag);
  CHECK(decode_tx(Bytes{11}).error() == CodecError::kBadTag);
  // A bool byte of 2 in ListInstrument.isCall.
  Bytes li = hex(golden()["transactions"][4]["hex"]);
  li[1 + 4 + 8 + 8] = 2;
  CHECK(decode_tx(li).error() == CodecError::kBadBool);
  // v = 0 is not canonical on the wire (the API normalises signatures to 27/28).
  Bytes ex = hex(golden()["transactions"][8]["hex"]);
  ex.back() = 0;
  CHECK(decode_tx(ex).error() == CodecError::kBadSignature);
  // A price report claiming 33 signatures.
  Bytes pr = hex(golden()["transactions"][3]["hex"]);
  pr[1 + 4 + 8 + 8 + 8] = 33;
  CHECK(decode_tx(pr).error() == CodecError::kTooMany);
}

TEST_CASE("batch decoding is total") {
  Rng rng(99);
  CHECK(decode_batch(Bytes{}).error() == CodecError::kTruncated);
  CHECK(decode_batch(Bytes{0xff, 0xff, 0xff, 0xff}).error() == CodecError::kTooMany);
  CHECK(decode_batch(Bytes{0, 0x10, 0, 0}).error() == CodecError::kTruncated);  // count beyond input, no huge alloc
  for (int i = 0; i < 3000; ++i) {
    Bytes b = rng.bytes(rng.below(64));
    if (rng.coin() && b.size() >= 4) b[0] = b[1] = 0;
    auto r = decode_batch(b);
    if (r.ok()) CHECK(encode_batch(*r) == b);
  }
}

#include "engine/core/keccak.h"
#include "engine/core/merkle.h"

TEST_CASE("txDataRoot: definition, proofs, tampering") {
  Rng rng(3);
  CHECK(tx_data_root({}) == Hash32{});
  Bytes a = rng.bytes(10), b = rng.bytes(20), c = rng.bytes(30);
  CHECK(tx_data_root({a}) == keccak256(a));
  Bytes ab;
  append(ab, keccak256(a).view());
  append(ab, keccak256(b).view());
  CHECK(tx_data_root({a, b}) == keccak256(ab));
  // Three leaves pad to four with a zero leaf.
  Bytes c0;
  append(c0, keccak256(c).view());
  append(c0, Hash32{}.view());
  Bytes top;
  append(top, keccak256(ab).view());
  append(top, keccak256(c0).view());
  CHECK(tx_data_root({a, b, c}) == keccak256(top));

  for (size_t n : {1u, 2u, 3u, 5u, 8u, 13u}) {
    std::vector<Bytes> txs;
    for (size_t i = 0; i < n; ++i) txs.push_back(rng.bytes(1 + rng.below(40)));
    Hash32 root = tx_data_root(txs);
    for (size_t i = 0; i < n; ++i) {
      auto proof = tx_data_proof(txs, i);
      CHECK(verify_tx_data_proof(root, n, i, txs[i], proof));
      if (n > 1) CHECK_FALSE(verify_tx_data_proof(root, n, (i + 1) % n, txs[i], proof));  // wrong position
      Bytes tampered = txs[i];
      tampered[0] ^= 1;
      CHECK_FALSE(verify_tx_data_proof(root, n, i, tampered, proof));
      if ((n & (n - 1)) == 0) CHECK_FALSE(verify_tx_data_proof(root, n + 1, i, txs[i], proof));  // deeper tree
      CHECK_FALSE(verify_tx_data_proof(root, n, n, txs[i], proof));
    }
  }
}
