// zstd_decompress (bridge/compress.h) on arbitrary bytes: the L1 decompresses whatever a proposer posts.
// Invariants: it never crashes and never returns more than its limit; the limit is exact (an output of
// exactly the limit is accepted, one byte less is refused as too large); only empty input is "empty";
// and what decompresses to a valid batch re-compresses (compress_batch) and decompresses to the very same
// bytes and frames, as any output re-compresses (zstd_compress) to itself.
#include <nlohmann/json.hpp>

#include "bridge/compress.h"
#include "engine/core/tx.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/test_util.h"

using namespace opt;

namespace {

// Far below kMaxBatchBytes so that each input runs in microseconds; the bound logic is the same.
constexpr size_t kLimit = 1u << 20;

Bytes le32(uint32_t v) {
  return Bytes{uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!std::getenv("OPT_FUZZ_SEEDS_OUT")) return 0;
  // Valid compressed batches, made the node's way: the golden transactions one by one, all together, an
  // empty batch, and at a high level.
  nlohmann::json v = test::load_json("codec_vectors.json");
  std::vector<Bytes> all;
  for (const auto& t : v["transactions"]) {
    all.push_back(test::hex(t["hex"].get<std::string>()));
    fuzz::write_seed(l1::compress_batch({all.back()}));
  }
  const Bytes batch = l1::compress_batch(all);
  fuzz::write_seed(batch);
  fuzz::write_seed(l1::compress_batch(all, 19));
  fuzz::write_seed(l1::compress_batch({}));
  // Edge cases: two frames back to back; a frame cut short; a frame with trailing garbage; a skippable
  // frame before a batch; a bomb (4 MiB of zeros in a few hundred bytes, above the fuzzing limit); a
  // frame of exactly the limit; an empty frame; and not zstd at all.
  fuzz::write_seed(fuzz::concat({batch, batch}));
  fuzz::write_seed(ByteView(batch.data(), batch.size() / 2));
  fuzz::write_seed(fuzz::concat({batch, Bytes{0xde, 0xad, 0xbe, 0xef}}));
  const Bytes skippable = fuzz::concat({le32(0x184D2A50), le32(3), Bytes{1, 2, 3}});
  fuzz::write_seed(fuzz::concat({skippable, batch}));
  fuzz::write_seed(l1::zstd_compress(Bytes(4u << 20, 0)));
  fuzz::write_seed(l1::zstd_compress(Bytes(kLimit, 0x5a)));
  fuzz::write_seed(l1::zstd_compress(Bytes{}));
  fuzz::write_seed(encode_batch(all));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  auto out = l1::zstd_decompress(in, kLimit);
  if (!out) {
    const l1::CompressError e = out.error();
    FUZZ_CHECK((e == l1::CompressError::kEmpty) == in.empty(), "empty input and kEmpty do not match (size %zu)", size);
    return 0;
  }
  FUZZ_CHECK(!in.empty(), "empty input decompressed");
  FUZZ_CHECK(out->size() <= kLimit, "decompressed %zu bytes past the limit of %zu", out->size(), kLimit);

  // The limit is exact, and decompression is a function of its input.
  auto at_limit = l1::zstd_decompress(in, out->size());
  FUZZ_CHECK(at_limit && *at_limit == *out, "an output of exactly the limit (%zu bytes) was not accepted as the same",
             out->size());
  if (!out->empty()) {
    auto below = l1::zstd_decompress(in, out->size() - 1);
    FUZZ_CHECK(!below && below.error() == l1::CompressError::kTooLarge, "%zu bytes were accepted under a limit of %zu",
               out->size(), out->size() - 1);
  }

  // Any output survives a round trip through the compressor.
  auto again = l1::zstd_decompress(l1::zstd_compress(*out), kLimit);
  FUZZ_CHECK(again && *again == *out, "zstd_compress then zstd_decompress changed %zu bytes", out->size());

  // A batch: re-compressed the node's way, it decompresses to the same bytes and frames.
  auto frames = decode_batch(*out);
  if (frames) {
    auto round = l1::zstd_decompress(l1::compress_batch(*frames), kLimit);
    FUZZ_CHECK(round.ok(), "a re-compressed batch of %zu frames does not decompress", frames->size());
    FUZZ_CHECK(*round == *out, "a re-compressed batch decompresses to other bytes");
    auto frames2 = decode_batch(*round);
    FUZZ_CHECK(frames2 && *frames2 == *frames, "a re-compressed batch decodes to other frames");
  }
  return 0;
}
