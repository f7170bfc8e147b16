// WebSocket (GET /v1/ws): subscribe to an order book, its trades and an account, post orders over HTTP,
// receive the updates; bad messages get an error reply and the connection stays usable.
#include "tests/e2e/e2e_fixture.h"

namespace opt::e2e {

namespace {

// Reads messages until one satisfies `match` (returned) or the timeout passes (null).
json receive_until(http::WsClient& ws, const std::function<bool(const json&)>& match, std::chrono::milliseconds timeout,
                   std::vector<json>* seen = nullptr) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto text = ws.receive(std::max(left, 1ms));
    if (!text) break;
    json j = json::parse(*text, nullptr, false);
    REQUIRE_MESSAGE(!j.is_discarded(), "a WebSocket message that is not JSON: " << *text);
    if (seen) seen->push_back(j);
    if (match(j)) return j;
  }
  return nullptr;
}

json request(http::WsClient& ws, const json& msg) {
  ws.send(msg.dump());
  // Replies carry the request's id; updates published meanwhile are skipped.
  json r = receive_until(
      ws, [&](const json& j) { return j.contains("id") && j["id"] == msg.at("id"); }, 10s);
  REQUIRE_MESSAGE(!r.is_null(), "no reply to " << msg.dump());
  return r;
}

}  // namespace

TEST_CASE("e2e websocket: order book, trades and account updates for orders posted over HTTP") {
  TempDir dir;
  Devnet net(dir.file("data"), dir.file("devnet.log"), {"--batch-interval", "500ms"});
  INFO("devnet log: " << dir.file("devnet.log"));
  http::Client api(net.api(), 30s), l1(net.l1(), 30s);
  json config = get_ok(api, "/v1/config");
  const Hash32 domain = l2_domain(config);
  l1_deposit(l1, u64(config.at("l1ChainId")), 0, 10'000'000'000);
  l1_deposit(l1, u64(config.at("l1ChainId")), 1, 10'000'000'000);
  wait_collateral(api, 0, 10'000'000'000);
  wait_collateral(api, 1, 10'000'000'000);
  const uint64_t inst = u64(first_call(api).at("id"));

  http::WsClient ws("127.0.0.1", net.api_port(), "/v1/ws");
  REQUIRE(ws.is_open());

  // ---- subscriptions, with snapshots where the channel has one ----
  json r = request(ws, {{"op", "subscribe"}, {"channel", "orderbook"}, {"instrument", inst}, {"id", 1}});
  INFO("reply " << r.dump());
  CHECK(r.at("op") == "subscribed");
  REQUIRE(r.contains("snapshot"));
  CHECK(r.at("snapshot").at("bids").empty());
  CHECK(r.at("snapshot").at("asks").empty());
  r = request(ws, {{"op", "subscribe"}, {"channel", "trades"}, {"instrument", inst}, {"id", 2}});
  CHECK(r.at("op") == "subscribed");
  r = request(ws, {{"op", "subscribe"}, {"channel", "account"}, {"address", dev_hex(0)}, {"id", 3}});
  CHECK(r.at("op") == "subscribed");
  REQUIRE(r.contains("snapshot"));
  CHECK(r.at("snapshot").at("collateral") == "10000000000");
  r = request(ws, {{"op", "subscribe"}, {"channel", "batches"}, {"id", 4}});
  CHECK(r.at("op") == "subscribed");

  // ---- bad messages: an error reply, and the session goes on ----
  ws.send("not json");
  json e = receive_until(
      ws, [](const json& j) { return j.value("op", "") == "error"; }, 10s);
  REQUIRE(!e.is_null());
  CHECK(e.at("error").at("code").is_string());
  CHECK(e.at("error").at("message").is_string());
  for (const json& bad : {json{{"op", "subscribe"}, {"channel", "nope"}, {"id", 10}},
                          json{{"op", "subscribe"}, {"channel", "orderbook"}, {"instrument", 999999}, {"id", 11}},
                          json{{"op", "subscribe"}, {"channel", "orderbook"}, {"id", 12}},
                          json{{"op", "subscribe"}, {"channel", "account"}, {"address", "0x12"}, {"id", 13}},
                          json{{"op", "dance"}, {"id", 14}}, json{{"channel", "trades"}, {"id", 15}},
                          json{{"op", "subscribe"}, {"channel", "trades"}, {"bogus", 1}, {"id", 16}}}) {
    json reply = request(ws, bad);
    INFO("bad " << bad.dump() << " -> " << reply.dump());
    CHECK(reply.at("op") == "error");
    CHECK(reply.at("error").at("code").is_string());
  }
  CHECK(request(ws, {{"op", "ping"}, {"id", 20}}).at("op") == "pong");

  // ---- B posts an ask: the book update arrives ----
  Order sell = make_order(1, inst, false, 2'000'000, 55'000'000);
  json ack = post_ok(api, "/v1/orders", signed_order(domain, sell, 1));
  CHECK(ack.at("status") == "open");
  const std::string book_channel = "orderbook:" + std::to_string(inst);
  json update = receive_until(
      ws,
      [&](const json& j) {
        if (j.value("channel", "") != book_channel) return false;
        for (const auto& l : j.at("data").at("asks"))
          if (l.at("price") == "55000000" && l.at("quantity") == "2000000") return true;
        return false;
      },
      10s);
  INFO("book update " << update.dump());
  REQUIRE(!update.is_null());
  CHECK(u64(update.at("data").at("instrument")) == inst);
  const uint64_t seq = u64(update.at("data").at("sequence"));

  // ---- A buys half of it: a trade, a smaller ask, A's account ----
  Order buy = make_order(0, inst, true, 1'000'000, 55'000'000);
  json ack_buy = post_ok(api, "/v1/orders", signed_order(domain, buy, 0));
  CHECK(ack_buy.at("status") == "filled");
  std::vector<json> seen;
  bool trade = false, book = false, account = false;
  receive_until(
      ws,
      [&](const json& j) {
        const std::string ch = j.value("channel", "");
        const json& d = j.contains("data") ? j["data"] : json();
        if (ch == "trades:" + std::to_string(inst) && d.value("takerOrder", "") == ack_buy.at("orderHash")) {
          trade = true;
          CHECK(d.at("price") == "55000000");
          CHECK(d.at("quantity") == "1000000");
          CHECK(d.at("maker") == dev_hex(1));
          CHECK(d.at("taker") == dev_hex(0));
        }
        if (ch == book_channel) {
          CHECK(u64(d.at("sequence")) > seq);
          for (const auto& l : d.at("asks"))
            if (l.at("price") == "55000000" && l.at("quantity") == "1000000") book = true;
        }
        if (ch.rfind("account:", 0) == 0 && d.value("address", "") == dev_hex(0))
          for (const auto& p : d.at("positions"))
            if (u64(p.at("instrument")) == inst && p.at("qty") == "1000000") account = true;
        return trade && book && account;
      },
      15s, &seen);
  std::string all;
  for (const auto& j : seen) all += j.dump().substr(0, 300) + "\n";
  INFO("messages after the buy:\n" << all);
  CHECK(trade);
  CHECK(book);
  CHECK(account);

  // ---- a batch message once the trade's batch is posted ----
  json batch = receive_until(
      ws, [](const json& j) { return j.value("channel", "") == "batches"; }, 20s);
  REQUIRE(!batch.is_null());
  CHECK(batch.at("data").contains("index"));

  // ---- unsubscribe from the book: no more book updates ----
  CHECK(request(ws, {{"op", "unsubscribe"}, {"channel", "orderbook"}, {"instrument", inst}, {"id", 30}}).at("op") ==
        "unsubscribed");
  post_ok(api, "/v1/orders", signed_order(domain, make_order(1, inst, false, 1'000'000, 70'000'000), 1));
  json late = receive_until(
      ws, [&](const json& j) { return j.value("channel", "") == book_channel; }, 2s);
  CHECK(late.is_null());

  // A second client sees the same book through HTTP.
  json http_book = get_ok(api, "/v1/orderbook/" + std::to_string(inst));
  REQUIRE(http_book.at("asks").size() == 2);
  CHECK(http_book.at("asks")[0].at("price") == "55000000");
  ws.close();
  CHECK(net.terminate() == 0);
}

}  // namespace opt::e2e
