// Crash drills: `optrollup l1`, `optrollup node --fault-at-batch F` and `optrollup challenger` as separate
// processes under a scripted load (signed orders that trade, L1 deposits, withdrawals), with the node
// posting a wrong root for L1 batch F so a dispute runs. At seeded points — twice during the load and once
// while the game is open — one of the three is killed with SIGKILL and restarted on the same data
// directory (and the same port). Afterwards:
//   - every order, withdrawal and L1 deposit that was acknowledged (HTTP 200) is still known;
//   - no L1 batch index was posted twice, the live batches form one chain and none carries the same data
//     as another (nothing posted twice);
//   - the node's root is the L1 tip, and the challenger re-executed every live batch and agreed;
//   - the dispute ended with the challenger winning: batch F removed, its work posted again honestly from
//     the last good root; no other batch was disputed and the challenger lost no bond.
// One line per seed says what was killed when and the outcome. A few seeds by default;
// OPTROLLUP_DRILL_SEEDS=N runs seeds 1..N, OPTROLLUP_DRILL_SEED=S runs one.
#include "tests/drills/drills_fixture.h"

namespace opt::drills {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count()) / 1000.0;
}

struct AckedOrder {
  std::string hash;
  uint64_t filled = 0;
};
struct AckedWithdrawal {
  size_t dev = 0;
  uint64_t index = 0;
};

// What the load got acknowledged, written by the load thread, read after it stopped.
struct Acked {
  std::mutex mu;
  std::vector<AckedOrder> orders;
  std::vector<AckedWithdrawal> withdrawals;
  std::vector<std::string> deposits;  // L1 action hashes
  std::atomic<uint64_t> steps{0}, failed{0};
};

// The L1 deposit action of docs/l1.md, signed here.
json deposit_body(uint64_t l1_chain, size_t dev, uint64_t amount, uint64_t nonce) {
  Hash32 digest = eip712_digest(l1_domain(l1_chain), StructEncoder(type_hash(kL1DepositType))
                                                         .address(dev_addr(dev))
                                                         .address(dev_addr(dev))
                                                         .uint(amount)
                                                         .uint(nonce)
                                                         .finish());
  return {{"type", "deposit"},
          {"action",
           {{"sender", dev_hex(dev)},
            {"recipient", dev_hex(dev)},
            {"amount", std::to_string(amount)},
            {"nonce", std::to_string(nonce)}}},
          {"signature", sign(digest, dev_key(dev))->hex()}};
}

// The scripted load: mostly pairs of crossing orders between two of the four traders, now and then an L1
// deposit or a withdrawal; every request once, whatever the answer (a failure is simply not acknowledged).
void load_loop(uint64_t seed, std::string api_url, std::string l1_url, Hash32 domain, uint64_t l1_chain,
               std::vector<uint64_t> instruments, std::atomic<bool>& stop, Acked& acked) {
  std::mt19937_64 rng(seed * 1'000'003 + 17);
  auto api = std::make_unique<http::Client>(api_url, 3s);
  auto l1 = std::make_unique<http::Client>(l1_url, 3s);
  auto attempt = [&](auto&& fn) {
    try {
      if (!fn()) acked.failed++;
    } catch (const std::exception&) {
      acked.failed++;
      // The process may be down (killed): new connections next time, and a moment for the restart.
      api = std::make_unique<http::Client>(api_url, 3s);
      l1 = std::make_unique<http::Client>(l1_url, 3s);
      std::this_thread::sleep_for(50ms);
    }
  };
  while (!stop) {
    acked.steps++;
    const uint64_t r = rng();
    const size_t a = r % 4, b = (a + 1 + (r >> 8) % 3) % 4;
    if (r % 12 < 10) {
      const uint64_t inst = instruments[(r >> 16) % instruments.size()];
      const uint64_t qty = 100'000 * (1 + (r >> 20) % 3);
      const uint64_t price = 45'000'000 + 1'000'000 * ((r >> 24) % 11);
      for (auto side : {std::pair{a, false}, std::pair{b, true}}) {
        const auto dev = side.first;  // not a structured binding: clang 14 cannot capture one in a lambda
        const bool buy = side.second;
        attempt([&] {
          Answer ans = call(*api, "POST", "/v1/orders",
                            signed_order(domain, make_order(dev, inst, buy, qty, price), dev).dump());
          if (ans.status != 200) return false;
          std::lock_guard lock(acked.mu);
          acked.orders.push_back({ans.body.at("orderHash"), u64(ans.body.at("filled"))});
          return true;
        });
      }
    } else if (r % 12 == 10) {
      attempt([&] {
        Answer acc = call(*l1, "GET", "/l1/v1/accounts/" + dev_hex(a));
        if (acc.status != 200) return false;
        Answer ans = call(*l1, "POST", "/l1/v1/actions",
                          deposit_body(l1_chain, a, 1'000'000'000, u64(acc.body.at("nonce"))).dump());
        if (ans.status != 200) return false;
        std::lock_guard lock(acked.mu);
        acked.deposits.push_back(ans.body.at("hash"));
        return true;
      });
    } else {
      attempt([&] {
        Answer acc = call(*api, "GET", "/v1/accounts/" + dev_hex(a));
        if (acc.status != 200) return false;
        Answer ans = call(*api, "POST", "/v1/withdrawals",
                          signed_withdraw(domain, a, 1'000'000, u64(acc.body.at("nonce"))).dump());
        if (ans.status != 200) return false;
        std::lock_guard lock(acked.mu);
        acked.withdrawals.push_back({a, u64(ans.body.at("index"))});
        return true;
      });
    }
  }
}

std::set<uint64_t> verified_in(const std::string& log) {
  std::set<uint64_t> out;
  std::regex re(R"(verified batch ([0-9]+): .* ok)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it)
    out.insert(std::stoull((*it)[1]));
  return out;
}

json all_events(http::Client& l1) {
  json out = json::array();
  for (uint64_t from = 0;;) {
    json page = get_ok(l1, "/l1/v1/events?from=" + std::to_string(from));
    for (auto& e : page.at("events")) out.push_back(e);
    if (!page.value("more", false)) break;
    from = u64(page.at("next"));
  }
  return out;
}

// The live batches form one chain from the genesis root to the tip, and no two of them are the same
// posting (same start root, inbox position and data). Two inbox-only batches may carry the same (empty)
// data, so the data alone does not identify a batch.
void check_chain(http::Client& l1) {
  std::string prev = get_ok(l1, "/l1/v1/config").at("genesisRoot");
  std::set<std::string> seen;
  for (const auto& b : l1_batches(l1)) {
    if (b.at("status") == "removed") continue;
    INFO("L1 batch " << b.dump().substr(0, 700));
    CHECK(b.at("prevRoot").get<std::string>() == prev);
    CHECK(seen.insert(b.at("prevRoot").get<std::string>() + b.at("dataHash").get<std::string>() +
                      std::to_string(u64(b.at("inboxFrom"))))
              .second);
    prev = b.at("postRoot");
  }
  CHECK(get_ok(l1, "/l1/v1/head").at("tipRoot").get<std::string>() == prev);
}

// One seeded drill; returns its summary line (the checks inside are doctest assertions).
std::string drill(uint64_t seed) {
  const auto t0 = Clock::now();
  std::mt19937_64 rng(seed);
  TempDir dir;
  const uint64_t fault = 2 + rng() % 3;
  const uint64_t genesis_time = now_seconds();
  std::map<std::string, int> runs;
  std::map<std::string, std::string> logs_text;  // the output of every finished run, by party
  auto log_path = [&](const std::string& who) { return dir.file(who + "-" + std::to_string(++runs[who]) + ".log"); };

  // ---- the three parties ----
  auto l1 = std::make_unique<Party>("l1", l1_args(dir.file("l1"), "127.0.0.1:0", genesis_time), log_path("l1"));
  const std::string l1_url = l1_url_of(*l1);
  auto node =
      std::make_unique<Party>("node", node_args(dir.file("node"), l1_url, "127.0.0.1:0", fault), log_path("node"));
  const std::string api_url = api_url_of(*node);
  auto ch =
      std::make_unique<Party>("challenger", challenger_args(dir.file("challenger"), l1_url), log_path("challenger"));
  ch->wait_for("watching");
  auto restart = [&](const std::string& who) {
    if (who == "l1") {
      l1 = std::make_unique<Party>("l1", l1_args(dir.file("l1"), "127.0.0.1:" + port_of(l1_url), genesis_time),
                                   log_path("l1"));
      REQUIRE(l1_url_of(*l1) == l1_url);
    } else if (who == "node") {
      node = std::make_unique<Party>(
          "node", node_args(dir.file("node"), l1_url, "127.0.0.1:" + port_of(api_url), fault), log_path("node"));
      REQUIRE(api_url_of(*node) == api_url);
    } else {
      ch = std::make_unique<Party>("challenger", challenger_args(dir.file("challenger"), l1_url),
                                   log_path("challenger"));
      ch->wait_for("watching");
    }
  };
  auto party = [&](const std::string& who) -> Party& { return who == "l1" ? *l1 : who == "node" ? *node : *ch; };
  auto kill_and_restart = [&](const std::string& who) {
    Party& p = party(who);
    REQUIRE_MESSAGE(p.running(), who << " is not running before its kill:\n" << p.output());
    p.kill9();
    logs_text[who] += p.output();
    restart(who);
  };
  INFO("seed " << seed << ", logs in " << dir.file(""));

  http::Client l1c(l1_url, 10s), api(api_url, 10s);
  const json config = get_ok(api, "/v1/config");
  const Hash32 domain = l2_domain(config);
  const uint64_t l1_chain = u64(config.at("l1ChainId"));
  const uint64_t bond_before = u64(get_ok(l1c, "/l1/v1/accounts/" + challenger_hex()).at("bond"));
  for (size_t dev = 0; dev < 4; ++dev) l1_deposit(l1c, l1_chain, dev, 200'000'000'000);
  for (size_t dev = 0; dev < 4; ++dev) wait_collateral(api, dev, 200'000'000'000);
  const std::vector<uint64_t> calls = {u64(first_call(api, 0).at("id")), u64(first_call(api, 1).at("id"))};

  // ---- load, with a kill at a seeded moment, one while the game is open, and one more ----
  Acked acked;
  std::atomic<bool> stop{false};
  std::thread load(load_loop, seed, api_url, l1_url, domain, l1_chain, calls, std::ref(stop), std::ref(acked));
  struct Joiner {  // a failed REQUIRE below must not leave the load thread running
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{stop, load};
  const std::vector<std::string> names = {"node", "l1", "challenger"};
  std::vector<std::string> story;
  auto kill_now = [&](const std::string& when) {
    const std::string who = names[rng() % names.size()];
    story.push_back(who + " " + when + " (load step " + std::to_string(acked.steps.load()) +
                    ", t=" + std::to_string(seconds_since(t0)).substr(0, 4) + "s)");
    kill_and_restart(who);
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(800 + rng() % 2000));
  kill_now("during the load");
  // The dispute: wait until the game on batch F is open and has `moves` moves, then kill someone.
  const uint64_t moves = rng() % 4;
  bool game_seen = false, game_open = false;
  uint64_t game_moves = 0;
  const bool game_ok = wait_until(
      90s,
      [&] {
        try {
          http::Client c(l1_url, 3s);
          Answer g = call(c, "GET", "/l1/v1/games?batch=" + std::to_string(fault));
          if (g.status != 200) return false;
          for (const auto& x : items(g.body, "games")) {
            game_seen = true;
            game_open = x.at("status") == "open";
            game_moves = u64(x.at("moves"));
            if (!game_open || game_moves >= moves) return true;
          }
        } catch (const std::exception&) {
        }
        return false;
      },
      50ms);
  INFO("node:\n" << node->output() << "\nchallenger:\n" << ch->output());
  REQUIRE_MESSAGE(game_ok, "no game on batch " << fault << " (seen: " << game_seen << ")");
  kill_now(game_open ? "in the dispute (after " + std::to_string(game_moves) + " moves)"
                     : "just after the dispute ended (" + std::to_string(game_moves) + " moves)");
  for (uint64_t more = 1 + rng() % 2; more > 0; --more) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1500));
    kill_now("during the load");
  }
  std::this_thread::sleep_for(500ms);
  stop = true;
  load.join();
  (void)joiner;

  // ---- the end state ----
  http::Client l1e(l1_url, 10s), apie(api_url, 10s);
  // The dispute ends, with the challenger winning.
  json games;
  const bool ended = wait_until(
      120s,
      [&] {
        games = items(get_ok(l1e, "/l1/v1/games?batch=" + std::to_string(fault)), "games");
        if (games.empty()) return false;
        for (const auto& g : games)
          if (g.at("status") == "open") return false;
        return true;
      },
      100ms);
  INFO("games on batch " << fault << ": " << games.dump());
  REQUIRE(ended);
  for (const auto& g : games) {
    CHECK(g.at("status") == "challenger_won");
    CHECK(g.at("challenger") == challenger_hex());
  }
  // No other batch was disputed.
  json every_game = items(get_ok(l1e, "/l1/v1/games"), "games");
  for (const auto& g : every_game) CHECK(u64(g.at("batch")) == fault);
  json removed = get_ok(l1e, "/l1/v1/batches/" + std::to_string(fault));
  CHECK(removed.at("status") == "removed");

  // Everything the node executed is posted and the inbox consumed: root = L1 tip.
  const bool done = wait_until(
      90s,
      [&] {
        if (!drained(apie, l1e)) return false;
        json head = get_ok(l1e, "/l1/v1/head");
        json tip = get_ok(l1e, "/l1/v1/batches/" + std::to_string(u64(head.at("tipBatch"))));
        return u64(tip.at("inboxTo")) == u64(head.at("inboxLength"));
      },
      100ms);
  INFO("health " << get_ok(apie, "/v1/health").dump() << "\nhead " << get_ok(l1e, "/l1/v1/head").dump());
  REQUIRE_MESSAGE(done, "the node did not post everything it executed");
  check_chain(l1e);

  // The removed work was posted again, honestly, from the last good root.
  bool reposted = false;
  for (const auto& b : l1_batches(l1e))
    if (b.at("status") != "removed" && b.at("prevRoot") == removed.at("prevRoot") &&
        b.at("dataHash") == removed.at("dataHash"))
      reposted = u64(b.at("index")) > fault;
  CHECK_MESSAGE(reposted, "batch " << fault << "'s work was not posted again");

  // No batch index posted twice, and the proposer's batch_posted events name distinct indexes.
  std::map<uint64_t, int> posted;
  for (const auto& e : all_events(l1e))
    if (e.at("type") == "batch_posted") posted[u64(e.at("fields").at("index"))]++;
  for (const auto& entry : posted)  // not a structured binding: clang 14 cannot capture one in a lambda
    CHECK_MESSAGE(entry.second == 1, "L1 batch " << entry.first << " posted " << entry.second << " times");

  // The challenger re-executed every live batch from the L1's data and agreed.
  const uint64_t tip = u64(get_ok(l1e, "/l1/v1/head").at("tipBatch"));
  std::set<uint64_t> verified;
  REQUIRE(wait_until(30s, [&] {
    verified = verified_in(logs_text["challenger"] + ch->output());
    return verified.count(tip) == 1;
  }));
  for (const auto& b : l1_batches(l1e)) {
    if (b.at("status") == "removed") continue;
    CHECK_MESSAGE(verified.count(u64(b.at("index"))) == 1,
                  "live batch " << b.at("index") << " was not verified by the challenger");
  }
  CHECK(u64(get_ok(l1e, "/l1/v1/head").at("tipBatch")) >= fault);

  // The honest challenger lost no bond (it won some of the proposer's stake) and has none locked.
  json acc = get_ok(l1e, "/l1/v1/accounts/" + challenger_hex());
  CHECK(u64(acc.at("bond")) > bond_before);
  CHECK(u64(acc.at("locked")) == 0);

  // Nothing acknowledged was lost.
  size_t lost_orders = 0, lost_withdrawals = 0, lost_deposits = 0;
  for (const auto& o : acked.orders) {
    Answer r = call(apie, "GET", "/v1/orders/" + o.hash);
    if (r.status != 200) {
      if (++lost_orders <= 3) MESSAGE("acknowledged order " << o.hash << " lost: " << r.status << " " << r.raw);
      continue;
    }
    CHECK(u64(r.body.at("filled")) >= o.filled);
  }
  std::map<size_t, std::set<uint64_t>> known;
  for (size_t dev = 0; dev < 4; ++dev)
    for (const auto& w : items(get_ok(apie, "/v1/withdrawals/" + dev_hex(dev)), "withdrawals"))
      known[dev].insert(u64(w.at("index")));
  for (const auto& w : acked.withdrawals) lost_withdrawals += known[w.dev].count(w.index) == 0;
  for (const auto& h : acked.deposits) lost_deposits += call(l1e, "GET", "/l1/v1/actions/" + h).status != 200;
  CHECK_MESSAGE(lost_orders == 0, lost_orders << " acknowledged orders lost");
  CHECK_MESSAGE(lost_withdrawals == 0, lost_withdrawals << " acknowledged withdrawals lost");
  CHECK_MESSAGE(lost_deposits == 0, lost_deposits << " acknowledged deposits lost");
  size_t filled = 0;
  for (const auto& o : acked.orders) filled += o.filled > 0;
  CHECK(filled > 0);  // the load traded

  // None of the three stopped by itself.
  for (const auto& who : names) CHECK_MESSAGE(party(who).running(), who << " stopped:\n" << party(who).output());
  const std::string node_log = logs_text["node"] + node->output();
  CHECK(node_log.find("FATAL") == std::string::npos);
  // Batches the node found already posted after a restart (killed between the L1's answer and its log).
  size_t adopted = 0;
  for (size_t at = node_log.find(": adopted"); at != std::string::npos; at = node_log.find(": adopted", at + 1))
    ++adopted;

  std::ostringstream line;
  line << "seed " << seed << ": wrong root at batch " << fault << "; killed ";
  for (size_t i = 0; i < story.size(); ++i) line << (i ? ", " : "") << story[i];
  line << "; acknowledged " << acked.orders.size() << " orders, " << acked.deposits.size() << " deposits, "
       << acked.withdrawals.size() << " withdrawals (" << acked.failed.load() << " refused or cut off); "
       << games.size() << " game(s), challenger won in " << u64(games[0].at("moves")) << " moves; " << tip + 1
       << " L1 batches (" << adopted << " adopted after a restart); "
       << (lost_orders + lost_withdrawals + lost_deposits == 0 ? "nothing lost" : "LOST SOMETHING") << "; "
       << std::to_string(seconds_since(t0)).substr(0, 5) << " s";
  return line.str();
}

}  // namespace

TEST_CASE("drills: kill -9 of the node, the L1 and the challenger under load, with a dispute in progress") {
  // One subcase per seed: a failed seed is reported by name and the others still run.
  for (uint64_t seed : drill_seeds(5)) {
    SUBCASE(("seed " + std::to_string(seed)).c_str()) {
      const std::string line = drill(seed);
      MESSAGE(line);
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    }
  }
}

}  // namespace opt::drills
