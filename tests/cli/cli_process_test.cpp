// The real `optrollup` binary: bad flags refused with exit status 2 and a message naming the flag, --json
// errors as one JSON object (on stderr), both address forms and the environment defaults, and a listener whose port
// is taken naming the flag that moves it. Only 127.0.0.1.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tests/test_util.h"

namespace opt::test {

namespace {

std::string binary() {
  if (const char* env = std::getenv("OPTROLLUP_BIN")) return env;
  return OPTROLLUP_BIN;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// One run of the binary (tests/support/child_process.h); `env` is set on top of this process's
// environment (an empty value unsets), without OPTROLLUP_API / OPTROLLUP_L1 unless given.
class Run {
 public:
  Run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {})
      : child_(options(args, env)) {}
  // The exit status, waiting up to `seconds`; -1 when it is still running then.
  int wait(int seconds = 30) { return child_.wait_exit(std::chrono::seconds(seconds)).value_or(-1); }
  // Waits until the output matches `re`; returns the first group (empty when it exited or timed out).
  std::string wait_for(const std::string& re, int seconds = 30) {
    return child_.wait_for(re, std::chrono::seconds(seconds)).value_or("");
  }
  int terminate() { return child_.terminate(std::chrono::seconds(30)); }
  std::string out() const { return child_.standard_output(); }
  std::string err() const { return child_.errors(); }

 private:
  static opt::test::ChildOptions options(const std::vector<std::string>& args,
                                         const std::map<std::string, std::string>& env) {
    opt::test::ChildOptions o;
    o.argv = {binary()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.unset_env = {"OPTROLLUP_API", "OPTROLLUP_L1"};
    for (const auto& [k, v] : env) {
      if (v.empty())
        o.unset_env.push_back(k);
      else
        o.env[k] = v;
    }
    return o;
  }
  opt::test::ChildProcess child_;
};

// Runs to the end; the exit status.
int run(Run& r) {
  int code = r.wait(60);
  REQUIRE_MESSAGE(code >= 0, "optrollup did not exit: " << r.out() << r.err());
  return code;
}

// A socket listening on 127.0.0.1 at a port the kernel picked: the port is in use while it lives.
class Taken {
 public:
  Taken() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd_, 4) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
  }
  ~Taken() { close(fd_); }
  std::string where() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A port on 127.0.0.1 where nothing listens (bound and released: nothing else on this machine takes it in
// the moment between).
std::string closed_port() {
  Taken t;
  return t.where();
}

nlohmann::json json_line(const std::string& out) {
  auto nl = out.find('\n');
  REQUIRE(nl != std::string::npos);
  REQUIRE(nl + 1 == out.size());  // one line, nothing else
  return nlohmann::json::parse(out.substr(0, nl));
}

}  // namespace

TEST_CASE("optrollup: negative, malformed and oversized numbers are refused with exit status 2") {
  struct Case {
    std::vector<std::string> args;
    std::string flag;
  };
  const std::string key = dev_key(8).hex();
  std::vector<Case> cases = {
      {{"simulate", "--games", "-1"}, "--games"},
      {{"simulate", "--games", "1e3"}, "--games"},
      {{"simulate", "--seed", "+5"}, "--seed"},
      {{"simulate", "--k", "0x10"}, "--k"},
      {{"simulate", "--k", "1"}, "--k"},
      {{"simulate", "--games=", "3"}, "--games"},
      {{"simulate", "--games", "2", "--games", "3"}, "--games"},
      {{"simulate", "--gmaes", "3"}, "--gmaes"},
      {{"simulate", "--games"}, "--games"},
      {{"devnet", "--fault-at-batch", "-1"}, "--fault-at-batch"},
      {{"devnet", "--batch-interval", "10ms"}, "--batch-interval"},
      {{"devnet", "--dissection", "99"}, "--dissection"},
      {{"node", "--key", key, "--fault-at-batch", "-1"}, "--fault-at-batch"},
      {{"l1", "--chain-id", "18446744073709551616"}, "--chain-id"},
      {{"l1", "--listen", "127.0.0.1:99999"}, "--listen"},
      {{"challenger", "--key", key, "--metrics", "127.0.0.1:99999"}, "--metrics"},
      {{"challenger", "--key", key, "--metrics", "127.0.0.1:abc"}, "--metrics"},
      {{"challenger", "--key", key, "--poll", "-1"}, "--poll"},
      {{"order", "--key", key, "--instrument", "99999999999999999999", "--buy", "--qty", "1", "--price", "1"},
       "--instrument"},
      {{"order", "--key", key, "--instrument", "1", "--buy", "--qty", "-1", "--price", "1"}, "--qty"},
      {{"deposit", "--key", key, "--amount", "1.1234567"}, "--amount"},
      {{"withdraw", "--key", key, "--amount", "5", "--to", "0x1234"}, "--to"},
      {{"status", "--api", "ftp://127.0.0.1:8080"}, "--api"},
      {{"address", "--key", key, "--key-file", "/nonexistent"}, "--key"},
  };
  for (const auto& c : cases) {
    std::string line;
    for (const auto& a : c.args) line += a + " ";
    CAPTURE(line);
    Run r(c.args);
    CHECK(run(r) == 2);
    const std::string err = r.err();
    CHECK_MESSAGE(contains(err, c.flag), err);
    CHECK(contains(err, "optrollup " + c.args[0] + ": "));
    CHECK(r.out().empty());
  }
  // What the old parser let through: the number is named and "too large" is said, not a bare "stoull".
  Run big({"order", "--key", key, "--instrument", "99999999999999999999", "--buy", "--qty", "1", "--price", "1"});
  CHECK(run(big) == 2);
  CHECK(contains(big.err(), "99999999999999999999"));
  CHECK(contains(big.err(), "too large"));
  CHECK_FALSE(contains(big.err(), "stoull"));
}

TEST_CASE("optrollup --json: errors are one JSON object, and the exit status stays non-zero") {
  const std::string key = dev_key(0).hex();
  Run bad({"order", "--json", "--key", key, "--instrument", "1", "--buy", "--qty", "-1", "--price", "1"});
  CHECK(run(bad) == 2);
  auto j = json_line(bad.err());
  CHECK(j.at("error").at("code") == "bad_flag");
  CHECK(j.at("error").at("command") == "order");
  CHECK(contains(j.at("error").at("message").get<std::string>(), "--qty"));
  CHECK(bad.out().empty());

  // An unknown flag is caught before the command runs: still JSON.
  Run unknown({"status", "--json", "--verbose"});
  CHECK(run(unknown) == 2);
  CHECK(contains(json_line(unknown.err()).at("error").at("message").get<std::string>(), "--verbose"));

  // A failed run (nothing listens on the API's port): exit status 1 and its own code.
  const std::string nowhere = closed_port();
  Run down({"status", "--json", "--api", nowhere, "--l1", nowhere});
  CHECK(run(down) == 1);
  auto d = json_line(down.err());
  CHECK(d.at("error").at("code") == "unreachable");
  CHECK(contains(d.at("error").at("message").get<std::string>(), "http://" + nowhere));

  // Without --json the same error is text.
  Run text({"status", "--api", nowhere, "--l1", nowhere});
  CHECK(run(text) == 1);
  CHECK(text.out().empty());
  CHECK(contains(text.err(), "optrollup status: cannot reach http://" + nowhere));
  CHECK_FALSE(contains(text.err(), "{\"error\""));
}

TEST_CASE("optrollup: --api and --l1 take HOST:PORT or http://HOST:PORT, and the environment supplies defaults") {
  const std::string nowhere = closed_port();
  for (const auto& form : {nowhere, "http://" + nowhere, "http://" + nowhere + "/"}) {
    CAPTURE(form);
    Run r({"status", "--json", "--api", form});
    CHECK(run(r) == 1);
    CHECK(contains(json_line(r.err()).at("error").at("message").get<std::string>(),
                   "cannot reach http://" + nowhere + " "));
  }
  // OPTROLLUP_API stands in for --api (either form); --api still wins.
  Run from_env({"status", "--json"}, {{"OPTROLLUP_API", nowhere}});
  CHECK(run(from_env) == 1);
  CHECK(contains(json_line(from_env.err()).at("error").at("message").get<std::string>(), "http://" + nowhere));
  const std::string other = closed_port();
  Run flag_wins({"status", "--json", "--api", "http://" + other}, {{"OPTROLLUP_API", nowhere}});
  CHECK(run(flag_wins) == 1);
  CHECK(contains(json_line(flag_wins.err()).at("error").at("message").get<std::string>(), "http://" + other));
  // A bad environment value names the variable.
  Run bad_env({"status"}, {{"OPTROLLUP_API", "localhost"}});
  CHECK(run(bad_env) == 2);
  CHECK(contains(bad_env.err(), "OPTROLLUP_API"));
  Run bad_l1_env({"challenger", "--key", dev_key(8).hex()}, {{"OPTROLLUP_L1", "127.0.0.1"}});
  CHECK(run(bad_l1_env) == 2);
  CHECK(contains(bad_l1_env.err(), "OPTROLLUP_L1"));

  // The devnet listens where http:// forms say, and prints the URLs clients use.
  opt::test::TempDir dir;
  Run devnet({"devnet", "--data-dir", dir.file("data"), "--api", "http://127.0.0.1:0", "--l1", "http://127.0.0.1:0/",
              "--no-oracle", "--no-challenger"});
  const std::string api = devnet.wait_for("rollup API +(http://127\\.0\\.0\\.1:[0-9]+)/v1", 60);
  REQUIRE_MESSAGE(!api.empty(), devnet.out() << devnet.err());
  CHECK(api != "http://127.0.0.1:0");
  // `status` reaches it through OPTROLLUP_API / OPTROLLUP_L1 in the HOST:PORT form.
  std::smatch m;
  const std::string banner = devnet.out();
  REQUIRE(std::regex_search(banner, m, std::regex("L1 API +http://(127\\.0\\.0\\.1:[0-9]+)/l1/v1")));
  Run status({"status", "--json"}, {{"OPTROLLUP_API", api.substr(7)}, {"OPTROLLUP_L1", m[1].str()}});
  CHECK_MESSAGE(run(status) == 0, status.out() << status.err());
  auto s = nlohmann::json::parse(status.out());
  CHECK(s.contains("node"));
  CHECK(s.contains("l1"));

  // A fresh key (as `optrollup keygen` makes) holds no L1 USDC: the refusal says how to fund it.
  const std::string fresh = "0x" + std::string(63, '1') + "7";
  Run address({"address", "--key", fresh});
  REQUIRE(run(address) == 0);
  const std::string who = address.out().substr(0, 42);
  Run poor({"deposit", "--key", fresh, "--amount", "5", "--no-wait"},
           {{"OPTROLLUP_API", api.substr(7)}, {"OPTROLLUP_L1", m[1].str()}});
  CHECK(run(poor) == 1);
  CHECK_MESSAGE(contains(poor.err(), "insufficient_funds"), poor.err());
  CHECK(contains(poor.err(), "a funded dev account can deposit for it"));
  CHECK(contains(poor.err(), "--to " + who));
  CHECK(devnet.terminate() == 0);
}

TEST_CASE("optrollup: a port in use names the flag that moves the listener") {
  Taken taken;
  opt::test::TempDir dir;
  {
    Run l1({"l1", "--data-dir", dir.file("l1"), "--listen", taken.where()});
    CHECK(run(l1) == 1);
    CHECK_MESSAGE(contains(l1.err(), taken.where() + " is in use"), l1.err());
    CHECK(contains(l1.err(), "pass --listen HOST:PORT"));
  }
  {
    Run devnet(
        {"devnet", "--data-dir", dir.file("devnet1"), "--l1", taken.where(), "--api", "127.0.0.1:0", "--no-oracle"});
    CHECK(run(devnet) == 1);
    CHECK_MESSAGE(contains(devnet.err(), taken.where() + " is in use"), devnet.err());
    CHECK(contains(devnet.err(), "pass --l1 HOST:PORT"));
    // Nothing half-made is left behind for the next start to take as a chain to resume.
    CHECK_FALSE(std::filesystem::exists(dir.file("devnet1")));
  }
  {
    Run devnet({"devnet", "--data-dir", dir.file("devnet3"), "--l1", "127.0.0.1:0", "--api", "http://" + taken.where(),
                "--no-oracle", "--no-challenger"});
    CHECK(run(devnet) == 1);
    CHECK_MESSAGE(contains(devnet.err(), taken.where() + " is in use"), devnet.err());
    CHECK(contains(devnet.err(), "pass --api HOST:PORT"));
    CHECK_FALSE(std::filesystem::exists(dir.file("devnet3")));
  }
  {
    // The challenger's metrics listener, against a real L1.
    Run l1({"l1", "--data-dir", dir.file("l1b"), "--listen", "127.0.0.1:0", "--block-time", "200ms"});
    const std::string url = l1.wait_for("listening on (http://127\\.0\\.0\\.1:[0-9]+)", 60);
    REQUIRE_MESSAGE(!url.empty(), l1.out() << l1.err());
    Run challenger(
        {"challenger", "--key", dev_key(8).hex(), "--data-dir", dir.file("challenger"), "--metrics", taken.where()},
        {{"OPTROLLUP_L1", url}});
    CHECK(run(challenger) == 1);
    CHECK_MESSAGE(contains(challenger.err(), taken.where() + " is in use"), challenger.err());
    CHECK(contains(challenger.err(), "pass --metrics HOST:PORT"));
    CHECK(l1.terminate() == 0);
  }
}

TEST_CASE("optrollup NAME --help lists every flag with its type and default") {
  Run top({"--help"});
  CHECK(run(top) == 0);
  std::vector<std::string> names;
  std::regex line("\n  ([a-z0-9]+) +[a-z]");
  const std::string text = top.out();
  for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it) names.push_back((*it)[1]);
  CHECK(names.size() >= 14);
  for (const auto& name : names) {
    CAPTURE(name);
    Run help({name, "--help"});
    CHECK(run(help) == 0);
    const std::string h = help.out();
    CHECK(contains(h, "usage: optrollup " + name));
    REQUIRE(contains(h, "\nflags:\n"));
    // Every flag that takes a value says what the value must be (and its default, when it has one).
    std::istringstream lines(h.substr(h.find("\nflags:\n")));
    int value_flags = 0;
    for (std::string l; std::getline(lines, l);) {
      if (!std::regex_search(l, std::regex("^  --[a-z0-9-]+ [A-Z0-9]"))) continue;
      ++value_flags;
      CHECK_MESSAGE(contains(l, " ["), l);
    }
    CHECK(value_flags > 0);
  }
  Run sim({"simulate", "--help"});
  CHECK(run(sim) == 0);
  CHECK(contains(sim.out(), "--games N"));
  CHECK(contains(sim.out(), "integer >= 1; default 20"));
  Run status({"status", "--help"});
  CHECK(run(status) == 0);
  CHECK(contains(status.out(), "$OPTROLLUP_API"));
  CHECK(contains(status.out(), "$OPTROLLUP_L1"));
}

TEST_CASE("optrollup simulate: the summary counts seeds and games apart") {
  Run sim({"simulate", "--games", "6", "--seed", "1", "--quiet"});
  REQUIRE(sim.wait(300) == 0);
  std::smatch m;
  const std::string out = sim.out();
  REQUIRE(std::regex_search(out, m, std::regex("seeds: ([0-9]+) games: ([0-9]+) honest_wins: ([0-9]+)")));
  CHECK(m[1].str() == "6");
  const uint64_t games = std::stoull(m[2].str()), wins = std::stoull(m[3].str());
  CHECK(games >= 6);     // every seed plays at least one game
  CHECK(wins == games);  // and the honest side wins each
}

}  // namespace opt::test
