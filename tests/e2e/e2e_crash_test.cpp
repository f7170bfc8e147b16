// kill -9 of the devnet while several clients post signed orders; a restart on the same data directory
// keeps every acknowledged order (a 200 answer is a promise: docs/api.md, "Conventions"), posts no batch
// twice, keeps the chain of commitments intact, and comes back to exactly the root it had.
#include <atomic>
#include <mutex>

#include "tests/e2e/e2e_fixture.h"

namespace opt::e2e {

namespace {

struct Acked {
  std::string hash;
  std::string status;
  uint64_t filled = 0;
};

struct Load {
  std::mutex mu;
  std::vector<Acked> acked;
  std::atomic<uint64_t> refused{0}, sent{0};
  std::atomic<bool> stop{false};
};

// One trader: alternating buys and sells around 50 USDC on two calls, until told to stop or the server
// goes away (the kill). Only 200 answers count as acknowledged.
void trade_loop(const std::string& api_url, const Hash32& domain, size_t dev, std::vector<uint64_t> instruments,
                Load& load) {
  http::Client api(api_url, 5s);
  std::mt19937_64 rng(dev * 7919 + 1);
  for (int i = 0; i < 3000 && !load.stop; ++i) {
    const uint64_t inst = instruments[rng() % instruments.size()];
    const bool buy = (i + dev) % 2 == 0;
    const uint64_t qty = 100'000 * (1 + rng() % 5);
    const uint64_t price = 45'000'000 + 1'000'000 * (rng() % 11);
    Order o = make_order(dev, inst, buy, qty, price);
    Answer a;
    try {
      a = call(api, "POST", "/v1/orders", signed_order(domain, o, dev).dump());
    } catch (const std::exception&) {
      return;  // the devnet is gone
    }
    load.sent++;
    if (a.status == 200) {
      std::lock_guard lock(load.mu);
      load.acked.push_back({a.body.at("orderHash"), a.body.at("status"), u64(a.body.at("filled"))});
    } else {
      load.refused++;
    }
  }
}

// The indexes of the L1 batches the challenger of this devnet log verified.
std::set<uint64_t> verified_in(const std::string& log) {
  std::set<uint64_t> out;
  std::regex re(R"(challenger +verified batch ([0-9]+): .* ok)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it)
    out.insert(std::stoull((*it)[1]));
  return out;
}

}  // namespace

TEST_CASE("e2e crash: kill -9 under order load loses nothing acknowledged and restarts to the same root") {
  TempDir dir;
  const std::string data = dir.file("data");
  const std::vector<std::string> flags = {"--challenge-period", "5s", "--clock", "10s", "--batch-interval", "500ms"};
  Load load;
  std::set<uint64_t> verified;
  uint64_t batches_before_kill = 0;

  // ---- run 1: deposits, then four traders; kill -9 in the middle of it ----
  {
    Devnet net(data, dir.file("run1.log"), flags);
    INFO("run 1 log: " << dir.file("run1.log"));
    http::Client api(net.api(), 30s), l1(net.l1(), 30s);
    json config = get_ok(api, "/v1/config");
    const Hash32 domain = l2_domain(config);
    for (size_t dev = 0; dev < 4; ++dev) l1_deposit(l1, u64(config.at("l1ChainId")), dev, 200'000'000'000);
    for (size_t dev = 0; dev < 4; ++dev) wait_collateral(api, dev, 200'000'000'000);
    std::vector<uint64_t> calls = {u64(first_call(api, 0).at("id")), u64(first_call(api, 1).at("id"))};

    const uint64_t posted0 = u64(get_ok(api, "/v1/health").at("batchesPosted"));
    std::vector<std::thread> traders;
    for (size_t dev = 0; dev < 4; ++dev)
      traders.emplace_back(trade_loop, net.api(), domain, dev, calls, std::ref(load));
    // Load for a while (several batches posted under it), then the kill, with the traders still sending.
    wait_until(
        20s,
        [&] {
          {
            std::lock_guard lock(load.mu);
            if (load.acked.size() < 400) return false;
          }
          return u64(get_ok(api, "/v1/health").at("batchesPosted")) >= posted0 + 3;
        },
        50ms);
    std::this_thread::sleep_for(300ms);
    net.kill9();
    load.stop = true;
    for (auto& t : traders) t.join();
    verified = verified_in(net.log());
    batches_before_kill = verified.empty() ? 0 : *verified.rbegin() + 1;
  }
  MESSAGE("acknowledged " << load.acked.size() << " orders (" << load.refused.load() << " refused) before the kill; "
                          << batches_before_kill << " batches verified");
  REQUIRE(load.acked.size() >= 50);
  size_t filled_acks = 0;
  for (const auto& a : load.acked) filled_acks += a.filled > 0;
  CHECK(filled_acks > 0);  // the load traded, not only rested

  // ---- run 2, same data directory, no oracle feeder (so the root moves only with what was logged) ----
  std::string root_before;
  {
    std::vector<std::string> quiet = flags;
    quiet.push_back("--no-oracle");
    Devnet net(data, dir.file("run2.log"), quiet);
    INFO("run 2 log: " << dir.file("run2.log"));
    http::Client api(net.api(), 30s), l1(net.l1(), 30s);

    // Every acknowledged order is there, and no fill went backwards.
    size_t missing = 0;
    for (const auto& a : load.acked) {
      Answer r = call(api, "GET", "/v1/orders/" + a.hash);
      if (r.status != 200) {
        if (++missing <= 5)
          MESSAGE("acknowledged order " << a.hash << " (" << a.status << ") lost: " << r.status << " " << r.raw);
        continue;
      }
      CHECK(u64(r.body.at("filled")) >= a.filled);
      if (a.status == "filled") CHECK(r.body.at("status") == "filled");
    }
    CHECK(missing == 0);

    // The node posts what it had not posted yet; then everything it executed is on the L1.
    INFO("health " << get_ok(api, "/v1/health").dump() << " head " << get_ok(l1, "/l1/v1/head").dump());
    REQUIRE(wait_until(
        60s, [&] { return drained(api, l1); }, 50ms));
    check_batch_chain(l1);
    root_before = get_ok(api, "/v1/health").at("root");

    // The challenger re-executed every live batch from the L1's data and agreed: verified, and no game.
    const uint64_t tip = u64(get_ok(l1, "/l1/v1/head").at("tipBatch"));
    REQUIRE(wait_until(30s, [&] {
      std::set<uint64_t> v = verified_in(net.log());
      return v.count(tip) > 0;
    }));
    std::set<uint64_t> all = verified;
    for (uint64_t b : verified_in(net.log())) all.insert(b);
    for (uint64_t b = 0; b <= tip; ++b) {
      INFO("L1 batch " << b);
      CHECK(all.count(b) == 1);
    }
    for (const auto& e : items(get_ok(l1, "/l1/v1/events?from=0"), "events")) CHECK(e.at("type") != "game_started");
    CHECK(net.log().find("challenging") == std::string::npos);

    // The root must not move while nothing happens.
    std::this_thread::sleep_for(1500ms);
    CHECK(get_ok(api, "/v1/health").at("root") == root_before);
    net.kill9();  // idle this time
  }

  // ---- run 3: the replay of the log gives exactly the same root ----
  {
    std::vector<std::string> quiet = flags;
    quiet.push_back("--no-oracle");
    Devnet net(data, dir.file("run3.log"), quiet);
    INFO("run 3 log: " << dir.file("run3.log"));
    http::Client api(net.api(), 30s), l1(net.l1(), 30s);
    CHECK(get_ok(api, "/v1/health").at("root") == root_before);
    CHECK(get_ok(l1, "/l1/v1/head").at("tipRoot") == root_before);
    std::this_thread::sleep_for(1500ms);
    CHECK(get_ok(api, "/v1/health").at("root") == root_before);
    check_batch_chain(l1);
    for (const auto& a : load.acked) {
      Answer r = call(api, "GET", "/v1/orders/" + a.hash);
      if (r.status != 200) {
        CHECK_MESSAGE(false, "order " << a.hash << " lost after the second restart");
        break;
      }
    }
    CHECK(net.terminate() == 0);
  }
}

}  // namespace opt::e2e
