// The real `optrollup l1` process: actions over HTTP, kill -9 between (and during) steps, restart, and
// nothing that was acknowledged is lost. Ends with a clean SIGTERM shutdown.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "tests/bridge/bridge_fixture.h"
#include "tests/support/child_process.h"

namespace opt::l1::test {

namespace {

std::string binary() {
  if (const char* env = std::getenv("OPTROLLUP_BIN")) return env;
  return OPTROLLUP_BIN;
}

// One run of `optrollup l1` on a data directory; the API port is chosen by the kernel and read back
// from what the process prints.
class L1Process {
 public:
  L1Process(const std::string& data_dir, const std::string& log)
      : proc_(opt::test::command({binary(), "l1", "--data-dir", data_dir, "--listen", "127.0.0.1:0", "--block-time",
                                  "200ms", "--challenge-period", "60s"},
                                 log)) {
    auto url = proc_.wait_for("listening on (http://127\\.0\\.0\\.1:[0-9]+)", std::chrono::seconds(10));
    if (!url && !proc_.running()) FAIL("optrollup l1 exited early: " << proc_.output());
    if (!url) FAIL("optrollup l1 did not start: " << proc_.output());
    url_ = *url;
  }
  const std::string& url() const { return url_; }
  void kill9() {
    REQUIRE(proc_.pid() > 0);
    proc_.kill9();
  }
  int terminate() { return proc_.terminate(std::chrono::seconds(10)); }
  std::string log() const { return proc_.output(); }

 private:
  opt::test::ChildProcess proc_;
  std::string url_;
};

struct Acked {
  std::mutex mu;
  std::vector<Hash32> hashes;
  void add(const Hash32& h) {
    std::lock_guard lock(mu);
    hashes.push_back(h);
  }
};

void check_all_present(L1Client& c, Acked& acked) {
  std::lock_guard lock(acked.mu);
  for (const auto& h : acked.hashes) {
    auto a = c.find_action(h);
    REQUIRE(a.ok());
    CHECK_MESSAGE(a->has_value(), "acknowledged action " << h.hex() << " was lost");
  }
}

}  // namespace

TEST_CASE("optrollup l1: kill -9 between and during steps loses nothing acknowledged") {
  TempDir dir;
  std::string data = dir.file("data");
  Acked acked;
  uint64_t last_block = 0;
  Bytes batch_data;
  {
    L1Process p(data, dir.file("run1.log"));
    L1Client c(p.url());
    auto r = c.register_proposer(key(0), 1000 * kUsdc);
    REQUIRE_MESSAGE(r.ok(), why(r));
    acked.add(r->hash);
    for (size_t dev = 1; dev <= 3; ++dev) {
      auto d = c.deposit(key(dev), addr(dev), dev * kUsdc);
      REQUIRE(d.ok());
      acked.add(d->hash);
    }
    auto fw = c.forced_withdraw(key(4), 7);
    REQUIRE(fw.ok());
    acked.add(fw->hash);
    auto head = c.head();
    auto inbox = c.inbox(0);
    REQUIRE((head.ok() && inbox.ok()));
    batch_data = compress_batch(some_frames(4));
    PostBatchArgs args{0, head->tip_root, root_of(1), 4, inbox->length, inbox->accumulator, head->timestamp};
    auto pb = c.post_batch(key(0), args, batch_data);
    REQUIRE_MESSAGE(pb.ok(), why(pb));
    acked.add(pb->hash);
    last_block = c.head()->block;
    p.kill9();  // right after the acknowledgements, probably inside an open block
  }
  {
    L1Process p(data, dir.file("run2.log"));
    L1Client c(p.url());
    check_all_present(c, acked);
    CHECK(c.account(addr(0))->stake == 1000 * kUsdc);
    for (size_t dev = 1; dev <= 3; ++dev) {
      CHECK(c.account(addr(dev))->usdc == kGenesisUsdc - dev * kUsdc);
      CHECK(c.account(addr(dev))->nonce == 1);
    }
    Bytes data2;
    auto b = c.batch(0, &data2);
    REQUIRE(b.ok());
    CHECK(data2 == batch_data);
    CHECK(c.inbox(0)->length == 4);
    CHECK(c.head()->block >= last_block);
    CHECK(p.log().find("resumed") != std::string::npos);
  }

  // Kill while four clients submit as fast as they can: every acknowledged action survives, and each
  // sender's nonce is its acknowledged count (plus at most the one in flight when the process died).
  std::map<size_t, uint64_t> acked_per_dev;
  for (int round = 0; round < 3; ++round) {
    L1Process p(data, dir.file("run" + std::to_string(3 + round) + ".log"));
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    std::mutex count_mu;
    for (size_t dev = 5; dev <= 8; ++dev) {
      threads.emplace_back([&, dev] {
        L1Client c(p.url(), std::chrono::milliseconds(2000));
        while (!stop) {
          auto d = c.deposit(key(dev), addr(dev), 1);
          if (d.ok()) {
            acked.add(d->hash);
            std::lock_guard lock(count_mu);
            ++acked_per_dev[dev];
          } else if (d.error().status == 0) {
            break;  // the process is gone
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 170 * round));
    p.kill9();
    stop = true;
    for (auto& t : threads) t.join();
  }
  {
    L1Process p(data, dir.file("final.log"));
    L1Client c(p.url());
    check_all_present(c, acked);
    for (auto [dev, n] : acked_per_dev) {
      uint64_t nonce = c.account(addr(dev))->nonce;
      CHECK(nonce >= n);
      CHECK(nonce <= n + 3);  // one possibly unacknowledged action per killed round
      CHECK(c.account(addr(dev))->usdc == kGenesisUsdc - nonce);
    }
    MESSAGE("acknowledged actions checked after 4 kills: " << acked.hashes.size());
    CHECK(acked.hashes.size() > 20);
    // Clean shutdown on SIGTERM.
    CHECK(p.terminate() == 0);
    CHECK(p.log().find("SIGTERM received, shutting down") != std::string::npos);
  }
}

}  // namespace opt::l1::test
