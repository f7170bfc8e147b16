#include "bridge/compress.h"

#include <zstd.h>

#include <memory>

#include "engine/core/tx.h"

namespace opt::l1 {

const char* to_string(CompressError e) {
  switch (e) {
    case CompressError::kCorrupt: return "the data is not a valid zstd stream";
    case CompressError::kTooLarge: return "the data decompresses to more than the allowed size";
    case CompressError::kEmpty: return "the data is empty";
  }
  return "unknown compression error";
}

Bytes zstd_compress(ByteView input, int level) {
  Bytes out(ZSTD_compressBound(input.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), input.data(), input.size(), level);
  if (ZSTD_isError(n)) return {};  // cannot happen with a buffer of compressBound bytes
  out.resize(n);
  return out;
}

Result<Bytes, CompressError> zstd_decompress(ByteView input, size_t max_output) {
  if (input.empty()) return err(CompressError::kEmpty);
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return err(CompressError::kCorrupt);
  // Bound the window too, so a frame cannot ask for a huge history buffer.
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, 27);
  Bytes out;
  out.reserve(std::min<size_t>(max_output, std::max<size_t>(input.size() * 4, 1 << 16)));
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  Bytes chunk(ZSTD_DStreamOutSize());
  for (;;) {
    ZSTD_outBuffer ob{chunk.data(), chunk.size(), 0};
    size_t r = ZSTD_decompressStream(ctx.get(), &ob, &in);
    if (ZSTD_isError(r)) return err(CompressError::kCorrupt);
    if (out.size() + ob.pos > max_output) return err(CompressError::kTooLarge);
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(ob.pos));
    bool input_done = in.pos == in.size;
    bool output_full = ob.pos == ob.size;  // the decoder may hold more: call again
    if (input_done && !output_full) {
      if (r != 0) return err(CompressError::kCorrupt);  // the input ended inside a frame
      break;
    }
  }
  return out;
}

Bytes compress_batch(const std::vector<Bytes>& txs, int level) {
  return zstd_compress(encode_batch(txs), level);
}

}  // namespace opt::l1
