#include "tests/support/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace opt::test {

struct ChildProcess::Capture {
  std::mutex mu;
  std::string all, out, err;
  std::ofstream file;
};

namespace {

// The child's last words before _exit(127): "<what>: <reason>" on fd 2, with write(2) only.
[[noreturn]] void child_fail(const char* what, int err) {
  const char* reason = strerrordesc_np(err);  // a static table: no locale, no allocation
  if (reason == nullptr) reason = "unknown error";
  (void)!write(2, what, strlen(what));
  (void)!write(2, ": ", 2);
  (void)!write(2, reason, strlen(reason));
  (void)!write(2, "\n", 1);
  _exit(127);
}

}  // namespace

void ChildProcess::read_pipe(std::shared_ptr<Capture> c, int fd, bool is_err) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lock(c->mu);
    c->all.append(buf, static_cast<size_t>(n));
    (is_err ? c->err : c->out).append(buf, static_cast<size_t>(n));
    if (c->file.is_open()) {
      c->file.write(buf, n);
      c->file.flush();
    }
  }
  close(fd);
}

ChildProcess::ChildProcess(ChildOptions o) : argv_(o.argv) {
  if (argv_.empty()) throw std::runtime_error("ChildProcess: empty argv");
  // Everything the child needs is built before fork: after it, no allocation.
  std::vector<char*> argv;
  for (auto& a : argv_) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string key(kv.substr(0, kv.find('=')));
    if (!o.env.count(key) && std::find(o.unset_env.begin(), o.unset_env.end(), key) == o.unset_env.end())
      env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : o.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const std::string exec_what =
      "cannot exec " + argv_[0] + (o.run_as ? " as uid " + std::to_string(*o.run_as) : std::string());
  const std::string chdir_what = "cannot enter " + o.cwd;
  const std::string drop_what = "cannot become uid " + (o.run_as ? std::to_string(*o.run_as) : std::string());
  const rlim_t fsize = o.file_size_limit ? static_cast<rlim_t>(*o.file_size_limit) : RLIM_INFINITY;

  capture_ = std::make_shared<Capture>();
  if (!o.log_path.empty()) {
    capture_->file.open(o.log_path, std::ios::trunc);
    if (!capture_->file) throw std::runtime_error("cannot write the log " + o.log_path);
  }
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::system_category().message(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    throw std::runtime_error("pipe: " + std::system_category().message(errno));
  }
  pid_ = fork();
  if (pid_ < 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    throw std::runtime_error("fork: " + std::system_category().message(errno));
  }
  if (pid_ == 0) {
    // dup2 clears close-on-exec on the copies; the originals close at exec.
    if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(127);
    if (o.file_size_limit) {
      signal(SIGXFSZ, SIG_IGN);  // kept across exec: writes past the limit fail with EFBIG instead
      rlimit rl{fsize, fsize};
      if (setrlimit(RLIMIT_FSIZE, &rl) != 0) child_fail("cannot set RLIMIT_FSIZE", errno);
    }
    if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) child_fail(chdir_what.c_str(), errno);
    if (o.run_as) {
      const uid_t id = *o.run_as;
      if (setgroups(0, nullptr) != 0 || setgid(id) != 0 || setuid(id) != 0) child_fail(drop_what.c_str(), errno);
    }
    execve(argv[0], argv.data(), envp.data());
    child_fail(exec_what.c_str(), errno);
  }
  close(out[1]);
  close(err[1]);
  readers_.emplace_back(read_pipe, capture_, out[0], false);
  readers_.emplace_back(read_pipe, capture_, err[0], true);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) kill9();
  join_readers();
}

std::string ChildProcess::output() const {
  std::lock_guard lock(capture_->mu);
  return capture_->all;
}

std::string ChildProcess::standard_output() const {
  std::lock_guard lock(capture_->mu);
  return capture_->out;
}

std::string ChildProcess::errors() const {
  std::lock_guard lock(capture_->mu);
  return capture_->err;
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    record(st);
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds limit) {
  if (!poll_until(limit, [&] { return !running(); })) return std::nullopt;
  join_readers();
  return status_;
}

std::optional<std::string> ChildProcess::wait_for(const std::string& pattern, std::chrono::milliseconds limit) {
  const std::regex re(pattern);
  std::optional<std::string> found;
  poll_until(limit, [&] {
    const bool alive = running();  // before reading: what it wrote before it ended is then in the output
    if (!alive) join_readers();
    const std::string text = output();
    std::smatch m;
    if (std::regex_search(text, m, re)) {
      found = m.size() > 1 ? m[1].str() : m[0].str();
      return true;
    }
    return !alive;
  });
  return found;
}

void ChildProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  record(st);
  join_readers();
}

int ChildProcess::terminate(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return status_;
  ::kill(pid_, SIGTERM);
  if (auto s = wait_exit(limit)) return *s;
  kill9();
  return -1;
}

void ChildProcess::record(int st) {
  pid_ = -1;
  signalled_ = WIFSIGNALED(st);
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void ChildProcess::join_readers() {
  for (auto& t : readers_)
    if (t.joinable()) t.join();
}

}  // namespace opt::test
