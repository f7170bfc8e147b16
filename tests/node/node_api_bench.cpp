// Sustained POST /v1/orders through the whole stack: keep-alive connections from the load generator (its
// own process, tests/api/loadgen_main.cpp), the HTTP server, JSON parsing, signature recovery, the
// sequencer's admission checks and order book, and the group-committed (fsync'd) input log, against a real
// in-process L1. Orders are pre-signed (signing is the client's cost, not the node's), distinct,
// non-crossing (buys far below sells) and spread over four funded dev accounts and every listed
// instrument. Then GET /v1/orderbook/{id} against the full books.
//
// Bounds measured in the same run on this machine: for orders, the signature-recovery bound (one recovery
// per order, on every hardware thread); for the order book, a bare Beast server (tests/api/beast_hello.cpp)
// under the same load.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "engine/api/json_mapping.h"
#include "engine/api/rollup_api.h"
#include "tests/api/peers.h"
#include "tests/bench_util.h"
#include "tests/node/node_fixture.h"

using namespace opt;
using namespace opt::node::test;

namespace {

constexpr size_t kAccounts = 4;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Order i: account i % 4; accounts 0 and 1 buy at 1..50 USDC, 2 and 3 sell at 5000..5049 USDC, so nothing
// crosses; 0.01 contract each; nonce i makes every order distinct.
std::vector<std::string> presign(const NodeFixture& f, size_t n, uint64_t instruments) {
  std::vector<std::string> bodies(n);
  const uint64_t expiry = wall_s() + 3600;
  unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (size_t i = w; i < n; i += workers) {
        size_t dev = i % kAccounts;
        bool buy = dev < 2;
        Order o;
        o.account = dev_addr(dev);
        o.instrument = 1 + (i / kAccounts) % instruments;
        o.is_buy = buy;
        o.quantity = kContract / 100;
        o.limit_price = (buy ? 1 : 5000) * kUsdc + (i % 50) * kUsdc;
        o.max_fee = kUsdc;
        o.nonce = 1'000'000 + i;
        o.expiry = expiry;
        Signature sig = *sign(typed_digest(f.domain(), o), dev_key(dev));
        bodies[i] = nlohmann::json{{"order", api::order_to_json(o)}, {"signature", sig.hex()}}.dump();
      }
    });
  }
  for (auto& t : threads) t.join();
  return bodies;
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen, also into a file
  FixtureOptions fo;
  fo.funded = {0, 1, 2, 3};
  fo.deposit = 500'000 * kUsdc;
  fo.durable = true;  // acknowledged means fsync'd, as in production
  fo.batch_interval_ms = 1000;
  NodeFixture f(fo);

  auto router = std::make_shared<http::Router>();
  api::RollupApiOptions opts;
  api::add_rollup_routes(*router, f.node(), opts);
  http::ServerOptions so = api::rollup_server_options(opts, "127.0.0.1", 0);
  if (const char* t = std::getenv("OPT_BENCH_SERVER_THREADS")) so.threads = std::atoi(t);  // for tuning runs
  http::Server server(so, router);
  server.start();
  std::printf("server_threads: %d threads\n", so.threads);

  // Enough orders for the whole run at well above the target rate; beyond them the generator would repeat
  // (and be refused as duplicates), which the non-2xx count would show.
  const size_t kOrders = 200'000;
  auto t0 = bench::Clock::now();
  std::vector<std::string> bodies = presign(f, kOrders, f.genesis().ladder.size());
  std::printf("presigned: %zu orders in %.1f s\n", kOrders, bench::seconds_since(t0));

  // The API layer's own share of an order, single-threaded: parsing and checking the body, and the
  // signature recovery the node does on the calling thread.
  {
    size_t n = 20'000;
    auto t = bench::Clock::now();
    uint64_t sink = 0;
    for (size_t i = 0; i < n; ++i) sink += api::signed_order_from_json(api::parse_body(bodies[i])).order.nonce;
    bench::report("node_api_parse_order_us", bench::seconds_since(t) * 1e6 / static_cast<double>(n), "us");
    t = bench::Clock::now();
    for (size_t i = 0; i < n / 4; ++i) {
      SignedOrder so = api::signed_order_from_json(api::parse_body(bodies[i]));
      sink += recover(typed_digest(f.domain(), so.order), so.sig)->bytes[0];
    }
    bench::report("node_api_parse_and_recover_us", bench::seconds_since(t) * 1e6 / static_cast<double>(n / 4), "us");
    if (sink == 42) std::printf(" ");
  }

  char path[] = "/tmp/optrollup-orders-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return 1;
  ::close(fd);
  {
    std::ofstream out(path);
    for (const auto& b : bodies) out << b << '\n';
  }
  const std::string port = " --port " + std::to_string(server.port());
  std::string connections = "64";
  if (const char* c = std::getenv("OPT_BENCH_CONNECTIONS")) connections = c;
  const std::string load = " --connections " + connections + " --threads 2 --warmup-ms 500";

  node::NodeStats before = f.node().stats();
  double cpu0 = cpu_seconds();
  auto post = bench::run_loadgen(port + load + " --duration-ms 5000 --post /v1/orders --bodies " + path);
  double cpu = cpu_seconds() - cpu0;
  ::unlink(path);
  node::NodeStats s = f.node().stats();
  const uint64_t orders = s.orders_accepted - before.orders_accepted;

  // The bound: one signature recovery per order, on every hardware thread of this machine.
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  double recover_bound = 0;
  {
    SignedOrder so = api::signed_order_from_json(api::parse_body(bodies[0]));
    Hash32 d = typed_digest(f.domain(), so.order);
    uint64_t sink = 0;
    recover_bound = hw * bench::rate(
                             [&](size_t n) {
                               for (size_t i = 0; i < n; ++i) sink += recover(d, so.sig)->bytes[0];
                             },
                             200);
    if (sink == 42) std::printf(" ");
  }
  bench::report("node_post_orders_per_s", post.rate, "orders/s", "target >= 20000");
  bench::report("node_post_orders_p99_ms", post.p99_ms, "ms", "target <= 5");
  bench::report_load("node_post_orders", post);
  bench::report("recover_bound_per_s", recover_bound, "recoveries/s",
                std::to_string(hw) + " hardware threads, same run");
  if (recover_bound > 0) bench::report("node_post_orders_vs_recover_bound", post.rate / recover_bound, "x");
  // CPU of the server process (HTTP, node, in-process L1; not the load generator) per order.
  if (orders) bench::report("node_post_orders_server_cpu_us_per_order", cpu * 1e6 / static_cast<double>(orders), "us");
  std::printf("node: %llu orders accepted, %llu resting, %llu log commits, %llu log records\n",
              static_cast<unsigned long long>(s.orders_accepted), static_cast<unsigned long long>(s.resting_orders),
              static_cast<unsigned long long>(s.log_commits), static_cast<unsigned long long>(s.log_records));
  if (s.log_commits > before.log_commits)
    bench::report("node_orders_per_commit",
                  static_cast<double>(orders) / static_cast<double>(s.log_commits - before.log_commits), "orders");

  const std::string book_load =
      " --duration-ms 3000 --get /v1/orderbook/1 --get /v1/orderbook/2 --get /v1/orderbook/3 --get /v1/orderbook/4";
  auto book = bench::run_loadgen(port + load + book_load);
  bench::LoadResult bare;
  {
    bench::BeastHello hello(so.threads);
    bare = bench::run_loadgen(" --port " + std::to_string(hello.port()) + load + " --duration-ms 3000 --get /hello");
  }
  bench::report("node_get_orderbook_req_per_s", book.rate, "req/s");
  bench::report_load("node_get_orderbook", book);
  bench::report("node_bound_beast_hello_req_per_s", bare.rate, "req/s", "bare Beast server, same load, same run");
  if (bare.rate > 0) bench::report("node_get_orderbook_vs_beast", book.rate / bare.rate, "x", "target >= 0.6");

  server.stop();
  bool ok = post.requests > 0 && book.requests > 0 && bare.requests > 0 && book.non_2xx() == 0;
  return ok ? 0 : 1;
}
