// decode_tx and decode_batch on arbitrary bytes. Invariant: the codec is canonical (docs/encoding.md),
// so anything that decodes re-encodes to exactly the input; a decoder that accepted two encodings of one
// transaction would give it two hashes.
#include <nlohmann/json.hpp>

#include "engine/core/tx.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/test_util.h"

using namespace opt;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Seeds: the golden vectors (one encoding of every transaction type, and a batch) and a batch of them all.
  if (!std::getenv("OPT_FUZZ_SEEDS_OUT")) return 0;
  nlohmann::json v = test::load_json("codec_vectors.json");
  std::vector<Bytes> all;
  for (const auto& t : v["transactions"]) {
    all.push_back(test::hex(t["hex"].get<std::string>()));
    fuzz::write_seed(all.back());
  }
  fuzz::write_seed(test::hex(v["batch"]["hex"].get<std::string>()));
  fuzz::write_seed(encode_batch(all));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);

  auto tx = decode_tx(in);
  if (tx) {
    Bytes again = encode_tx(*tx);
    FUZZ_CHECK(again == Bytes(in.begin(), in.end()), "decode_tx accepted a non-canonical encoding: %s re-encodes as %s",
               fuzz::hexs(in).c_str(), fuzz::hexs(again).c_str());
    FUZZ_CHECK(static_cast<uint8_t>(type_of(*tx)) == in[0], "type tag %u decoded as type %u", in[0],
               static_cast<unsigned>(type_of(*tx)));
    auto twice = decode_tx(again);
    FUZZ_CHECK(twice && *twice == *tx, "re-encoded transaction does not decode to the same value");
  } else {
    // Anything longer than a frame is refused by the batch framing anyway; below that, a refused input
    // must be refused for a reason the codec documents.
    FUZZ_CHECK(static_cast<uint8_t>(tx.error()) <= static_cast<uint8_t>(CodecError::kNonCanonical), "bad error");
  }

  auto batch = decode_batch(in);
  if (batch) {
    FUZZ_CHECK(batch->size() <= kMaxBatchTxs, "batch above its bound");
    for (const auto& f : *batch) FUZZ_CHECK(f.size() <= kMaxTxBytes, "frame above its bound");
    Bytes again = encode_batch(*batch);
    FUZZ_CHECK(again == Bytes(in.begin(), in.end()), "decode_batch accepted a non-canonical encoding");
    // Every frame is a step: it either decodes canonically or is refused, never anything in between.
    for (const auto& f : *batch) {
      if (auto t = decode_tx(f)) FUZZ_CHECK(encode_tx(*t) == f, "frame decodes non-canonically");
    }
  }
  return 0;
}
