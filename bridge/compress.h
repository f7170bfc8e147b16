// zstd compression of batch data. Kept out of the deterministic core: only the L1 (which decompresses
// what a proposer posts) and the node (which compresses what it posts) need it.
#pragma once

#include <string>
#include <vector>

#include "engine/core/bytes.h"

namespace opt::l1 {

// A decompressed batch may not exceed this: a small compressed payload cannot make the L1 allocate
// without bound (a "zip bomb").
inline constexpr size_t kMaxBatchBytes = 64u << 20;

enum class CompressError : uint8_t { kCorrupt, kTooLarge, kEmpty };
const char* to_string(CompressError e);

Bytes zstd_compress(ByteView input, int level = 3);
// Streams through the input, so the bound holds whatever size a frame header claims. Refuses trailing
// bytes that are not a zstd frame and empty input.
Result<Bytes, CompressError> zstd_decompress(ByteView input, size_t max_output = kMaxBatchBytes);

// The node's side of PostBatch: frame the encoded transactions (opt::encode_batch) and compress them.
// Level 3 by default: on realistic trades level 12 saves about 2% more bytes at ten times the time.
Bytes compress_batch(const std::vector<Bytes>& txs, int level = 3);

}  // namespace opt::l1
