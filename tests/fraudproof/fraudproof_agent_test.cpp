// The challenger as a real process over HTTP: the real `optrollup l1` (short blocks, a short clock) and
// `optrollup challenger` on 127.0.0.1, with this test as the proposer (RemoteL1 + L1Client, the state
// machine on a FullState of the same genesis, and an fp::Defender in its loop). The proposer posts a
// correct batch and then a wrong one; the challenger must dispute the wrong one only, survive a kill -9
// after its first move, resume from its data directory and win; its /metrics must say so.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "bridge/client.h"
#include "bridge/compress.h"
#include "engine/common/devnet.h"
#include "engine/core/eip712.h"
#include "engine/core/keccak.h"
#include "engine/net/http.h"
#include "engine/stf/apply.h"
#include "fraudproof/agent.h"
#include "fraudproof/l1_port.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace opt::fp {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int64_t kUsdc = 1'000'000;

std::string binary() {
  if (const char* env = std::getenv("OPTROLLUP_BIN")) return env;
  return OPTROLLUP_BIN;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using opt::test::TempDir;

// A child process with its output copied to a log file; `wait_for` waits until a pattern shows.
class Process {
 public:
  Process(std::vector<std::string> args, std::string log)
      : proc_(opt::test::command(std::move(args), std::move(log))) {}
  std::string wait_for(const std::string& pattern, std::chrono::milliseconds limit = 10s) {
    if (auto found = proc_.wait_for(pattern, limit)) return *found;
    if (!proc_.running()) FAIL("the process exited early: " << proc_.output());
    FAIL("'" << pattern << "' did not appear in: " << proc_.output());
    return "";
  }
  void kill9() {
    REQUIRE(proc_.pid() > 0);
    proc_.kill9();
  }
  int terminate() { return proc_.terminate(10s); }
  std::string log() const { return proc_.output(); }

 private:
  opt::test::ChildProcess proc_;
};

const PrivateKey& dev(size_t i) {
  return devnet::dev_keys().at(i);
}
const Address& dev_addr(size_t i) {
  return devnet::dev_addresses().at(i);
}

// Prometheus text: the value of one metric.
uint64_t metric(const std::string& text, const std::string& name) {
  std::regex re("\n" + name + " ([0-9]+)");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return UINT64_MAX;
  return std::stoull(m[1]);
}

// The proposer: executes batches on its own FullState and posts them over HTTP.
class Proposer {
 public:
  Proposer(const Genesis& genesis, const std::string& url) : genesis_(genesis), client_(url) {
    REQUIRE(genesis_.build(state_).ok());
  }
  FullState& state() { return state_; }
  l1::L1Client& client() { return client_; }
  const Params& params() const { return genesis_.params; }

  Bytes report(uint32_t u, int64_t price, uint64_t ts) {
    PriceReport r{u, static_cast<uint64_t>(price), 800'000, ts};
    PriceReportTx t{r, {}};
    for (size_t i = 0; i < devnet::kOracleThreshold; ++i)
      t.sigs.push_back(*sign(typed_digest(params().domain_separator, r), dev(devnet::kOracleFirst + i)));
    return encode_tx(t);
  }
  Bytes trade(size_t seller, size_t buyer, uint64_t instrument, int64_t qty, int64_t price, uint64_t ts) {
    auto signed_order = [&](size_t d, bool buy) {
      Order o{dev_addr(d), instrument, buy, static_cast<uint64_t>(qty), static_cast<uint64_t>(price), 500'000,
              ++salt_,     ts + 3600,  0};
      return SignedOrder{o, *sign(typed_digest(params().domain_separator, o), dev(d))};
    };
    return encode_tx(TradeTx{signed_order(seller, false), signed_order(buyer, true), static_cast<uint64_t>(qty),
                             static_cast<uint64_t>(price)});
  }

  // Posts the unconsumed inbox and `txs` with the L1's current time; with `fault`, its state goes wrong
  // after that step. Returns the roots it claims (N + 1).
  std::vector<Hash32> post(const std::vector<Bytes>& txs, std::optional<size_t> fault = std::nullopt) {
    auto head = client_.head();
    REQUIRE(head.ok());
    auto inbox = client_.inbox(inbox_consumed_, 1000);
    REQUIRE(inbox.ok());
    std::vector<Bytes> steps;
    for (const auto& m : inbox->messages) steps.push_back(m.l2_tx);
    steps.insert(steps.end(), txs.begin(), txs.end());
    const uint64_t ts = head->timestamp;
    std::vector<Hash32> roots{Hash32::from(state_.root())};
    for (size_t i = 0; i < steps.size(); ++i) {
      std::vector<SmtKey> touched;
      ApplyOptions ao;
      ao.touched = &touched;
      REQUIRE(apply(params(), StepContext{ts, i < inbox->messages.size()}, steps[i], state_, ao).ok());
      if (fault && *fault == i) {
        for (const auto& k : touched)
          if (const Bytes* v = state_.find(k)) {
            Bytes w = *v;
            w.back() ^= 1;
            REQUIRE(state_.put(k, w).ok());
            break;
          }
        REQUIRE(state_.put(keccak256(std::string_view("fault")), Bytes{1}).ok());
      }
      roots.push_back(Hash32::from(state_.root()));
    }
    l1::PostBatchArgs args{
        head->next_batch_index, roots.front(), roots.back(), txs.size(), inbox->length, inbox->accumulator, ts};
    auto r = client_.post_batch(dev(devnet::kProposer), args, l1::compress_batch(txs));
    REQUIRE_MESSAGE(r.ok(), (r ? "" : r.error().code + ": " + r.error().message));
    inbox_consumed_ = inbox->length;
    return roots;
  }

 private:
  Genesis genesis_;
  FullState state_;
  l1::L1Client client_;
  uint64_t inbox_consumed_ = 0;
  uint64_t salt_ = 0;
};

}  // namespace

TEST_CASE("optrollup challenger: disputes only the wrong batch, survives kill -9 mid-game and wins") {
  const auto started = Clock::now();
  TempDir dir;
  const uint64_t genesis_time = static_cast<uint64_t>(std::time(nullptr));
  Process l1({binary(), "l1", "--data-dir", dir.file("l1"), "--listen", "127.0.0.1:0", "--block-time", "250ms",
              "--challenge-period", "120s", "--clock", "20s", "--clock-extension", "5s", "--genesis-time",
              std::to_string(genesis_time)},
             dir.file("l1.log"));
  const std::string url = l1.wait_for("listening on (http://127\\.0\\.0\\.1:[0-9]+)");

  const Genesis genesis = devnet::genesis(genesis_time);
  RemoteL1 port(url);
  auto cfg = port.config();
  REQUIRE(cfg.ok());
  REQUIRE(cfg->genesis_root == Hash32::from(genesis.root()));
  REQUIRE(cfg->clock_seconds == 20);

  const std::vector<std::string> challenger_args = {
      binary(),     "challenger",           "--l1",      url,           "--key",  dev(devnet::kChallenger).hex(),
      "--data-dir", dir.file("challenger"), "--metrics", "127.0.0.1:0", "--poll", "200ms"};
  auto challenger = std::make_unique<Process>(challenger_args, dir.file("challenger-1.log"));
  std::string metrics_url = challenger->wait_for("metrics on (http://127\\.0\\.0\\.1:[0-9]+)/metrics");

  // The proposer: stake, deposits through the inbox, a correct batch, then a wrong one.
  Proposer proposer(genesis, url);
  l1::L1Client& client = proposer.client();
  REQUIRE(client.register_proposer(dev(devnet::kProposer), cfg->min_proposer_stake).ok());
  for (size_t d = 0; d < 4; ++d) REQUIRE(client.deposit(dev(d), dev_addr(d), 100'000 * kUsdc).ok());
  uint64_t ts = client.head()->timestamp;
  const std::vector<Hash32> right = proposer.post(
      {proposer.report(devnet::kEth, 3000 * kUsdc, ts), proposer.report(devnet::kBtc, 60000 * kUsdc, ts)});
  std::vector<Bytes> txs;
  ts = client.head()->timestamp;
  for (size_t i = 0; i < 14; ++i) txs.push_back(proposer.trade(i % 4, (i + 1) % 4, 1 + i % 6, 100'000, 40 * kUsdc, ts));
  const std::vector<Hash32> wrong = proposer.post(txs, 9);
  REQUIRE(right.back() != wrong.back());

  std::map<uint64_t, std::vector<Hash32>> claimed{{0, right}, {1, wrong}};
  Defender defender(dev(devnet::kProposer), port, [&](uint64_t batch) -> std::optional<std::vector<Hash32>> {
    auto it = claimed.find(batch);
    if (it == claimed.end()) return std::nullopt;
    return it->second;
  });

  // Play: the defender answers from here; the challenger process is killed after its first move.
  bool restarted = false;
  std::optional<Game> ended;
  while (Clock::now() - started < 50s) {
    REQUIRE(defender.poll().ok());
    auto g = port.game(0);
    REQUIRE(g.ok());
    if (g->has_value()) {
      const Game& game = **g;
      if (!restarted && game.moves >= 1 && game.status == GameStatus::kOpen) {
        challenger->kill9();
        challenger = std::make_unique<Process>(challenger_args, dir.file("challenger-2.log"));
        metrics_url = challenger->wait_for("metrics on (http://127\\.0\\.0\\.1:[0-9]+)/metrics");
        restarted = true;
      }
      if (game.status != GameStatus::kOpen) {
        ended = game;
        break;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  INFO("challenger (first run): " << read_file(dir.file("challenger-1.log")));
  INFO("challenger (after kill -9): " << read_file(dir.file("challenger-2.log")));
  REQUIRE(restarted);
  REQUIRE(ended.has_value());
  CHECK(ended->batch == 1);
  CHECK(ended->challenger == dev_addr(devnet::kChallenger));
  CHECK(ended->status == GameStatus::kChallengerWon);
  CHECK(ended->end_reason == "step_proof");
  CHECK(ended->moves == ended->rounds + 1);
  CHECK(ended->steps == 14);
  // Only the wrong batch was disputed; it is removed, the right one stays.
  CHECK(port.games_of_batch(0)->empty());
  CHECK(port.games_of_batch(1)->size() == 1);
  CHECK(port.batch(1)->status == l1::BatchStatus::kRemoved);
  CHECK(port.batch(0)->status == l1::BatchStatus::kPending);
  CHECK(port.head()->tip_root == right.back());
  CHECK(port.account(dev_addr(devnet::kChallenger))->locked == 0);
  CHECK(port.account(dev_addr(devnet::kChallenger))->bond == 10'000 * l1::kTokenUnit + cfg->min_proposer_stake / 2);

  // The restarted agent resumed the game and reports the win; batch 0 verified, batch 1 found wrong.
  challenger->wait_for("resumed at L1 block [0-9]+ with 1 verified batches and 1 open games");
  challenger->wait_for("game 0 on batch 1: challenger_won");
  http::Client metrics(metrics_url);
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text = metrics.get("/metrics").body;
    if (metric(text, "optrollup_challenger_games_won_total") == 1) break;
    std::this_thread::sleep_for(100ms);
  }
  INFO(text);
  CHECK(metric(text, "optrollup_challenger_games_won_total") == 1);
  CHECK(metric(text, "optrollup_challenger_games_lost_total") == 0);
  CHECK(metric(text, "optrollup_challenger_games_open") == 0);
  CHECK(metric(text, "optrollup_challenger_batches_verified_total") >= 1);
  CHECK(metric(text, "optrollup_challenger_batches_wrong_total") == 1);
  CHECK(metric(text, "optrollup_challenger_moves_total") >= 1);
  // The first run verified batch 0 and disputed batch 1, and never disputed batch 0.
  const std::string first = read_file(dir.file("challenger-1.log"));
  CHECK(first.find("verified batch 0") != std::string::npos);
  CHECK(first.find("challenged batch 1") != std::string::npos);
  CHECK(first.find("challenged batch 0") == std::string::npos);
  // It was killed mid-game: the proof came from the restarted process.
  CHECK(first.find("chose part") != std::string::npos);
  CHECK(first.find("submitted the one-step proof") == std::string::npos);
  CHECK(challenger->log().find("submitted the one-step proof") != std::string::npos);

  CHECK(challenger->terminate() == 0);
  CHECK(l1.terminate() == 0);
  MESSAGE("wall time: " << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
                        << " ms");
}

}  // namespace opt::fp
