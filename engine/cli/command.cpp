#include "engine/cli/command.h"

#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace opt::cli {

namespace {

std::atomic<bool> g_json_errors{false};

void report(const std::string& command, const std::string& code, const std::string& message, bool usage) {
  if (g_json_errors) {
    // One line on stderr, like the text form: stdout carries only answers, and a script that captures
    // stdout still shows the error (the exit status says there was one).
    nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
    if (!command.empty()) j["error"]["command"] = command;
    std::fprintf(stderr, "%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::fprintf(stderr, "optrollup%s%s: %s\n", command.empty() ? "" : " ", command.c_str(), message.c_str());
  if (usage && !command.empty()) std::fprintf(stderr, "run 'optrollup %s --help' for usage\n", command.c_str());
}

// True when another socket listens on `where` (the kernel refuses the same bind with EADDRINUSE).
bool address_in_use(const Endpoint& where) {
  if (where.port == 0) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(where.host.c_str(), std::to_string(where.port).c_str(), &hints, &found) != 0 || !found) return false;
  bool in_use = false;
  int fd = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the server binds: TIME_WAIT does not count
    in_use = bind(fd, found->ai_addr, found->ai_addrlen) != 0 && errno == EADDRINUSE;
    close(fd);
  }
  freeaddrinfo(found);
  return in_use;
}

}  // namespace

void set_json_errors(bool on) {
  g_json_errors = on;
}
bool json_errors() {
  return g_json_errors;
}

int usage_error(const std::string& command, const std::string& message) {
  report(command, "bad_flag", message, true);
  return kUsageExit;
}

int usage_error(const std::string& command, const FlagProblem& p) {
  return usage_error(command, p.message);
}

int failure(const std::string& command, const std::string& message, const std::string& code) {
  report(command, code, message, false);
  return kFailureExit;
}

std::string help_text(const Command& c) {
  std::string text = c.usage;
  if (!c.flags.empty()) text += "\n\nflags:\n" + flags_help(c.flags);
  if (!c.notes.empty()) text += "\n" + c.notes;
  return text;
}

FlagSpec key_flag() {
  return {"--key", "0x...", "private key, 0x and 64 hex digits", "", "the key that signs"};
}
FlagSpec key_file_flag() {
  return {"--key-file", "PATH", "file whose first line is the hex key", "",
          "instead of --key (optrollup keygen --out makes one)"};
}
FlagSpec api_url_flag() {
  return {"--api", "URL", "HOST:PORT or http://HOST:PORT", std::string("$") + kApiEnv + ", else " + kDefaultApi,
          "the rollup API"};
}
FlagSpec l1_url_flag() {
  return {"--l1", "URL", "HOST:PORT or http://HOST:PORT", std::string("$") + kL1Env + ", else " + kDefaultL1,
          "the L1 API"};
}

std::vector<FlagSpec> sequencer_flag_specs() {
  return {
      {"--batch-interval", "D", "duration >= 100ms", "2s", "how often the node closes a batch"},
      {"--fault-at-batch", "N", "L1 batch index", "", "post a wrong root for L1 batch N (to watch a challenger win)"},
  };
}

FlagResult<SequencerFlags> sequencer_flags(const Args& a) {
  SequencerFlags f;
  auto interval = a.duration_ms_or("--batch-interval", f.batch_interval_ms, 100);
  if (!interval) return err(interval.error());
  f.batch_interval_ms = *interval;
  auto fault = a.u64("--fault-at-batch");
  if (!fault) return err(fault.error());
  f.fault_at_batch = *fault;
  return f;
}

FlagResult<PrivateKey> required_key(const Args& a, const std::string& what) {
  auto k = a.key();
  if (!k) return err(k.error());
  if (!*k) return err(FlagProblem{FlagError::kMissingFlag, "give " + what + " with --key 0x... or --key-file PATH"});
  return **k;
}

std::optional<std::string> in_use_message(const Endpoint& where, const std::string& flag, const std::string& who_else) {
  if (!address_in_use(where)) return std::nullopt;
  return where.host_port() + " is in use (" + who_else + "?): pass " + flag + " HOST:PORT to use another";
}

int wait_for_stop(const sigset_t& signals, const std::function<std::optional<std::string>()>& failed,
                  std::string& why) {
  for (;;) {
    if (auto f = failed()) {
      why = *f;
      return 0;
    }
    timespec ts{0, 100'000'000};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) return sig;
  }
}

sigset_t block_stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  return s;
}

}  // namespace opt::cli
