// The load generator as its own process (`loadgen`), so a benchmark measures a server without sharing the
// server's process with its client: the generator's CPU and threads are its own, as with any real client.
//
//   loadgen --port P [--connections 64] [--threads 2] [--warmup-ms 500] [--duration-ms 5000]
//           (--get PATH [--get PATH ...] | --post PATH --bodies FILE)
//
// --get paths are spread over the connections (connection i asks for path i mod n). --post sends the lines
// of FILE as bodies, each line once in order across all connections (wrapping around after the last).
// Prints one JSON line: {"requests", "seconds", "rate", "p50_ms", "p99_ms", "max_ms", "transport_errors",
// "statuses": {"200": n, ...}}; exits 2 on bad arguments.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/api/load_gen.h"

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "loadgen: %s\nusage: loadgen --port P [--connections N] [--threads N] [--warmup-ms N] [--duration-ms N]\n"
      "               (--get PATH ... | --post PATH --bodies FILE)\n",
      why.c_str());
  std::exit(2);
}

uint64_t number(const std::string& flag, const char* v) {
  if (!v || !*v) usage(flag + " needs a value");
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v, &end, 10);
  if (*v < '0' || *v > '9' || *end || errno) usage(flag + " takes a whole number, not \"" + v + "\"");
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  opt::loadgen::Options o;
  std::vector<std::string> gets;
  std::string post_path, bodies_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--port") {
      uint64_t p = number(a, v);
      if (p == 0 || p > 65535) usage("--port must be 1-65535");
      o.port = static_cast<uint16_t>(p);
    } else if (a == "--connections") {
      o.connections = number(a, v);
    } else if (a == "--threads") {
      o.threads = number(a, v);
    } else if (a == "--warmup-ms") {
      o.warmup = std::chrono::milliseconds(number(a, v));
    } else if (a == "--duration-ms") {
      o.duration = std::chrono::milliseconds(number(a, v));
    } else if (a == "--get") {
      if (!v) usage("--get needs a path");
      gets.emplace_back(v);
    } else if (a == "--post") {
      if (!v) usage("--post needs a path");
      post_path = v;
    } else if (a == "--bodies") {
      if (!v) usage("--bodies needs a file");
      bodies_file = v;
    } else {
      usage("unknown argument " + a);
    }
    ++i;
  }
  if (o.port == 0) usage("--port is required");
  if (o.connections == 0 || o.threads == 0) usage("--connections and --threads must be positive");
  if (gets.empty() == post_path.empty()) usage("give either --get paths or --post with --bodies");

  std::vector<std::string> bodies;
  if (!post_path.empty()) {
    std::ifstream in(bodies_file);
    if (!in) usage("cannot read " + bodies_file);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) bodies.push_back(std::move(line));
    if (bodies.empty()) usage(bodies_file + " has no bodies");
  }

  std::atomic<size_t> next{0};
  opt::loadgen::Result r = opt::loadgen::run(o, [&](size_t conn, uint64_t) {
    if (!gets.empty()) return opt::loadgen::RequestSpec{"GET", gets[conn % gets.size()], "", ""};
    return opt::loadgen::RequestSpec{"POST", post_path, bodies[next.fetch_add(1) % bodies.size()], "application/json"};
  });

  std::string statuses;
  for (const auto& [s, n] : r.statuses)
    statuses += (statuses.empty() ? "" : ",") + std::string("\"") + std::to_string(s) + "\":" + std::to_string(n);
  std::printf(
      "{\"requests\":%llu,\"seconds\":%.6f,\"rate\":%.3f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"max_ms\":%.4f,"
      "\"transport_errors\":%llu,\"sent_bodies\":%zu,\"statuses\":{%s}}\n",
      static_cast<unsigned long long>(r.requests), r.seconds, r.rate(), r.percentile_ms(50), r.percentile_ms(99),
      r.latencies_ms.empty() ? 0.0 : r.latencies_ms.back(), static_cast<unsigned long long>(r.transport_errors),
      next.load(), statuses.c_str());
  return 0;
}
