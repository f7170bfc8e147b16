// Throughput and latency of the HTTP plumbing alone (no state, no signatures): the ceiling any API
// endpoint built on it can reach. A hello-world GET and a small JSON POST echo, driven by the closed-loop
// keep-alive load generator in load_gen.h (32 connections over 2 client threads).
#include <algorithm>
#include <cstdio>
#include <thread>

#include "engine/net/http.h"
#include "tests/api/load_gen.h"
#include "tests/bench_util.h"

using namespace opt;

namespace {

void report_run(const std::string& name, const loadgen::Result& r) {
  bench::report(name + "_req_per_s", r.rate(), "req/s");
  bench::report(name + "_p50_ms", r.percentile_ms(50), "ms");
  bench::report(name + "_p99_ms", r.percentile_ms(99), "ms");
  if (r.non_2xx() || r.transport_errors)
    std::printf("%s: %llu non-2xx responses, %llu transport errors\n", name.c_str(),
                static_cast<unsigned long long>(r.non_2xx()), static_cast<unsigned long long>(r.transport_errors));
}

}  // namespace

int main() {
  auto router = std::make_shared<http::Router>();
  router->add("GET", "/hello", [](const http::Request&) { return http::json_response(200, {{"hello", "world"}}); });
  router->add("POST", "/echo", [](const http::Request& r) {
    auto in = nlohmann::json::parse(r.body);
    return http::json_response(200, {{"echo", in}});
  });

  http::ServerOptions opts;
  opts.threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  http::Server server(opts, router);
  server.start();
  std::printf("server_threads: %d threads\n", opts.threads);

  loadgen::Options lo;
  lo.port = server.port();
  lo.connections = 32;
  lo.threads = 2;
  lo.warmup = std::chrono::milliseconds(500);
  lo.duration = std::chrono::milliseconds(5'000);

  auto get = loadgen::run(lo, [](size_t, uint64_t) { return loadgen::RequestSpec{"GET", "/hello", "", ""}; });
  // Each request differs, as orders will: the body carries the connection and sequence number.
  auto post = loadgen::run(lo, [](size_t conn, uint64_t seq) {
    return loadgen::RequestSpec{
        "POST", "/echo",
        R"({"account":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","conn":)" + std::to_string(conn) +
            R"(,"seq":)" + std::to_string(seq) + R"(,"qty":"1000000","price":"125000000"})",
        "application/json"};
  });
  server.stop();

  // Named as the brief's figures: http_hello_get_req_per_s, http_post_req_per_s, ..._p50_ms, ..._p99_ms.
  report_run("http_hello_get", get);
  report_run("http_post", post);
  bool ok = get.requests > 0 && post.requests > 0 && get.non_2xx() == 0 && post.non_2xx() == 0;
  return ok ? 0 : 1;
}
