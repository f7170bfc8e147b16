// Shared by the libFuzzer targets of tests/fuzz (docs/fuzzing.md).
//
// Each target checks an invariant, not only "no crash" (docs/style.md, item 9): FUZZ_CHECK prints what
// broke and aborts, which libFuzzer reports as a crash and saves the input (crash-<sha1>).
//
// Seeds: a target that builds real inputs at start-up (proofs, signed transactions) writes them as files
// into the folder named by OPT_FUZZ_SEEDS_OUT, then runs as usual; with -runs=0 that only writes them.
// That is how tests/fuzz/corpus/<target>/ was made (docs/fuzzing.md has the command).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "engine/core/bytes.h"
#include "engine/core/keccak.h"

#define FUZZ_CHECK(cond, ...)                                                                   \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "\n*** invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, "*** " __VA_ARGS__);                                                 \
      std::fprintf(stderr, "\n");                                                               \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace opt::fuzz {

// Reads the input front to back; past the end every read gives zeros (like the codec's Reader), so a
// target can take what it needs without length checks and the fuzzer can shorten inputs freely.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  uint8_t u8() { return pos_ < n_ ? p_[pos_++] : 0; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | u8();
    return v;
  }
  bool coin() { return u8() & 1; }
  template <size_t N, class Tag>
  FixedBytes<N, Tag> fixed() {
    FixedBytes<N, Tag> out;
    for (size_t i = 0; i < N; ++i) out[i] = u8();
    return out;
  }
  Bytes bytes(size_t max) {
    size_t n = std::min<size_t>(u8(), max);
    Bytes out;
    for (size_t i = 0; i < n && pos_ < n_; ++i) out.push_back(u8());
    return out;
  }
  ByteView rest() const { return pos_ < n_ ? ByteView(p_ + pos_, n_ - pos_) : ByteView(); }
  size_t remaining() const { return pos_ < n_ ? n_ - pos_ : 0; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

// Writes `seed` into $OPT_FUZZ_SEEDS_OUT (if set), named by its hash like libFuzzer's own corpus files.
inline void write_seed(ByteView seed) {
  const char* dir = std::getenv("OPT_FUZZ_SEEDS_OUT");
  if (!dir || !*dir) return;
  std::string name = std::string(dir) + "/seed-" + keccak256(seed).hex().substr(2, 16);
  std::ofstream f(name, std::ios::binary);
  f.write(reinterpret_cast<const char*>(seed.data()), static_cast<std::streamsize>(seed.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write seed %s\n", name.c_str());
    std::abort();
  }
}
inline void write_seed(std::string_view s) {
  write_seed(ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
inline Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) append(out, p);
  return out;
}
inline std::string hexs(ByteView b) {
  return to_hex(b);
}

}  // namespace opt::fuzz
