// A small L1 for tests: a chain in a temporary SQLite file driven by a manual clock, with helpers that
// sign actions the way L1Client does and check the conservation invariants.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "bridge/chain.h"
#include "bridge/client.h"
#include "bridge/compress.h"
#include "bridge/wire.h"
#include "engine/core/keccak.h"
#include "engine/core/tx.h"
#include "tests/support/temp_dir.h"

namespace opt::l1::test {

constexpr uint64_t kUsdc = 1'000'000;
constexpr uint64_t kGenesisUsdc = 1'000'000 * kUsdc;
constexpr uint64_t kGenesisBond = 10'000 * kUsdc;

using opt::test::TempDir;

// The refusal of a result, for assertion messages (empty when it succeeded: doctest may evaluate a
// message even for a passing assertion).
template <class T>
std::string why(const Result<T, Refusal>& r) {
  return r.ok() ? std::string() : r.error().wire_code() + ": " + r.error().message;
}
template <class T>
std::string why(const Result<T, L1Error>& r) {
  return r.ok() ? std::string() : std::to_string(r.error().status) + " " + r.error().code + ": " + r.error().message;
}

inline const PrivateKey& key(size_t dev) {
  return dev_accounts().at(dev).key;
}
inline const Address& addr(size_t dev) {
  return dev_accounts().at(dev).address;
}

inline Hash32 root_of(uint8_t tag) {
  Hash32 h;
  h[0] = 0xaa;
  h[31] = tag;
  return h;
}

inline L1Config test_config() {
  L1Config c;
  c.genesis_root = root_of(0);
  c.challenge_period_seconds = 60;
  c.forced_inclusion_delay_seconds = 120;
  c.max_timestamp_drift_seconds = 30;
  return c;
}

// Signs `a` for dev key `dev` (sender and nonce filled in from the chain, as L1Client does).
inline Action signed_by(const L1Chain& chain, const PrivateKey& k, Action a, std::optional<uint64_t> nonce = {}) {
  Address sender = *address_of(k);
  a.set("sender", sender).set("nonce", nonce ? *nonce : chain.account(sender).nonce);
  REQUIRE(sign_action(a, k, chain.domain_separator()).ok());
  return a;
}

class Fixture {
 public:
  explicit Fixture(L1Config config = test_config(), std::vector<std::shared_ptr<L1Extension>> ext = {})
      : config_(std::move(config)), ext_(std::move(ext)) {
    open();
    genesis_usdc_ = chain->totals().usdc_supply;
    genesis_bond_ = chain->totals().bond_supply;
  }

  void open() {
    OpenOptions o;
    o.config = config_;
    o.extensions = ext_;
    o.durable = false;  // tests need durability against a killed process only (WAL, synchronous=NORMAL)
    auto c = L1Chain::open(db(), clock, std::move(o));
    if (!c) FAIL("cannot open the chain: " << c.error());
    chain = std::move(*c);
  }
  void reopen() {
    chain.reset();
    open();
  }
  std::string db() const { return dir.file("l1.sqlite"); }

  Result<Accepted, Refusal> submit(size_t dev, Action a) {
    return chain->submit(signed_by(*chain, key(dev), std::move(a)));
  }
  Result<Accepted, Refusal> submit_key(const PrivateKey& k, Action a) {
    return chain->submit(signed_by(*chain, k, std::move(a)));
  }

  // Moves the clock and seals: the next actions run in a block `s` seconds later.
  void advance(uint64_t s) {
    clock.advance_s(s);
    chain->tick();
  }

  Accepted deposit(size_t dev, uint64_t amount, std::optional<Address> to = {}) {
    auto r = submit(dev, make_deposit({}, to ? *to : addr(dev), amount, 0));
    REQUIRE_MESSAGE(r.ok(), why(r));
    check_invariants();
    return *r;
  }
  void register_proposer(size_t dev, uint64_t stake) {
    auto r = submit(dev, make_register_proposer({}, stake, 0));
    REQUIRE_MESSAGE(r.ok(), why(r));
  }

  // A PostBatch with every field as an honest proposer would fill it; tests change what they probe.
  struct Post {
    PostBatchArgs args;
    Bytes data;
  };
  Post honest_post(const std::vector<Bytes>& frames, const Hash32& post_root, std::optional<uint64_t> inbox_to = {}) {
    Head h = chain->head();
    Post p;
    p.args.index = h.next_batch_index;
    p.args.prev_root = h.tip_root;
    p.args.post_root = post_root;
    p.args.tx_count = frames.size();
    p.args.inbox_to = inbox_to ? *inbox_to : h.inbox_length;
    p.args.inbox_acc = chain->inbox_accumulator(p.args.inbox_to);
    p.args.l2_timestamp = h.timestamp;
    p.data = compress_batch(frames, 3);
    return p;
  }
  Result<Accepted, Refusal> post(size_t dev, const Post& p) {
    return submit(dev, make_post_batch({}, p.args, p.data, 0));
  }
  uint64_t post_ok(size_t dev, const std::vector<Bytes>& frames, const Hash32& post_root,
                   std::optional<uint64_t> inbox_to = {}) {
    auto r = post(dev, honest_post(frames, post_root, inbox_to));
    REQUIRE_MESSAGE(r.ok(), why(r));
    check_invariants();
    return r->result["index"].get<uint64_t>();
  }

  // Conservation (the bridge's invariant): escrow == deposited - paid, and neither token is created or
  // destroyed (bond tokens only by an explicit burn, counted).
  void check_invariants() {
    Totals t = chain->totals();
    CHECK(t.escrow == t.deposited - t.paid);
    CHECK(t.paid <= t.deposited);
    CHECK(t.usdc_supply == genesis_usdc_);
    CHECK(t.bond_supply == genesis_bond_);
  }

  ManualClock clock;
  TempDir dir;
  std::unique_ptr<L1Chain> chain;

 private:
  L1Config config_;
  std::vector<std::shared_ptr<L1Extension>> ext_;
  uint64_t genesis_usdc_ = 0, genesis_bond_ = 0;
};

// Some opaque frames (the L1 never decodes a frame: any byte string is a step).
inline std::vector<Bytes> some_frames(size_t n, uint8_t seed = 1) {
  std::vector<Bytes> out;
  for (size_t i = 0; i < n; ++i) out.push_back(Bytes(10 + i, static_cast<uint8_t>(seed + i)));
  return out;
}

// Everything observable about a chain, for "same state" comparisons (reopen, replay).
inline nlohmann::json snapshot(const L1Chain& c, const std::vector<Address>& extra = {}) {
  nlohmann::json j;
  Head h = c.head();
  j["head"] = head_to_json(h);
  std::vector<Address> addrs = extra;
  for (const auto& d : dev_accounts()) addrs.push_back(d.address);
  for (const auto& a : addrs) j["accounts"].push_back(account_to_json(a, c.account(a)));
  for (const auto& b : c.batches(0, 1'000'000)) {
    auto bj = batch_to_json(b);
    bj["data"] = to_hex(*c.batch_data(b.index));
    j["batches"].push_back(bj);
  }
  for (const auto& m : c.inbox(0, 1'000'000)) j["inbox"].push_back(inbox_to_json(m, c.inbox_accumulator(m.index + 1)));
  for (const auto& e : c.events(0, UINT64_MAX, SIZE_MAX)) j["events"].push_back(event_to_json(e));
  for (uint64_t n = 0; n <= h.block; ++n) j["blocks"].push_back(block_to_json(*c.block(n)));
  Totals t = c.totals();
  j["totals"] = {t.usdc_supply, t.escrow, t.deposited, t.paid, t.bond_supply, t.bond_burned};
  return j;
}

}  // namespace opt::l1::test
