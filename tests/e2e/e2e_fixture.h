// End-to-end tests: the REAL `optrollup devnet` process (its path compiled in as OPTROLLUP_BIN; the
// OPTROLLUP_BIN environment variable overrides it), driven over HTTP and WebSocket like an outside client.
// Every devnet listens on 127.0.0.1 port 0 (the kernel picks free ports; the banner says which) with its
// data in a temporary directory. Signing uses engine/core (EIP-712, secp256k1) and the devnet's dev keys:
// nothing here links the node, the L1 or the API handlers. OPTROLLUP_KEEP_TEMP=1 keeps the temporary
// directories (data and logs) of a run.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/common/devnet.h"
#include "engine/core/crypto.h"
#include "engine/core/eip712.h"
#include "engine/core/keccak.h"
#include "engine/core/messages.h"
#include "engine/net/http.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace opt::e2e {

using nlohmann::json;
using namespace std::chrono_literals;

inline std::string binary() {
  if (const char* env = std::getenv("OPTROLLUP_BIN")) return env;
  return OPTROLLUP_BIN;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using opt::test::TempDir;

// Polls `done` every `step` until it holds or `timeout` passes.
inline bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& done,
                       std::chrono::milliseconds step = 100ms) {
  return opt::test::poll_until(timeout, done, step);
}

// One run of `optrollup devnet` on a data directory. Its output is copied to `log`; the API URLs are read
// from the banner it prints once everything listens.
class Devnet {
 public:
  Devnet(const std::string& data_dir, const std::string& log, const std::vector<std::string>& flags)
      : proc_(options(data_dir, log, flags)) {
    std::regex api_re(R"(rollup API +http://127\.0\.0\.1:([0-9]+)/v1)");
    std::regex l1_re(R"(L1 API +(http://127\.0\.0\.1:[0-9]+)/l1/v1)");
    const bool up = opt::test::poll_until(
        30s,
        [&] {
          std::string text = proc_.output();
          std::smatch a, l;
          if (text.find("\ntry:") != std::string::npos && std::regex_search(text, a, api_re) &&
              std::regex_search(text, l, l1_re)) {
            api_port_ = static_cast<uint16_t>(std::stoul(a[1]));
            api_url_ = "http://127.0.0.1:" + a[1].str();
            l1_url_ = l[1];
            return true;
          }
          return !proc_.running();
        },
        50ms);
    if (up && !api_url_.empty()) return;
    if (proc_.wait_exit(0ms))  // it ended: everything it wrote has been read
      FAIL("optrollup devnet exited at startup (is OPTROLLUP_BIN=" << binary() << " built?):\n" << proc_.output());
    FAIL("optrollup devnet did not print its banner within 30 s:\n" << proc_.output());
  }
  Devnet(const Devnet&) = delete;
  Devnet& operator=(const Devnet&) = delete;

  const std::string& api() const { return api_url_; }
  const std::string& l1() const { return l1_url_; }
  uint16_t api_port() const { return api_port_; }
  std::string log() const { return proc_.output(); }
  bool running() { return proc_.running(); }

  void kill9() { proc_.kill9(); }
  // SIGTERM and wait (bounded); the exit status, or -1 if it did not stop within 15 s (then it is killed).
  int terminate() { return proc_.terminate(15s); }

 private:
  static opt::test::ChildOptions options(const std::string& data_dir, const std::string& log,
                                         const std::vector<std::string>& flags) {
    opt::test::ChildOptions o;
    o.argv = {binary(), "devnet", "--data-dir", data_dir, "--api", "127.0.0.1:0", "--l1", "127.0.0.1:0"};
    o.argv.insert(o.argv.end(), flags.begin(), flags.end());
    o.log_path = log;
    return o;
  }

  opt::test::ChildProcess proc_;
  std::string api_url_, l1_url_;
  uint16_t api_port_ = 0;
};

// ---- HTTP ----

struct Answer {
  int status = 0;
  json body;  // null if the body is not JSON
  std::string raw;
};

inline Answer call(http::Client& c, const std::string& method, const std::string& target,
                   const std::string& body = "") {
  http::Response r = c.request(method, target, body);
  Answer a;
  a.status = r.status;
  a.raw = r.body;
  a.body = json::parse(r.body, nullptr, false);
  if (a.body.is_discarded()) a.body = nullptr;
  return a;
}

// GET that must answer 200 with JSON.
inline json get_ok(http::Client& c, const std::string& target) {
  Answer a = call(c, "GET", target);
  INFO("GET " << c.base_url() << target << " -> " << a.status << " " << a.raw.substr(0, 600));
  REQUIRE(a.status == 200);
  REQUIRE(!a.body.is_null());
  return a.body;
}

inline json post_ok(http::Client& c, const std::string& target, const json& body) {
  Answer a = call(c, "POST", target, body.dump());
  INFO("POST " << c.base_url() << target << " " << body.dump().substr(0, 400) << " -> " << a.status << " "
               << a.raw.substr(0, 600));
  REQUIRE(a.status == 200);
  return a.body;
}

// A list endpoint's items, whether the answer is a bare array or {"<name>": [...]} (both are accepted
// while the API settles on one).
inline json items(const json& j, const std::string& name) {
  if (j.is_array()) return j;
  if (j.is_object() && j.contains(name) && j[name].is_array()) return j[name];
  FAIL("expected a list of " << name << ", got " << j.dump().substr(0, 400));
  return json::array();
}

inline uint64_t u64(const json& v) {
  return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>();
}
inline int64_t i64(const json& v) {
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
}

// ---- keys and signing ----

inline const PrivateKey& dev_key(size_t i) {
  return devnet::dev_keys().at(i);
}
inline const Address& dev_addr(size_t i) {
  return devnet::dev_addresses().at(i);
}
inline std::string dev_hex(size_t i) {
  return to_checksum(dev_addr(i));
}

inline Hash32 l2_domain(const json& config) {
  const json& d = config.at("domain");
  Eip712Domain dom{d.at("name"), d.at("version"), u64(d.at("chainId")),
                   *parse_address(d.at("verifyingContract").get<std::string>())};
  return dom.separator();
}

inline uint64_t random_u64() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

inline json order_json(const Order& o) {
  return {{"account", to_checksum(o.account)},
          {"instrument", std::to_string(o.instrument)},
          {"isBuy", o.is_buy},
          {"quantity", std::to_string(o.quantity)},
          {"limitPrice", std::to_string(o.limit_price)},
          {"maxFee", std::to_string(o.max_fee)},
          {"nonce", std::to_string(o.nonce)},
          {"expiry", std::to_string(o.expiry)},
          {"flags", o.flags}};
}

inline uint64_t now_seconds() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

inline Order make_order(size_t dev, uint64_t instrument, bool buy, uint64_t qty, uint64_t price, uint8_t flags = 0) {
  Order o;
  o.account = dev_addr(dev);
  o.instrument = instrument;
  o.is_buy = buy;
  o.quantity = qty;
  o.limit_price = price;
  o.max_fee = 1'000'000;  // 1 USDC per contract: above the devnet's taker fee
  o.nonce = random_u64();
  o.expiry = now_seconds() + 3600;
  o.flags = flags;
  return o;
}

inline json signed_order(const Hash32& domain, const Order& o, size_t dev) {
  return {{"order", order_json(o)}, {"signature", sign(typed_digest(domain, o), dev_key(dev))->hex()}};
}

inline json signed_cancel(const Hash32& domain, size_t dev, const OrderHash& h) {
  Cancel c{dev_addr(dev), h};
  return {{"cancel", {{"account", dev_hex(dev)}, {"orderHash", h.hex()}}},
          {"signature", sign(typed_digest(domain, c), dev_key(dev))->hex()}};
}

inline json signed_withdraw(const Hash32& domain, size_t dev, uint64_t amount, uint64_t nonce) {
  Withdraw w{dev_addr(dev), amount, dev_addr(dev), nonce};
  return {{"withdraw",
           {{"account", dev_hex(dev)},
            {"amount", std::to_string(amount)},
            {"recipient", dev_hex(dev)},
            {"nonce", std::to_string(nonce)}}},
          {"signature", sign(typed_digest(domain, w), dev_key(dev))->hex()}};
}

// The L1's EIP-712 domain (docs/l1.md section 2): no verifyingContract.
inline Hash32 l1_domain(uint64_t l1_chain_id) {
  return Eip712Domain{"optrollup-l1", "1", l1_chain_id, std::nullopt}.separator();
}

inline constexpr std::string_view kL1DepositType =
    "Deposit(address sender,address recipient,uint64 amount,uint64 nonce)";
inline constexpr std::string_view kL1FinalizeType =
    "FinalizeWithdrawal(address sender,uint64 batch,uint64 index,address account,address recipient,uint64 amount,"
    "bytes32 proofHash,uint64 nonce)";

// Deposits `amount` micro-USDC from dev account `dev` on L1 to itself, signed here (an outside client's
// view of docs/l1.md). Returns the L1's answer.
inline json l1_deposit(http::Client& l1, uint64_t l1_chain_id, size_t dev, uint64_t amount) {
  uint64_t nonce = u64(get_ok(l1, "/l1/v1/accounts/" + dev_hex(dev)).at("nonce"));
  Hash32 digest = eip712_digest(l1_domain(l1_chain_id), StructEncoder(type_hash(kL1DepositType))
                                                            .address(dev_addr(dev))
                                                            .address(dev_addr(dev))
                                                            .uint(amount)
                                                            .uint(nonce)
                                                            .finish());
  json body = {{"type", "deposit"},
               {"action",
                {{"sender", dev_hex(dev)},
                 {"recipient", dev_hex(dev)},
                 {"amount", std::to_string(amount)},
                 {"nonce", std::to_string(nonce)}}},
               {"signature", sign(digest, dev_key(dev))->hex()}};
  json r = post_ok(l1, "/l1/v1/actions", body);
  CHECK(r.at("hash").get<std::string>() == digest.hex());  // the action hash is its EIP-712 digest
  return r;
}

// The L1 action that pays out a final withdrawal (an item of GET /v1/withdrawals/{address} with proof and
// proofBatch), submitted by dev account `dev` with its current L1 nonce.
inline json l1_finalize_body(http::Client& l1, uint64_t l1_chain_id, size_t dev, const json& w) {
  uint64_t nonce = u64(get_ok(l1, "/l1/v1/accounts/" + dev_hex(dev)).at("nonce"));
  Bytes proof = *parse_hex(w.at("proof").get<std::string>(), true);
  Hash32 proof_hash = keccak256(ByteView(proof));
  const Address account = *parse_address(w.at("account").get<std::string>());
  const Address recipient = *parse_address(w.at("recipient").get<std::string>());
  Hash32 digest = eip712_digest(l1_domain(l1_chain_id), StructEncoder(type_hash(kL1FinalizeType))
                                                            .address(dev_addr(dev))
                                                            .uint(u64(w.at("proofBatch")))
                                                            .uint(u64(w.at("index")))
                                                            .address(account)
                                                            .address(recipient)
                                                            .uint(u64(w.at("amount")))
                                                            .bytes32(proof_hash)
                                                            .uint(nonce)
                                                            .finish());
  json body = {{"type", "finalize_withdrawal"},
               {"action",
                {{"sender", dev_hex(dev)},
                 {"batch", std::to_string(u64(w.at("proofBatch")))},
                 {"index", std::to_string(u64(w.at("index")))},
                 {"account", to_checksum(account)},
                 {"recipient", to_checksum(recipient)},
                 {"amount", std::to_string(u64(w.at("amount")))},
                 {"proofHash", proof_hash.hex()},
                 {"nonce", std::to_string(nonce)}}},
               {"signature", sign(digest, dev_key(dev))->hex()},
               {"data", to_hex(ByteView(proof))}};
  return body;
}

inline json l1_finalize_withdrawal(http::Client& l1, uint64_t l1_chain_id, size_t dev, const json& w) {
  return post_ok(l1, "/l1/v1/actions", l1_finalize_body(l1, l1_chain_id, dev, w));
}

// Waits until dev account `dev`'s L2 collateral is at least `at_least`.
inline void wait_collateral(http::Client& api, size_t dev, int64_t at_least, std::chrono::milliseconds timeout = 60s) {
  int64_t last = 0;
  bool ok = wait_until(timeout, [&] {
    last = i64(get_ok(api, "/v1/accounts/" + dev_hex(dev)).at("collateral"));
    return last >= at_least;
  });
  INFO("dev " << dev << " collateral " << last << ", expected at least " << at_least);
  REQUIRE(ok);
}

// The first active call of the genesis ladder.
inline json first_call(http::Client& api, size_t nth = 0) {
  for (const auto& i : items(get_ok(api, "/v1/instruments"), "instruments"))
    if (i.at("isCall").get<bool>() && i.at("status") == "active" && nth-- == 0) return i;
  FAIL("no active call in GET /v1/instruments");
  return json();
}

// Until the node has posted everything it executed: no open batch and the node's root is the L1 tip.
inline bool drained(http::Client& api, http::Client& l1) {
  json h = get_ok(api, "/v1/health");
  json head = get_ok(l1, "/l1/v1/head");
  return u64(h.at("pendingTxs")) == 0 && !head.at("tipBatch").is_null() && head.at("tipRoot").is_string() &&
         h.at("root") == head.at("tipRoot");
}

// Every live batch on the L1 (GET /l1/v1/batches), in index order.
inline json l1_batches(http::Client& l1) {
  json all = json::array();
  for (uint64_t from = 0;;) {
    json page = items(get_ok(l1, "/l1/v1/batches?from=" + std::to_string(from) + "&limit=1000"), "batches");
    for (auto& b : page) all.push_back(b);
    if (page.size() < 1000) break;
    from = u64(page.back().at("index")) + 1;
  }
  return all;
}

// The commitments form one chain: each live batch starts from the previous live batch's root (the genesis
// root for the first), and no two live batches carry the same data (nothing was posted twice).
inline void check_batch_chain(http::Client& l1) {
  json cfg = get_ok(l1, "/l1/v1/config");
  std::string prev = cfg.at("genesisRoot");
  std::set<std::string> data_hashes;
  size_t live = 0;
  for (const auto& b : l1_batches(l1)) {
    if (b.at("status") == "removed") continue;
    ++live;
    INFO("L1 batch " << b.dump().substr(0, 700));
    CHECK(b.at("prevRoot").get<std::string>() == prev);
    CHECK(data_hashes.insert(b.at("dataHash").get<std::string>()).second);
    prev = b.at("postRoot");
  }
  CHECK(live > 0);
  CHECK(get_ok(l1, "/l1/v1/head").at("tipRoot").get<std::string>() == prev);
}

}  // namespace opt::e2e
