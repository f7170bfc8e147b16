// Fault drills: the L1, the node and the challenger on a data directory that is read-only, or full (a
// file size limit, RLIMIT_FSIZE, in the child: writes past it fail with EFBIG as on a full disk), at
// startup and — for "full" — in the middle of a run under load. Each must stop by itself within seconds
// with a non-zero exit (not a signal) and one clear line on stderr that names its data file and the cause;
// once the condition is gone it starts again on the same directory with its data intact and nothing it
// acknowledged lost.
#include "tests/drills/drills_fixture.h"

namespace opt::drills {

namespace {

// The process must stop by itself, cleanly, and say why in one line naming `file` and containing `cause`.
void expect_clean_failure(Party& p, const std::string& file, const std::vector<std::string>& causes,
                          std::chrono::milliseconds within = 10s) {
  auto status = p.wait_exit(within);
  INFO(p.name() << " output:\n" << p.output());
  REQUIRE_MESSAGE(status.has_value(), p.name() << " did not stop within " << within.count() << " ms");
  CHECK_MESSAGE(!p.signalled(), p.name() << " died of a signal (" << *status << ")");
  CHECK(*status != 0);
  std::vector<std::string> lines = lines_of(p.errors());
  REQUIRE_MESSAGE(lines.size() == 1, p.name() << " stderr is not one line:\n" << p.errors());
  const std::string& line = lines[0];
  CHECK_MESSAGE(line.find(file) != std::string::npos, "stderr does not name " << file << ": " << line);
  bool named = false;
  for (const auto& c : causes) named |= line.find(c) != std::string::npos;
  CHECK_MESSAGE(named, "stderr does not give the cause: " << line);
  CHECK(line.find("terminate") == std::string::npos);
  MESSAGE(p.name() << ": exit " << *status << ": " << line);
}

const std::vector<std::string> kReadOnly = {"read-only", "Permission denied"};
const std::vector<std::string> kFull = {"no space left", "disk is full", "disk full"};

std::set<uint64_t> verified_in(const std::string& log) {
  std::set<uint64_t> out;
  std::regex re(R"(verified batch ([0-9]+): )");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it)
    out.insert(std::stoull((*it)[1]));
  return out;
}

// The state the three parties leave on disk after a clean stop, to compare with after a fault.
struct Saved {
  json l1_head;
  std::string node_root;
  size_t verified = 0;
};

}  // namespace

TEST_CASE("drills: read-only and full data directories give one clear error, a clean stop, and no damage") {
  TempDir dir;
  std::filesystem::permissions(dir.file(""), std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                                 std::filesystem::perms::group_exec |
                                                 std::filesystem::perms::others_read |
                                                 std::filesystem::perms::others_exec);
  const std::string l1_dir = dir.file("l1"), node_dir = dir.file("node"), ch_dir = dir.file("challenger");
  const uint64_t genesis_time = now_seconds();
  const auto started = std::chrono::steady_clock::now();
  int run = 0;
  auto log = [&](const std::string& who) { return dir.file(who + "-" + std::to_string(++run) + ".log"); };

  // ---- a little history on disk: a stake, a deposit, its batch posted and verified ----
  Saved saved;
  {
    Party l1("l1", l1_args(l1_dir, "127.0.0.1:0", genesis_time), log("l1"));
    const std::string l1_url = l1_url_of(l1);
    Party node("node", node_args(node_dir, l1_url, "127.0.0.1:0", std::nullopt, false), log("node"));
    const std::string api_url = api_url_of(node);
    Party ch("challenger", challenger_args(ch_dir, l1_url), log("challenger"));
    ch.wait_for("watching");
    http::Client l1c(l1_url, 10s), api(api_url, 10s);
    const uint64_t l1_chain = u64(get_ok(l1c, "/l1/v1/config").at("chainId"));
    l1_deposit(l1c, l1_chain, 0, 50'000'000'000);
    wait_collateral(api, 0, 50'000'000'000, 30s);
    REQUIRE(wait_until(30s, [&] { return drained(api, l1c); }));
    const uint64_t tip = u64(get_ok(l1c, "/l1/v1/head").at("tipBatch"));
    REQUIRE(wait_until(30s, [&] { return verified_in(ch.output()).count(tip) == 1; }));
    saved.node_root = get_ok(api, "/v1/health").at("root");
    saved.verified = verified_in(ch.output()).size();
    CHECK(ch.terminate() == 0);
    CHECK(node.terminate() == 0);
    saved.l1_head = get_ok(l1c, "/l1/v1/head");
    CHECK(l1.terminate() == 0);
  }
  REQUIRE(saved.node_root == saved.l1_head.at("tipRoot"));

  // Starts the L1 normally and checks it kept its chain; returns the party (running).
  auto l1_intact = [&]() {
    auto l1 = std::make_unique<Party>("l1", l1_args(l1_dir, "127.0.0.1:0", genesis_time), log("l1"));
    http::Client c(l1_url_of(*l1), 10s);
    json head = get_ok(c, "/l1/v1/head");
    CHECK(head.at("tipRoot") == saved.l1_head.at("tipRoot"));
    CHECK(head.at("nextBatchIndex") == saved.l1_head.at("nextBatchIndex"));
    CHECK(u64(head.at("block")) >= u64(saved.l1_head.at("block")));
    CHECK(l1->output().find("resumed at block") != std::string::npos);
    return l1;
  };
  auto node_intact = [&](const std::string& l1_url) {
    Party node("node", node_args(node_dir, l1_url, "127.0.0.1:0", std::nullopt, false), log("node"));
    http::Client api(api_url_of(node), 10s);
    CHECK(get_ok(api, "/v1/health").at("root") == saved.node_root);
    CHECK(i64(get_ok(api, "/v1/accounts/" + dev_hex(0)).at("collateral")) == 50'000'000'000);
    CHECK(node.terminate() == 0);
  };
  // `more`: it may have verified batches posted since (then it resumes with at least as many).
  auto challenger_intact = [&](const std::string& l1_url, bool more = false) {
    Party ch("challenger", challenger_args(ch_dir, l1_url), log("challenger"));
    const size_t resumed = std::stoull(ch.wait_for(R"(resumed at L1 block [0-9]+ with ([0-9]+) verified batches)"));
    if (more)
      CHECK(resumed >= saved.verified);
    else
      CHECK(resumed == saved.verified);
    CHECK(ch.terminate() == 0);
  };

  SUBCASE("read-only") {
    for (const auto& d : {l1_dir, node_dir, ch_dir}) set_writable(d, false);
    const Limits ro{std::nullopt, true};
    {
      Party l1("l1 (read-only)", l1_args(l1_dir, "127.0.0.1:0", genesis_time), log("l1"), ro);
      expect_clean_failure(l1, "l1.sqlite", kReadOnly);
    }
    // A data directory that cannot even be created.
    std::filesystem::create_directories(dir.file("locked"));
    set_writable(dir.file("locked"), false);
    {
      Party l1("l1 (uncreatable)", l1_args(dir.file("locked/l1"), "127.0.0.1:0", genesis_time), log("l1"), ro);
      expect_clean_failure(l1, "locked/l1", kReadOnly);
    }
    set_writable(l1_dir, true);
    auto l1 = l1_intact();
    const std::string l1_url = l1_url_of(*l1);
    {
      Party node("node (read-only)", node_args(node_dir, l1_url, "127.0.0.1:0", std::nullopt, false), log("node"), ro);
      expect_clean_failure(node, "node.sqlite", kReadOnly);
      Party fresh("node (uncreatable)", node_args(dir.file("locked/node"), l1_url, "127.0.0.1:0"), log("node"), ro);
      expect_clean_failure(fresh, "locked/node", kReadOnly);
      Party ch("challenger (read-only)", challenger_args(ch_dir, l1_url), log("challenger"), ro);
      expect_clean_failure(ch, "challenger-", kReadOnly);
      Party ch2("challenger (uncreatable)", challenger_args(dir.file("locked/ch"), l1_url), log("challenger"), ro);
      expect_clean_failure(ch2, "locked/ch", kReadOnly);
    }
    set_writable(node_dir, true);
    set_writable(ch_dir, true);
    node_intact(l1_url);
    challenger_intact(l1_url);
    CHECK(l1->terminate() == 0);
  }

  SUBCASE("full at startup") {
    const Limits full{0, false};
    {
      Party l1("l1 (full)", l1_args(l1_dir, "127.0.0.1:0", genesis_time), log("l1"), full);
      expect_clean_failure(l1, "l1.sqlite", kFull);
    }
    {
      Party l1("l1 (full, new)", l1_args(dir.file("new-l1"), "127.0.0.1:0", genesis_time), log("l1"), full);
      expect_clean_failure(l1, "l1.sqlite", kFull);
    }
    // The failed creation left at most an empty file: the chain is created on the next start.
    {
      Party l1("l1 (new, after the fault)", l1_args(dir.file("new-l1"), "127.0.0.1:0", genesis_time), log("l1"));
      l1_url_of(l1);
      CHECK(l1.output().find("created at block 0") != std::string::npos);
      CHECK(l1.terminate() == 0);
    }
    auto l1 = l1_intact();
    const std::string l1_url = l1_url_of(*l1);
    {
      Party node("node (full)", node_args(node_dir, l1_url, "127.0.0.1:0", std::nullopt, false), log("node"), full);
      expect_clean_failure(node, "node.sqlite", kFull);
      Party ch("challenger (full)", challenger_args(ch_dir, l1_url), log("challenger"), full);
      expect_clean_failure(ch, "challenger-", kFull);
    }
    node_intact(l1_url);
    challenger_intact(l1_url);
    CHECK(l1->terminate() == 0);
  }

  SUBCASE("full in the middle of a run, under load") {
    // The L1: deposits as fast as one client can send them, and a block sealed every 250 ms, until its log
    // hits the limit. Every acknowledged deposit must be there after a restart without the limit.
    std::vector<std::string> acked_deposits;
    {
      Party l1("l1 (filling up)", l1_args(l1_dir, "127.0.0.1:0", genesis_time), log("l1"),
               Limits{tree_bytes(l1_dir) + 256 * 1024, false});
      http::Client c(l1_url_of(l1), 5s);
      const uint64_t l1_chain = u64(get_ok(c, "/l1/v1/config").at("chainId"));
      size_t refused = 0;
      for (int i = 0; i < 5000 && l1.running(); ++i) {
        try {
          Answer a = call(c, "POST", "/l1/v1/actions", [&] {
            uint64_t nonce = u64(get_ok(c, "/l1/v1/accounts/" + dev_hex(1)).at("nonce"));
            Hash32 digest = eip712_digest(l1_domain(l1_chain), StructEncoder(type_hash(kL1DepositType))
                                                                   .address(dev_addr(1))
                                                                   .address(dev_addr(1))
                                                                   .uint(1'000'000)
                                                                   .uint(nonce)
                                                                   .finish());
            return json{{"type", "deposit"},
                        {"action",
                         {{"sender", dev_hex(1)},
                          {"recipient", dev_hex(1)},
                          {"amount", "1000000"},
                          {"nonce", std::to_string(nonce)}}},
                        {"signature", sign(digest, dev_key(1))->hex()}}
                .dump();
          }());
          if (a.status == 200)
            acked_deposits.push_back(a.body.at("hash"));
          else {
            ++refused;
            CHECK_MESSAGE(a.status == 503, "a refusal for a full disk is 503, not " << a.status << " " << a.raw);
          }
        } catch (const std::exception&) {
          break;  // gone
        }
      }
      expect_clean_failure(l1, "l1.sqlite", kFull, 20s);
      MESSAGE("L1: " << acked_deposits.size() << " deposits acknowledged, " << refused << " refused before it stopped");
    }
    REQUIRE(acked_deposits.size() > 5);
    auto l1 = std::make_unique<Party>("l1", l1_args(l1_dir, "127.0.0.1:0", genesis_time), log("l1"));
    const std::string l1_url = l1_url_of(*l1);
    {
      http::Client c(l1_url, 10s);
      size_t lost = 0;
      for (const auto& h : acked_deposits) lost += call(c, "GET", "/l1/v1/actions/" + h).status != 200;
      CHECK_MESSAGE(lost == 0, lost << " acknowledged deposits lost");
      CHECK(get_ok(c, "/l1/v1/head").at("tipRoot") == saved.l1_head.at("tipRoot"));
    }

    // The node: resting orders as fast as one client can send them until its log hits the limit.
    std::vector<std::string> acked_orders;
    {
      Party node("node (filling up)", node_args(node_dir, l1_url, "127.0.0.1:0"), log("node"),
                 Limits{tree_bytes(node_dir) + 256 * 1024, false});
      http::Client api(api_url_of(node), 5s);
      const Hash32 domain = l2_domain(get_ok(api, "/v1/config"));
      const uint64_t inst = u64(first_call(api).at("id"));
      for (int i = 0; i < 5000 && node.running(); ++i) {
        try {
          Answer a = call(api, "POST", "/v1/orders",
                          signed_order(domain, make_order(0, inst, true, 100'000, 1'000'000), 0).dump());
          if (a.status == 200)
            acked_orders.push_back(a.body.at("orderHash"));
          else if (a.status != 503)
            CHECK_MESSAGE(false, "order refused with " << a.status << " " << a.raw);
        } catch (const std::exception&) {
          break;
        }
      }
      expect_clean_failure(node, "node.sqlite", kFull, 20s);
      MESSAGE("node: " << acked_orders.size() << " orders acknowledged before it stopped");
    }
    REQUIRE(acked_orders.size() > 5);
    {
      Party node("node", node_args(node_dir, l1_url, "127.0.0.1:0"), log("node"));
      http::Client api(api_url_of(node), 10s);
      size_t lost = 0;
      for (const auto& h : acked_orders) lost += call(api, "GET", "/v1/orders/" + h).status != 200;
      CHECK_MESSAGE(lost == 0, lost << " acknowledged orders lost");
      CHECK(node.terminate() == 0);
    }

    // The challenger: its checkpoint follows every L1 block; it stops when it cannot write it.
    {
      Party ch("challenger (filling up)", challenger_args(ch_dir, l1_url), log("challenger"),
               Limits{tree_bytes(ch_dir) + 64 * 1024, false});
      expect_clean_failure(ch, "challenger-", kFull, 60s);
    }
    challenger_intact(l1_url, true);
    CHECK(l1->terminate() == 0);
  }
  MESSAGE("fault drill wall time: "
          << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
          << " ms");
}

}  // namespace opt::drills
