// The README's tour over HTTP against the real devnet process: deposit on L1, orders, a trade, the
// account, the batch becoming final, a withdrawal and its claim on L1 — checking the JSON shapes of
// docs/api.md on the way.
#include "tests/e2e/e2e_fixture.h"

namespace opt::e2e {

namespace {

bool is_decimal_string(const json& v) {
  if (!v.is_string()) return false;
  const std::string s = v.get<std::string>();
  size_t i = s.size() > 1 && s[0] == '-' ? 1 : 0;
  return i < s.size() && s.find_first_not_of("0123456789", i) == std::string::npos;
}

bool is_hex32(const json& v) {
  return v.is_string() && Hash32::from_hex(v.get<std::string>(), true).ok();
}

void check_keys(const json& j, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    INFO("field " << k << " in " << j.dump().substr(0, 600));
    CHECK(j.contains(k));
  }
}

}  // namespace

TEST_CASE("e2e tour: deposit, trade, account, final batch, withdraw and claim over HTTP") {
  TempDir dir;
  Devnet net(dir.file("data"), dir.file("devnet.log"),
             {"--challenge-period", "5s", "--clock", "10s", "--batch-interval", "500ms"});
  INFO("devnet log: " << dir.file("devnet.log"));
  http::Client api(net.api(), 30s), l1(net.l1(), 30s);

  // ---- config (docs/api.md) ----
  json config = get_ok(api, "/v1/config");
  check_keys(config, {"chainId", "l1ChainId", "domain", "rollupAddress", "feeSchedule", "oracleCommittee",
                      "challengePeriodSeconds", "dissectionDegree"});
  check_keys(config.at("domain"), {"name", "version", "chainId", "verifyingContract"});
  CHECK(u64(config.at("chainId")) == 777001);
  CHECK(u64(config.at("l1ChainId")) == 31337);
  CHECK(config.at("domain").at("name") == "optrollup");
  CHECK(u64(config.at("challengePeriodSeconds")) == 5);
  REQUIRE(config.contains("types"));
  CHECK(config.at("types").contains("Order"));
  const Hash32 domain = l2_domain(config);
  const uint64_t l1_chain = u64(config.at("l1ChainId"));
  CHECK(config.at("rollupAddress") == config.at("domain").at("verifyingContract"));

  json health = get_ok(api, "/v1/health");
  CHECK(health.at("status") == "ok");
  CHECK(is_hex32(health.at("root")));

  // ---- deposits for A (dev 0) and B (dev 1), signed here and sent to the L1 API ----
  const int64_t kDeposit = 10'000'000'000;  // 10,000 USDC
  const uint64_t l1_before = u64(get_ok(l1, "/l1/v1/accounts/" + dev_hex(0)).at("usdc"));
  l1_deposit(l1, l1_chain, 0, kDeposit);
  l1_deposit(l1, l1_chain, 1, kDeposit);
  CHECK(u64(get_ok(l1, "/l1/v1/accounts/" + dev_hex(0)).at("usdc")) == l1_before - kDeposit);
  wait_collateral(api, 0, kDeposit);
  wait_collateral(api, 1, kDeposit);

  // ---- instruments ----
  json inst = first_call(api);
  check_keys(inst, {"id", "name", "underlying", "strike", "expiry", "isCall", "status"});
  CHECK(is_decimal_string(inst.at("strike")));
  const uint64_t id = u64(inst.at("id"));
  json one = get_ok(api, "/v1/instruments/" + std::to_string(id));
  CHECK(one.at("name") == inst.at("name"));

  // ---- B sells one call at 60 USDC (rests), A buys it (filled) ----
  Order sell = make_order(1, id, false, 1'000'000, 60'000'000);
  json ack_sell = post_ok(api, "/v1/orders", signed_order(domain, sell, 1));
  check_keys(ack_sell, {"orderHash", "status"});
  CHECK(ack_sell.at("status") == "open");
  CHECK(ack_sell.at("orderHash") == order_hash(domain, sell).hex());
  json book = get_ok(api, "/v1/orderbook/" + std::to_string(id));
  REQUIRE(book.at("asks").size() == 1);
  CHECK(book.at("asks")[0].at("price") == "60000000");
  CHECK(book.at("asks")[0].at("quantity") == "1000000");

  Order buy = make_order(0, id, true, 1'000'000, 60'000'000);
  json ack_buy = post_ok(api, "/v1/orders", signed_order(domain, buy, 0));
  CHECK(ack_buy.at("status") == "filled");
  const std::string buy_hash = ack_buy.at("orderHash");
  CHECK(buy_hash == order_hash(domain, buy).hex());
  CHECK(get_ok(api, "/v1/orderbook/" + std::to_string(id)).at("asks").empty());

  // ---- GET /v1/orders/{hash} and ?account= ----
  json view = get_ok(api, "/v1/orders/" + buy_hash);
  check_keys(view, {"orderHash", "order", "status", "filled", "createdAt"});
  CHECK(view.at("status") == "filled");
  CHECK(view.at("filled") == "1000000");
  CHECK(view.at("order").at("account") == dev_hex(0));
  CHECK(u64(view.at("order").at("limitPrice")) == 60'000'000);
  CHECK(get_ok(api, "/v1/orders/" + ack_sell.at("orderHash").get<std::string>()).at("status") == "filled");
  json listed = items(get_ok(api, "/v1/orders?account=" + dev_hex(0) + "&status=filled"), "orders");
  CHECK(std::any_of(listed.begin(), listed.end(), [&](const json& o) { return o.at("orderHash") == buy_hash; }));

  // ---- the account: position, equity, margins ----
  json acc = get_ok(api, "/v1/accounts/" + dev_hex(0));
  check_keys(acc, {"address", "collateral", "positions", "equity", "initialMargin", "maintenanceMargin", "nonce"});
  CHECK(acc.at("address") == dev_hex(0));
  for (const char* k : {"collateral", "equity", "initialMargin", "maintenanceMargin", "nonce"}) {
    INFO(k << " = " << acc.at(k).dump());
    CHECK(is_decimal_string(acc.at(k)));
  }
  REQUIRE(acc.at("positions").size() == 1);
  const json& pos = acc.at("positions")[0];
  check_keys(pos, {"instrument", "qty", "mark"});
  CHECK(u64(pos.at("instrument")) == id);
  CHECK(pos.at("qty") == "1000000");
  // A paid the premium and the taker fee.
  const int64_t taker_fee = i64(config.at("feeSchedule").at("takerFee"));
  CHECK(i64(acc.at("collateral")) == kDeposit - 60'000'000 - taker_fee);
  json acc_b = get_ok(api, "/v1/accounts/" + dev_hex(1));
  REQUIRE(acc_b.at("positions").size() == 1);
  CHECK(acc_b.at("positions")[0].at("qty") == "-1000000");
  CHECK(i64(acc_b.at("initialMargin")) > 0);

  // ---- the trade ----
  json trades = items(get_ok(api, "/v1/trades?instrument=" + std::to_string(id) + "&limit=10"), "trades");
  auto t = std::find_if(trades.begin(), trades.end(), [&](const json& x) { return x.at("takerOrder") == buy_hash; });
  REQUIRE(t != trades.end());
  CHECK(t->at("price") == "60000000");
  CHECK(t->at("quantity") == "1000000");
  CHECK(t->at("maker") == dev_hex(1));
  CHECK(t->at("taker") == dev_hex(0));

  // ---- withdraw 100 USDC ----
  const uint64_t nonce = u64(acc.at("nonce"));
  json w = post_ok(api, "/v1/withdrawals", signed_withdraw(domain, 0, 100'000'000, nonce));
  const uint64_t w_index = u64(w.at("index"));
  CHECK(w.at("amount") == "100000000");
  CHECK(u64(get_ok(api, "/v1/accounts/" + dev_hex(0)).at("nonce")) == nonce + 1);

  // ---- the batches: posted, then final after the challenge period ----
  json final_w;
  bool claimable = wait_until(
      90s,
      [&] {
        for (const auto& x : items(get_ok(api, "/v1/withdrawals/" + dev_hex(0)), "withdrawals"))
          if (u64(x.at("index")) == w_index && x.at("status") == "final" && x.contains("proof")) final_w = x;
        return !final_w.is_null();
      },
      250ms);
  INFO("withdrawals: " << get_ok(api, "/v1/withdrawals/" + dev_hex(0)).dump());
  REQUIRE(claimable);
  const uint64_t proof_batch = u64(final_w.at("proofBatch"));
  json batch = get_ok(api, "/v1/batches/" + std::to_string(proof_batch));
  check_keys(batch,
             {"index", "prevRoot", "postRoot", "txCount", "txDataRoot", "status", "l1Block", "postedAt", "games"});
  CHECK(batch.at("status") == "final");
  CHECK(is_hex32(batch.at("postRoot")));
  CHECK(batch.at("games").empty());
  json l1_batch = get_ok(l1, "/l1/v1/batches/" + std::to_string(proof_batch));
  CHECK(l1_batch.at("postRoot") == batch.at("postRoot"));
  CHECK(l1_batch.at("status") == "final");
  // Finality is a prefix: every batch up to the proof's is final, the trade's included.
  json listed_batches = items(get_ok(api, "/v1/batches?from=0&limit=1000"), "batches");
  for (const auto& b : listed_batches) {
    if (u64(b.at("index")) > proof_batch) break;
    INFO("batch " << b.dump().substr(0, 300));
    CHECK(b.at("status") == "final");
  }

  // ---- claim on L1: the proof, signed here ----
  const uint64_t before_claim = u64(get_ok(l1, "/l1/v1/accounts/" + dev_hex(0)).at("usdc"));
  json paid = l1_finalize_withdrawal(l1, l1_chain, 0, final_w);
  CHECK(u64(paid.at("result").at("amount")) == 100'000'000);
  CHECK(u64(get_ok(l1, "/l1/v1/accounts/" + dev_hex(0)).at("usdc")) == before_claim + 100'000'000);
  json claimed = get_ok(l1, "/l1/v1/withdrawals/" + std::to_string(w_index));
  CHECK(claimed.at("claimed") == true);
  // A second claim is refused (the nullifier) and pays nothing.
  Answer again = call(l1, "POST", "/l1/v1/actions", l1_finalize_body(l1, l1_chain, 0, final_w).dump());
  CHECK(again.status == 422);
  CHECK(again.body.at("error").at("code") == "already_claimed");
  CHECK(u64(get_ok(l1, "/l1/v1/accounts/" + dev_hex(0)).at("usdc")) == before_claim + 100'000'000);
  CHECK(wait_until(30s, [&] {
    for (const auto& x : items(get_ok(api, "/v1/withdrawals/" + dev_hex(0)), "withdrawals"))
      if (u64(x.at("index")) == w_index) return x.at("status") == "claimed";
    return false;
  }));

  // ---- the node checked the conservation identity (docs/risk.md) after every batch it closed ----
  Answer metrics = call(api, "GET", "/metrics");
  REQUIRE(metrics.status == 200);
  auto metric = [&](const std::string& name) -> uint64_t {
    auto at = metrics.raw.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stoull(metrics.raw.substr(at + name.size() + 2));
  };
  CHECK(metric("optrollup_batches_checked_total") > 0);
  CHECK(metric("optrollup_batches_checked_total") == metric("optrollup_batches_closed_total"));
  CHECK(metric("optrollup_conservation_failures_total") == 0);

  // ---- the whole chain of commitments is intact, and the devnet stops cleanly ----
  check_batch_chain(l1);
  CHECK(net.terminate() == 0);
  CHECK(net.log().find("stopped cleanly") != std::string::npos);
}

}  // namespace opt::e2e
