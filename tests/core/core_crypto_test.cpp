// Public vectors: keccak256, dev keys, EIP-712 (the specification's Mail example and every optrollup type),
// signatures with their high-s twins. Reference values come from ethers v6 (tests/data/ethereum.json).
#include <doctest/doctest.h>

#include "engine/core/crypto.h"
#include "engine/core/eip712.h"
#include "engine/core/keccak.h"
#include "tests/test_util.h"

using namespace opt;
using namespace opt::test;
using nlohmann::json;

namespace {
const json& vectors() {
  static const json v = load_json("ethereum.json");
  return v;
}
uint64_t num(const json& j) {
  return j.is_string() ? std::stoull(j.get<std::string>()) : j.get<uint64_t>();
}

Eip712Domain optrollup_domain() {
  const json& d = vectors()["eip712"]["domain"];
  return Eip712Domain{d["name"], d["version"], num(d["chainId"]), addr(d["verifyingContract"])};
}
}  // namespace

TEST_CASE("keccak256 public vectors") {
  for (auto& [input, expected] : vectors()["keccak256"].items()) {
    CHECK(keccak256(std::string_view(input)).hex() == expected.get<std::string>());
  }
  // Incremental hashing agrees with one-shot hashing.
  Keccak k;
  k.update(std::string_view("a")).update(std::string_view("bc"));
  CHECK(k.finish().hex() == vectors()["keccak256"]["abc"].get<std::string>());
}

TEST_CASE("keccak256 across the 136-byte rate: one-shot and incremental") {
  // Inputs of n bytes 'a' around the block boundaries; digests from ethers.js's keccak256 (@noble/hashes),
  // an implementation independent of the Crypto++ one engine/core/keccak.cpp uses.
  const std::pair<size_t, const char*> cases[] = {
      {135, "0x34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446"},
      {136, "0xa6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e"},
      {137, "0xd869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39"},
      {272, "0xcf7fcd4f705ee749930d19ca84561a9bf62516bd90a471545fa2f49fdc7e63c8"},
      {1000, "0xb6a4ac1f51884d71f30fa397a5e155de3099e11fc0edef5d08b646e621e19de9"},
  };
  for (const auto& [n, expected] : cases) {
    std::string in(n, 'a');
    CHECK(keccak256(std::string_view(in)).hex() == std::string(expected));
    Keccak k;  // reused after finish(): every split point gives the same digest
    for (size_t cut : {size_t{0}, size_t{1}, size_t{135}, size_t{136}, n / 2, n}) {
      if (cut > n) continue;
      k.update(std::string_view(in).substr(0, cut)).update(std::string_view(in).substr(cut));
      CHECK(k.finish().hex() == std::string(expected));
    }
  }
}

TEST_CASE("dev keys derive their published addresses") {
  REQUIRE(vectors()["devKeys"].size() == 10);
  for (const auto& k : vectors()["devKeys"]) {
    auto a = address_of(key(k["privateKey"]));
    REQUIRE(a.ok());
    CHECK(to_checksum(*a) == k["address"].get<std::string>());
  }
}

TEST_CASE("EIP-712 Mail example from the specification") {
  const json& m = vectors()["eip712"]["mailExample"];
  Eip712Domain d{m["domain"]["name"], m["domain"]["version"], num(m["domain"]["chainId"]),
                 addr(m["domain"]["verifyingContract"])};
  Hash32 sep = d.separator();
  CHECK(sep.hex() == m["domainSeparator"].get<std::string>());

  // Mail(Person from,Person to,string contents)Person(string name,address wallet), values from the EIP.
  Hash32 person_type = type_hash("Person(string name,address wallet)");
  Hash32 mail_type = type_hash("Mail(Person from,Person to,string contents)Person(string name,address wallet)");
  Hash32 from =
      StructEncoder(person_type).string("Cow").address(addr("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826")).finish();
  Hash32 to =
      StructEncoder(person_type).string("Bob").address(addr("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB")).finish();
  Hash32 mail = StructEncoder(mail_type).hash(from).hash(to).string("Hello, Bob!").finish();
  CHECK(mail.hex() == m["structHash"].get<std::string>());
  CHECK(eip712_digest(sep, mail).hex() == m["digest"].get<std::string>());
}

TEST_CASE("optrollup EIP-712 types: encodeType strings, type hashes, domain") {
  const json& e = vectors()["eip712"];
  CHECK(e["types"]["Order"].get<std::string>() == kOrderType);
  CHECK(e["types"]["Cancel"].get<std::string>() == kCancelType);
  CHECK(e["types"]["Withdraw"].get<std::string>() == kWithdrawType);
  CHECK(e["types"]["PriceReport"].get<std::string>() == kPriceReportType);
  CHECK(e["types"]["ListInstrument"].get<std::string>() == kListInstrumentType);
  for (auto& [name, th] : e["typeHashes"].items()) {
    CHECK(type_hash(e["types"][name].get<std::string>()).hex() == th.get<std::string>());
  }
  CHECK(optrollup_domain().separator().hex() == e["domainSeparator"].get<std::string>());
}

namespace {
// Checks struct hash, digest, the deterministic signature, recovery, and refusal of the high-s twin.
template <class M>
void check_example(const json& ex, const M& msg) {
  Hash32 sep = optrollup_domain().separator();
  CHECK(struct_hash(msg).hex() == ex["structHash"].template get<std::string>());
  Hash32 digest = typed_digest(sep, msg);
  CHECK(digest.hex() == ex["digest"].template get<std::string>());

  auto sig = sign(digest, dev_key(0));
  REQUIRE(sig.ok());
  CHECK(sig->hex() == ex["signature"].template get<std::string>());

  auto parsed = parse_signature(hex(ex["signature"]));
  REQUIRE(parsed.ok());
  auto who = recover(digest, *parsed);
  REQUIRE(who.ok());
  CHECK(to_checksum(*who) == ex["signer"].template get<std::string>());

  auto twin = parse_signature(hex(ex["highSMalleatedSignature_mustBeRefused"]));
  REQUIRE_FALSE(twin.ok());
  CHECK(twin.error() == SigError::kHighS);
  // Even when handed over unparsed, recover() refuses the twin.
  auto twin_raw = Signature::from(hex(ex["highSMalleatedSignature_mustBeRefused"]));
  CHECK_FALSE(recover(digest, twin_raw).ok());
}
}  // namespace

TEST_CASE("optrollup EIP-712 examples: struct hash, digest, signature, recovery, high-s refused") {
  const json& ex = vectors()["eip712"]["examples"];
  SUBCASE("Order") {
    const json& m = ex["Order"]["message"];
    Order o{addr(m["account"]), num(m["instrument"]), m["isBuy"],
            num(m["quantity"]), num(m["limitPrice"]), num(m["maxFee"]),
            num(m["nonce"]),    num(m["expiry"]),     static_cast<uint8_t>(num(m["flags"]))};
    check_example(ex["Order"], o);
  }
  SUBCASE("Cancel") {
    const json& m = ex["Cancel"]["message"];
    Cancel c{addr(m["account"]), OrderHash::from(h32(m["orderHash"]))};
    check_example(ex["Cancel"], c);
  }
  SUBCASE("Withdraw") {
    const json& m = ex["Withdraw"]["message"];
    Withdraw w{addr(m["account"]), num(m["amount"]), addr(m["recipient"]), num(m["nonce"])};
    check_example(ex["Withdraw"], w);
  }
  SUBCASE("PriceReport") {
    const json& m = ex["PriceReport"]["message"];
    PriceReport p{static_cast<uint32_t>(num(m["underlying"])), num(m["price"]), num(m["volatility"]),
                  num(m["timestamp"])};
    check_example(ex["PriceReport"], p);
  }
  SUBCASE("ListInstrument") {
    const json& m = ex["ListInstrument"]["message"];
    ListInstrument l{static_cast<uint32_t>(num(m["underlying"])), num(m["strike"]), num(m["expiry"]), m["isCall"]};
    check_example(ex["ListInstrument"], l);
  }
}

TEST_CASE("the Order example's digest is its orderHash") {
  const json& ex = vectors()["eip712"]["examples"];
  const json& m = ex["Order"]["message"];
  Order o{addr(m["account"]), num(m["instrument"]), m["isBuy"],
          num(m["quantity"]), num(m["limitPrice"]), num(m["maxFee"]),
          num(m["nonce"]),    num(m["expiry"]),     static_cast<uint8_t>(num(m["flags"]))};
  CHECK(order_hash(optrollup_domain().separator(), o).hex() == ex["Cancel"]["message"]["orderHash"].get<std::string>());
}

TEST_CASE("signature parsing refusals") {
  Bytes good = hex(vectors()["eip712"]["examples"]["Order"]["signature"]);
  CHECK(parse_signature(good).ok());
  CHECK(parse_signature(Bytes(good.begin(), good.end() - 1)).error() == SigError::kBadLength);
  Bytes v0 = good;
  v0[64] = 0;  // v = 0 is accepted and normalised to 27
  REQUIRE(parse_signature(v0).ok());
  CHECK((*parse_signature(v0))[64] == 27);
  Bytes v29 = good;
  v29[64] = 29;
  CHECK(parse_signature(v29).error() == SigError::kBadV);
  Bytes zero_r = good;
  std::fill(zero_r.begin(), zero_r.begin() + 32, 0);
  CHECK(parse_signature(zero_r).error() == SigError::kBadRS);
  // r at or above the group order is refused by recover() even though s is low.
  Bytes big_r = good;
  std::fill(big_r.begin(), big_r.begin() + 32, 0xff);
  CHECK_FALSE(recover(Hash32{}, Signature::from(big_r)).ok());
  // A signature over another digest recovers some other address, never the signer.
  Hash32 other = keccak256(std::string_view("other"));
  auto who = recover(other, Signature::from(good));
  if (who.ok()) CHECK(to_checksum(*who) != vectors()["devKeys"][0]["address"].get<std::string>());
}

TEST_CASE("private keys: zero and out-of-range refused") {
  CHECK_FALSE(address_of(PrivateKey{}).ok());
  PrivateKey max;
  max.bytes.fill(0xff);
  CHECK_FALSE(address_of(max).ok());
  CHECK_FALSE(sign(Hash32{}, max).ok());
}
