// L1 benchmarks:
//   l1_deposit_actions_per_s   signed deposits accepted (durable in SQLite) in-process and over loopback HTTP
//   l1_post_verify_10k_batch_ms  what the L1 does with a 10,000-trade batch: decompress, frame, txDataRoot
//   l1_bytes_per_trade         compressed batch bytes per trade (target 160 B), for trades where makers'
//                              orders rest and fill many takers, as in a real order book
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "bridge/client.h"
#include "bridge/compress.h"
#include "bridge/service.h"
#include "engine/core/eip712.h"
#include "engine/core/keccak.h"
#include "engine/core/merkle.h"
#include "engine/core/tx.h"
#include "tests/bench_util.h"
#include "tests/support/temp_dir.h"

using namespace opt;
using namespace opt::l1;

namespace {

using opt::test::TempDir;

PrivateKey derived_key(uint64_t i) {
  Bytes seed;
  append(seed, std::string_view("optrollup-bench-key"));
  append_be64(seed, i);
  return PrivateKey::from(keccak256(seed));
}

// Pre-signed deposits of one account, nonces from `first`.
std::vector<Action> signed_deposits(size_t dev, uint64_t first, size_t n, const Hash32& sep) {
  std::vector<Action> out;
  const auto& d = dev_accounts()[dev];
  for (size_t i = 0; i < n; ++i) {
    Action a = make_deposit(d.address, d.address, 1 + i, first + i);
    (void)sign_action(a, d.key, sep);
    out.push_back(std::move(a));
  }
  return out;
}

void bench_deposits() {
  const Hash32 sep = l1_domain(31337).separator();
  for (bool durable : {true, false}) {
    TempDir dir;
    ManualClock clock;
    OpenOptions o;
    o.config = L1Config{};
    o.durable = durable;
    auto chain = L1Chain::open(dir.file("l1.sqlite"), clock, std::move(o));
    if (!chain) return;
    auto actions = signed_deposits(1, 0, 2000, sep);
    auto t0 = bench::Clock::now();
    size_t ok = 0;
    for (const auto& a : actions) ok += (*chain)->submit(a).ok();
    double s = bench::seconds_since(t0);
    bench::report(durable ? "l1_deposit_actions_per_s_inprocess" : "l1_deposit_actions_per_s_inprocess_nosync",
                  static_cast<double>(ok) / s, "actions/s",
                  durable ? "verify + execute + SQLite commit with synchronous=FULL (fsync per action)"
                          : "synchronous=NORMAL: survives kill -9, not power loss");
  }

  // Over loopback HTTP: 4 clients, one key each, pre-signed so the client's signing is not measured.
  TempDir dir;
  ServiceOptions so;
  so.db_path = dir.file("l1.sqlite");
  so.port = 0;
  so.open.config = L1Config{};
  auto svc = L1Service::start(std::move(so));
  if (!svc) {
    std::fprintf(stderr, "cannot start the L1 service: %s\n", svc.error().c_str());
    return;
  }
  const size_t per_client = 500, clients = 4;
  std::vector<std::vector<Action>> work;
  for (size_t c = 0; c < clients; ++c) work.push_back(signed_deposits(2 + c, 0, per_client, sep));
  std::atomic<size_t> ok{0};
  auto t0 = bench::Clock::now();
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      L1Client client((*svc)->url());
      for (const auto& a : work[c]) ok += client.submit_signed(a).ok();
    });
  }
  for (auto& t : threads) t.join();
  double s = bench::seconds_since(t0);
  bench::report("l1_deposit_actions_per_s", static_cast<double>(ok.load()) / s, "actions/s",
                "loopback HTTP, 4 clients, durable (synchronous=FULL)");
  (*svc)->stop();
}

// 10,000 trades as a sequencer produces them: 25 market makers quote 40 instruments; each resting maker
// order fills 3 to 17 takers in a row (so the same signed maker order repeats across fills, as in a book);
// takers are 2,000 accounts each signing a fresh IOC order. Signatures are real (RFC 6979 over the EIP-712
// order digests of the L2 domain).
std::vector<Bytes> realistic_trades(size_t n) {
  Hash32 sep = Eip712Domain{"optrollup", "1", 777001, L1Config::default_rollup_address()}.separator();
  struct Maker {
    PrivateKey key;
    Address address;
  };
  std::vector<Maker> makers;
  for (uint64_t i = 0; i < 25; ++i) {
    PrivateKey k = derived_key(i);
    makers.push_back({k, *address_of(k)});
  }
  std::vector<Maker> takers;
  for (uint64_t i = 0; i < 2000; ++i) {
    PrivateKey k = derived_key(1000 + i);
    takers.push_back({k, *address_of(k)});
  }
  const uint64_t now = 1'800'000'000;
  uint64_t rng = 42;
  auto next = [&] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  std::vector<Bytes> out;
  SignedOrder resting;
  uint64_t resting_left = 0;
  uint64_t salt = 1;
  while (out.size() < n) {
    if (resting_left == 0) {  // a maker posts a new resting order that several takers will hit
      const Maker& m = makers[next() % makers.size()];
      Order o{m.address, 1 + next() % 40, (next() & 1) != 0, 50'000'000, 100'000'000 + (next() % 400) * 250'000,
              300'000,   salt++,          now + 7 * 86400,   kPostOnly};
      resting = SignedOrder{o, *sign(Hash32::from(order_hash(sep, o)), m.key)};
      resting_left = 3 + next() % 15;
    }
    const Maker& t = takers[next() % takers.size()];
    uint64_t qty = 1'000'000 * (1 + next() % 5);
    Order to{t.address,
             resting.order.instrument,
             !resting.order.is_buy,
             qty,
             resting.order.is_buy ? resting.order.limit_price - 1'000'000 : resting.order.limit_price + 1'000'000,
             300'000,
             now * 1000 + salt++,
             now + 600,
             kIoc};
    SignedOrder taker{to, *sign(Hash32::from(order_hash(sep, to)), t.key)};
    out.push_back(encode_tx(TradeTx{resting, taker, qty, resting.order.limit_price}));
    --resting_left;
  }
  return out;
}

void bench_batches() {
  const size_t n = 10'000;
  auto t0 = bench::Clock::now();
  auto trades = realistic_trades(n);
  std::fprintf(stderr, "built %zu signed trades in %.2f s\n", n, bench::seconds_since(t0));
  Bytes framed = encode_batch(trades);

  for (int level : {3, 12, 19}) {
    auto tc = bench::Clock::now();
    Bytes z = zstd_compress(framed, level);
    double ms = bench::seconds_since(tc) * 1e3;
    char note[160];
    std::snprintf(note, sizeof note, "zstd level %d%s; raw %.1f B/trade; compress %.0f ms", level,
                  level == 3 ? ", the default of compress_batch" : "", static_cast<double>(framed.size()) / n, ms);
    bench::report(level == 3 ? "l1_bytes_per_trade" : "l1_bytes_per_trade_level" + std::to_string(level),
                  static_cast<double>(z.size()) / n, "B/trade (target 160)", note);
  }

  Bytes data = compress_batch(trades);
  Hash32 root;
  double best = 1e9, best_z = 1e9, best_f = 1e9, best_r = 1e9;
  for (int rep = 0; rep < 10; ++rep) {
    auto tv = bench::Clock::now();
    auto raw = zstd_decompress(data);
    double z = bench::seconds_since(tv);
    auto frames = decode_batch(*raw);
    double fr = bench::seconds_since(tv);
    root = tx_data_root(*frames);
    double all = bench::seconds_since(tv);
    best = std::min(best, all * 1e3);
    best_z = std::min(best_z, z * 1e3);
    best_f = std::min(best_f, (fr - z) * 1e3);
    best_r = std::min(best_r, (all - fr) * 1e3);
  }
  char note[160];
  std::snprintf(note, sizeof note, "decompress %.1f + frame %.1f + txDataRoot %.1f ms, best of 10", best_z, best_f,
                best_r);
  bench::report("l1_post_verify_10k_batch_ms", best, "ms", note);

  // The whole PostBatch action on the chain: signature, checks, the above, and the SQLite commit.
  TempDir dir;
  ManualClock clock;
  OpenOptions o;
  o.config = L1Config{};
  auto chain = L1Chain::open(dir.file("l1.sqlite"), clock, std::move(o));
  const auto& d = dev_accounts()[0];
  Action reg = make_register_proposer(d.address, 1000 * kTokenUnit, 0);
  (void)sign_action(reg, d.key, (*chain)->domain_separator());
  (void)(*chain)->submit(reg);
  Head h = (*chain)->head();
  PostBatchArgs args{0, h.tip_root, root, n, 0, (*chain)->inbox_accumulator(0), h.timestamp};
  Action post = make_post_batch(d.address, args, data, 1);
  (void)sign_action(post, d.key, (*chain)->domain_separator());
  auto tp = bench::Clock::now();
  auto r = (*chain)->submit(post);
  double ms = bench::seconds_since(tp) * 1e3;
  if (!r) std::fprintf(stderr, "post refused: %s\n", r.error().wire_code().c_str());
  bench::report("l1_post_batch_action_10k_ms", ms, "ms", "PostBatch through L1Chain::submit incl. SQLite commit");
}

}  // namespace

int main() {
  bench_deposits();
  bench_batches();
  return 0;
}
