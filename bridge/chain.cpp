#include "bridge/chain.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "bridge/compress.h"
#include "bridge/store.h"
#include "engine/core/keccak.h"
#include "engine/core/merkle.h"
#include "engine/core/tx.h"
#include "engine/state/smt.h"
#include "engine/stf/leaves.h"

namespace opt::l1 {

const char* to_string(InboxKind k) {
  return k == InboxKind::kDeposit ? "deposit" : "forced_withdraw";
}

const char* to_string(BatchStatus s) {
  switch (s) {
    case BatchStatus::kPending: return "pending";
    case BatchStatus::kFinal: return "final";
    case BatchStatus::kRemoved: return "removed";
  }
  return "unknown";
}

Hash32 block_hash(const Hash32& parent, uint64_t number, uint64_t timestamp, const std::vector<Hash32>& actions) {
  Keccak k;
  k.update(parent);
  Bytes be;
  append_be64(be, number);
  append_be64(be, timestamp);
  k.update(ByteView(be));
  for (const auto& a : actions) k.update(a);
  return k.finish();
}

struct L1Chain::State {
  std::unique_ptr<Store> store;
  std::vector<std::shared_ptr<L1Extension>> extensions;
  std::map<std::string, ActionDef, std::less<>> defs;

  std::unordered_map<Address, L1Account, FixedBytesHash> accounts;
  uint64_t escrow = 0, deposited = 0, paid = 0, bond_burned = 0;

  std::vector<InboxMessage> inbox;
  std::vector<Hash32> inbox_acc{Hash32{}};  // inbox_acc[n] = accumulator after n messages; acc_0 = 0

  std::vector<BatchRecord> batches;
  uint64_t tip = kNoBatch;               // last live batch
  uint64_t last_final = kNoBatch;        // finality is a prefix of the live batches
  std::unordered_set<uint64_t> claimed;  // withdrawal indexes paid (the nullifiers)

  std::vector<BlockHeader> blocks;  // the last one is open
  std::vector<Event> events;
  size_t block_event_start = 0;

  uint64_t next_seq = 1;  // the log position of the next accepted action
  std::vector<std::function<void()>> undo;
  // Set when the log could not be written (disk full, read-only, I/O error): from then on nothing is
  // accepted or sealed, and the service stops (storage_failure()).
  std::string storage_failure;

  // The frames of the batch read last (the challenger and the referee read one batch many times).
  uint64_t cached_batch = kNoBatch;
  Hash32 cached_hash;
  std::shared_ptr<const std::vector<Bytes>> cached_frames;
};

namespace {

Result<uint64_t, Refusal> add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return refuse(RefusalCode::kOverflow, "amount out of range");
  return r;
}

}  // namespace

// ---- L1Context ----

uint64_t L1Context::now() const {
  return chain_.s_->blocks.back().timestamp;
}
uint64_t L1Context::block() const {
  return chain_.s_->blocks.back().number;
}
const L1Config& L1Context::config() const {
  return chain_.config_;
}
const Address& L1Context::sender() const {
  return sender_;
}

L1Account L1Context::account(const Address& a) const {
  auto it = chain_.s_->accounts.find(a);
  return it == chain_.s_->accounts.end() ? L1Account{} : it->second;
}

namespace {

// Applies `change` to a copy of the account and stores it only if the change succeeded; the old value
// goes on the undo journal.
template <class F>
Status<Refusal> change_account(L1Chain::State& s, const std::function<void(std::function<void()>)>& journal,
                               const Address& a, F&& change) {
  auto it = s.accounts.find(a);
  bool existed = it != s.accounts.end();
  L1Account before = existed ? it->second : L1Account{};
  L1Account after = before;
  if (auto r = change(after); !r) return r;
  s.accounts[a] = after;
  journal([&s, a, before, existed] {
    if (existed)
      s.accounts[a] = before;
    else
      s.accounts.erase(a);
  });
  return {};
}

Status<Refusal> take(uint64_t& from, uint64_t amount, const char* what) {
  if (from < amount) return refuse(RefusalCode::kInsufficientFunds, std::string("not enough ") + what);
  from -= amount;
  return {};
}
Status<Refusal> give(uint64_t& to, uint64_t amount) {
  auto r = add(to, amount);
  if (!r) return err(r.error());
  to = *r;
  return {};
}

}  // namespace

Status<Refusal> L1Context::transfer_bond(const Address& from, const Address& to, uint64_t amount) {
  auto j = [this](std::function<void()> u) { chain_.journal(std::move(u)); };
  if (account(from).bond < amount) return refuse(RefusalCode::kInsufficientFunds, "not enough bond tokens");
  if (from == to) return {};
  if (!add(account(to).bond, amount)) return refuse(RefusalCode::kOverflow, "bond balance out of range");
  (void)change_account(*chain_.s_, j, from, [&](L1Account& x) { return take(x.bond, amount, "bond tokens"); });
  return change_account(*chain_.s_, j, to, [&](L1Account& x) { return give(x.bond, amount); });
}

Status<Refusal> L1Context::lock_bond(const Address& owner, uint64_t amount) {
  auto j = [this](std::function<void()> u) { chain_.journal(std::move(u)); };
  return change_account(*chain_.s_, j, owner, [&](L1Account& x) -> Status<Refusal> {
    if (auto r = take(x.bond, amount, "bond tokens"); !r) return r;
    return give(x.locked, amount);
  });
}

Status<Refusal> L1Context::unlock_bond(const Address& owner, uint64_t amount) {
  auto j = [this](std::function<void()> u) { chain_.journal(std::move(u)); };
  return change_account(*chain_.s_, j, owner, [&](L1Account& x) -> Status<Refusal> {
    if (auto r = take(x.locked, amount, "locked bond tokens"); !r) return r;
    return give(x.bond, amount);
  });
}

namespace {

Status<Refusal> slash(L1Chain::State& s, const std::function<void(std::function<void()>)>& journal,
                      const Address& owner, uint64_t amount, const std::optional<Address>& to,
                      uint64_t L1Account::*bucket, const char* what) {
  auto it = s.accounts.find(owner);
  uint64_t have = it == s.accounts.end() ? 0 : it->second.*bucket;
  if (have < amount) return refuse(RefusalCode::kInsufficientFunds, std::string("not enough ") + what);
  if (to && *to != owner) {
    auto jt = s.accounts.find(*to);
    if (!add(jt == s.accounts.end() ? 0 : jt->second.bond, amount))
      return refuse(RefusalCode::kOverflow, "bond balance out of range");
  }
  (void)change_account(s, journal, owner, [&](L1Account& x) { return take(x.*bucket, amount, what); });
  if (to) return change_account(s, journal, *to, [&](L1Account& x) { return give(x.bond, amount); });
  uint64_t before = s.bond_burned;
  s.bond_burned += amount;  // cannot overflow: bounded by the genesis supply
  journal([&s, before] { s.bond_burned = before; });
  return {};
}

}  // namespace

Status<Refusal> L1Context::slash_locked(const Address& owner, uint64_t amount, const std::optional<Address>& to) {
  auto j = [this](std::function<void()> u) { chain_.journal(std::move(u)); };
  return slash(*chain_.s_, j, owner, amount, to, &L1Account::locked, "locked bond tokens");
}

Status<Refusal> L1Context::slash_stake(const Address& proposer, uint64_t amount, const std::optional<Address>& to) {
  auto j = [this](std::function<void()> u) { chain_.journal(std::move(u)); };
  return slash(*chain_.s_, j, proposer, amount, to, &L1Account::stake, "proposer stake");
}

uint64_t L1Context::batch_count() const {
  return chain_.s_->batches.size();
}
const BatchRecord* L1Context::batch(uint64_t index) const {
  return index < chain_.s_->batches.size() ? &chain_.s_->batches[index] : nullptr;
}
bool L1Context::is_final(uint64_t index) const {
  return chain_.is_final_locked(index);
}
Result<Bytes, Refusal> L1Context::step_input(uint64_t batch, uint64_t step) const {
  return chain_.step_input_locked(batch, step);
}
Status<Refusal> L1Context::remove_batches_from(uint64_t index) {
  return chain_.remove_from_locked(index);
}
void L1Context::emit(std::string type, nlohmann::json fields) {
  chain_.emit_locked(std::move(type), std::move(fields));
}
void L1Context::on_undo(std::function<void()> undo) {
  chain_.journal(std::move(undo));
}

// ---- opening and replay ----

L1Chain::L1Chain(const Clock& clock, L1Config config)
    : clock_(clock), config_(std::move(config)), s_(std::make_unique<State>()) {
  domain_separator_ = l1_domain(config_.chain_id).separator();
  for (const auto& b : config_.balances) {
    L1Account& a = s_->accounts[b.address];
    a.usdc = b.usdc;
    a.bond = b.bond;
  }
  auto bind = [this](auto method) {
    return [this, method](L1Context& ctx, const Action& a) { return (this->*method)(ctx, a); };
  };
  s_->defs.emplace(std::string(kDeposit), ActionDef{deposit_spec(), bind(&L1Chain::deposit)});
  s_->defs.emplace(std::string(kForcedWithdraw), ActionDef{forced_withdraw_spec(), bind(&L1Chain::forced_withdraw)});
  s_->defs.emplace(std::string(kRegisterProposer),
                   ActionDef{register_proposer_spec(), bind(&L1Chain::register_proposer)});
  s_->defs.emplace(std::string(kPostBatch), ActionDef{post_batch_spec(), bind(&L1Chain::post_batch)});
  s_->defs.emplace(std::string(kFinalizeWithdrawal),
                   ActionDef{finalize_withdrawal_spec(), bind(&L1Chain::finalize_withdrawal)});
}

L1Chain::~L1Chain() = default;

Result<std::unique_ptr<L1Chain>, std::string> L1Chain::open(const std::string& db_path, const Clock& clock,
                                                            OpenOptions options) {
  auto store = Store::open(db_path, options.durable);
  if (!store) return err(store.error());
  std::optional<L1Config> stored;
  if (auto text = (*store)->meta("config")) {
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return err(std::string("the stored L1 config is not valid JSON"));
    auto c = config_from_json(j);
    if (!c) return err("the stored L1 config is invalid: " + c.error());
    stored = *c;
  }
  L1Config config;
  if (stored) {
    if (options.config && !(*options.config == *stored))
      return err("the L1 at " + db_path +
                 " was created with another configuration: " + first_difference(*stored, *options.config));
    config = *stored;
  } else {
    if (!options.config) return err("no L1 chain at " + db_path + " and no configuration to create one");
    config = *options.config;
  }
  if (auto v = validate(config); !v) return err("invalid L1 configuration: " + v.error());

  std::unique_ptr<L1Chain> chain(new L1Chain(clock, config));
  chain->s_->store = std::move(*store);
  chain->s_->extensions = std::move(options.extensions);
  for (const auto& ext : chain->s_->extensions) {
    for (auto& def : ext->actions()) {
      std::string name = def.spec.name;
      if (!chain->s_->defs.emplace(name, std::move(def)).second)
        return err("action type '" + name + "' is registered twice");
    }
  }
  if (!stored) {
    uint64_t ms = clock.now_ms();
    BlockRow genesis{0, ms / 1000, ms, Hash32{}, std::nullopt};
    if (auto r = chain->s_->store->create(config_to_json(config).dump(), genesis); !r)
      return err("cannot create the L1 chain: " + r.error());
  }
  if (auto r = chain->replay(); !r) return err("cannot restore the L1 chain from " + db_path + ": " + r.error());
  return chain;
}

Status<std::string> L1Chain::replay() {
  auto rows = s_->store->blocks();
  if (!rows) return err(rows.error());
  if (rows->empty()) return err(std::string("no genesis block"));
  size_t bi = 0;
  auto open_row = [&](const BlockRow& r) -> Status<std::string> {
    Hash32 parent = s_->blocks.empty() ? Hash32{} : s_->blocks.back().hash;
    if (r.number != s_->blocks.size() || r.parent != parent)
      return err("block " + std::to_string(r.number) + " does not follow its parent");
    BlockHeader h;
    h.number = r.number;
    h.timestamp = r.timestamp;
    h.time_ms = r.time_ms;
    h.parent = r.parent;
    open_block_header(h);
    return {};
  };
  auto seal_row = [&](const BlockRow& r) -> Status<std::string> {
    BlockHeader& h = s_->blocks.back();
    Hash32 hash = block_hash(h.parent, h.number, h.timestamp, h.actions);
    if (!r.hash || *r.hash != hash)
      return err("block " + std::to_string(r.number) + " replays to another hash (the log and the code disagree)");
    h.hash = hash;
    h.sealed = true;
    return {};
  };
  if (auto r = open_row((*rows)[0]); !r) return r;
  auto st = s_->store->for_each_action([&](ActionRow&& row) -> Status<std::string> {
    while (bi < rows->size() && row.block > (*rows)[bi].number) {
      if (bi + 1 >= rows->size()) return err("action " + std::to_string(row.seq) + " in a block that does not exist");
      if (auto r = seal_row((*rows)[bi]); !r) return r;
      ++bi;
      if (auto r = open_row((*rows)[bi]); !r) return r;
    }
    if (row.block != (*rows)[bi].number) return err("action " + std::to_string(row.seq) + " is out of order");
    if (row.seq != s_->next_seq) return err("action log has a gap at " + std::to_string(row.seq));
    const ActionSpec* spec = find_spec(row.type);
    if (!spec) return err("action " + std::to_string(row.seq) + " has unknown type " + row.type);
    auto message = nlohmann::json::parse(row.message, nullptr, false);
    auto action = message_from_json(*spec, message);
    if (!action) return err("action " + std::to_string(row.seq) + ": " + action.error().message);
    auto sig = parse_signature(row.signature);
    if (!sig) return err("action " + std::to_string(row.seq) + " has a bad signature");
    action->signature = *sig;
    action->data = std::move(row.data);
    auto accepted = execute(*action, /*persist=*/false);
    if (!accepted)
      return err("action " + std::to_string(row.seq) + " is refused on replay: " + accepted.error().wire_code());
    if (accepted->hash != row.hash || accepted->index != row.index)
      return err("action " + std::to_string(row.seq) + " replays to another hash or position");
    return {};
  });
  if (!st) return st;
  while (bi + 1 < rows->size()) {
    if (auto r = seal_row((*rows)[bi]); !r) return r;
    ++bi;
    if (auto r = open_row((*rows)[bi]); !r) return r;
  }
  if ((*rows)[bi].hash) return err(std::string("the last block is sealed but no block follows it"));
  return {};
}

// ---- blocks ----

void L1Chain::open_block_header(BlockHeader h) {
  s_->blocks.push_back(std::move(h));
  s_->block_event_start = s_->events.size();
  // Extension hooks and the finality pass run at the start of every block, with its timestamp: their
  // effects are a function of the state and the block, so replay reproduces them without a log entry.
  for (const auto& ext : s_->extensions) {
    L1Context ctx(*this, Address{});
    ext->on_block(ctx);
  }
  finality_pass();
  s_->undo.clear();
}

size_t L1Chain::tick() {
  std::lock_guard lock(mu_);
  if (!s_->storage_failure.empty()) return 0;
  uint64_t now = clock_.now_ms();
  size_t sealed = 0;
  while (now >= s_->blocks.back().time_ms + config_.block_time_ms) {
    BlockHeader& open = s_->blocks.back();
    uint64_t next_ms = open.time_ms + config_.block_time_ms;
    if (now >= next_ms + config_.block_time_ms) next_ms = now;  // an idle gap: one block at the clock's time
    Hash32 hash = block_hash(open.parent, open.number, open.timestamp, open.actions);
    BlockHeader next;
    next.number = open.number + 1;
    next.time_ms = next_ms;
    next.timestamp = std::max(open.timestamp, next_ms / 1000);
    next.parent = hash;
    BlockRow row{next.number, next.timestamp, next.time_ms, next.parent, std::nullopt};
    if (auto r = s_->store->seal(open.number, hash, row); !r) {
      s_->storage_failure = "cannot seal block " + std::to_string(open.number) + ": " + r.error();
      break;
    }
    open.hash = hash;
    open.sealed = true;
    open_block_header(std::move(next));
    ++sealed;
  }
  return sealed;
}

uint64_t L1Chain::next_block_due_ms() const {
  std::lock_guard lock(mu_);
  return s_->blocks.back().time_ms + config_.block_time_ms;
}

void L1Chain::finality_pass() {
  const uint64_t now = s_->blocks.back().timestamp;
  uint64_t i = s_->last_final == kNoBatch ? 0 : s_->last_final + 1;
  for (; i < s_->batches.size(); ++i) {
    BatchRecord& b = s_->batches[i];
    if (b.status == BatchStatus::kRemoved) continue;
    // Final only after the whole challenge period, with no game open or won on it, and only after its
    // predecessor (the prefix order of this loop): a withdrawal can never be paid from a root that a
    // pending dispute of an earlier batch could still remove.
    if (now < b.posted_time + config_.challenge_period_seconds) break;
    if (dispute(i) != DisputeState::kNone) break;
    b.status = BatchStatus::kFinal;
    s_->last_final = i;
    emit_locked("batch_finalized", {{"index", b.index}, {"postRoot", b.post_root.hex()}});
  }
}

DisputeState L1Chain::dispute(uint64_t batch) const {
  DisputeState worst = DisputeState::kNone;
  for (const auto& ext : s_->extensions) worst = std::max(worst, ext->dispute_state(batch));
  return worst;
}

bool L1Chain::is_final_locked(uint64_t index) const {
  return index < s_->batches.size() && s_->batches[index].status == BatchStatus::kFinal;
}

void L1Chain::emit_locked(std::string type, nlohmann::json fields) {
  Event e;
  e.block = s_->blocks.back().number;
  e.index = static_cast<uint32_t>(s_->events.size() - s_->block_event_start);
  e.type = std::move(type);
  e.fields = std::move(fields);
  s_->events.push_back(std::move(e));
  journal([this] { s_->events.pop_back(); });
}

void L1Chain::journal(std::function<void()> undo) {
  s_->undo.push_back(std::move(undo));
}

void L1Chain::rollback() {
  for (auto it = s_->undo.rbegin(); it != s_->undo.rend(); ++it) (*it)();
  s_->undo.clear();
}

// ---- submitting ----

const ActionSpec* L1Chain::find_spec(std::string_view name) const {
  auto it = s_->defs.find(name);
  return it == s_->defs.end() ? nullptr : &it->second.spec;
}

std::vector<const ActionSpec*> L1Chain::specs() const {
  std::vector<const ActionSpec*> out;
  for (const auto& [name, def] : s_->defs) out.push_back(&def.spec);
  return out;
}

Result<Accepted, Refusal> L1Chain::submit(const Action& action) {
  std::lock_guard lock(mu_);
  if (!s_->storage_failure.empty()) return refuse(RefusalCode::kStorageError, s_->storage_failure);
  return execute(action, /*persist=*/true);
}

std::optional<std::string> L1Chain::storage_failure() const {
  std::lock_guard lock(mu_);
  if (s_->storage_failure.empty()) return std::nullopt;
  return s_->storage_failure;
}

Result<Accepted, Refusal> L1Chain::execute(const Action& action, bool persist) {
  if (!action.has_spec()) return refuse(RefusalCode::kUnknownAction, "action without a type");
  auto it = s_->defs.find(action.spec().name);
  // The type hash is what the signature covers: an action built from another spec of the same name
  // (another version of the type) is a different action.
  if (it == s_->defs.end() || it->second.spec.type_hash != action.spec().type_hash)
    return refuse(RefusalCode::kUnknownAction, "unknown action type '" + action.spec().name + "'");
  const ActionDef& def = it->second;

  auto sig = parse_signature(action.signature.view());
  if (!sig) return refuse(RefusalCode::kBadSignature, to_string(sig.error()));
  const Hash32 digest = action.digest(domain_separator_);
  auto signer = recover(digest, *sig);
  if (!signer) return refuse(RefusalCode::kBadSignature, to_string(signer.error()));
  // The signature must be the sender's: nobody can spend another account's tokens or post in its name.
  const Address sender = action.sender();
  if (*signer != sender)
    return refuse(RefusalCode::kWrongSigner,
                  "signed by " + to_checksum(*signer) + ", not by the sender " + to_checksum(sender));
  // The nonce stops replays of a signed action (and orders one sender's actions).
  L1Context ctx(*this, sender);
  const uint64_t nonce = ctx.account(sender).nonce;
  if (action.nonce() != nonce)
    return refuse(RefusalCode::kBadNonce,
                  "nonce " + u64_string(action.nonce()) + " is not the sender's nonce " + u64_string(nonce));
  // Data beside the message is covered by the signature only through its hash.
  if (def.spec.data_field.empty()) {
    if (!action.data.empty()) return refuse(RefusalCode::kUnexpectedData, def.spec.name + " carries no data");
  } else {
    if (action.data.size() > def.spec.max_data_bytes)
      return refuse(RefusalCode::kDataTooLarge,
                    "data is larger than " + std::to_string(def.spec.max_data_bytes) + " bytes");
    if (keccak256(action.data) != action.b32(def.spec.data_field))
      return refuse(RefusalCode::kDataHashMismatch, def.spec.data_field + " is not keccak256(data)");
  }

  s_->undo.clear();
  // Handlers return refusals as values; an exception is a bug (e.g. in an extension), and must not leave
  // half an action applied.
  Result<nlohmann::json, Refusal> result = refuse(RefusalCode::kInternalError, "");
  try {
    result = def.handler(ctx, action);
  } catch (const std::exception& e) {
    result = refuse(RefusalCode::kInternalError, std::string("action handler failed: ") + e.what());
  }
  if (!result) {
    rollback();
    return err(result.error());
  }
  auto j = [this](std::function<void()> u) { journal(std::move(u)); };
  (void)change_account(*s_, j, sender, [](L1Account& x) -> Status<Refusal> {
    ++x.nonce;
    return {};
  });
  BlockHeader& open = s_->blocks.back();
  Accepted out{digest, open.number, static_cast<uint32_t>(open.actions.size()), std::move(*result)};
  open.actions.push_back(digest);
  journal([this] { s_->blocks.back().actions.pop_back(); });
  if (persist) {
    ActionRow row;
    row.seq = s_->next_seq;
    row.block = out.block;
    row.index = out.index;
    row.type = def.spec.name;
    row.message = message_to_json(action).dump();
    row.signature = Bytes(sig->bytes.begin(), sig->bytes.end());
    row.data = action.data;
    row.hash = digest;
    auto seq = s_->store->append_action(row);
    if (!seq || *seq != row.seq) {
      rollback();
      s_->storage_failure = "cannot write the action log: " + (seq ? std::string("it is out of step") : seq.error());
      return refuse(RefusalCode::kStorageError, s_->storage_failure);
    }
  }
  ++s_->next_seq;
  s_->undo.clear();
  return out;
}

Result<Accepted, Refusal> L1Chain::submit_json(const nlohmann::json& request) {
  if (!request.is_object()) return refuse(RefusalCode::kBadRequest, "the body must be a JSON object");
  for (auto it = request.begin(); it != request.end(); ++it) {
    const std::string& k = it.key();
    if (k != "type" && k != "action" && k != "signature" && k != "data")
      return refuse(RefusalCode::kBadRequest, "unknown field '" + k + "'");
  }
  auto type = request.find("type");
  if (type == request.end() || !type->is_string()) return refuse(RefusalCode::kBadRequest, "type must be a string");
  const ActionSpec* spec = nullptr;
  {
    std::lock_guard lock(mu_);
    spec = find_spec(type->get<std::string>());
  }
  if (!spec) return refuse(RefusalCode::kUnknownAction, "unknown action type '" + type->get<std::string>() + "'");
  auto msg = request.find("action");
  if (msg == request.end()) return refuse(RefusalCode::kBadRequest, "missing action");
  auto action = message_from_json(*spec, *msg);
  if (!action) return err(action.error());
  auto sig_json = request.find("signature");
  if (sig_json == request.end() || !sig_json->is_string())
    return refuse(RefusalCode::kBadSignature, "signature must be a 0x-hex string of 65 bytes");
  auto raw = parse_hex(sig_json->get<std::string>(), true);
  if (!raw) return refuse(RefusalCode::kBadSignature, std::string("signature: ") + to_string(raw.error()));
  auto sig = parse_signature(*raw);
  if (!sig) return refuse(RefusalCode::kBadSignature, std::string("signature: ") + to_string(sig.error()));
  action->signature = *sig;
  if (auto d = request.find("data"); d != request.end()) {
    if (!d->is_string()) return refuse(RefusalCode::kBadData, "data must be a 0x-hex string");
    auto bytes = parse_hex(d->get<std::string>(), true);
    if (!bytes) return refuse(RefusalCode::kBadData, std::string("data: ") + to_string(bytes.error()));
    action->data = std::move(*bytes);
  }
  return submit(*action);
}

// ---- built-in actions ----

void L1Chain::append_inbox(InboxKind kind, const Address& sender, const Address& recipient, uint64_t amount) {
  InboxMessage m;
  m.index = s_->inbox.size();
  m.kind = kind;
  m.sender = sender;
  m.recipient = recipient;
  m.amount = amount;
  m.l1_block = s_->blocks.back().number;
  m.l1_time = s_->blocks.back().timestamp;
  // The L2 step is written here, from the L1's own record: the proposer cannot forge, reorder or skip it.
  m.l2_tx = kind == InboxKind::kDeposit ? encode_tx(DepositTx{m.index, sender, recipient, amount})
                                        : encode_tx(ForcedWithdrawTx{m.index, sender, amount});
  Keccak k;
  k.update(s_->inbox_acc.back()).update(keccak256(m.l2_tx));
  s_->inbox_acc.push_back(k.finish());
  s_->inbox.push_back(std::move(m));
  journal([this] {
    s_->inbox.pop_back();
    s_->inbox_acc.pop_back();
  });
}

Result<nlohmann::json, Refusal> L1Chain::deposit(L1Context& ctx, const Action& a) {
  const uint64_t amount = a.u64("amount");
  const Address recipient = a.address("recipient");
  if (amount == 0) return refuse(RefusalCode::kZeroAmount, "a deposit must move a positive amount");
  // Tokens sent to the zero address on L2 would be lost for good.
  if (recipient.is_zero()) return refuse(RefusalCode::kBadRecipient, "recipient is the zero address");
  if (ctx.account(a.sender()).usdc < amount) return refuse(RefusalCode::kInsufficientFunds, "not enough USDC");
  auto escrow = add(s_->escrow, amount);
  if (!escrow) return err(escrow.error());
  auto j = [this](std::function<void()> u) { journal(std::move(u)); };
  (void)change_account(*s_, j, a.sender(), [&](L1Account& x) { return take(x.usdc, amount, "USDC"); });
  uint64_t old_escrow = s_->escrow, old_deposited = s_->deposited;
  s_->escrow = *escrow;
  s_->deposited += amount;  // never above the supply
  journal([this, old_escrow, old_deposited] {
    s_->escrow = old_escrow;
    s_->deposited = old_deposited;
  });
  append_inbox(InboxKind::kDeposit, a.sender(), recipient, amount);
  uint64_t index = s_->inbox.size() - 1;
  emit_locked("deposit_queued", {{"inboxIndex", index},
                                 {"sender", to_checksum(a.sender())},
                                 {"recipient", to_checksum(recipient)},
                                 {"amount", u64_string(amount)}});
  return nlohmann::json{{"inboxIndex", index}};
}

Result<nlohmann::json, Refusal> L1Chain::forced_withdraw(L1Context&, const Action& a) {
  const uint64_t amount = a.u64("amount");
  if (amount == 0) return refuse(RefusalCode::kZeroAmount, "a forced withdrawal must ask for a positive amount");
  // No tokens move here: the L2 step writes a withdrawal leaf for what is free, claimed like any other.
  append_inbox(InboxKind::kForcedWithdraw, a.sender(), a.sender(), amount);
  uint64_t index = s_->inbox.size() - 1;
  emit_locked("forced_withdraw_queued",
              {{"inboxIndex", index}, {"account", to_checksum(a.sender())}, {"amount", u64_string(amount)}});
  return nlohmann::json{{"inboxIndex", index}};
}

Result<nlohmann::json, Refusal> L1Chain::register_proposer(L1Context& ctx, const Action& a) {
  const uint64_t stake = a.u64("stake");
  if (stake == 0) return refuse(RefusalCode::kZeroAmount, "stake must be positive");
  auto j = [this](std::function<void()> u) { journal(std::move(u)); };
  if (auto r = change_account(*s_, j, a.sender(),
                              [&](L1Account& x) -> Status<Refusal> {
                                if (auto t = take(x.bond, stake, "bond tokens"); !t) return t;
                                return give(x.stake, stake);
                              });
      !r)
    return err(r.error());
  uint64_t total = ctx.account(a.sender()).stake;
  emit_locked("proposer_registered",
              {{"proposer", to_checksum(a.sender())}, {"added", u64_string(stake)}, {"stake", u64_string(total)}});
  return nlohmann::json{{"stake", u64_string(total)}};
}

Result<nlohmann::json, Refusal> L1Chain::post_batch(L1Context& ctx, const Action& a) {
  const Address proposer = a.sender();
  const uint64_t now = ctx.now();
  // Only a bonded proposer may post: a wrong root must cost its poster the stake the game takes.
  const uint64_t stake = ctx.account(proposer).stake;
  if (stake == 0) return refuse(RefusalCode::kNotProposer, "the sender is not a registered proposer");
  if (stake < config_.min_proposer_stake)
    return refuse(RefusalCode::kInsufficientStake, "proposer stake " + u64_string(stake) + " is below the minimum " +
                                                       u64_string(config_.min_proposer_stake));
  // Indexes are never reused, so a signed PostBatch cannot be replayed into another slot.
  const uint64_t index = a.u64("index");
  if (index != s_->batches.size())
    return refuse(RefusalCode::kBadIndex, "the next batch index is " + std::to_string(s_->batches.size()));
  // The commitment chain: each batch starts from the root of the last live batch.
  const BatchRecord* prev = s_->tip == kNoBatch ? nullptr : &s_->batches[s_->tip];
  const Hash32 tip_root = prev ? prev->post_root : config_.genesis_root;
  if (a.b32("prevRoot") != tip_root)
    return refuse(RefusalCode::kPrevRootMismatch, "prevRoot is not the tip " + tip_root.hex());
  // The inbox range is the L1's: it starts where the previous live batch stopped, so no message can be
  // skipped or consumed twice, and the claimed accumulator must be the L1's own.
  const uint64_t inbox_from = prev ? prev->inbox_to : 0;
  const uint64_t inbox_to = a.u64("inboxTo");
  if (inbox_to < inbox_from)
    return refuse(RefusalCode::kBadInboxRange,
                  "inboxTo is below the previous batch's inboxTo " + std::to_string(inbox_from));
  if (inbox_to > s_->inbox.size())
    return refuse(RefusalCode::kBadInboxRange,
                  "inboxTo is beyond the inbox length " + std::to_string(s_->inbox.size()));
  if (a.b32("inboxAcc") != s_->inbox_acc[inbox_to])
    return refuse(RefusalCode::kInboxAccMismatch,
                  "inboxAcc is not the inbox accumulator after " + std::to_string(inbox_to) + " messages");
  // Forced inclusion: a proposer may delay the inbox, but not beyond the delay (censorship resistance).
  // Messages are in time order, so the first one left out is the oldest.
  if (inbox_to < s_->inbox.size() && s_->inbox[inbox_to].l1_time + config_.forced_inclusion_delay_seconds <= now)
    return refuse(RefusalCode::kForcedInclusion, "inbox message " + std::to_string(inbox_to) +
                                                     " is older than the forced-inclusion delay and must be included");
  // The batch's L2 time may not go back, nor run ahead of the L1's clock (option expiries depend on it).
  const uint64_t l2_ts = a.u64("l2Timestamp");
  const uint64_t prev_ts = prev ? prev->l2_timestamp : 0;
  if (l2_ts < prev_ts)
    return refuse(RefusalCode::kTimestampTooOld,
                  "l2Timestamp is before the previous batch's " + std::to_string(prev_ts));
  if (l2_ts > now + config_.max_timestamp_drift_seconds)
    return refuse(RefusalCode::kTimestampInFuture, "l2Timestamp is more than " +
                                                       std::to_string(config_.max_timestamp_drift_seconds) +
                                                       " s after the L1 time " + std::to_string(now));
  // The data is the data availability: the L1 decodes it and computes txDataRoot itself, so the root the
  // referee checks frames against always describes data anyone can download.
  auto raw = zstd_decompress(a.data);
  if (!raw) return refuse(RefusalCode::kBadCompression, to_string(raw.error()));
  auto frames = decode_batch(*raw);
  if (!frames)
    return refuse(RefusalCode::kBadBatchData, std::string("batch framing: ") + opt::to_string(frames.error()));
  const uint64_t tx_count = a.u64("txCount");
  if (tx_count != frames->size())
    return refuse(RefusalCode::kTxCountMismatch, "txCount is " + u64_string(tx_count) + " but the data holds " +
                                                     std::to_string(frames->size()) + " transactions");
  // A batch without steps cannot change the state.
  if ((inbox_to - inbox_from) + tx_count == 0 && a.b32("postRoot") != tip_root)
    return refuse(RefusalCode::kBadEmptyBatch, "a batch without steps must keep the root");

  BatchRecord r;
  r.index = index;
  r.prev_root = tip_root;
  r.post_root = a.b32("postRoot");
  r.tx_count = tx_count;
  r.tx_data_root = tx_data_root(*frames);
  r.data_hash = a.b32("dataHash");
  r.data_bytes = a.data.size();
  r.inbox_from = inbox_from;
  r.inbox_to = inbox_to;
  r.inbox_acc = s_->inbox_acc[inbox_to];
  r.l2_timestamp = l2_ts;
  r.proposer = proposer;
  r.posted_block = ctx.block();
  r.posted_time = now;
  r.prev_live_index = s_->tip;
  r.data_seq = s_->next_seq;
  const uint64_t old_tip = s_->tip;
  s_->batches.push_back(r);
  s_->tip = index;
  journal([this, old_tip] {
    s_->batches.pop_back();
    s_->tip = old_tip;
  });
  s_->cached_batch = index;
  s_->cached_hash = r.data_hash;
  s_->cached_frames = std::make_shared<const std::vector<Bytes>>(std::move(*frames));
  emit_locked("batch_posted", {{"index", index},
                               {"proposer", to_checksum(proposer)},
                               {"prevRoot", r.prev_root.hex()},
                               {"postRoot", r.post_root.hex()},
                               {"txCount", r.tx_count},
                               {"txDataRoot", r.tx_data_root.hex()},
                               {"dataHash", r.data_hash.hex()},
                               {"inboxFrom", r.inbox_from},
                               {"inboxTo", r.inbox_to},
                               {"l2Timestamp", r.l2_timestamp}});
  return nlohmann::json{
      {"index", index}, {"txDataRoot", r.tx_data_root.hex()}, {"inboxFrom", inbox_from}, {"inboxTo", inbox_to}};
}

Result<nlohmann::json, Refusal> L1Chain::finalize_withdrawal(L1Context&, const Action& a) {
  const uint64_t bi = a.u64("batch");
  if (bi >= s_->batches.size()) return refuse(RefusalCode::kUnknownBatch, "no batch " + u64_string(bi));
  const BatchRecord& b = s_->batches[bi];
  if (b.status == BatchStatus::kRemoved)
    return refuse(RefusalCode::kRemovedBatch, "batch " + u64_string(bi) + " was removed");
  // Only a final root is paid from: a root that can still be disputed may be false.
  if (b.status != BatchStatus::kFinal)
    return refuse(RefusalCode::kNotFinal, "batch " + u64_string(bi) + " is not final yet");
  const uint64_t index = a.u64("index");
  const uint64_t amount = a.u64("amount");
  if (amount == 0) return refuse(RefusalCode::kZeroAmount, "nothing to pay");
  // The nullifier: a withdrawal leaf stays in every later root, so it is paid once, whatever root proves it.
  if (s_->claimed.count(index))
    return refuse(RefusalCode::kAlreadyClaimed, "withdrawal " + u64_string(index) + " was paid");
  auto proof = SmtProof::decode(a.data);
  if (!proof) return refuse(RefusalCode::kBadProof, std::string("proof: ") + opt::to_string(proof.error()));
  const Address account = a.address("account"), recipient = a.address("recipient");
  Bytes leaf = encode_leaf(WithdrawalLeaf{index, account, recipient, amount});
  if (!verify_proof(b.post_root, withdrawal_key(index), ByteView(leaf), *proof))
    return refuse(RefusalCode::kBadProof,
                  "the proof does not show this withdrawal leaf under batch " + u64_string(bi) + "'s root");
  if (s_->escrow < amount) return refuse(RefusalCode::kInsufficientEscrow, "the escrow holds less than the withdrawal");
  auto j = [this](std::function<void()> u) { journal(std::move(u)); };
  if (auto r = change_account(*s_, j, recipient, [&](L1Account& x) { return give(x.usdc, amount); }); !r)
    return err(r.error());
  uint64_t old_escrow = s_->escrow, old_paid = s_->paid;
  s_->escrow -= amount;
  s_->paid += amount;
  s_->claimed.insert(index);
  journal([this, old_escrow, old_paid, index] {
    s_->escrow = old_escrow;
    s_->paid = old_paid;
    s_->claimed.erase(index);
  });
  emit_locked("withdrawal_paid", {{"index", index},
                                  {"batch", bi},
                                  {"account", to_checksum(account)},
                                  {"recipient", to_checksum(recipient)},
                                  {"amount", u64_string(amount)},
                                  {"by", to_checksum(a.sender())}});
  return nlohmann::json{{"index", index}, {"recipient", to_checksum(recipient)}, {"amount", u64_string(amount)}};
}

// ---- rollup helpers ----

Status<Refusal> L1Chain::remove_from_locked(uint64_t index) {
  if (index >= s_->batches.size()) return refuse(RefusalCode::kUnknownBatch, "no batch " + u64_string(index));
  BatchRecord& first = s_->batches[index];
  if (first.status == BatchStatus::kRemoved)
    return refuse(RefusalCode::kRemovedBatch, "batch " + u64_string(index) + " is already removed");
  if (first.status == BatchStatus::kFinal)
    return refuse(RefusalCode::kFinalBatch, "batch " + u64_string(index) + " is final");
  // Every later live batch builds on this one; they go with it. (Finality is a prefix, so none is final.)
  const uint64_t old_tip = s_->tip;
  std::vector<uint64_t> removed;
  for (uint64_t i = index; i < s_->batches.size(); ++i) {
    BatchRecord& b = s_->batches[i];
    if (b.status != BatchStatus::kPending) continue;
    b.status = BatchStatus::kRemoved;
    removed.push_back(i);
    emit_locked("batch_removed", {{"index", i}, {"postRoot", b.post_root.hex()}});
  }
  s_->tip = first.prev_live_index;
  journal([this, old_tip, removed] {
    for (uint64_t i : removed) s_->batches[i].status = BatchStatus::kPending;
    s_->tip = old_tip;
  });
  return {};
}

Result<std::shared_ptr<const std::vector<Bytes>>, Refusal> L1Chain::frames_locked(uint64_t batch) const {
  if (batch >= s_->batches.size()) return refuse(RefusalCode::kUnknownBatch, "no batch " + u64_string(batch));
  const BatchRecord& b = s_->batches[batch];
  if (s_->cached_batch == batch && s_->cached_hash == b.data_hash && s_->cached_frames) return s_->cached_frames;
  auto data = s_->store->action_data(b.data_seq);
  if (!data) return refuse(RefusalCode::kStorageError, "the data of batch " + u64_string(batch) + " cannot be read");
  auto raw = zstd_decompress(*data);
  if (!raw) return refuse(RefusalCode::kStorageError, "stored batch data does not decompress");
  auto frames = decode_batch(*raw);
  if (!frames) return refuse(RefusalCode::kStorageError, "stored batch data does not decode");
  s_->cached_batch = batch;
  s_->cached_hash = b.data_hash;
  s_->cached_frames = std::make_shared<const std::vector<Bytes>>(std::move(*frames));
  return s_->cached_frames;
}

Result<Bytes, Refusal> L1Chain::step_input_locked(uint64_t batch, uint64_t step) const {
  if (batch >= s_->batches.size()) return refuse(RefusalCode::kUnknownBatch, "no batch " + u64_string(batch));
  const BatchRecord& b = s_->batches[batch];
  if (step >= b.step_count())
    return refuse(RefusalCode::kBadStep,
                  "batch " + u64_string(batch) + " has " + u64_string(b.step_count()) + " steps");
  const uint64_t from_inbox = b.inbox_to - b.inbox_from;
  if (step < from_inbox) return s_->inbox[b.inbox_from + step].l2_tx;
  auto frames = frames_locked(batch);
  if (!frames) return err(frames.error());
  return (**frames)[step - from_inbox];
}

// ---- reads ----

Head L1Chain::head() const {
  std::lock_guard lock(mu_);
  Head h;
  h.block = s_->blocks.back().number;
  h.timestamp = s_->blocks.back().timestamp;
  h.next_batch_index = s_->batches.size();
  h.tip_batch = s_->tip;
  h.tip_root = s_->tip == kNoBatch ? config_.genesis_root : s_->batches[s_->tip].post_root;
  h.last_final_batch = s_->last_final;
  h.inbox_length = s_->inbox.size();
  return h;
}

uint64_t L1Chain::now() const {
  std::lock_guard lock(mu_);
  return s_->blocks.back().timestamp;
}

std::optional<BlockHeader> L1Chain::block(uint64_t number) const {
  std::lock_guard lock(mu_);
  if (number >= s_->blocks.size()) return std::nullopt;
  return s_->blocks[number];
}

std::vector<nlohmann::json> L1Chain::block_actions(uint64_t number) const {
  std::lock_guard lock(mu_);
  std::vector<nlohmann::json> out;
  for (auto& row : s_->store->block_actions(number)) {
    out.push_back({{"hash", row.hash.hex()},
                   {"index", row.index},
                   {"type", row.type},
                   {"action", nlohmann::json::parse(row.message, nullptr, false)},
                   {"signature", to_hex(row.signature)}});
  }
  return out;
}

std::optional<nlohmann::json> L1Chain::find_action(const Hash32& hash) const {
  std::lock_guard lock(mu_);
  auto row = s_->store->find_action(hash);
  if (!row) return std::nullopt;
  return nlohmann::json{{"hash", row->hash.hex()},
                        {"block", row->block},
                        {"index", row->index},
                        {"type", row->type},
                        {"action", nlohmann::json::parse(row->message, nullptr, false)},
                        {"signature", to_hex(row->signature)}};
}

L1Account L1Chain::account(const Address& a) const {
  std::lock_guard lock(mu_);
  auto it = s_->accounts.find(a);
  return it == s_->accounts.end() ? L1Account{} : it->second;
}

uint64_t L1Chain::batch_count() const {
  std::lock_guard lock(mu_);
  return s_->batches.size();
}

std::optional<BatchRecord> L1Chain::batch(uint64_t index) const {
  std::lock_guard lock(mu_);
  if (index >= s_->batches.size()) return std::nullopt;
  return s_->batches[index];
}

std::vector<BatchRecord> L1Chain::batches(uint64_t from, size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<BatchRecord> out;
  for (uint64_t i = from; i < s_->batches.size() && out.size() < limit; ++i) out.push_back(s_->batches[i]);
  return out;
}

std::optional<Bytes> L1Chain::batch_data(uint64_t index) const {
  std::lock_guard lock(mu_);
  if (index >= s_->batches.size()) return std::nullopt;
  return s_->store->action_data(s_->batches[index].data_seq);
}

uint64_t L1Chain::inbox_length() const {
  std::lock_guard lock(mu_);
  return s_->inbox.size();
}

std::vector<InboxMessage> L1Chain::inbox(uint64_t from, size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<InboxMessage> out;
  for (uint64_t i = from; i < s_->inbox.size() && out.size() < limit; ++i) out.push_back(s_->inbox[i]);
  return out;
}

Hash32 L1Chain::inbox_accumulator(uint64_t n) const {
  std::lock_guard lock(mu_);
  return n < s_->inbox_acc.size() ? s_->inbox_acc[n] : Hash32{};
}

bool L1Chain::withdrawal_claimed(uint64_t index) const {
  std::lock_guard lock(mu_);
  return s_->claimed.count(index) > 0;
}

std::vector<Event> L1Chain::events(uint64_t from, uint64_t to, size_t limit, bool* more) const {
  std::lock_guard lock(mu_);
  if (more) *more = false;
  std::vector<Event> out;
  auto it = std::lower_bound(s_->events.begin(), s_->events.end(), from,
                             [](const Event& e, uint64_t b) { return e.block < b; });
  for (; it != s_->events.end() && it->block <= to; ++it) {
    if (out.size() >= limit && it->block != out.back().block) {
      if (more) *more = true;
      break;
    }
    out.push_back(*it);
  }
  return out;
}

Totals L1Chain::totals() const {
  std::lock_guard lock(mu_);
  Totals t;
  t.escrow = s_->escrow;
  t.deposited = s_->deposited;
  t.paid = s_->paid;
  t.bond_burned = s_->bond_burned;
  t.usdc_supply = s_->escrow;
  t.bond_supply = s_->bond_burned;
  for (const auto& [addr, a] : s_->accounts) {
    t.usdc_supply += a.usdc;
    t.bond_supply += a.bond + a.stake + a.locked;
  }
  return t;
}

Result<Bytes, Refusal> L1Chain::step_input(uint64_t batch, uint64_t step) const {
  std::lock_guard lock(mu_);
  return step_input_locked(batch, step);
}

Result<std::vector<Bytes>, Refusal> L1Chain::batch_frames(uint64_t batch) const {
  std::lock_guard lock(mu_);
  auto frames = frames_locked(batch);
  if (!frames) return err(frames.error());
  return **frames;
}

Result<std::vector<Hash32>, Refusal> L1Chain::frame_proof(uint64_t batch, uint64_t frame) const {
  std::lock_guard lock(mu_);
  auto frames = frames_locked(batch);
  if (!frames) return err(frames.error());
  if (frame >= (*frames)->size())
    return refuse(RefusalCode::kBadStep,
                  "batch " + u64_string(batch) + " has " + std::to_string((*frames)->size()) + " frames");
  return tx_data_proof(**frames, frame);
}

const std::vector<std::shared_ptr<L1Extension>>& L1Chain::extensions() const {
  return s_->extensions;
}

void L1Chain::run_locked(const std::function<void()>& fn) const {
  std::lock_guard lock(mu_);
  fn();
}

}  // namespace opt::l1
