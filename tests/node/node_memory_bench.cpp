// Node memory at scale: 1,000,000 funded accounts and 100,000 resting orders (target: node RSS <= 2 GB).
//
// Everything goes the real way: each account is credited by an L1 deposit (dev accounts deposit for
// 1M fresh recipients), the node applies them from the inbox, and 100k signed orders are admitted and rest
// in the book. The process also holds the in-process L1 (its own ledgers and the inbox), so the figure
// is an upper bound on the node's own memory; the L1's share is estimated and printed beside it.
#include <cstdio>
#include <fstream>
#include <string>

#include "engine/core/keccak.h"
#include "tests/bench_util.h"
#include "tests/node/node_fixture.h"

using namespace opt;
using namespace opt::node;
using namespace opt::node::test;

namespace {

uint64_t rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t accounts = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  const size_t orders = argc > 2 ? std::stoull(argv[2]) : 100'000;
  FixtureOptions fo;
  fo.funded = {0, 1, 2, 3};
  fo.deposit = 100'000 * kUsdc;  // the dev accounts keep 900,000 USDC on L1 for the 1M small deposits
  fo.batch_interval_ms = 500;
  fo.max_batch_txs = 20'000;
  NodeFixture f(fo);
  const uint64_t rss0 = rss_bytes();
  auto t0 = bench::Clock::now();

  // 1M recipients, funded by L1 deposits from the four traders (each deposit is a signed L1 action).
  for (size_t i = 0; i < accounts; ++i) {
    Address to = Address::from(ByteView(keccak256(std::string_view("memory-bench-" + std::to_string(i))).data(), 20));
    size_t from = i % 4;
    auto r = f.port().submit(dev_key(from), l1::make_deposit(dev_addr(from), to, 1 * kUsdc, 0));
    if (!r) {
      std::printf("error: L1 deposit %zu: %s\n", i, r.error().message.c_str());
      return 1;
    }
    if (i % 100'000 == 99'999) {
      std::printf("  %zu deposits on L1 (%.0f s)\n", i + 1, bench::seconds_since(t0));
      std::fflush(stdout);
    }
  }
  const uint64_t inbox = f.chain().head().inbox_length;
  NodeFixture::wait_for([&] { return f.node().stats().pending_txs == 0 && f.node().account(
                                         Address::from(ByteView(keccak256(std::string_view("memory-bench-" + std::to_string(accounts - 1))).data(), 20)))
                                         .collateral == static_cast<int64_t>(kUsdc); },
                        "the node credits every deposit", std::chrono::milliseconds(900'000));
  const double deposit_s = bench::seconds_since(t0);
  const uint64_t rss1 = rss_bytes();
  std::printf("  inbox %llu messages applied in %.0f s\n", static_cast<unsigned long long>(inbox), deposit_s);

  // 100k resting orders: bids far below the market on the genesis ladder, from the four traders.
  auto t1 = bench::Clock::now();
  size_t rested = 0;
  for (size_t i = 0; i < orders; ++i) {
    size_t dev = i % 4;
    uint64_t inst = 1 + i % 36;
    Order o = f.order(dev, inst, true, kContract / 10, (1 + i % 500) * 1000, 1'000'000 + i);
    auto r = f.node().submit_order(f.signed_order(dev, o));
    if (r && r->status == OrderStatus::kOpen) ++rested;
  }
  const uint64_t rss2 = rss_bytes();
  NodeStats s = f.node().stats();
  std::printf("  %zu orders resting (%llu in the book) after %.0f s\n", rested, static_cast<unsigned long long>(s.resting_orders),
              bench::seconds_since(t1));

  char note[160];
  std::snprintf(note, sizeof note, "target <= 2048 MB; %zu accounts, %llu resting orders, in-process L1 included", accounts,
                static_cast<unsigned long long>(s.resting_orders));
  bench::report("node_rss_mb", static_cast<double>(rss2) / (1 << 20), "MB", note);
  bench::report("node_rss_accounts_mb", static_cast<double>(rss1 - rss0) / (1 << 20), "MB", "growth from the accounts and the L1 inbox");
  bench::report("node_rss_orders_mb", static_cast<double>(rss2 - rss1) / (1 << 20), "MB", "growth from the resting orders");
  bench::report("node_deposits_applied_per_s", static_cast<double>(accounts) / deposit_s, "deposits/s", "L1 action + inbox + apply");
  return rss2 <= (2048ull << 20) ? 0 : 1;
}
