// A wrong state root (`--fault-at-batch`) is caught by the devnet's honest challenger, proven in one step
// on the L1 and removed; the sequencer re-posts the removed work from the last good root and the chain
// goes on. A deposit made before the fault is still credited afterwards.
#include "tests/e2e/e2e_fixture.h"

namespace opt::e2e {

TEST_CASE("e2e fraud: a wrong root is challenged, proven, removed, and the chain continues") {
  constexpr uint64_t kFault = 2;
  TempDir dir;
  // Prices every 300 ms and a batch every second: the faulty batch holds several steps, so the game
  // bisects before the one-step proof.
  Devnet net(dir.file("data"), dir.file("devnet.log"),
             {"--fault-at-batch", std::to_string(kFault), "--challenge-period", "15s", "--clock", "10s",
              "--batch-interval", "1s", "--oracle-interval", "300ms"});
  INFO("devnet log: " << dir.file("devnet.log"));
  http::Client api(net.api(), 30s), l1(net.l1(), 30s);
  const uint64_t l1_chain = u64(get_ok(api, "/v1/config").at("l1ChainId"));

  // A deposit early on: it lands in one of the first batches, maybe the faulty one.
  l1_deposit(l1, l1_chain, 2, 5'000'000'000);

  // ---- the challenger wins a game on the faulty batch ----
  json game;
  bool over = wait_until(
      90s,
      [&] {
        for (const auto& g : items(get_ok(l1, "/l1/v1/games?batch=" + std::to_string(kFault)), "games"))
          if (g.at("status") != "open") game = g;
        return !game.is_null();
      },
      250ms);
  INFO(net.log());
  REQUIRE(over);
  game = get_ok(l1, "/l1/v1/games/" + std::to_string(u64(game.at("id"))));
  INFO("game: " << game.dump());
  CHECK(game.at("status") == "challenger_won");
  CHECK(game.at("endReason") == "step_proof");
  CHECK(game.at("challenger") == dev_hex(devnet::kChallenger));
  CHECK(game.at("winner") == dev_hex(devnet::kChallenger));
  CHECK(u64(game.at("batch")) == kFault);
  CHECK(u64(game.at("rounds")) >= 1);
  CHECK(u64(game.at("moves")) == u64(game.at("rounds")) + 1);  // every round, then the proof

  // ---- the batch is removed, on the L1 and in the rollup API ----
  json removed = get_ok(l1, "/l1/v1/batches/" + std::to_string(kFault));
  CHECK(removed.at("status") == "removed");
  // The rollup API serves batches from the node's cache, which follows the L1's events within a poll.
  json removed_view;
  wait_until(
      10s,
      [&] {
        removed_view = get_ok(api, "/v1/batches/" + std::to_string(kFault));
        return removed_view.at("status") == "removed" && !removed_view.at("games").empty() &&
               removed_view.at("games")[0].at("status") != "open";
      },
      100ms);
  CHECK(removed_view.at("status") == "removed");
  REQUIRE(removed_view.at("games").size() == 1);
  CHECK(removed_view.at("games")[0].at("status") == "challenger_won");

  // ---- the game's moves are on the L1's event log ----
  json events = items(get_ok(l1, "/l1/v1/events?from=0"), "events");
  std::map<std::string, int> seen;
  for (const auto& e : events) {
    const std::string type = e.at("type");
    if (type.rfind("game_", 0) == 0 && u64(e.at("fields").at("game")) == u64(game.at("id"))) seen[type]++;
    if (type == "batch_removed") CHECK(u64(e.at("fields").at("index")) == kFault);
  }
  CHECK(seen["game_started"] == 1);
  CHECK(seen["game_dissected"] == static_cast<int>(u64(game.at("rounds"))));
  CHECK(seen["game_chosen"] == static_cast<int>(u64(game.at("rounds"))));
  CHECK(seen["game_step_proved"] == 1);
  CHECK(seen["game_ended"] == 1);

  // ---- the chain continues: the removed work is re-posted from the last good root, the tip moves on ----
  const uint64_t tip_then = u64(get_ok(l1, "/l1/v1/head").at("tipBatch"));
  REQUIRE(wait_until(60s, [&] { return u64(get_ok(l1, "/l1/v1/head").at("tipBatch")) >= tip_then + 2; }));
  json next = get_ok(l1, "/l1/v1/batches/" + std::to_string(kFault + 1));
  CHECK(next.at("status") != "removed");
  CHECK(next.at("prevRoot") == removed.at("prevRoot"));  // starts again from the last good root
  CHECK(next.at("postRoot") != removed.at("postRoot"));
  check_batch_chain(l1);
  CHECK(wait_until(
      30s, [&] { return drained(api, l1); }, 50ms));

  // The challenger verified the replacement and started no other game.
  const std::string log = net.log();
  CHECK(log.find("verified batch " + std::to_string(kFault + 1) + ":") != std::string::npos);
  CHECK(items(get_ok(l1, "/l1/v1/games?batch=" + std::to_string(kFault + 1)), "games").empty());
  size_t started = 0;
  for (const auto& e : items(get_ok(l1, "/l1/v1/events?from=0"), "events")) started += e.at("type") == "game_started";
  CHECK(started == 1);

  // The early deposit survived the removal: credited exactly once.
  wait_collateral(api, 2, 5'000'000'000);
  CHECK(i64(get_ok(api, "/v1/accounts/" + dev_hex(2)).at("collateral")) == 5'000'000'000);
  CHECK(net.terminate() == 0);
}

}  // namespace opt::e2e
