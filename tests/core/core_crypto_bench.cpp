// The two bounds every later figure is compared with: keccak256 and secp256k1 recovery rates on one core.
#include <vector>

#include "engine/core/crypto.h"
#include "engine/core/keccak.h"
#include "tests/bench_util.h"
#include "tests/test_util.h"

using namespace opt;

int main() {
  test::Rng rng(1);
  Bytes msg = rng.bytes(64);
  Hash32 sink;
  double keccak = bench::rate(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
          msg[0] = static_cast<uint8_t>(i);
          sink = keccak256(msg);
        }
      },
      100000);
  bench::report("keccak256_64B_per_s", keccak, "hashes/s");

  std::vector<std::pair<Hash32, Signature>> sigs;
  for (int i = 0; i < 256; ++i) {
    Hash32 d = rng.hash();
    sigs.emplace_back(d, *sign(d, test::dev_key(static_cast<size_t>(i) % 10)));
  }
  size_t ok = 0;
  double recovers = bench::rate(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
          const auto& [d, s] = sigs[i % sigs.size()];
          ok += recover(d, s).ok();
        }
      },
      256);
  bench::report("ecrecover_per_s", recovers, "recovers/s");
  double signs = bench::rate(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) ok += sign(sigs[i % sigs.size()].first, test::dev_key(0)).ok();
      },
      256);
  bench::report("ecdsa_sign_per_s", signs, "signatures/s");
  return (ok > 0 && sink != Hash32{}) ? 0 : 1;
}
