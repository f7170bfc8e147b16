// Timing helpers for the meson benchmark() programs. Each prints `name: value unit` lines.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace opt::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs fn(batch) repeatedly until at least min_seconds passed; returns operations per second.
template <class F>
double rate(F&& fn, size_t batch, double min_seconds = 0.5) {
  size_t ops = 0;
  auto t0 = Clock::now();
  double elapsed = 0;
  do {
    fn(batch);
    ops += batch;
    elapsed = seconds_since(t0);
  } while (elapsed < min_seconds);
  return static_cast<double>(ops) / elapsed;
}

inline void report(const std::string& name, double value, const std::string& unit, const std::string& note = "") {
  if (note.empty())
    std::printf("%s: %.6g %s\n", name.c_str(), value, unit.c_str());
  else
    std::printf("%s: %.6g %s (%s)\n", name.c_str(), value, unit.c_str(), note.c_str());
  std::fflush(stdout);
}

}  // namespace opt::bench
