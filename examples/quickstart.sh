#!/usr/bin/env bash
# The 5-minute tour of optrollup, checked at every step: deposit, look up a call, trade it, see the
# position and margin, watch the batch become final, withdraw and claim on L1.
#
# Against a running devnet (`optrollup devnet` in another terminal):
#   examples/quickstart.sh
# or with a devnet of its own (free ports, temporary directory, stopped at the end):
#   examples/quickstart.sh --start-devnet
#
# Environment: OPTROLLUP_API (default http://127.0.0.1:8080), OPTROLLUP_L1 (default http://127.0.0.1:8545),
# OPTROLLUP (the binary, default build/engine/cli/optrollup). Needs curl and jq.
# A batch becomes final after the challenge period (60 s by default; --start-devnet uses 5 s).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

need curl
need jq
need_optrollup

if [[ ${1-} == --start-devnet ]]; then
  start_devnet --challenge-period 5s --clock 10s --batch-interval 500ms
elif [[ -n ${1-} ]]; then
  die "usage: $0 [--start-devnet]"
fi
API=${OPTROLLUP_API:-http://127.0.0.1:8080}
L1=${OPTROLLUP_L1:-http://127.0.0.1:8545}
o() { "$OPTROLLUP" "$@" --api "$API" --l1 "$L1"; }

# Dev accounts 0 and 1: anvil's well-known keys, funded on L1 by the devnet (docs/operations.md, section 8).
A_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
A=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
B_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
# shellcheck disable=SC2034 # B is read as ${!addr_var} below
B=0x70997970C51812dc3A010C7d01b50e0d17dc79C8

step "the node and its config"
health=$(http GET "$API/v1/health")
[[ $(jget "$health" .status "health status") == ok ]] || die "GET /v1/health: status is not ok: $health"
config=$(http GET "$API/v1/config")
chain_id=$(jget "$config" .chainId "chainId")
challenge_period=$(jget "$config" .challengePeriodSeconds "challengePeriodSeconds")
jget "$config" '.domain.verifyingContract' "domain.verifyingContract" >/dev/null
ok "node up (root $(jget "$health" .root root)), L2 chain id $chain_id, challenge period ${challenge_period}s"

step "deposit 10000 USDC for trader A and trader B (L1 escrow -> inbox -> credited by the next batch)"
l1_before=$(jget "$(http GET "$L1/l1/v1/accounts/$A")" .usdc "L1 usdc of A")
for who in A B; do
  key_var=${who}_KEY addr_var=$who
  before=$(jget "$(http GET "$API/v1/accounts/${!addr_var}")" .collateral "collateral of $who")
  out=$(o deposit --key "${!key_var}" --amount 10000 --json) || die "optrollup deposit for $who failed"
  after=$(jget "$out" .collateral "collateral in the deposit's answer")
  [[ $((after - before)) -eq 10000000000 ]] || die "deposit for $who: collateral went from $before to $after, expected +10000000000"
  ok "$who credited on L2: collateral $before -> $after micro-USDC (inbox message $(jget "$out" .inboxIndex inboxIndex))"
done
l1_after=$(jget "$(http GET "$L1/l1/v1/accounts/$A")" .usdc "L1 usdc of A")
[[ $((l1_before - l1_after)) -eq 10000000000 ]] || die "A's L1 USDC went from $l1_before to $l1_after, expected -10000 USDC"
ok "A's L1 balance $l1_before -> $l1_after (the escrow holds the deposit)"

step "look up a call in GET /v1/instruments"
instruments=$(items "$(http GET "$API/v1/instruments")" instruments)
# The ETH 3000 call of the nearest expiry if the ladder has one, else the first active call.
call=$(jq -c '[.[] | select(.isCall == true and .status == "active")] | sort_by(.expiry)
              | (map(select(.underlyingSymbol == "ETH" and .strike == "3000000000")) + .) | .[0] // empty' <<<"$instruments")
[[ -n $call ]] || die "GET /v1/instruments lists no active call: $instruments"
inst=$(jget "$call" .id "instrument id")
name=$(jget "$call" .name "instrument name")
ok "instrument $inst: $name (strike $(jget "$call" .strike strike), expiry $(jget "$call" .expiry expiry))"

position_of() { # ACCOUNT_JSON -> qty in $inst (0 if none)
  jq -r --argjson i "$inst" '[.positions[] | select(.instrument == $i) | .qty | tonumber] | add // 0' <<<"$1"
}
a_before=$(http GET "$API/v1/accounts/$A")
qty_before=$(position_of "$a_before")

step "trader B offers one $name at 60 USDC"
sell=$(o order --key "$B_KEY" --instrument "$inst" --sell --qty 1 --price 60 --json) || die "optrollup order (B sells) failed"
sell_hash=$(jget "$sell" .orderHash "orderHash of B's sell")
sell_status=$(jget "$sell" .status "status of B's sell")
[[ $sell_status == open || $sell_status == filled ]] || die "B's sell: status $sell_status, expected open: $sell"
ok "B's order $sell_hash: $sell_status"
if [[ $sell_status == open ]]; then
  book=$(http GET "$API/v1/orderbook/$inst")
  jq -e '.asks | map(select(.price == "60000000")) | length > 0' <<<"$book" >/dev/null ||
    die "GET /v1/orderbook/$inst does not show B's ask at 60 USDC: $book"
  ok "the book shows the ask at 60 USDC"
fi

step "trader A buys one call at 60 USDC: filled"
buy=$(o order --key "$A_KEY" --instrument "$name" --buy --qty 1 --price 60 --json) || die "optrollup order (A buys) failed"
buy_hash=$(jget "$buy" .orderHash "orderHash of A's buy")
[[ $(jget "$buy" .status "status of A's buy") == filled ]] || die "A's buy is not filled: $buy"
ok "A's order $buy_hash: filled $(jget "$buy" .filled filled)"
order=$(http GET "$API/v1/orders/$buy_hash")
[[ $(jget "$order" .status "order status") == filled ]] || die "GET /v1/orders/$buy_hash: not filled: $order"
[[ $(jget "$order" .order.account "order.account") == "$A" ]] || die "GET /v1/orders/$buy_hash: wrong account: $order"
ok "GET /v1/orders/$buy_hash agrees"

step "GET /v1/accounts/A: the position and the margin"
acct=$(http GET "$API/v1/accounts/$A")
qty_after=$(position_of "$acct")
[[ $((qty_after - qty_before)) -eq 1000000 ]] || die "A's position in $inst went from $qty_before to $qty_after, expected +1 contract: $acct"
for f in collateral equity initialMargin maintenanceMargin nonce; do jget "$acct" ".$f" "$f of A" >/dev/null; done
ok "A holds $qty_after micro-contracts of $name, mark $(jq -r --argjson i "$inst" '.positions[] | select(.instrument == $i) | .mark' <<<"$acct")"
ok "collateral $(jget "$acct" .collateral c), equity $(jget "$acct" .equity e), initial margin $(jget "$acct" .initialMargin im), maintenance $(jget "$acct" .maintenanceMargin mm) (micro-USDC)"
o account --key "$A_KEY" | sed 's/^/    | /'

step "GET /v1/trades shows the trade"
trades=$(items "$(http GET "$API/v1/trades?instrument=$inst&limit=100")" trades)
trade=$(jq -c --arg h "$buy_hash" '[.[] | select(.takerOrder == $h)][0] // empty' <<<"$trades")
[[ -n $trade ]] || die "GET /v1/trades?instrument=$inst has no trade with takerOrder $buy_hash: $trades"
[[ $(jget "$trade" .price price) == 60000000 && $(jget "$trade" .taker taker) == "$A" ]] || die "unexpected trade: $trade"
ok "trade $(jget "$trade" .id id): $(jget "$trade" .quantity qty) at $(jget "$trade" .price price), maker $(jget "$trade" .maker maker)"

step "withdraw 100 USDC (a withdrawal leaf in the next batch)"
w=$(o withdraw --key "$A_KEY" --amount 100 --json) || die "optrollup withdraw failed"
w_index=$(jget "$w" .index "withdrawal index")
ws=$(items "$(http GET "$API/v1/withdrawals/$A")" withdrawals)
jq -e --argjson i "$w_index" 'map(select(.index == $i and .amount == "100000000")) | length == 1' <<<"$ws" >/dev/null ||
  die "GET /v1/withdrawals/$A does not list withdrawal $w_index of 100 USDC: $ws"
ok "withdrawal $w_index requested: $(jq -r --argjson i "$w_index" '.[] | select(.index == $i) | .status' <<<"$ws")"

# The trade's batch: the trade names the L1 batch that carries it once the sequencer has posted it (null
# until then); it becomes final once the challenge period has passed without a dispute.
trade_batch() {
  trade=$(jq -c --arg h "$buy_hash" '[.[] | select(.takerOrder == $h)][0] // empty' <<<"$(items "$(http GET "$API/v1/trades?instrument=$inst&limit=100")" trades)")
  [[ -n $trade && $(jq -r .batch <<<"$trade") != null ]]
}
wait_for 60 "the trade's batch to be posted" trade_batch
batch=$(jget "$trade" .batch "the trade's batch")
step "watch batch $batch (the trade's) get posted and become final (challenge period ${challenge_period}s)"
batch_posted() { curl -sf "$API/v1/batches/$batch" >/dev/null; }
batch_is() { [[ $(curl -sf "$API/v1/batches/$batch" | jq -r .status) == "$1" ]]; }
wait_for 60 "batch $batch to be posted" batch_posted
b=$(http GET "$API/v1/batches/$batch")
ok "posted: L1 block $(jget "$b" .l1Block l1Block), prevRoot $(jget "$b" .prevRoot prevRoot | cut -c1-18)…, postRoot $(jget "$b" .postRoot postRoot | cut -c1-18)…, status $(jget "$b" .status status)"
l1b=$(http GET "$L1/l1/v1/batches/$batch")
[[ $(jget "$l1b" .postRoot "L1 postRoot") == $(jget "$b" .postRoot postRoot) ]] || die "the L1's record of batch $batch has another postRoot than the node's: $l1b"
ok "the L1 records the same postRoot"
wait_for $((challenge_period + 90)) "batch $batch to become final" batch_is final
ok "batch $batch is final"

step "claim the withdrawal on L1 (with its Merkle proof against a final batch)"
l1_before=$(jget "$(http GET "$L1/l1/v1/accounts/$A")" .usdc "L1 usdc of A")
claim=$(o claim --key "$A_KEY" --wait --json) || die "optrollup claim failed"
jq -e --argjson i "$w_index" '.paid | map(select(.index == $i and .amount == "100000000")) | length == 1' <<<"$claim" >/dev/null ||
  die "optrollup claim did not pay withdrawal $w_index: $claim"
l1_after=$(jget "$(http GET "$L1/l1/v1/accounts/$A")" .usdc "L1 usdc of A")
[[ $((l1_after - l1_before)) -eq 100000000 ]] || die "A's L1 USDC went from $l1_before to $l1_after, expected +100 USDC"
ok "paid: A's L1 balance $l1_before -> $l1_after micro-USDC"
withdrawal_claimed() {
  curl -sf "$API/v1/withdrawals/$A" | jq -e --argjson i "$w_index" \
    '(if type == "array" then . else .withdrawals end) | map(select(.index == $i and .status == "claimed")) | length == 1'
}
wait_for 30 "the node to report withdrawal $w_index as claimed" withdrawal_claimed
ok "GET /v1/withdrawals/A: withdrawal $w_index claimed"

step "status"
o status | sed 's/^/    | /'
printf '\nquickstart: every step checked\n'
