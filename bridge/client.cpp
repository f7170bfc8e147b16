#include "bridge/client.h"

#include <stdexcept>

#include "engine/core/keccak.h"

namespace opt::l1 {

namespace {

L1Error from_refusal(const Refusal& r) {
  return L1Error{200, r.wire_code(), r.message};
}

template <class T>
L1Result<T> lift(Result<T, Refusal> r) {
  if (!r) return err(from_refusal(r.error()));
  return std::move(*r);
}

L1Error error_of(const http::Response& resp) {
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    return L1Error{resp.status, e.value("code", std::string("unknown")), e.value("message", std::string())};
  }
  return L1Error{resp.status, "http_" + std::to_string(resp.status), resp.body.substr(0, 200)};
}

}  // namespace

Action make_deposit(const Address& sender, const Address& recipient, uint64_t amount, uint64_t nonce) {
  Action a(deposit_spec());
  a.set("sender", sender).set("recipient", recipient).set("amount", amount).set("nonce", nonce);
  return a;
}

Action make_forced_withdraw(const Address& sender, uint64_t amount, uint64_t nonce) {
  Action a(forced_withdraw_spec());
  a.set("sender", sender).set("amount", amount).set("nonce", nonce);
  return a;
}

Action make_register_proposer(const Address& sender, uint64_t stake, uint64_t nonce) {
  Action a(register_proposer_spec());
  a.set("sender", sender).set("stake", stake).set("nonce", nonce);
  return a;
}

Action make_post_batch(const Address& sender, const PostBatchArgs& args, Bytes compressed_data, uint64_t nonce) {
  Action a(post_batch_spec());
  a.set("sender", sender)
      .set("index", args.index)
      .set("prevRoot", args.prev_root)
      .set("postRoot", args.post_root)
      .set("txCount", args.tx_count)
      .set("dataHash", keccak256(compressed_data))
      .set("inboxTo", args.inbox_to)
      .set("inboxAcc", args.inbox_acc)
      .set("l2Timestamp", args.l2_timestamp)
      .set("nonce", nonce);
  a.data = std::move(compressed_data);
  return a;
}

Action make_finalize_withdrawal(const Address& sender, uint64_t batch, const WithdrawalLeaf& leaf,
                                const Bytes& encoded_proof, uint64_t nonce) {
  Action a(finalize_withdrawal_spec());
  a.set("sender", sender)
      .set("batch", batch)
      .set("index", leaf.index)
      .set("account", leaf.account)
      .set("recipient", leaf.recipient)
      .set("amount", leaf.amount)
      .set("proofHash", keccak256(encoded_proof))
      .set("nonce", nonce);
  a.data = encoded_proof;
  return a;
}

L1Client::L1Client(std::string base_url, std::chrono::milliseconds timeout)
    : http_(std::make_unique<http::Client>(std::move(base_url), timeout)) {}

L1Client::~L1Client() = default;

L1Result<nlohmann::json> L1Client::get_json(const std::string& target) {
  http::Response resp;
  try {
    resp = http_->get(target);
  } catch (const std::exception& e) {
    return err(L1Error{0, "unreachable", e.what()});
  }
  if (resp.status != 200) return err(error_of(resp));
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  if (j.is_discarded()) return err(L1Error{resp.status, "bad_response", "the L1 answered with invalid JSON"});
  return j;
}

L1Result<nlohmann::json> L1Client::config_json() {
  if (config_) return *config_;
  auto j = get_json("/l1/v1/config");
  if (j) config_ = *j;
  return j;
}

L1Result<L1Config> L1Client::config() {
  auto j = config_json();
  if (!j) return err(j.error());
  auto c = config_from_json(*j);
  if (!c) return err(L1Error{200, "bad_response", c.error()});
  return *c;
}

L1Result<Hash32> L1Client::domain_separator() {
  auto c = config();
  if (!c) return err(c.error());
  return l1_domain(c->chain_id).separator();
}

L1Result<Head> L1Client::head() {
  auto j = get_json("/l1/v1/head");
  if (!j) return err(j.error());
  return lift(head_from_json(*j));
}

L1Result<L1Account> L1Client::account(const Address& a) {
  auto j = get_json("/l1/v1/accounts/" + to_checksum(a));
  if (!j) return err(j.error());
  return lift(account_from_json(*j));
}

L1Result<nlohmann::json> L1Client::block(std::optional<uint64_t> number) {
  return get_json("/l1/v1/blocks/" + (number ? std::to_string(*number) : std::string("latest")));
}

L1Result<EventPage> L1Client::events(uint64_t from, std::optional<uint64_t> to) {
  std::string target = "/l1/v1/events?from=" + std::to_string(from);
  if (to) target += "&to=" + std::to_string(*to);
  auto j = get_json(target);
  if (!j) return err(j.error());
  EventPage page;
  if (!j->contains("events") || !(*j)["events"].is_array()) return err(L1Error{200, "bad_response", "no events"});
  for (const auto& e : (*j)["events"]) {
    auto ev = event_from_json(e);
    if (!ev) return err(from_refusal(ev.error()));
    page.events.push_back(std::move(*ev));
  }
  page.more = j->value("more", false);
  if (page.more) page.next = j->value("next", uint64_t{0});
  return page;
}

L1Result<BatchRecord> L1Client::batch(uint64_t index, Bytes* data) {
  auto j = get_json("/l1/v1/batches/" + std::to_string(index));
  if (!j) return err(j.error());
  auto b = batch_from_json(*j);
  if (!b) return err(from_refusal(b.error()));
  if (data) {
    auto d = j->contains("data") && (*j)["data"].is_string() ? parse_hex((*j)["data"].get<std::string>(), true)
                                                             : err(HexError::kMissingPrefix);
    if (!d) return err(L1Error{200, "bad_response", "bad batch data"});
    *data = std::move(*d);
  }
  return *b;
}

L1Result<std::vector<BatchRecord>> L1Client::batches(uint64_t from, size_t limit) {
  auto j = get_json("/l1/v1/batches?from=" + std::to_string(from) + "&limit=" + std::to_string(limit));
  if (!j) return err(j.error());
  std::vector<BatchRecord> out;
  if (!j->contains("batches") || !(*j)["batches"].is_array()) return err(L1Error{200, "bad_response", "no batches"});
  for (const auto& b : (*j)["batches"]) {
    auto r = batch_from_json(b);
    if (!r) return err(from_refusal(r.error()));
    out.push_back(*r);
  }
  return out;
}

L1Result<InboxPage> L1Client::inbox(uint64_t from, size_t limit) {
  auto j = get_json("/l1/v1/inbox?from=" + std::to_string(from) + "&limit=" + std::to_string(limit));
  if (!j) return err(j.error());
  InboxPage page;
  if (!j->contains("messages") || !(*j)["messages"].is_array()) return err(L1Error{200, "bad_response", "no messages"});
  for (const auto& m : (*j)["messages"]) {
    auto r = inbox_from_json(m);
    if (!r) return err(from_refusal(r.error()));
    page.messages.push_back(std::move(*r));
  }
  auto len = json_u64(j->value("length", nlohmann::json()), "length");
  if (!len) return err(from_refusal(len.error()));
  page.length = *len;
  auto acc = Hash32::from_hex(j->value("accumulator", std::string()), true);
  if (!acc) return err(L1Error{200, "bad_response", "bad accumulator"});
  page.accumulator = *acc;
  return page;
}

L1Result<bool> L1Client::withdrawal_claimed(uint64_t index) {
  auto j = get_json("/l1/v1/withdrawals/" + std::to_string(index));
  if (!j) return err(j.error());
  if (!j->contains("claimed") || !(*j)["claimed"].is_boolean()) return err(L1Error{200, "bad_response", "no claimed"});
  return (*j)["claimed"].get<bool>();
}

L1Result<std::optional<nlohmann::json>> L1Client::find_action(const Hash32& hash) {
  auto j = get_json("/l1/v1/actions/" + hash.hex());
  if (!j) {
    if (j.error().status == 404) return std::optional<nlohmann::json>();
    return err(j.error());
  }
  return std::optional<nlohmann::json>(std::move(*j));
}

L1Result<Accepted> L1Client::submit_signed(const Action& action) {
  http::Response resp;
  try {
    resp = http_->post("/l1/v1/actions", request_to_json(action));
  } catch (const std::exception& e) {
    return err(L1Error{0, "unreachable", e.what()});
  }
  if (resp.status != 200) return err(error_of(resp));
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return err(L1Error{200, "bad_response", "invalid JSON"});
  Accepted a;
  auto h = Hash32::from_hex(j.value("hash", std::string()), true);
  auto block = json_u64(j.value("block", nlohmann::json()), "block");
  auto index = json_u64(j.value("index", nlohmann::json()), "index");
  if (!h || !block || !index) return err(L1Error{200, "bad_response", "incomplete answer"});
  a.hash = *h;
  a.block = *block;
  a.index = static_cast<uint32_t>(*index);
  a.result = j.value("result", nlohmann::json::object());
  return a;
}

L1Result<Accepted> L1Client::submit(const PrivateKey& key, Action action) {
  auto sender = address_of(key);
  if (!sender) return err(L1Error{0, "bad_key", to_string(sender.error())});
  auto acct = account(*sender);
  if (!acct) return err(acct.error());
  auto sep = domain_separator();
  if (!sep) return err(sep.error());
  action.set("sender", *sender).set("nonce", acct->nonce);
  if (auto s = sign_action(action, key, *sep); !s) return err(L1Error{0, s.error().wire_code(), s.error().message});
  return submit_signed(action);
}

L1Result<Accepted> L1Client::deposit(const PrivateKey& key, const Address& recipient, uint64_t amount) {
  return submit(key, make_deposit(Address{}, recipient, amount, 0));
}

L1Result<Accepted> L1Client::forced_withdraw(const PrivateKey& key, uint64_t amount) {
  return submit(key, make_forced_withdraw(Address{}, amount, 0));
}

L1Result<Accepted> L1Client::register_proposer(const PrivateKey& key, uint64_t stake) {
  return submit(key, make_register_proposer(Address{}, stake, 0));
}

L1Result<Accepted> L1Client::post_batch(const PrivateKey& key, const PostBatchArgs& args, Bytes compressed_data) {
  return submit(key, make_post_batch(Address{}, args, std::move(compressed_data), 0));
}

L1Result<Accepted> L1Client::finalize_withdrawal(const PrivateKey& key, uint64_t batch, const WithdrawalLeaf& leaf,
                                                 const Bytes& encoded_proof) {
  return submit(key, make_finalize_withdrawal(Address{}, batch, leaf, encoded_proof, 0));
}

}  // namespace opt::l1
