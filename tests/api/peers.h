// The API benchmarks' peers, each in its own process: the load generator (tests/api/loadgen_main.cpp) and
// the bare Beast server that read throughput is measured against (tests/api/beast_hello.cpp). Their paths
// come from meson (OPT_LOADGEN_BIN, OPT_BEAST_HELLO_BIN).
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace opt::bench {

struct LoadResult {
  uint64_t requests = 0;
  uint64_t transport_errors = 0;
  double seconds = 0, rate = 0, p50_ms = 0, p99_ms = 0, max_ms = 0;
  std::map<int, uint64_t> statuses;

  uint64_t non_2xx() const {
    uint64_t n = 0;
    for (const auto& [s, c] : statuses)
      if (s < 200 || s > 299) n += c;
    return n;
  }
};

// Runs `loadgen ARGS` to completion and returns what it measured. Throws if it fails or says nothing.
inline LoadResult run_loadgen(const std::string& args) {
  std::string cmd = std::string(OPT_LOADGEN_BIN) + " " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot start " + cmd);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = ::pclose(p);
  if (status != 0 || out.empty())
    throw std::runtime_error("loadgen failed (status " + std::to_string(status) + "): " + cmd);
  auto j = nlohmann::json::parse(out);
  LoadResult r;
  r.requests = j.at("requests").get<uint64_t>();
  r.transport_errors = j.at("transport_errors").get<uint64_t>();
  r.seconds = j.at("seconds").get<double>();
  r.rate = j.at("rate").get<double>();
  r.p50_ms = j.at("p50_ms").get<double>();
  r.p99_ms = j.at("p99_ms").get<double>();
  r.max_ms = j.at("max_ms").get<double>();
  for (const auto& [k, v] : j.at("statuses").items()) r.statuses[std::stoi(k)] = v.get<uint64_t>();
  return r;
}

// The bare Beast hello server, running while this object lives.
class BeastHello {
 public:
  explicit BeastHello(int threads) {
    std::string cmd = std::string(OPT_BEAST_HELLO_BIN) + " --threads " + std::to_string(threads);
    out_ = ::popen(cmd.c_str(), "r");
    if (!out_) throw std::runtime_error("cannot start " + cmd);
    unsigned port = 0;
    int pid = 0;
    if (std::fscanf(out_, "port: %u pid: %d", &port, &pid) != 2 || port == 0 || pid <= 0) {
      ::pclose(out_);
      throw std::runtime_error("beast_hello did not say its port");
    }
    port_ = static_cast<uint16_t>(port);
    pid_ = pid;
  }
  ~BeastHello() {
    ::kill(pid_, SIGTERM);
    ::pclose(out_);
  }
  BeastHello(const BeastHello&) = delete;
  BeastHello& operator=(const BeastHello&) = delete;
  uint16_t port() const { return port_; }

 private:
  FILE* out_ = nullptr;
  uint16_t port_ = 0;
  int pid_ = 0;
};

inline void report_load(const std::string& name, const LoadResult& r) {
  std::printf("%s_p50_ms: %.4g ms\n%s_p99_ms: %.4g ms\n", name.c_str(), r.p50_ms, name.c_str(), r.p99_ms);
  if (r.non_2xx() || r.transport_errors) {
    std::printf("%s: %llu non-2xx responses, %llu transport errors\n", name.c_str(),
                static_cast<unsigned long long>(r.non_2xx()), static_cast<unsigned long long>(r.transport_errors));
    for (const auto& [status, n] : r.statuses)
      std::printf("%s_status_%d: %llu\n", name.c_str(), status, static_cast<unsigned long long>(n));
  }
  std::fflush(stdout);
}

}  // namespace opt::bench
