#include "bridge/wire.h"

namespace opt::l1 {

namespace {

nlohmann::json opt_index(uint64_t i) {
  return i == kNoBatch ? nlohmann::json(nullptr) : nlohmann::json(i);
}

// Field readers for the client side: each names the field it failed on.
struct Reader {
  const nlohmann::json& j;
  std::optional<Refusal> error;

  const nlohmann::json* find(const char* key) {
    if (error) return nullptr;
    if (!j.is_object()) {
      error = Refusal{RefusalCode::kBadResponse, "expected a JSON object"};
      return nullptr;
    }
    auto it = j.find(key);
    if (it == j.end()) {
      error = Refusal{RefusalCode::kBadResponse, std::string("missing field ") + key};
      return nullptr;
    }
    return &*it;
  }
  uint64_t u64(const char* key) {
    const auto* v = find(key);
    if (!v) return 0;
    auto r = json_u64(*v, key);
    if (!r) {
      error = Refusal{RefusalCode::kBadResponse, r.error().message};
      return 0;
    }
    return *r;
  }
  uint64_t index_or_none(const char* key) {
    const auto* v = find(key);
    if (!v) return kNoBatch;
    if (v->is_null()) return kNoBatch;
    return u64(key);
  }
  Hash32 hash(const char* key) {
    const auto* v = find(key);
    if (!v) return {};
    auto h = v->is_string() ? Hash32::from_hex(v->get<std::string>(), true) : err(HexError::kMissingPrefix);
    if (!h) {
      error = Refusal{RefusalCode::kBadResponse, std::string("bad hash in ") + key};
      return {};
    }
    return *h;
  }
  Address address(const char* key) {
    const auto* v = find(key);
    if (!v) return {};
    auto a = v->is_string() ? parse_address(v->get<std::string>()) : err(HexError::kMissingPrefix);
    if (!a) {
      error = Refusal{RefusalCode::kBadResponse, std::string("bad address in ") + key};
      return {};
    }
    return *a;
  }
  std::string str(const char* key) {
    const auto* v = find(key);
    if (!v) return {};
    if (!v->is_string()) {
      error = Refusal{RefusalCode::kBadResponse, std::string(key) + " must be a string"};
      return {};
    }
    return v->get<std::string>();
  }
};

template <class T>
Result<T, Refusal> finish(const Reader& r, T value) {
  if (r.error) return err(*r.error);
  return value;
}

}  // namespace

nlohmann::json account_to_json(const Address& address, const L1Account& a) {
  return {{"address", to_checksum(address)}, {"nonce", u64_string(a.nonce)}, {"usdc", u64_string(a.usdc)},
          {"bond", u64_string(a.bond)},      {"stake", u64_string(a.stake)}, {"locked", u64_string(a.locked)}};
}

nlohmann::json head_to_json(const Head& h) {
  return {{"block", h.block},
          {"timestamp", h.timestamp},
          {"nextBatchIndex", h.next_batch_index},
          {"tipBatch", opt_index(h.tip_batch)},
          {"tipRoot", h.tip_root.hex()},
          {"lastFinalBatch", opt_index(h.last_final_batch)},
          {"inboxLength", h.inbox_length}};
}

nlohmann::json batch_to_json(const BatchRecord& b) {
  return {{"index", b.index},
          {"prevRoot", b.prev_root.hex()},
          {"postRoot", b.post_root.hex()},
          {"txCount", b.tx_count},
          {"txDataRoot", b.tx_data_root.hex()},
          {"dataHash", b.data_hash.hex()},
          {"dataBytes", b.data_bytes},
          {"inboxFrom", b.inbox_from},
          {"inboxTo", b.inbox_to},
          {"inboxAcc", b.inbox_acc.hex()},
          {"l2Timestamp", b.l2_timestamp},
          {"proposer", to_checksum(b.proposer)},
          {"postedBlock", b.posted_block},
          {"postedTime", b.posted_time},
          {"status", to_string(b.status)},
          {"prevLiveIndex", opt_index(b.prev_live_index)},
          {"stepCount", b.step_count()}};
}

nlohmann::json inbox_to_json(const InboxMessage& m, const Hash32& acc_after) {
  return {{"index", m.index},
          {"kind", to_string(m.kind)},
          {"sender", to_checksum(m.sender)},
          {"recipient", to_checksum(m.recipient)},
          {"amount", u64_string(m.amount)},
          {"l1Block", m.l1_block},
          {"l1Time", m.l1_time},
          {"l2Tx", to_hex(m.l2_tx)},
          {"accumulator", acc_after.hex()}};
}

nlohmann::json event_to_json(const Event& e) {
  return {{"block", e.block}, {"index", e.index}, {"type", e.type}, {"fields", e.fields}};
}

nlohmann::json block_to_json(const BlockHeader& b) {
  nlohmann::json actions = nlohmann::json::array();
  for (const auto& a : b.actions) actions.push_back(a.hex());
  return {{"number", b.number},           {"timestamp", b.timestamp},
          {"parentHash", b.parent.hex()}, {"hash", b.sealed ? nlohmann::json(b.hash.hex()) : nlohmann::json(nullptr)},
          {"sealed", b.sealed},           {"actionHashes", actions}};
}

Result<L1Account, Refusal> account_from_json(const nlohmann::json& j) {
  Reader r{j, std::nullopt};
  L1Account a;
  a.nonce = r.u64("nonce");
  a.usdc = r.u64("usdc");
  a.bond = r.u64("bond");
  a.stake = r.u64("stake");
  a.locked = r.u64("locked");
  return finish(r, a);
}

Result<Head, Refusal> head_from_json(const nlohmann::json& j) {
  Reader r{j, std::nullopt};
  Head h;
  h.block = r.u64("block");
  h.timestamp = r.u64("timestamp");
  h.next_batch_index = r.u64("nextBatchIndex");
  h.tip_batch = r.index_or_none("tipBatch");
  h.tip_root = r.hash("tipRoot");
  h.last_final_batch = r.index_or_none("lastFinalBatch");
  h.inbox_length = r.u64("inboxLength");
  return finish(r, h);
}

Result<BatchRecord, Refusal> batch_from_json(const nlohmann::json& j) {
  Reader r{j, std::nullopt};
  BatchRecord b;
  b.index = r.u64("index");
  b.prev_root = r.hash("prevRoot");
  b.post_root = r.hash("postRoot");
  b.tx_count = r.u64("txCount");
  b.tx_data_root = r.hash("txDataRoot");
  b.data_hash = r.hash("dataHash");
  b.data_bytes = r.u64("dataBytes");
  b.inbox_from = r.u64("inboxFrom");
  b.inbox_to = r.u64("inboxTo");
  b.inbox_acc = r.hash("inboxAcc");
  b.l2_timestamp = r.u64("l2Timestamp");
  b.proposer = r.address("proposer");
  b.posted_block = r.u64("postedBlock");
  b.posted_time = r.u64("postedTime");
  std::string status = r.str("status");
  b.status = status == "final"     ? BatchStatus::kFinal
             : status == "removed" ? BatchStatus::kRemoved
                                   : BatchStatus::kPending;
  b.prev_live_index = r.index_or_none("prevLiveIndex");
  return finish(r, b);
}

Result<InboxMessage, Refusal> inbox_from_json(const nlohmann::json& j) {
  Reader r{j, std::nullopt};
  InboxMessage m;
  m.index = r.u64("index");
  m.kind = r.str("kind") == "forced_withdraw" ? InboxKind::kForcedWithdraw : InboxKind::kDeposit;
  m.sender = r.address("sender");
  m.recipient = r.address("recipient");
  m.amount = r.u64("amount");
  m.l1_block = r.u64("l1Block");
  m.l1_time = r.u64("l1Time");
  std::string tx = r.str("l2Tx");
  if (!r.error) {
    auto b = parse_hex(tx, true);
    if (!b) return refuse(RefusalCode::kBadResponse, "bad l2Tx hex");
    m.l2_tx = std::move(*b);
  }
  return finish(r, m);
}

Result<Event, Refusal> event_from_json(const nlohmann::json& j) {
  Reader r{j, std::nullopt};
  Event e;
  e.block = r.u64("block");
  e.index = static_cast<uint32_t>(r.u64("index"));
  e.type = r.str("type");
  if (const auto* f = r.find("fields")) e.fields = *f;
  return finish(r, e);
}

}  // namespace opt::l1
