// Every state-leaf decoder (engine/stf/leaves.h) on arbitrary bytes. Invariant: canonical round trip.
// The root must be a function of the state alone, so a leaf value has exactly one encoding: anything a
// decoder accepts re-encodes to exactly the input (e.g. positions strictly ascending, no zero quantity).
//
// Input: one byte choosing the decoder (modulo 7), then the leaf's bytes.
#include "engine/stf/leaves.h"
#include "tests/fuzz/fuzz_util.h"

using namespace opt;

namespace {

template <class Leaf, class Decode>
void round_trip(ByteView in, Decode decode, const char* what) {
  auto v = decode(in);
  if (!v) return;
  Bytes again = encode_leaf(*v);
  FUZZ_CHECK(again == Bytes(in.begin(), in.end()), "%s decoder accepted a non-canonical encoding: %s re-encodes as %s",
             what, fuzz::hexs(in).c_str(), fuzz::hexs(again).c_str());
  auto twice = decode(ByteView(again));
  FUZZ_CHECK(twice && *twice == *v, "%s: the re-encoding does not decode to the same leaf", what);
}

void seed(uint8_t which, const Bytes& leaf) {
  fuzz::write_seed(fuzz::concat({ByteView(&which, 1), leaf}));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!std::getenv("OPT_FUZZ_SEEDS_OUT")) return 0;
  Address a = *Address::from_hex("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  Address b = *Address::from_hex("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  AccountLeaf acc{7, 250'000'000'000, {}};
  acc.positions.push_back({1, 1, 3'000'000'000, 1'800'086'400, true, 1'500'000});
  acc.positions.push_back({2, 1, 3'000'000'000, 1'800'086'400, false, -2'000'000});
  acc.positions.push_back({9, 2, 60'000'000'000, 1'800'007'200, true, 100'000});
  seed(0, encode_leaf(acc));
  seed(0, encode_leaf(AccountLeaf{0, -5, {}}));
  seed(1, encode_leaf(FillLeaf{a, 1'000'000, true}));
  seed(2, encode_leaf(InstrumentLeaf{3, 2, 60'000'000'000, 1'800'086'400, true, InstrumentStatus::kExpired,
                                     61'000'000'000, 5'000'000, 5'000'000, -1'234}));
  OracleLeaf o{1, 3'000'000'000, 800'000, 1'800'003'600, static_cast<u128>(1) << 70, {}};
  for (uint64_t i = 0; i < 5; ++i) o.checkpoints.push_back({1'800'000'000 + 1800 * i, static_cast<u128>(i) << 66 | i});
  seed(3, encode_leaf(o));
  seed(4, encode_leaf(WithdrawalLeaf{4, a, b, 10'000'000}));
  seed(5, encode_leaf(GlobalLeaf{13, 4, 800'000'000'000, 40'000'000, 1'500'000, 250'000}));
  seed(6, encode_leaf(ListingLeaf{12}));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ByteView in(data + 1, size - 1);
  switch (data[0] % 7) {
    case 0: round_trip<AccountLeaf>(in, decode_account, "account"); break;
    case 1: round_trip<FillLeaf>(in, decode_fill, "fill"); break;
    case 2: round_trip<InstrumentLeaf>(in, decode_instrument, "instrument"); break;
    case 3: round_trip<OracleLeaf>(in, decode_oracle, "oracle"); break;
    case 4: round_trip<WithdrawalLeaf>(in, decode_withdrawal, "withdrawal"); break;
    case 5: round_trip<GlobalLeaf>(in, decode_global, "global"); break;
    default: round_trip<ListingLeaf>(in, decode_listing, "listing"); break;
  }
  return 0;
}
