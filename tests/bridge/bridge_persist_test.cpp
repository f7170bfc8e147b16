// Persistence: the chain is its SQLite log replayed. Close and reopen gives the identical state; a crash
// with an open block loses nothing that was acknowledged; the genesis config is checked; a tampered log
// is refused; and two chains fed the same actions at the same times agree on every block hash.
#include <sqlite3.h>

#include "engine/state/smt.h"
#include "engine/stf/leaves.h"
#include "tests/bridge/bridge_fixture.h"

namespace opt::l1::test {

namespace {

// A run touching every action type and rule that leaves state behind: deposits, forced withdrawals,
// stakes, batches (one of them final, with a paid withdrawal), and an open block with actions in it.
void busy_run(Fixture& f, bool reopen_midway) {
  f.register_proposer(0, 1500 * kUsdc);
  f.deposit(1, 300 * kUsdc);
  f.deposit(2, 40 * kUsdc, addr(3));
  REQUIRE(f.submit(4, make_forced_withdraw({}, 5 * kUsdc, 0)).ok());
  SparseMerkleTree tree;
  WithdrawalLeaf w{0, addr(1), addr(8), 120 * kUsdc};
  tree.put(withdrawal_key(0), encode_leaf(w));
  f.post_ok(0, some_frames(3), tree.root());
  f.advance(2);
  if (reopen_midway) f.reopen();
  f.deposit(5, 1);
  f.post_ok(0, some_frames(4, 7), tree.root());
  f.advance(61);
  if (reopen_midway) f.reopen();
  auto r = f.submit(6, make_finalize_withdrawal({}, 0, w, tree.prove(withdrawal_key(0)).encode(), 0));
  REQUIRE_MESSAGE(r.ok(), why(r));
  f.advance(1);
  f.deposit(7, 2);  // left in the open block
  f.check_invariants();
}

}  // namespace

TEST_CASE("close and reopen the same file: identical state, and the chain continues") {
  Fixture f;
  busy_run(f, false);
  nlohmann::json before = snapshot(*f.chain);
  Head h = f.chain->head();
  f.reopen();
  CHECK(snapshot(*f.chain) == before);
  // The open block stays open with its actions and seals as it would have.
  CHECK(f.chain->head().block == h.block);
  CHECK(f.chain->block(h.block)->actions.size() == 1);
  f.advance(1);
  CHECK(f.chain->block(h.block)->sealed);
  // Nonces continue: the next action of dev 7 uses nonce 1.
  CHECK(f.chain->account(addr(7)).nonce == 1);
  f.deposit(7, 3);
  f.reopen();
  CHECK(f.chain->account(addr(7)).nonce == 2);
  f.check_invariants();
}

TEST_CASE("determinism: same actions at the same times give the same blocks, reopened or not") {
  Fixture c;  // both manual clocks start at the same reading
  Fixture d;
  REQUIRE(c.chain->block(0)->timestamp == d.chain->block(0)->timestamp);
  busy_run(c, false);
  busy_run(d, true);
  CHECK(snapshot(*c.chain) == snapshot(*d.chain));
  c.advance(1);
  d.advance(1);
  Head hc = c.chain->head();
  for (uint64_t n = 0; n < hc.block; ++n) CHECK(c.chain->block(n)->hash == d.chain->block(n)->hash);
}

TEST_CASE("the genesis config is persisted and checked on reopen") {
  Fixture f;
  f.deposit(1, 10);
  f.chain.reset();
  L1Config other = test_config();
  other.challenge_period_seconds = 61;
  OpenOptions o;
  o.config = other;
  auto r = L1Chain::open(f.db(), f.clock, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("challengePeriodSeconds") != std::string::npos);
  // Without a config the stored one is used.
  auto s = L1Chain::open(f.db(), f.clock, OpenOptions{});
  REQUIRE(s.ok());
  CHECK((*s)->config() == test_config());
  CHECK((*s)->account(addr(1)).nonce == 1);
  // A new file without a config cannot be created.
  auto n = L1Chain::open(f.dir.file("new.sqlite"), f.clock, OpenOptions{});
  REQUIRE_FALSE(n.ok());
  // An invalid config is refused before anything is written.
  L1Config bad = test_config();
  bad.block_time_ms = 0;
  OpenOptions ob;
  ob.config = bad;
  CHECK_FALSE(L1Chain::open(f.dir.file("bad.sqlite"), f.clock, ob).ok());
}

TEST_CASE("a tampered action log is refused at startup instead of replaying into another state") {
  Fixture f;
  f.deposit(1, 10);
  f.deposit(2, 20);
  f.chain.reset();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(f.db().c_str(), &db) == SQLITE_OK);
  // Raise an amount in the stored message: the signature no longer matches the sender.
  REQUIRE(sqlite3_exec(db, "UPDATE actions SET message = replace(message, '\"20\"', '\"2000\"') WHERE seq = 2", nullptr,
                       nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto r = L1Chain::open(f.db(), f.clock, OpenOptions{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("refused on replay: wrong_signer") != std::string::npos);
}

TEST_CASE("a sealed block whose contents change no longer matches its stored hash") {
  Fixture f;
  f.deposit(1, 10);
  f.advance(1);
  f.deposit(1, 11);
  f.chain.reset();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(f.db().c_str(), &db) == SQLITE_OK);
  // Move the second action into the first block: every signature stays valid, the block hash does not.
  REQUIRE(sqlite3_exec(db, "UPDATE actions SET block = 0, idx = 1 WHERE seq = 2", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
  auto r = L1Chain::open(f.db(), f.clock, OpenOptions{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("another hash") != std::string::npos);
}

}  // namespace opt::l1::test
