// Crash and fault drills: the three parties of the rollup as SEPARATE real processes — `optrollup l1`,
// `optrollup node` and `optrollup challenger` (the binary's path compiled in as OPTROLLUP_BIN; the
// OPTROLLUP_BIN environment variable overrides it) — on 127.0.0.1 with temporary data directories, killed,
// restarted, starved of disk space and denied writes. Builds on the e2e fixture (HTTP, signing, dev keys).
//
// Processes come from tests/support/child_process.h. When the test runs as root, the read-only drill runs
// its party as user nobody from a copy of the binary in a world-readable temporary folder, so it works
// from any checkout (docs/drills.md).
#pragma once

#include <unistd.h>

#include "tests/e2e/e2e_fixture.h"

namespace opt::drills {

using namespace opt::e2e;

// How a party's process is constrained (set in the child between fork and exec).
struct Limits {
  std::optional<uint64_t> file_size;  // RLIMIT_FSIZE in bytes; SIGXFSZ ignored, so writes fail with EFBIG
  bool unprivileged = false;          // when running as root: become nobody (65534), so file modes bind
};

inline constexpr uid_t kNobody = 65534;

// The binary as user nobody can run it: a copy in a world-readable temporary folder (made once per test
// process), since the checkout may sit where nobody cannot enter (root's 0700 home, a `mktemp -d`
// folder). The binary needs nothing else from the build tree.
inline const opt::test::TempDir& unprivileged_dir() {
  static const opt::test::TempDir dir("optrollup-drills-bin");
  static const bool ready = [] {
    namespace fs = std::filesystem;
    const fs::path copy = dir.file("optrollup");
    fs::copy_file(binary(), copy, fs::copy_options::overwrite_existing);
    const fs::perms rx = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                         fs::perms::others_exec;
    fs::permissions(copy, rx, fs::perm_options::replace);
    fs::permissions(dir.path(), rx, fs::perm_options::replace);
    return true;
  }();
  (void)ready;
  return dir;
}

// One run of one party. Its stdout and stderr come back through pipes (so a file size limit on the child
// never touches them) and are copied to a log file and kept in memory; stderr also on its own.
class Party {
 public:
  Party(std::string name, std::vector<std::string> args, std::string log_path, Limits limits = {})
      : name_(std::move(name)), proc_(options(std::move(args), std::move(log_path), limits)) {}
  Party(const Party&) = delete;
  Party& operator=(const Party&) = delete;

  const std::string& name() const { return name_; }
  std::string output() const { return proc_.output(); }
  std::string errors() const { return proc_.errors(); }

  // Waits until `pattern` shows in the output; returns its first group (or the whole match).
  std::string wait_for(const std::string& pattern, std::chrono::milliseconds limit = 30s) {
    if (auto found = proc_.wait_for(pattern, limit)) return *found;
    if (!proc_.running())
      FAIL(name_ << " exited (status " << proc_.status() << ") before printing '" << pattern << "':\n" << output());
    FAIL(name_ << " did not print '" << pattern << "' in time:\n" << output());
    return "";
  }

  bool running() { return proc_.running(); }
  // The exit status once the process ended by itself within `limit`: the exit code, or 128 + signal.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) { return proc_.wait_exit(limit); }
  bool signalled() const { return proc_.signalled(); }

  void kill9() {
    REQUIRE(proc_.pid() > 0);
    proc_.kill9();
  }
  // SIGTERM and wait up to 20 s; the exit status (-1 if it had to be killed).
  int terminate() { return proc_.terminate(20s); }

 private:
  static opt::test::ChildOptions options(std::vector<std::string> args, std::string log_path, const Limits& limits) {
    opt::test::ChildOptions o;
    o.argv = std::move(args);
    o.log_path = std::move(log_path);
    o.file_size_limit = limits.file_size;
    if (limits.unprivileged && geteuid() == 0) {
      o.run_as = kNobody;
      o.argv.insert(o.argv.begin(), unprivileged_dir().file("optrollup"));
      o.cwd = unprivileged_dir().path();  // the test's own working directory may be closed to nobody
    } else {
      o.argv.insert(o.argv.begin(), binary());
    }
    return o;
  }

  std::string name_;
  opt::test::ChildProcess proc_;
};

// ---- the three parties' command lines ----

inline const PrivateKey& proposer_key() {
  return devnet::dev_keys().at(devnet::kProposer);
}
inline const PrivateKey& challenger_key() {
  return devnet::dev_keys().at(devnet::kChallenger);
}
inline std::string challenger_hex() {
  return to_checksum(devnet::dev_addresses().at(devnet::kChallenger));
}

// Short periods so a drill takes seconds; the same flags on every restart (they must match what is stored).
inline std::vector<std::string> l1_args(const std::string& dir, const std::string& listen, uint64_t genesis_time) {
  return {"l1",
          "--data-dir",
          dir,
          "--listen",
          listen,
          "--block-time",
          "250ms",
          "--challenge-period",
          "20s",
          "--clock",
          "40s",
          "--clock-extension",
          "5s",
          "--genesis-time",
          std::to_string(genesis_time)};
}
// `oracle`: the node signs devnet prices itself (orders need marks); without it the root moves only with
// requests, so a restart can be compared root for root.
inline std::vector<std::string> node_args(const std::string& dir, const std::string& l1_url, const std::string& api,
                                          std::optional<uint64_t> fault_at = std::nullopt, bool oracle = true) {
  std::vector<std::string> a = {"node",       "--l1", l1_url,  "--key", proposer_key().hex(),
                                "--data-dir", dir,    "--api", api,     "--batch-interval",
                                "400ms"};
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

inline std::string l1_url_of(Party& l1) {
  return l1.wait_for(R"(listening on (http://127\.0\.0\.1:[0-9]+))");
}
inline std::string api_url_of(Party& node) {
  return "http://127.0.0.1:" + node.wait_for(R"(API on port ([0-9]+))");
}

inline std::string port_of(const std::string& url) {
  return url.substr(url.rfind(':') + 1);
}

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
