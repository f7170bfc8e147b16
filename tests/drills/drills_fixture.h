// Crash and fault drills: the three parties of the rollup as SEPARATE real processes — `optrollup l1`,
// `optrollup node` and `optrollup challenger` (the binary's path compiled in as OPTROLLUP_BIN; the
// OPTROLLUP_BIN environment variable overrides it) — on 127.0.0.1 with temporary data directories, killed,
// restarted, starved of disk space and denied writes. Builds on the e2e fixture (HTTP, signing, dev keys).
//
// A Party is one run of one process. Its stdout and stderr come back through pipes (so a file size limit
// on the child never touches them) and are copied to a log file and kept in memory; stderr also on its
// own, so a test can check that a failure is one clear line there.
#pragma once

#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "tests/e2e/e2e_fixture.h"

namespace opt::drills {

using namespace opt::e2e;

// How a party's process is constrained (set in the child between fork and exec).
struct Limits {
  std::optional<uint64_t> file_size;  // RLIMIT_FSIZE in bytes; SIGXFSZ ignored, so writes fail with EFBIG
  bool unprivileged = false;          // when running as root: become nobody (65534), so file modes bind
};

class Party {
 public:
  Party(std::string name, std::vector<std::string> args, std::string log_path, Limits limits = {})
      : name_(std::move(name)), log_path_(std::move(log_path)) {
    args.insert(args.begin(), binary());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2], errp[2];
    REQUIRE(pipe(out) == 0);
    REQUIRE(pipe(errp) == 0);
    const bool drop = limits.unprivileged && geteuid() == 0;
    const rlim_t fsize = limits.file_size ? static_cast<rlim_t>(*limits.file_size) : RLIM_INFINITY;
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // Only async-signal-safe calls from here to exec (the test process has threads).
      dup2(out[1], 1);
      dup2(errp[1], 2);
      close(out[0]);
      close(out[1]);
      close(errp[0]);
      close(errp[1]);
      if (limits.file_size) {
        signal(SIGXFSZ, SIG_IGN);  // kept across exec: writes past the limit fail with EFBIG instead
        rlimit rl{fsize, fsize};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
      }
      if (drop && (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) _exit(125);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    close(errp[1]);
    log_ = std::make_shared<Log>();
    log_->file.open(log_path_, std::ios::trunc);
    readers_.emplace_back(&Party::read_pipe, log_, out[0], false);
    readers_.emplace_back(&Party::read_pipe, log_, errp[0], true);
  }
  ~Party() {
    if (pid_ > 0) kill9();
    join_readers();
  }
  Party(const Party&) = delete;
  Party& operator=(const Party&) = delete;

  const std::string& name() const { return name_; }
  std::string output() const {
    std::lock_guard lock(log_->mu);
    return log_->all;
  }
  std::string errors() const {
    std::lock_guard lock(log_->mu);
    return log_->err;
  }

  // Waits until `pattern` shows in the output; returns its first group (or the whole match).
  std::string wait_for(const std::string& pattern, std::chrono::milliseconds limit = 30s) {
    std::regex re(pattern);
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      std::string text = output();
      std::smatch m;
      if (std::regex_search(text, m, re)) return m.size() > 1 ? m[1].str() : m[0].str();
      if (!running()) FAIL(name_ << " exited (status " << status_ << ") before printing '" << pattern << "':\n" << output());
      if (std::chrono::steady_clock::now() >= until) FAIL(name_ << " did not print '" << pattern << "' in time:\n" << output());
      std::this_thread::sleep_for(20ms);
    }
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      record(status);
      return false;
    }
    return true;
  }

  // The exit status once the process ended by itself within `limit`: the exit code, or 128 + signal.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    if (!wait_until(limit, [&] { return !running(); }, 20ms)) return std::nullopt;
    join_readers();
    return status_;
  }
  bool signalled() const { return signalled_; }

  void kill9() {
    REQUIRE(pid_ > 0);
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    record(status);
    join_readers();
  }
  // SIGTERM and wait up to 20 s; the exit status (-1 if it had to be killed).
  int terminate() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGTERM);
    if (auto s = wait_exit(20s)) return *s;
    kill9();
    return -1;
  }

 private:
  struct Log {
    std::mutex mu;
    std::string all, err;
    std::ofstream file;
  };
  static void read_pipe(std::shared_ptr<Log> log, int fd, bool is_err) {
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard lock(log->mu);
      log->all.append(buf, static_cast<size_t>(n));
      if (is_err) log->err.append(buf, static_cast<size_t>(n));
      log->file.write(buf, n);
      log->file.flush();
    }
    close(fd);
  }
  void record(int status) {
    pid_ = -1;
    signalled_ = WIFSIGNALED(status);
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void join_readers() {
    for (auto& t : readers_)
      if (t.joinable()) t.join();
  }

  std::string name_, log_path_;
  pid_t pid_ = -1;
  int status_ = -1;
  bool signalled_ = false;
  std::shared_ptr<Log> log_;
  std::vector<std::thread> readers_;
};

// ---- the three parties' command lines ----

inline const PrivateKey& proposer_key() { return devnet::dev_keys().at(devnet::kProposer); }
inline const PrivateKey& challenger_key() { return devnet::dev_keys().at(devnet::kChallenger); }
inline std::string challenger_hex() { return to_checksum(devnet::dev_addresses().at(devnet::kChallenger)); }

// Short periods so a drill takes seconds; the same flags on every restart (they must match what is stored).
inline std::vector<std::string> l1_args(const std::string& dir, const std::string& listen, uint64_t genesis_time) {
  return {"l1", "--data-dir", dir, "--listen", listen, "--block-time", "250ms", "--challenge-period", "20s",
          "--clock", "40s", "--clock-extension", "5s", "--genesis-time", std::to_string(genesis_time)};
}
// `oracle`: the node signs devnet prices itself (orders need marks); without it the root moves only with
// requests, so a restart can be compared root for root.
inline std::vector<std::string> node_args(const std::string& dir, const std::string& l1_url, const std::string& api,
                                          std::optional<uint64_t> fault_at = std::nullopt, bool oracle = true) {
  std::vector<std::string> a = {"node", "--l1", l1_url, "--key", proposer_key().hex(), "--data-dir", dir,
                                "--api", api, "--batch-interval", "400ms"};
  if (oracle) a.push_back("--dev-oracle");
  if (fault_at) {
    a.push_back("--fault-at-batch");
    a.push_back(std::to_string(*fault_at));
  }
  return a;
}
inline std::vector<std::string> challenger_args(const std::string& dir, const std::string& l1_url) {
  return {"challenger", "--l1", l1_url, "--key", challenger_key().hex(), "--data-dir", dir, "--poll", "200ms"};
}

inline std::string l1_url_of(Party& l1) { return l1.wait_for(R"(listening on (http://127\.0\.0\.1:[0-9]+))"); }
inline std::string api_url_of(Party& node) { return "http://127.0.0.1:" + node.wait_for(R"(API on port ([0-9]+))"); }

inline std::string port_of(const std::string& url) { return url.substr(url.rfind(':') + 1); }

// ---- data directories ----

// Makes a tree read-only (directories r-x, files r--) or writable again (u+w).
inline void set_writable(const std::string& root, bool writable) {
  namespace fs = std::filesystem;
  auto apply = [&](const fs::path& p) {
    fs::perms add = fs::is_directory(p) ? fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                              fs::perms::others_read | fs::perms::others_exec
                                        : fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
    fs::permissions(p, add, fs::perm_options::replace);
    if (!writable) fs::permissions(p, fs::perms::owner_write, fs::perm_options::remove);
  };
  for (const auto& e : fs::recursive_directory_iterator(root)) apply(e.path());
  apply(root);
}

// The total size of the files under a directory.
inline uint64_t tree_bytes(const std::string& root) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

// A failure report on stderr: exactly one non-empty line.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// The seeds to run: OPTROLLUP_DRILL_SEEDS=N runs seeds 1..N; OPTROLLUP_DRILL_SEED=S runs S only.
inline std::vector<uint64_t> drill_seeds(size_t default_count) {
  if (const char* one = std::getenv("OPTROLLUP_DRILL_SEED")) return {std::stoull(one)};
  size_t n = default_count;
  if (const char* many = std::getenv("OPTROLLUP_DRILL_SEEDS")) n = std::stoull(many);
  std::vector<uint64_t> seeds;
  for (uint64_t s = 1; s <= n; ++s) seeds.push_back(s);
  return seeds;
}

}  // namespace opt::drills
