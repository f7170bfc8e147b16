// State transition benchmarks:
//  * trades/s through apply() on one core, with fresh signatures (2 recovers per trade) and with the
//    maker's signature cached, each beside the bound set by secp256k1 recovery measured in the same run,
//    with the state root after every trade as the sequencer takes it (and once per batch, for comparison);
//  * witness size and stateless re-execution time per transaction type over the property-test corpus,
//    and for the worst case the protocol allows: a trade between two accounts with 64 positions each.
#include <time.h>

#include <map>
#include <unordered_map>

#include "engine/core/keccak.h"
#include "tests/bench_util.h"
#include "tests/stf/stf_sim.h"

using namespace opt;
using namespace opt::test;

namespace {

// CPU time of this thread. The trade figures and their bound are rates on one core; on a machine shared
// with other jobs, wall time would charge their time slices to whichever phase they happened to hit and
// skew the ratio either way. On a quiet machine the two clocks agree.
double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

class HashCache : public SigCache {
 public:
  explicit HashCache(size_t expected) { map_.reserve(expected); }
  std::optional<Entry> lookup(const SignedOrder& o) override {
    auto it = map_.find(o.sig);
    if (it == map_.end() || it->second.first != o.order) return std::nullopt;
    return it->second.second;
  }
  void insert(const SignedOrder& o, const Entry& e) override { map_[o.sig] = {o.order, e}; }

 private:
  struct SigHash {
    size_t operator()(const Signature& s) const {
      size_t h;
      std::memcpy(&h, s.data(), sizeof h);
      return h;
    }
  };
  std::unordered_map<Signature, std::pair<Order, Entry>, SigHash> map_;
};

double recovers_per_s() {
  Rng rng(11);
  std::vector<std::pair<Hash32, Signature>> sigs;
  for (int i = 0; i < 256; ++i) {
    Hash32 d = rng.hash();
    sigs.emplace_back(d, *sign(d, dev_key(static_cast<size_t>(i) % 10)));
  }
  size_t ok = 0, n = 0;
  double t0 = thread_seconds(), elapsed = 0;
  do {
    for (size_t i = 0; i < 256; ++i, ++n) ok += recover(sigs[i].first, sigs[i].second).ok();
    elapsed = thread_seconds() - t0;
  } while (elapsed < 1.0);
  return ok == n ? static_cast<double>(n) / elapsed : 0;
}

PrivateKey key_of(size_t i) {
  return PrivateKey::from(keccak256(std::string_view("bench-account-" + std::to_string(i))));
}

void trade_throughput() {
  World w;
  const size_t kAccounts = 2000, kTrades = 4000;
  std::vector<PrivateKey> keys;
  std::vector<Address> addrs;
  for (size_t i = 0; i < kAccounts; ++i) {
    keys.push_back(key_of(i));
    addrs.push_back(*address_of(keys.back()));
    (void)w.run(DepositTx{i, addrs.back(), addrs.back(), static_cast<uint64_t>(1'000'000 * kUsdc)});
  }
  (void)w.run(w.report(kEth, 3000 * kUsdc));
  (void)w.run(w.report(kBtc, 60000 * kUsdc));
  const Hash32& dom = w.params().domain_separator;

  // Fresh makers and takers: every trade recovers two signatures.
  std::vector<Bytes> fresh;
  std::vector<SignedOrder> makers;
  for (size_t t = 0; t < kTrades; ++t) {
    size_t m = t % kAccounts, k = (t * 7 + 1) % kAccounts;
    if (m == k) k = (k + 1) % kAccounts;
    uint64_t inst = 1 + t % 3;
    int64_t price = inst == 3 ? 2500 * kUsdc : 60 * kUsdc;
    Order mo{addrs[m], inst, false, 100'000, static_cast<uint64_t>(price), 500'000, t, w.now() + 3600, 0};
    Order to{addrs[k], inst, true, 100'000, static_cast<uint64_t>(price), 500'000, t, w.now() + 3600, 0};
    SignedOrder sm{mo, *sign(typed_digest(dom, mo), keys[m])};
    SignedOrder st{to, *sign(typed_digest(dom, to), keys[k])};
    makers.push_back(sm);
    fresh.push_back(encode_tx(TradeTx{sm, st, 100'000, static_cast<uint64_t>(price)}));
  }
  double bound = recovers_per_s();
  bench::report("ecrecover_per_s", bound, "recovers/s");

  // The sequencer takes the state root once per batch: the roots after each step, which only the
  // fraud-proof game needs, are computed when a game asks for them (Node's step_roots). So the headline
  // figures hash the root once at the end of the batch, as the node does; the `_root_per_step` figures
  // hash it after every trade, and show what per-step roots on the hot path would cost.
  auto run = [&](SigCache* cache, bool root_per_step) {
    size_t ok = 0;
    double t0 = thread_seconds();
    for (const auto& tx : fresh) {
      ok += apply(w.params(), w.ctx(), tx, w.state(), ApplyOptions{cache, nullptr})->ok();
      if (root_per_step) (void)w.state().root();
    }
    (void)w.state().root();  // a batch ends with its root
    double s = thread_seconds() - t0;

    if (ok != fresh.size()) std::printf("warning: %zu of %zu trades refused\n", fresh.size() - ok, fresh.size());
    return static_cast<double>(fresh.size()) / s;
  };
  auto mark = w.state().mark();
  auto rewind = [&] {  // the same trades again from the same state
    w.state().revert_to(mark);
    (void)w.state().root();  // rehash what the revert touched before timing the next run
  };
  char note[200];
  for (bool per_step : {false, true}) {
    const std::string suffix = per_step ? "_root_per_step" : "";
    double fresh_rate = run(nullptr, per_step);
    rewind();
    // With every maker signature already verified (as the sequencer has done when the maker's order was
    // admitted to the book): one recover per trade. A new cache each time, as apply() adds the takers.
    HashCache cache(2 * makers.size());
    for (const auto& so : makers) cache.insert(so, SigCache::Entry{order_hash(dom, so.order), so.order.account});
    double cached_rate = run(&cache, per_step);
    rewind();
    std::snprintf(note, sizeof note, "bound recovers/2 = %.0f trades/s, ratio %.2f, target >= 0.8", bound / 2,
                  fresh_rate / (bound / 2));
    bench::report("stf_trades_per_s_fresh_sigs" + suffix, fresh_rate, "trades/s", note);
    std::snprintf(note, sizeof note, "bound recovers/1 = %.0f trades/s, ratio %.2f, target >= 0.8", bound,
                  cached_rate / bound);
    bench::report("stf_trades_per_s_cached_maker_sigs" + suffix, cached_rate, "trades/s", note);
  }
}

struct Stat {
  size_t n = 0;
  double bytes_sum = 0, bytes_max = 0, us_sum = 0, us_max = 0;
  void add(size_t bytes, double us) {
    ++n;
    bytes_sum += static_cast<double>(bytes);
    bytes_max = std::max(bytes_max, static_cast<double>(bytes));
    us_sum += us;
    us_max = std::max(us_max, us);
  }
};

// Proves the step's key set against the pre-state and re-executes it statelessly, as the L1 referee does.
std::pair<size_t, double> measure_step(World& w, const Bytes& tx) {
  std::vector<SmtKey> keys;
  {
    Overlay probe(w.state());
    ApplyOptions o;
    o.touched = &keys;
    (void)apply(w.params(), w.ctx_for(tx), tx, probe, o);
  }
  StateRoot pre = w.state().root();
  Bytes proof = w.state().tree().prove_many(keys);
  auto t0 = bench::Clock::now();
  auto ws = WitnessState::from_proof(pre, proof);
  auto r = apply(w.params(), w.ctx_for(tx), tx, *ws);
  StateRoot post_w = ws->root();
  double us = bench::seconds_since(t0) * 1e6;
  (void)apply(w.params(), w.ctx_for(tx), tx, w.state());
  if (!r.ok() || post_w != w.state().root()) std::printf("error: stateless re-execution disagrees\n");
  return {proof.size() + tx.size(), us};
}

void witness_sizes() {
  std::map<std::string, Stat> stats;
  World w;
  // Grow the state so paths are realistic: 100k accounts.
  for (uint64_t i = 0; i < 100'000; ++i) {
    Address a = Address::from(ByteView(keccak256(std::string_view("filler" + std::to_string(i))).data(), 20));
    (void)w.run(DepositTx{1'000'000 + i, a, a, 1});
  }
  TxGen gen(w, 42);
  for (int i = 0; i < 3000; ++i) {
    Bytes tx = gen.next_tx();
    auto d = decode_tx(tx);
    std::string name = d ? to_string(type_of(*d)) : "malformed";
    auto [bytes, us] = measure_step(w, tx);
    stats[name].add(bytes, us);
  }

  // The worst case: a trade between two accounts holding 64 positions each (over both underlyings).
  World x;
  for (size_t d = 0; d < 4; ++d) (void)x.run(x.deposit(d, 10'000'000 * kUsdc));
  (void)x.run(x.report(kEth, 3000 * kUsdc));
  (void)x.run(x.report(kBtc, 60000 * kUsdc));
  for (int i = 0; i < 64; ++i) {
    uint32_t u = i % 2 ? kBtc : kEth;
    int64_t strike = (u == kEth ? 2000 + 50 * i : 40000 + 1000 * i) * kUsdc;
    (void)x.run(x.list(u, strike, kT0 + 86400 * 7, true));
  }
  uint64_t first = 5;  // ids 1-4 are the genesis ladder
  for (uint64_t id = first; id < first + 64; ++id) {
    int64_t price = x.instrument(id).underlying == kEth ? 500 * kUsdc : 9000 * kUsdc;
    if (!x.run(x.simple_trade(2, 0, id, kContract, price)).ok()) std::printf("warning: setup trade refused\n");
    if (!x.run(x.simple_trade(3, 1, id, kContract, price)).ok()) std::printf("warning: setup trade refused\n");
  }
  if (x.account(0).positions.size() != 64 || x.account(1).positions.size() != 64)
    std::printf("warning: accounts hold %zu and %zu positions\n", x.account(0).positions.size(),
                x.account(1).positions.size());
  Bytes worst = encode_tx(x.simple_trade(0, 1, first, kContract / 2, 500 * kUsdc));
  auto [wb, wus] = measure_step(x, worst);

  for (const auto& [name, s] : stats) {
    if (!s.n) continue;
    std::printf("stf_witness_bytes_%s: avg %.0f worst %.0f bytes (target worst <= 16384), n = %zu\n", name.c_str(),
                s.bytes_sum / static_cast<double>(s.n), s.bytes_max, s.n);
    std::printf("stf_stateless_reexec_us_%s: avg %.1f worst %.1f us (target worst <= 1000)\n", name.c_str(),
                s.us_sum / static_cast<double>(s.n), s.us_max);
  }
  bench::report("stf_witness_bytes_trade_64x64_positions", static_cast<double>(wb), "bytes", "target <= 16384");
  bench::report("stf_stateless_reexec_us_trade_64x64_positions", wus, "us", "target <= 1000");
}

}  // namespace

int main(int argc, char** argv) {
  std::string only = argc > 1 ? argv[1] : "";  // "trades" or "witness" runs one part (for profiling)
  if (only.empty() || only == "trades") trade_throughput();
  if (only.empty() || only == "witness") witness_sizes();
  return 0;
}
