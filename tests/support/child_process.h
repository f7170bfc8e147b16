// One child process for a test: spawned with its argv and environment, stdout and stderr captured through
// pipes (kept in memory, stderr also on its own, and copied to a log file if one is named), and waited
// for with a timeout, stopped with SIGTERM or killed with SIGKILL. The object owns the process: if it is
// still running when the object goes, it is killed and reaped.
//
// Between fork and exec the child makes only async-signal-safe calls (the test process has threads). A
// child that cannot be set up or exec'd writes one line saying which step failed and why on its stderr
// and exits with 127 (so a test sees "cannot exec ...: Permission denied", not silence).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace opt::test {

struct ChildOptions {
  std::vector<std::string> argv;            // argv[0] is the program's path (not searched in PATH)
  std::map<std::string, std::string> env;   // set in the child on top of the test's own environment
  std::vector<std::string> unset_env;       // removed from the test's environment for the child
  std::string log_path;                     // if not empty: stdout and stderr are copied here as they come
  std::string cwd;                          // if not empty: the child's working directory
  std::optional<uint64_t> file_size_limit;  // RLIMIT_FSIZE in bytes, SIGXFSZ ignored: writes past it fail (EFBIG)
  std::optional<uid_t> run_as;              // uid (and gid) to become before exec; needs root
};

// The common case: a command line, its output copied to `log_path` (if not empty).
inline ChildOptions command(std::vector<std::string> argv, std::string log_path = {}) {
  ChildOptions o;
  o.argv = std::move(argv);
  o.log_path = std::move(log_path);
  return o;
}

class ChildProcess {
 public:
  // Throws std::runtime_error if the pipes or the fork fail (an exec failure shows as exit 127 instead).
  explicit ChildProcess(ChildOptions options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::vector<std::string>& argv() const { return argv_; }

  // stdout and stderr in the order they were read; stdout alone; stderr alone.
  std::string output() const;
  std::string standard_output() const;
  std::string errors() const;

  // Whether the process is still running (reaps it if it has ended).
  bool running();
  // Waits up to `limit` for the process to end by itself; then its status (see status()), else nullopt.
  // Once it has ended, everything it wrote has been read.
  std::optional<int> wait_exit(std::chrono::milliseconds limit);
  // Waits until `pattern` (ECMAScript regex) matches the output; its first group, or the whole match if
  // it has none. nullopt if the process ended or `limit` passed first.
  std::optional<std::string> wait_for(const std::string& pattern, std::chrono::milliseconds limit);

  // SIGKILL and reap (no-op if it has already ended).
  void kill9();
  // SIGTERM, then waits up to `limit`: the status, or -1 if it had to be killed.
  int terminate(std::chrono::milliseconds limit);

  // After it ended: the exit code, or 128 + the signal that ended it; -1 while it runs.
  int status() const { return status_; }
  bool signalled() const { return signalled_; }

 private:
  struct Capture;
  static void read_pipe(std::shared_ptr<Capture> c, int fd, bool is_err);
  void record(int wait_status);
  void join_readers();

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int status_ = -1;
  bool signalled_ = false;
  std::shared_ptr<Capture> capture_;
  std::vector<std::thread> readers_;
};

// Polls `done` every `step` until it holds or `timeout` passes; whether it held.
template <class F>
bool poll_until(std::chrono::milliseconds timeout, F&& done,
                std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

}  // namespace opt::test
