// Signatures and EIP-712 digests (engine/core/crypto.h, eip712.h) on fuzzed bytes and struct fields.
// Invariants:
//  - parse_signature accepts exactly the 65-byte, v in {0,1,27,28}, non-zero r and s, low-s signatures
//    (the refusal reason follows the documented order), returns v as 27/28 and is idempotent;
//  - recover never crashes and refuses whatever parse_signature refuses;
//  - a signature made by sign() parses unchanged, recovers to the signer, and its malleated twin
//    (n - s, other v) is refused as high-s;
//  - every EIP-712 digest equals a reference encodeData written here from the EIP-712 rules, including
//    the generic StructEncoder past its 16 inline words.
#include "engine/core/crypto.h"
#include "engine/core/eip712.h"
#include "tests/fuzz/fuzz_util.h"

using namespace opt;

namespace {

// The secp256k1 group order n, and n/2 computed here (not copied from crypto.cpp).
const uint8_t kOrder[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                            0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48,
                            0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
struct Half {
  uint8_t b[32];
  Half() {
    unsigned carry = 0;
    for (int i = 0; i < 32; ++i) {
      b[i] = static_cast<uint8_t>((kOrder[i] >> 1) | (carry << 7));
      carry = kOrder[i] & 1;
    }
  }
};
const Half kHalf;

bool zero32(const uint8_t* p) {
  for (int i = 0; i < 32; ++i)
    if (p[i]) return false;
  return true;
}

// n - s (s non-zero and below n), big-endian.
void negate_mod_n(uint8_t* s) {
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = kOrder[i] - s[i] - borrow;
    borrow = d < 0;
    s[i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
}

std::optional<SigError> expected_parse_error(ByteView raw) {
  if (raw.size() != 65) return SigError::kBadLength;
  uint8_t v = raw[64];
  if (v != 0 && v != 1 && v != 27 && v != 28) return SigError::kBadV;
  if (zero32(raw.data()) || zero32(raw.data() + 32)) return SigError::kBadRS;
  if (std::memcmp(raw.data() + 32, kHalf.b, 32) > 0) return SigError::kHighS;
  return std::nullopt;
}

void check_parse(ByteView raw) {
  auto p = parse_signature(raw);
  auto want = expected_parse_error(raw);
  if (want) {
    FUZZ_CHECK(!p && p.error() == *want, "parse_signature(%s): expected error %s, got %s", fuzz::hexs(raw).c_str(),
               to_string(*want), p ? "ok" : to_string(p.error()));
    return;
  }
  FUZZ_CHECK(p.ok(), "parse_signature refused a valid signature %s: %s", fuzz::hexs(raw).c_str(), to_string(p.error()));
  const Signature& s = *p;
  FUZZ_CHECK(s[64] == 27 || s[64] == 28, "parsed v is %u", s[64]);
  FUZZ_CHECK(s[64] == (raw[64] < 27 ? raw[64] + 27 : raw[64]), "v not normalised from %u to %u", raw[64], s[64]);
  FUZZ_CHECK(std::memcmp(s.data(), raw.data(), 64) == 0, "parse changed r or s");
  FUZZ_CHECK(std::memcmp(s.data() + 32, kHalf.b, 32) <= 0, "a parsed signature is high-s");
  auto again = parse_signature(s.view());
  FUZZ_CHECK(again && *again == s, "parse_signature is not idempotent");
}

// ---- reference EIP-712 encodeData ----
struct Ref {
  Bytes enc;
  explicit Ref(std::string_view type) { append(enc, keccak256(type).view()); }
  Ref& word_right(ByteView b) {  // right-aligned in 32 bytes (uintN, address, bool)
    enc.insert(enc.end(), 32 - b.size(), 0);
    append(enc, b);
    return *this;
  }
  Ref& u(uint64_t v) {
    Bytes b;
    append_be64(b, v);
    return word_right(b);
  }
  Ref& addr(const Address& a) { return word_right(a.view()); }
  Ref& b32(ByteView h) { return word_right(h); }
  Ref& str(std::string_view s) { return b32(keccak256(s).view()); }
  Hash32 hash() const { return keccak256(enc); }
};

Hash32 ref_digest(const Hash32& sep, const Hash32& sh) {
  Bytes b{0x19, 0x01};
  append(b, sep.view());
  append(b, sh.view());
  return keccak256(b);
}

Hash32 fuzz_struct(fuzz::Input& in, Hash32& ref_struct) {
  switch (in.u8() % 7) {
    case 0: {
      Order o{
          in.fixed<20, AddressTag>(), in.u64(), in.coin(), in.u64(), in.u64(), in.u64(), in.u64(), in.u64(), in.u8()};
      ref_struct = Ref(kOrderType)
                       .addr(o.account)
                       .u(o.instrument)
                       .u(o.is_buy)
                       .u(o.quantity)
                       .u(o.limit_price)
                       .u(o.max_fee)
                       .u(o.nonce)
                       .u(o.expiry)
                       .u(o.flags)
                       .hash();
      return struct_hash(o);
    }
    case 1: {
      Cancel c{in.fixed<20, AddressTag>(), in.fixed<32, OrderHashTag>()};
      ref_struct = Ref(kCancelType).addr(c.account).b32(c.order_hash.view()).hash();
      return struct_hash(c);
    }
    case 2: {
      Withdraw w{in.fixed<20, AddressTag>(), in.u64(), in.fixed<20, AddressTag>(), in.u64()};
      ref_struct = Ref(kWithdrawType).addr(w.account).u(w.amount).addr(w.recipient).u(w.nonce).hash();
      return struct_hash(w);
    }
    case 3: {
      PriceReport r{static_cast<uint32_t>(in.u64()), in.u64(), in.u64(), in.u64()};
      ref_struct = Ref(kPriceReportType).u(r.underlying).u(r.price).u(r.volatility).u(r.timestamp).hash();
      return struct_hash(r);
    }
    case 4: {
      ListInstrument l{static_cast<uint32_t>(in.u64()), in.u64(), in.u64(), in.coin()};
      ref_struct = Ref(kListInstrumentType).u(l.underlying).u(l.strike).u(l.expiry).u(l.is_call).hash();
      return struct_hash(l);
    }
    case 5: {
      Liquidate l{in.fixed<20, AddressTag>(), in.fixed<20, AddressTag>(), in.u64(), in.u64(), in.u64()};
      ref_struct =
          Ref(kLiquidateType).addr(l.liquidator).addr(l.account).u(l.instrument).u(l.quantity).u(l.nonce).hash();
      return struct_hash(l);
    }
    default: {
      // The generic encoder with up to 40 fields of every kind: past 16 words it spills to the heap.
      Hash32 th = in.fixed<32, HashTag>();
      StructEncoder e(th);
      Bytes ref(th.data(), th.data() + 32);
      Ref r("");
      r.enc = ref;
      size_t n = in.u8() % 41;
      for (size_t i = 0; i < n; ++i) {
        switch (in.u8() % 6) {
          case 0: {
            auto a = in.fixed<20, AddressTag>();
            e.address(a);
            r.addr(a);
            break;
          }
          case 1: {
            uint64_t v = in.u64();
            e.uint(v);
            r.u(v);
            break;
          }
          case 2: {
            bool b = in.coin();
            e.boolean(b);
            r.u(b);
            break;
          }
          case 3: {
            auto h = in.fixed<32, HashTag>();
            e.bytes32(h);
            r.b32(h.view());
            break;
          }
          case 4: {
            Bytes s = in.bytes(80);
            e.string(std::string_view(reinterpret_cast<const char*>(s.data()), s.size()));
            r.b32(keccak256(s).view());
            break;
          }
          default: {
            Bytes b = in.bytes(80);
            e.bytes(b);
            r.b32(keccak256(b).view());
            break;
          }
        }
      }
      ref_struct = r.hash();
      return e.finish();
    }
  }
}

void check_sign(const Hash32& digest, const PrivateKey& key) {
  auto signer = address_of(key);
  auto s = sign(digest, key);
  if (!is_valid_private_key(key)) {
    FUZZ_CHECK(!s && !signer, "an invalid private key signed or has an address");
    return;
  }
  FUZZ_CHECK(s && signer, "sign or address_of refused a valid key");
  auto p = parse_signature(s->view());
  FUZZ_CHECK(p && *p == *s, "sign() made a signature parse_signature changes or refuses (low-s, v 27/28)");
  auto who = recover(digest, *s);
  FUZZ_CHECK(who && *who == *signer, "recover of a signature made by sign() is not the signer");
  // The malleated twin (n - s, the other recovery id) is the same signature to ECDSA; refused (EIP-2).
  Signature twin = *s;
  negate_mod_n(twin.data() + 32);
  twin[64] = static_cast<uint8_t>(twin[64] == 27 ? 28 : 27);
  auto tp = parse_signature(twin.view());
  FUZZ_CHECK(!tp && tp.error() == SigError::kHighS, "the high-s twin of a signature is not refused as high-s");
  FUZZ_CHECK(!recover(digest, twin), "recover accepted a high-s signature");
  // The other recovery id is another key.
  Signature flipped = *s;
  flipped[64] = static_cast<uint8_t>(flipped[64] == 27 ? 28 : 27);
  auto other = recover(digest, flipped);
  FUZZ_CHECK(!other || *other != *signer, "both recovery ids give the signer");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!std::getenv("OPT_FUZZ_SEEDS_OUT")) return 0;
  // A signature over an Order digest under the rollup's domain, as bytes then as the signing seed.
  PrivateKey k = *PrivateKey::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
  Order o{*address_of(k), 7, true, 1'500'000, 125'250'000, 500'000, 1, 1'798'675'200, 1};
  Eip712Domain d{"optrollup", "1", 777001, *Address::from_hex("0x5FbDB2315678afecb367f032d93F642f64180aa3")};
  Hash32 digest = typed_digest(d.separator(), o);
  Signature s = *sign(digest, k);
  for (uint8_t mode : {0, 1, 2}) {
    Bytes in{mode, 65};
    append(in, s.view());
    append(in, digest.view());
    append(in, k.view());
    fuzz::write_seed(in);
  }
  return 0;
}

// Input: mode, a length-prefixed candidate signature, a digest, a private key, then an EIP-712 domain
// and struct. mode bit 0: also sign with the key (slower, so only on some inputs).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  uint8_t mode = in.u8();
  Bytes raw = in.bytes(80);
  Hash32 digest = in.fixed<32, HashTag>();
  PrivateKey key = in.fixed<32, PrivateKeyTag>();

  check_parse(raw);
  if (raw.size() == 65) {
    Signature sig = Signature::from(raw);
    auto who = recover(digest, sig);
    auto parsed = parse_signature(raw);
    if (!parsed) FUZZ_CHECK(!who && who.error() == parsed.error(), "recover accepted what parse_signature refuses");
    if (who) {
      // The same signature with v as 0/1 recovers the same key.
      Signature alt = sig;
      alt[64] = static_cast<uint8_t>(sig[64] >= 27 ? sig[64] - 27 : sig[64] + 27);
      auto who2 = recover(digest, alt);
      FUZZ_CHECK(who2 && *who2 == *who, "v as 0/1 and as 27/28 recover differently");
    }
  }
  if (mode & 1) check_sign(digest, key);

  // EIP-712: a domain (with or without a verifying contract), then one struct.
  Eip712Domain d;
  Bytes name = in.bytes(40), version = in.bytes(8);
  d.name.assign(name.begin(), name.end());
  d.version.assign(version.begin(), version.end());
  d.chain_id = in.u64();
  if (in.coin()) d.verifying_contract = in.fixed<20, AddressTag>();
  Ref dr(d.verifying_contract ? "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                              : "EIP712Domain(string name,string version,uint256 chainId)");
  dr.str(d.name).str(d.version).u(d.chain_id);
  if (d.verifying_contract) dr.addr(*d.verifying_contract);
  Hash32 sep = d.separator();
  FUZZ_CHECK(sep == dr.hash(), "domain separator differs from the reference encoding");
  Hash32 ref_struct;
  Hash32 sh = fuzz_struct(in, ref_struct);
  FUZZ_CHECK(sh == ref_struct, "struct hash differs from the reference encodeData");
  FUZZ_CHECK(eip712_digest(sep, sh) == ref_digest(sep, ref_struct), "digest differs from the reference");
  return 0;
}
