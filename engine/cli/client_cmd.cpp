// The client subcommands (docs/operations.md, section 8): deposit, order, cancel, withdraw, claim, status, account.
// They sign EIP-712 messages for the user (the L2 domain from GET /v1/config, the L1 domain from the L1's
// config) and talk to the rollup API and the L1 API. Amounts are human decimals ("1000", "12.5").
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <thread>

#include "bridge/client.h"
#include "engine/cli/command.h"
#include "engine/common/keys.h"
#include "engine/core/eip712.h"
#include "engine/net/http.h"
#include "engine/state/smt.h"

namespace opt::cli {

namespace {

using nlohmann::json;

struct Ctx {
  std::string name;
  bool as_json = false;
  std::optional<PrivateKey> key;
  Address me;
  std::string api_url, l1_url;
};

// Thrown by the helpers below and reported by client() as one error: a bad command line (exit 2, code
// "bad_flag"), or a failed run (exit 1, code "failed" or the code of the API's refusal).
struct Fail : std::exception {
  std::string msg;
  std::string code = "failed";
  bool usage = false;
  explicit Fail(std::string m) : msg(std::move(m)) {}
  Fail(std::string m, std::string c) : msg(std::move(m)), code(c.empty() ? "failed" : std::move(c)) {}
  const char* what() const noexcept override { return msg.c_str(); }
};

Fail usage_fail(std::string message) {
  Fail f(std::move(message));
  f.usage = true;
  return f;
}

// A flag's typed value, or a usage error.
template <class T>
T need(FlagResult<T> r) {
  if (!r) throw usage_fail(r.error().message);
  return std::move(r).value();
}

Ctx context(const std::string& name, const Args& a, bool need_key) {
  Ctx c;
  c.name = name;
  c.as_json = a.flag("--json");
  c.api_url = need(a.endpoint("--api", kApiEnv, kDefaultApi, false)).url();
  c.l1_url = need(a.endpoint("--l1", kL1Env, kDefaultL1, false)).url();
  c.key = need(a.key());
  if (!c.key && need_key)
    throw usage_fail("give your key with --key 0x... or --key-file PATH (optrollup keygen makes one)");
  if (c.key) c.me = *address_of(*c.key);
  return c;
}

// --to ADDRESS, or the key's own address.
Address recipient(const Args& a, const Ctx& c) {
  return need(a.address("--to")).value_or(c.me);
}

json call(const std::string& base, const std::string& method, const std::string& target, const json* body = nullptr) {
  http::Client client(base, std::chrono::milliseconds(15'000));
  http::Response r;
  try {
    r = client.request(method, target, body ? body->dump() : "");
  } catch (const std::exception& e) {
    throw Fail("cannot reach " + base + " (" + e.what() + "): is the devnet running? (scripts/optrollup devnet)",
               "unreachable");
  }
  json j;
  try {
    j = r.body.empty() ? json::object() : json::parse(r.body);
  } catch (const std::exception&) {
    throw Fail(method + " " + target + ": HTTP " + std::to_string(r.status) + " with a body that is not JSON");
  }
  if (r.status >= 400) {
    std::string code = j.contains("error") && j["error"].is_object() ? j["error"].value("code", "") : "";
    std::string msg = j.contains("error") && j["error"].is_object() ? j["error"].value("message", "") : r.body;
    throw Fail(code.empty() ? msg : code + ": " + msg, code);
  }
  return j;
}

// A list endpoint's items, whether the answer is a bare array or {"<key>": [...]}.
json items(const json& j, const char* key) {
  if (j.is_array()) return j;
  if (j.is_object() && j.contains(key) && j[key].is_array()) return j[key];
  return json::array();
}

// Numbers in the API's answers: JSON numbers, or decimal strings for values beyond 2^53.
uint64_t u64_of(const json& v) {
  if (!v.is_string()) return v.get<uint64_t>();
  auto n = parse_u64_digits(v.get<std::string>());
  if (!n) throw Fail("the API answered " + v.dump() + " where an unsigned integer belongs");
  return *n;
}
int64_t i64_of(const json& v) {
  if (!v.is_string()) return v.get<int64_t>();
  const std::string s = v.get<std::string>();
  const bool negative = !s.empty() && s[0] == '-';
  auto n = parse_u64_digits(negative ? std::string_view(s).substr(1) : std::string_view(s));
  if (!n || *n > static_cast<uint64_t>(INT64_MAX))
    throw Fail("the API answered " + v.dump() + " where an integer belongs");
  return negative ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
}

// A required USDC amount.
uint64_t amount_flag(const Args& a, const std::string& flag) {
  auto v = need(a.amount(flag));
  if (!v) throw usage_fail(flag + " USDC is required");
  return *v;
}

Hash32 l2_domain(const Ctx& c) {
  json cfg = call(c.api_url, "GET", "/v1/config");
  const json& d = cfg.at("domain");
  Eip712Domain dom{d.at("name"), d.at("version"), u64_of(d.at("chainId")),
                   *parse_address(d.at("verifyingContract").get<std::string>())};
  return dom.separator();
}

std::string sig_hex(const Signature& s) {
  return s.hex();
}

void print(const Ctx& c, const json& j, const std::string& text) {
  if (c.as_json)
    std::printf("%s\n", j.dump().c_str());
  else
    std::printf("%s\n", text.c_str());
}

std::string usdc(const json& v) {
  return format_decimal(i64_of(v));
}

// ---------------- account ----------------

json fetch_account(const Ctx& c, const Address& a) {
  return call(c.api_url, "GET", "/v1/accounts/" + to_checksum(a));
}

int account_cmd(const Args& a) {
  Ctx c = context("account", a, false);
  Address who = c.me;
  if (!a.positional().empty()) {
    auto p = parse_address(a.positional()[0]);
    if (!p)
      throw usage_fail("ADDRESS expects 0x and 40 hex digits (" + std::string(to_string(p.error())) + "), got '" +
                       a.positional()[0] + "'");
    who = *p;
  } else if (!c.key) {
    throw usage_fail("give an ADDRESS or --key");
  }
  json acc = fetch_account(c, who);
  json l1acc;
  try {
    l1acc = call(c.l1_url, "GET", "/l1/v1/accounts/" + to_checksum(who));
  } catch (const Fail&) {
  }
  std::string text = "account " + to_checksum(who) + "\n";
  text += "  collateral          " + usdc(acc.at("collateral")) + " USDC\n";
  text += "  equity              " + usdc(acc.at("equity")) + " USDC\n";
  text += "  initial margin      " + usdc(acc.at("initialMargin")) + " USDC\n";
  text += "  maintenance margin  " + usdc(acc.at("maintenanceMargin")) + " USDC\n";
  text += "  nonce               " + std::to_string(u64_of(acc.at("nonce"))) + "\n";
  const json& pos = acc.at("positions");
  if (pos.empty()) text += "  positions           none\n";
  // Positions carry the instrument id only: name them from the instrument list.
  std::map<uint64_t, std::string> names;
  if (!pos.empty()) {
    try {
      for (const auto& i : items(call(c.api_url, "GET", "/v1/instruments"), "instruments"))
        names[i.at("id").get<uint64_t>()] = i.value("name", "");
    } catch (const std::exception&) {
    }
  }
  for (const auto& p : pos) {
    const uint64_t id = p.at("instrument").get<uint64_t>();
    std::string name =
        p.value("name", names.count(id) && !names[id].empty() ? names[id] + " (id " + std::to_string(id) + ")"
                                                              : "instrument " + std::to_string(id));
    text += "  position            " + name + "  qty " + format_decimal(i64_of(p.at("qty"))) + "  mark " +
            usdc(p.at("mark")) + " USDC\n";
  }
  if (l1acc.is_object() && l1acc.contains("usdc"))
    text += "  on L1               " + usdc(l1acc.at("usdc")) + " USDC, " + usdc(l1acc.at("bond")) + " bond tokens\n";
  if (!text.empty() && text.back() == '\n') text.pop_back();  // print() adds the last newline
  json out = acc;
  if (!l1acc.is_null()) out["l1"] = l1acc;
  print(c, out, text);
  return 0;
}

// ---------------- deposit ----------------

int deposit_cmd(const Args& a) {
  Ctx c = context("deposit", a, true);
  uint64_t amount = amount_flag(a, "--amount");
  Address to = recipient(a, c);
  int64_t before = i64_of(fetch_account(c, to).at("collateral"));
  l1::L1Client l1(c.l1_url);
  auto r = l1.deposit(*c.key, to, amount);
  if (!r) {
    std::string hint;
    // A fresh key (optrollup keygen) holds no L1 USDC: on a devnet, a dev account can fund it.
    if (r.error().code == "insufficient_funds")
      hint = "; the key's L1 account " + to_checksum(c.me) +
             " holds too little USDC (on a devnet, a funded dev account can deposit for it: optrollup deposit "
             "--key <dev key> --to " +
             to_checksum(c.me) + " --amount A)";
    throw Fail("deposit refused by the L1: " + r.error().code + " " + r.error().message + hint, r.error().code);
  }
  uint64_t inbox = r->result.contains("inboxIndex") ? u64_of(r->result["inboxIndex"]) : 0;
  json out = {
      {"l1Hash", r->hash.hex()}, {"l1Block", r->block}, {"inboxIndex", inbox}, {"amount", std::to_string(amount)}};
  if (!c.as_json)
    std::printf("deposited %s USDC on L1 (block %llu, inbox message %llu)\n",
                format_decimal(static_cast<int64_t>(amount)).c_str(), static_cast<unsigned long long>(r->block),
                static_cast<unsigned long long>(inbox));
  if (!a.flag("--no-wait")) {
    // The sequencer credits it in its next batch.
    if (!c.as_json) std::printf("waiting for the sequencer to credit it");
    std::fflush(stdout);
    for (int i = 0; i < 120; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      int64_t now = i64_of(fetch_account(c, to).at("collateral"));
      if (now >= before + static_cast<int64_t>(amount)) {
        out["collateral"] = std::to_string(now);
        if (!c.as_json)
          std::printf("\ncredited on L2: collateral %s USDC\n", format_decimal(now).c_str());
        else
          std::printf("%s\n", out.dump().c_str());
        return 0;
      }
      if (!c.as_json) std::printf(".");
      std::fflush(stdout);
    }
    throw Fail("not credited on L2 after 60 s: is the node running?");
  }
  if (c.as_json) std::printf("%s\n", out.dump().c_str());
  return 0;
}

// ---------------- order / cancel ----------------

// An instrument id (digits) or name (as GET /v1/instruments lists them).
uint64_t instrument_of(const Ctx& c, const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    auto id = parse_u64_digits(s);
    if (!id)
      throw usage_fail(
          "--instrument expects an instrument id (a decimal integer up to 18446744073709551615) or name, got '" + s +
          "': too large");
    return *id;
  }
  for (const auto& i : items(call(c.api_url, "GET", "/v1/instruments"), "instruments"))
    if (i.value("name", "") == s) return i.at("id").get<uint64_t>();
  throw Fail("no instrument named " + s + " (see GET /v1/instruments)");
}

int order_cmd(const Args& a) {
  Ctx c = context("order", a, true);
  auto inst = a.get("--instrument");
  if (!inst) throw usage_fail("--instrument ID (or name, e.g. ETH-20261231-3000-C) is required");
  if (a.flag("--buy") == a.flag("--sell")) throw usage_fail("give exactly one of --buy and --sell");
  const uint64_t quantity = amount_flag(a, "--qty");
  const uint64_t price = amount_flag(a, "--price");
  const std::optional<uint64_t> max_fee = need(a.amount("--max-fee"));
  const uint64_t ttl_ms = need(a.duration_ms_or("--expiry", 3'600'000, 1000));
  Order o;
  o.account = c.me;
  o.instrument = instrument_of(c, *inst);
  o.is_buy = a.flag("--buy");
  o.quantity = quantity;
  o.limit_price = price;
  json cfg = call(c.api_url, "GET", "/v1/config");
  o.max_fee = max_fee ? *max_fee : u64_of(cfg.at("feeSchedule").at("takerFee"));
  o.expiry = static_cast<uint64_t>(std::time(nullptr)) + ttl_ms / 1000;
  o.nonce = std::random_device{}() | (static_cast<uint64_t>(std::random_device{}()) << 32);
  o.flags = (a.flag("--post-only") ? kPostOnly : 0) | (a.flag("--ioc") ? kIoc : 0) | (a.flag("--fok") ? kFok : 0) |
            (a.flag("--reduce-only") ? kReduceOnly : 0);
  Hash32 dom = l2_domain(c);
  Signature sig = *sign(typed_digest(dom, o), *c.key);
  json body = {{"order",
                {{"account", to_checksum(o.account)},
                 {"instrument", std::to_string(o.instrument)},
                 {"isBuy", o.is_buy},
                 {"quantity", std::to_string(o.quantity)},
                 {"limitPrice", std::to_string(o.limit_price)},
                 {"maxFee", std::to_string(o.max_fee)},
                 {"nonce", std::to_string(o.nonce)},
                 {"expiry", std::to_string(o.expiry)},
                 {"flags", o.flags}}},
               {"signature", sig_hex(sig)}};
  json r = call(c.api_url, "POST", "/v1/orders", &body);
  std::string filled = r.contains("filled") ? format_decimal(i64_of(r["filled"])) : "0";
  print(c, r,
        "order " + r.value("orderHash", std::string("?")) + ": " + r.value("status", std::string("?")) + " (filled " +
            filled + " of " + format_decimal(static_cast<int64_t>(o.quantity)) + ")");
  return 0;
}

int cancel_cmd(const Args& a) {
  Ctx c = context("cancel", a, true);
  auto h = a.get("--order");
  if (!h) throw usage_fail("--order HASH is required");
  auto oh = OrderHash::from_hex(*h, true);
  if (!oh)
    throw usage_fail("--order expects an order hash, 0x and 64 hex digits (" + std::string(to_string(oh.error())) +
                     "), got '" + *h + "'");
  Cancel x{c.me, *oh};
  Signature sig = *sign(typed_digest(l2_domain(c), x), *c.key);
  json body = {{"cancel", {{"account", to_checksum(c.me)}, {"orderHash", oh->hex()}}}, {"signature", sig_hex(sig)}};
  json r = call(c.api_url, "POST", "/v1/cancels", &body);
  print(c, r, "cancelled " + oh->hex());
  return 0;
}

// ---------------- withdraw / claim ----------------

int withdraw_cmd(const Args& a) {
  Ctx c = context("withdraw", a, true);
  uint64_t amount = amount_flag(a, "--amount");
  Address to = recipient(a, c);
  uint64_t nonce = u64_of(fetch_account(c, c.me).at("nonce"));
  Withdraw w{c.me, amount, to, nonce};
  Signature sig = *sign(typed_digest(l2_domain(c), w), *c.key);
  json body = {{"withdraw",
                {{"account", to_checksum(c.me)},
                 {"amount", std::to_string(amount)},
                 {"recipient", to_checksum(to)},
                 {"nonce", std::to_string(nonce)}}},
               {"signature", sig_hex(sig)}};
  json r = call(c.api_url, "POST", "/v1/withdrawals", &body);
  std::string index = r.contains("index") ? std::to_string(u64_of(r["index"])) : "?";
  print(c, r,
        "withdrawal " + index + " of " + format_decimal(static_cast<int64_t>(amount)) + " USDC to " + to_checksum(to) +
            ": " + r.value("status", std::string("pending")) +
            "\nclaim it on L1 with `optrollup claim` once its batch is final (after the challenge period)");
  return 0;
}

int claim_cmd(const Args& a) {
  Ctx c = context("claim", a, true);
  l1::L1Client l1(c.l1_url);
  json paid = json::array();
  // Paid (or found paid) this run: the node reports a claim only once it has seen it on L1, so a withdrawal
  // paid in one round of --wait may still read "final" in the next; it is not submitted twice.
  std::set<uint64_t> tried;
  size_t pending = 0;
  const int rounds = a.flag("--wait") ? 240 : 1;
  for (int round = 0; round < rounds; ++round) {
    pending = 0;
    for (const auto& w : items(call(c.api_url, "GET", "/v1/withdrawals/" + to_checksum(c.me)), "withdrawals")) {
      std::string status = w.value("status", "");
      if (status == "pending") ++pending;
      if (status != "final" || !w.contains("proof") || !w.contains("proofBatch")) continue;
      if (tried.count(u64_of(w.at("index")))) continue;
      WithdrawalLeaf leaf{u64_of(w.at("index")), *parse_address(w.at("account").get<std::string>()),
                          *parse_address(w.at("recipient").get<std::string>()), u64_of(w.at("amount"))};
      Bytes proof = *parse_hex(w.at("proof").get<std::string>());
      auto r = l1.finalize_withdrawal(*c.key, u64_of(w.at("proofBatch")), leaf, proof);
      if (!r) {
        if (r.error().code == "already_claimed") tried.insert(leaf.index);
        if (!c.as_json)
          std::printf("withdrawal %llu: %s %s\n", static_cast<unsigned long long>(leaf.index), r.error().code.c_str(),
                      r.error().message.c_str());
        continue;
      }
      tried.insert(leaf.index);
      paid.push_back({{"index", leaf.index},
                      {"amount", std::to_string(leaf.amount)},
                      {"recipient", to_checksum(leaf.recipient)},
                      {"l1Block", r->block}});
      if (!c.as_json)
        std::printf("withdrawal %llu: paid %s USDC to %s on L1 (block %llu)\n",
                    static_cast<unsigned long long>(leaf.index),
                    format_decimal(static_cast<int64_t>(leaf.amount)).c_str(), to_checksum(leaf.recipient).c_str(),
                    static_cast<unsigned long long>(r->block));
    }
    if (pending == 0) break;
    if (round + 1 == rounds) {
      if (!c.as_json)
        std::printf("%zu withdrawal(s) not final yet: run again after the challenge period (or use --wait)\n", pending);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (c.as_json)
    std::printf("%s\n", json{{"paid", paid}, {"pending", pending}}.dump().c_str());
  else if (paid.empty() && pending == 0)
    std::printf("nothing to claim\n");
  return 0;
}

// ---------------- status ----------------

int status_cmd(const Args& a) {
  Ctx c = context("status", a, false);
  json health = call(c.api_url, "GET", "/v1/health");
  json head = call(c.l1_url, "GET", "/l1/v1/head");
  json out = {{"node", health}, {"l1", head}};
  std::string text = "node   " + c.api_url + ": " + health.value("status", std::string("?")) + ", root " +
                     health.value("root", std::string("?")) + "\n";
  auto head_field = [&](const char* k) {
    return head.contains(k) && !head[k].is_null() ? (head[k].is_string() ? head[k].get<std::string>() : head[k].dump())
                                                  : std::string("none");
  };
  text += "L1     " + c.l1_url + ": block " + head_field("block") + ", tip batch " + head_field("tipBatch") +
          ", last final batch " + head_field("lastFinalBatch") + ", inbox " + head_field("inboxLength") + " messages\n";
  uint64_t from = 0;
  if (head.contains("nextBatchIndex")) {
    uint64_t n = u64_of(head["nextBatchIndex"]);
    from = n > 5 ? n - 5 : 0;
  }
  json batches = items(call(c.api_url, "GET", "/v1/batches?from=" + std::to_string(from) + "&limit=5"), "batches");
  out["batches"] = batches;
  for (const auto& b : batches) {
    // txCount counts the sequencer's transactions; the inbox messages (deposits) a batch consumes come first.
    uint64_t inbox =
        b.contains("inboxTo") && b.contains("inboxFrom") ? u64_of(b.at("inboxTo")) - u64_of(b.at("inboxFrom")) : 0;
    text += "batch  " + std::to_string(b.at("index").get<uint64_t>()) + "  " + b.value("status", std::string("?")) +
            "  " + std::to_string(u64_of(b.at("txCount"))) + " txs" +
            (inbox ? " + " + std::to_string(inbox) + " inbox" : std::string()) + "  root " +
            b.value("postRoot", std::string("")).substr(0, 18) + "\n";
  }
  text.pop_back();  // print() adds the last newline
  print(c, out, text);
  return 0;
}

Command client(std::string name, std::string summary, std::string usage, std::vector<FlagSpec> flags,
               int (*fn)(const Args&)) {
  Command c;
  c.name = name;
  c.summary = std::move(summary);
  c.usage = std::move(usage);
  c.flags = std::move(flags);
  for (auto f : {key_flag(), key_file_flag(), api_url_flag(), l1_url_flag()}) c.flags.push_back(f);
  c.flags.push_back({"--json", "", "", "", "print one JSON object (errors too: {\"error\":{\"code\",\"message\"}})"});
  c.notes = std::string("The environment variables ") + kApiEnv + " and " + kL1Env + " stand in for --api and --l1.";
  c.run = [name, fn](const Args& a) {
    try {
      return fn(a);
    } catch (const Fail& f) {
      return f.usage ? usage_error(name, f.msg) : failure(name, f.msg, f.code);
    }
  };
  return c;
}

}  // namespace

std::vector<Command> client_commands() {
  const FlagSpec amount = {"--amount", "USDC", "decimal, up to 6 places", "required", "how much"};
  const FlagSpec to = {"--to", "ADDRESS", "0x and 40 hex digits", "the key's address", "who receives it"};
  std::vector<Command> cmds = {
      client("deposit", "deposit USDC from L1 into the rollup",
             "usage: optrollup deposit --amount USDC [--to ADDRESS] [--no-wait]\n\n"
             "Moves USDC into the L1 escrow and queues an inbox message; waits until the sequencer credits it.",
             {amount, to, {"--no-wait", "", "", "", "return once the L1 took the deposit"}}, deposit_cmd),
      client("order", "sign and place an order",
             "usage: optrollup order --instrument ID|NAME (--buy | --sell) --qty CONTRACTS --price USDC\n"
             "                       [--post-only] [--ioc] [--fok] [--reduce-only] [--expiry 1h] [--max-fee USDC]\n\n"
             "Signs an EIP-712 Order and posts it; prints its hash and status (open, filled, ...).",
             {{"--instrument", "ID|NAME", "instrument id (integer) or name", "required", "e.g. ETH-20261231-3000-C"},
              {"--buy", "", "", "", "buy (give --buy or --sell)"},
              {"--sell", "", "", "", "sell"},
              {"--qty", "CONTRACTS", "decimal, up to 6 places", "required", "quantity"},
              {"--price", "USDC", "decimal, up to 6 places", "required", "limit price"},
              {"--post-only", "", "", "", "rest on the book or be refused"},
              {"--ioc", "", "", "", "immediate or cancel"},
              {"--fok", "", "", "", "fill or kill"},
              {"--reduce-only", "", "", "", "only reduce a position"},
              {"--expiry", "D", "duration >= 1s", "1h", "how long the order lives"},
              {"--max-fee", "USDC", "decimal, up to 6 places", "the taker fee", "the most fee the order pays"}},
             order_cmd),
      client("cancel", "cancel an order", "usage: optrollup cancel --order HASH",
             {{"--order", "HASH", "0x and 64 hex digits", "required", "the order's hash"}}, cancel_cmd),
      client("withdraw", "withdraw collateral to L1 (claimable once the batch is final)",
             "usage: optrollup withdraw --amount USDC [--to ADDRESS]", {amount, to}, withdraw_cmd),
      client("claim", "pay out every final withdrawal on L1",
             "usage: optrollup claim [--wait]\n\n"
             "Finalises on L1 each of your withdrawals whose batch is final, with its Merkle proof.",
             {{"--wait", "", "", "", "keep going until no withdrawal is pending (up to 2 minutes)"}}, claim_cmd),
      client("status", "show the node, the L1 and the latest batches", "usage: optrollup status", {}, status_cmd),
      client("account", "show collateral, positions, equity and margin",
             "usage: optrollup account [ADDRESS]   (default: the --key's address)", {}, account_cmd),
  };
  cmds.back().max_positional = 1;
  return cmds;
}

}  // namespace opt::cli
