// Throughput and latency of the HTTP plumbing alone (no state, no signatures): the ceiling any API
// endpoint built on it can reach. A hello-world GET and a small JSON POST echo on the project's server,
// driven by the closed-loop keep-alive load generator in its own process (tests/api/loadgen_main.cpp,
// 32 connections over 2 threads), beside the same GET against a bare Beast server (tests/api/beast_hello.cpp)
// measured in the same run with the same load.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <thread>

#include "engine/net/http.h"
#include "tests/api/peers.h"
#include "tests/bench_util.h"

using namespace opt;

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  auto router = std::make_shared<http::Router>();
  router->add("GET", "/hello", [](const http::Request&) { return http::json_response(200, {{"hello", "world"}}); });
  router->add("POST", "/echo", [](const http::Request& r) {
    auto in = nlohmann::json::parse(r.body);
    return http::json_response(200, {{"echo", in}});
  });

  const int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  http::ServerOptions opts;
  opts.threads = threads;
  http::Server server(opts, router);
  server.start();
  std::printf("server_threads: %d threads\n", opts.threads);
  const std::string load = " --connections 32 --threads 2 --warmup-ms 500 --duration-ms 4000";

  // Each POST differs, as orders will: the body carries a sequence number.
  char path[] = "/tmp/optrollup-echo-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return 1;
  ::close(fd);
  {
    std::ofstream f(path);
    for (int i = 0; i < 100'000; ++i)
      f << R"({"account":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","seq":)" << i
        << R"(,"qty":"1000000","price":"125000000"})" << '\n';
  }
  const std::string port = " --port " + std::to_string(server.port());
  auto get = bench::run_loadgen(port + load + " --get /hello");
  auto post = bench::run_loadgen(port + load + " --post /echo --bodies " + path);
  server.stop();
  ::unlink(path);

  bench::LoadResult bare;
  {
    bench::BeastHello hello(threads);
    bare = bench::run_loadgen(" --port " + std::to_string(hello.port()) + load + " --get /hello");
  }

  bench::report("http_hello_get_req_per_s", get.rate, "req/s");
  bench::report_load("http_hello_get", get);
  bench::report("http_post_req_per_s", post.rate, "req/s");
  bench::report_load("http_post", post);
  bench::report("beast_hello_get_req_per_s", bare.rate, "req/s", "bare Beast server, same load, same run");
  bench::report_load("beast_hello_get", bare);
  if (bare.rate > 0) bench::report("http_hello_get_vs_beast", get.rate / bare.rate, "x", "of the bare Beast server");
  bool ok = get.requests > 0 && post.requests > 0 && bare.requests > 0 && get.non_2xx() == 0 && post.non_2xx() == 0;
  return ok ? 0 : 1;
}
