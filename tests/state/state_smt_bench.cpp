// Sparse Merkle tree benchmark: a 1M-leaf tree, a batch of 10k updates, hashes per updated leaf against
// the 1.5 * log2(leaves) target, keccak throughput, proof sizes. Prints `name: value unit` lines.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/core/keccak.h"
#include "engine/state/smt.h"
#include "tests/test_util.h"

using namespace opt;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

int main() {
  test::Rng rng(42);
  constexpr size_t kLeaves = 1'000'000;
  constexpr size_t kUpdates = 10'000;
  constexpr size_t kValueSize = 40;

  std::vector<SmtKey> keys(kLeaves);
  std::vector<Bytes> values(kLeaves);
  for (size_t i = 0; i < kLeaves; ++i) {
    keys[i] = rng.hash();
    values[i] = rng.bytes(kValueSize);
  }

  SparseMerkleTree t;
  auto t0 = Clock::now();
  for (size_t i = 0; i < kLeaves; ++i) t.put(keys[i], std::move(values[i]));
  double insert_ms = ms_since(t0);
  Hash32 root = t.root();
  double build_ms = ms_since(t0);
  std::printf("smt_build_1m_leaves: %.0f ms\n", build_ms);
  std::printf("smt_build_1m_leaves_structure_only: %.0f ms\n", insert_ms);
  std::printf("smt_build_1m_hashes: %llu hashes\n", static_cast<unsigned long long>(t.hash_count()));

  // Lookups of present keys.
  t0 = Clock::now();
  size_t found = 0;
  for (size_t i = 0; i < kLeaves; i += 10) found += t.get(keys[(i * 7919) % kLeaves]) != nullptr;
  double get_ns = ms_since(t0) * 1e6 / static_cast<double>(kLeaves / 10);
  std::printf("smt_get_ns: %.0f ns\n", get_ns);
  if (found != kLeaves / 10) return 1;

  // A batch of updates: half overwrite existing keys, half insert new ones; then one root().
  std::vector<std::pair<SmtKey, Bytes>> batch;
  for (size_t i = 0; i < kUpdates; ++i) {
    SmtKey k = (i % 2 == 0) ? keys[rng.below(kLeaves)] : rng.hash();
    batch.emplace_back(k, rng.bytes(kValueSize));
  }
  uint64_t h0 = t.hash_count();
  t0 = Clock::now();
  for (auto& [k, v] : batch) t.put(k, std::move(v));
  Hash32 root2 = t.root();
  double update_ms = ms_since(t0);
  uint64_t batch_hashes = t.hash_count() - h0;
  double per_leaf = static_cast<double>(batch_hashes) / kUpdates;
  double bound = 1.5 * std::log2(static_cast<double>(t.size()));
  std::printf("smt_root_after_10k_updates: %.1f ms\n", update_ms);
  std::printf("smt_hashes_per_updated_leaf: %.1f hashes (bound 1.5*log2(leaves) = %.1f)\n", per_leaf, bound);

  // The same, one update at a time (root after each): no sharing between paths.
  h0 = t.hash_count();
  t0 = Clock::now();
  constexpr size_t kSingles = 2000;
  for (size_t i = 0; i < kSingles; ++i) {
    t.put(keys[rng.below(kLeaves)], rng.bytes(kValueSize));
    (void)t.root();
  }
  double single_us = ms_since(t0) * 1000 / kSingles;
  std::printf("smt_hashes_per_isolated_update: %.1f hashes\n", static_cast<double>(t.hash_count() - h0) / kSingles);
  std::printf("smt_isolated_update_with_root: %.1f us\n", single_us);

  // Raw keccak256 throughput on 65-byte inputs (the internal-node size).
  Hash32 a = root, b = root2;
  t0 = Clock::now();
  constexpr size_t kHashes = 1'000'000;
  for (size_t i = 0; i < kHashes; ++i) a = smt_internal_hash(a, b);
  double keccak_s = ms_since(t0) / 1000;
  std::printf("smt_keccak256_per_s: %.0f hashes/s\n", kHashes / keccak_s);

  // Proofs.
  root = t.root();
  std::vector<SmtKey> eight;
  for (int i = 0; i < 8; ++i) eight.push_back(keys[rng.below(kLeaves)]);
  Bytes multi = t.prove_many(eight);
  std::printf("smt_multiproof_bytes_8_keys: %zu bytes\n", multi.size());
  t0 = Clock::now();
  auto partial = PartialTree::from_proof(root, multi);
  double verify_us = ms_since(t0) * 1000;
  if (!partial) {
    std::printf("multiproof failed to verify: %s\n", to_string(partial.error()));
    return 1;
  }
  std::printf("smt_multiproof_verify_8_keys: %.0f us\n", verify_us);
  SmtProof single = t.prove(keys[rng.below(kLeaves)]);
  std::printf("smt_single_proof_bytes: %zu bytes (%zu siblings)\n", single.encode().size(), single.siblings.size());
  return per_leaf <= bound ? 0 : 1;
}
