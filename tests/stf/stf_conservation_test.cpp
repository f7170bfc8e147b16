// conservation_totals (engine/stf/conservation.h): the identity of docs/risk.md holds through deposits,
// trades with fees, a withdrawal and settlement, and fails when money appears from nowhere or when an
// account holding collateral is left out.
#include <doctest/doctest.h>

#include "engine/stf/conservation.h"
#include "tests/stf/stf_fixture.h"

using namespace opt;
using namespace opt::test;

namespace {

std::vector<Address> devs(size_t n) {
  std::vector<Address> out;
  for (size_t i = 0; i < n; ++i) out.push_back(dev_address(i));
  return out;
}

void check_holds(World& w, const std::vector<Address>& accounts) {
  auto t = conservation_totals(w.state(), accounts);
  REQUIRE(t.ok());
  CHECK(t->held == t->owed);
  CHECK(t->holds());
}

}  // namespace

TEST_CASE("conservation holds through deposits, trades, a withdrawal, expiry and settlement") {
  World w;
  const auto all = devs(4);
  check_holds(w, all);  // genesis: nothing deposited, nothing held
  for (size_t i = 0; i < 4; ++i) {
    REQUIRE(w.run(w.deposit(i, 100'000 * kUsdc)).ok());
    check_holds(w, all);
  }
  auto t0 = conservation_totals(w.state(), all);
  REQUIRE(t0.ok());
  CHECK(t0->owed == 400'000 * kUsdc);
  REQUIRE(w.run(w.report(kEth, 3000 * kUsdc)).ok());
  REQUIRE(w.run(w.report(kBtc, 60000 * kUsdc)).ok());
  // Trades move premium between accounts and fees into the fee pool.
  REQUIRE(w.run(w.simple_trade(1, 2, 1, kContract, 50 * kUsdc)).ok());
  check_holds(w, all);
  REQUIRE(w.run(w.simple_trade(3, 0, 1, 2 * kContract, 60 * kUsdc)).ok());
  check_holds(w, all);
  CHECK(w.global().fee_pool > 0);
  REQUIRE(w.run(w.withdraw(0, 1'000 * kUsdc)).ok());
  check_holds(w, all);
  CHECK(w.global().total_withdrawals == 1'000 * kUsdc);
  // Expiry and settlement: the money passes through the instrument's settlement pool.
  const InstrumentLeaf inst = w.instrument(1);
  w.set_now(inst.expiry + 1);
  REQUIRE(w.run(w.report(kEth, 3500 * kUsdc)).ok());
  REQUIRE(w.run(ExpireTx{1}).ok());
  check_holds(w, all);
  for (size_t i = 0; i < 4; ++i) {
    auto r = w.run(SettleTx{dev_address(i), 1});
    (void)r;  // accounts without a position are refused; the identity holds either way
    check_holds(w, all);
  }
}

TEST_CASE("conservation fails for money from nowhere and for a missing account") {
  World w;
  const auto all = devs(4);
  for (size_t i = 0; i < 4; ++i) REQUIRE(w.run(w.deposit(i, 1'000 * kUsdc)).ok());
  check_holds(w, all);

  // Leaving out an account that holds collateral: the identity does not hold.
  std::vector<Address> three(all.begin(), all.begin() + 3);
  auto missing = conservation_totals(w.state(), three);
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->holds());
  CHECK(missing->owed - missing->held == 1'000 * kUsdc);

  // One micro-USDC written into an account behind apply()'s back.
  AccountLeaf a = w.account(2);
  a.collateral += 1;
  REQUIRE(w.state().put(account_key(dev_address(2)), encode_leaf(a)).ok());
  auto extra = conservation_totals(w.state(), all);
  REQUIRE(extra.ok());
  CHECK_FALSE(extra->holds());
  CHECK(extra->held - extra->owed == 1);

  // A leaf that does not decode is an error, not a verdict.
  REQUIRE(w.state().put(account_key(dev_address(3)), Bytes{0xFF}).ok());
  CHECK_FALSE(conservation_totals(w.state(), all).ok());
}
