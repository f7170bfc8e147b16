#!/usr/bin/env bash
# The fraud proof at work: a devnet whose sequencer posts a wrong state root for L1 batch 3
# (--fault-at-batch 3). The honest challenger re-executes the batch from the L1 data, disputes it, bisects
# down to one step, proves that step on the L1 and wins; batch 3 is removed and the chain goes on from
# the last good root. Every claim is checked against the L1 API.
#
#   examples/fraud_demo.sh [EXTRA DEVNET FLAGS...]
#
# Starts its own devnet on free 127.0.0.1 ports in a temporary directory and stops it at the end.
# OPTROLLUP names the binary (default build/engine/cli/optrollup). Needs curl and jq.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

need curl
need jq
FAULT=3
CHALLENGER=0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f  # dev account 8, the devnet's challenger

step "start a devnet that posts a wrong root for L1 batch $FAULT"
# Prices every 500 ms and a batch every 4 s: batch 3 holds some 16 steps, so the game bisects a few rounds.
start_devnet --fault-at-batch "$FAULT" --challenge-period 30s --clock 10s --batch-interval 4s --oracle-interval 500ms "$@"
API=$OPTROLLUP_API
L1=$OPTROLLUP_L1

step "wait for the challenger to dispute batch $FAULT and win"
game_over() {
  curl -sf "$L1/l1/v1/games?batch=$FAULT" | jq -e '(.games // .) | map(select(.status != "open")) | length > 0' >/dev/null
}
wait_for 120 "a finished game on batch $FAULT" game_over
games=$(items "$(http GET "$L1/l1/v1/games?batch=$FAULT")" games)
game=$(jq -c 'map(select(.status != "open"))[0]' <<<"$games")
id=$(jget "$game" .id "game id")
game=$(http GET "$L1/l1/v1/games/$id")
[[ $(jget "$game" .status status) == challenger_won ]] || die "game $id on batch $FAULT: expected challenger_won: $game"
[[ $(jget "$game" .endReason endReason) == step_proof ]] || die "game $id: expected end reason step_proof: $game"
[[ $(jget "$game" .winner winner) == "$CHALLENGER" ]] || die "game $id: the winner is not the challenger $CHALLENGER: $game"
[[ $(jget "$game" .challenger challenger) == "$CHALLENGER" ]] || die "game $id: unexpected challenger: $game"
ok "game $id on batch $FAULT: challenger_won by step_proof after $(jget "$game" .moves moves) moves ($(jget "$game" .rounds rounds) dissection rounds over $(jget "$game" .steps steps) steps)"

step "batch $FAULT is removed on the L1"
b=$(http GET "$L1/l1/v1/batches/$FAULT")
[[ $(jget "$b" .status status) == removed ]] || die "GET /l1/v1/batches/$FAULT: expected status removed: $(jq -c 'del(.data)' <<<"$b")"
wrong_root=$(jget "$b" .postRoot postRoot)
good_root=$(jget "$b" .prevRoot prevRoot)
ok "batch $FAULT (claimed root $wrong_root) removed; the chain returns to $good_root"
rb=$(http GET "$API/v1/batches/$FAULT")
[[ $(jget "$rb" .status status) == removed ]] || die "GET /v1/batches/$FAULT (rollup API): expected removed: $rb"
jq -e --argjson id "$id" '.games | map(select(.id == $id and .status == "challenger_won")) | length == 1' <<<"$rb" >/dev/null ||
  die "GET /v1/batches/$FAULT (rollup API) does not list game $id as challenger_won: $rb"
ok "the rollup API agrees: batch $FAULT removed, game $id challenger_won"

step "the moves of game $id (GET /l1/v1/games/$id and the L1 events)"
jq -r '"    game \(.id): batch \(.batch), proposer \(.proposer), challenger \(.challenger)",
       "    \(.steps) steps padded to \(.span), degree \(.degree), \(.rounds) rounds; final segment [\(.segment.from), \(.segment.to)]",
       "    clocks left: proposer \(.clocks.proposer) s, challenger \(.clocks.challenger) s; started \(.started), ended \(.ended)"' <<<"$game"
events=$(items "$(http GET "$L1/l1/v1/events?from=0")" events)
moves=$(jq -c --argjson id "$id" '[.[] | select((.type | startswith("game_")) and .fields.game == $id)]' <<<"$events")
jq -r '.[] | "    block \(.block)  \(.type)  " + (
  if .type == "game_started" then "challenger \(.fields.challenger) disputes [0, \(.fields.steps)] (root \(.fields.fromRoot[0:12])… -> \(.fields.toRoot[0:12])…)"
  elif .type == "game_dissected" then "proposer posts \(.fields.roots | length) root(s) inside [\(.fields.from), \(.fields.to)]: \(.fields.roots | map(.[0:12] + "…") | join(", "))"
  elif .type == "game_chosen" then "challenger disputes part \(.fields.part): [\(.fields.from), \(.fields.to)]"
  elif .type == "game_step_proved" then "one-step proof of step \(.fields.step): L1 computes \(.fields.computedRoot[0:12])…, proposer claimed \(.fields.claimedRoot[0:12])…"
  elif .type == "game_ended" then "\(.fields.status) (\(.fields.reason))"
  else (.fields | tostring) end)' <<<"$moves"
for t in game_started game_dissected game_chosen game_step_proved game_ended; do
  jq -e --arg t "$t" 'map(select(.type == $t)) | length > 0' <<<"$moves" >/dev/null || die "no $t event for game $id in GET /l1/v1/events"
done
jq -e --argjson b "$FAULT" 'map(select(.type == "batch_removed" and .fields.index == $b)) | length == 1' <<<"$events" >/dev/null ||
  die "no batch_removed event for batch $FAULT in GET /l1/v1/events"
proved=$(jq -c 'map(select(.type == "game_step_proved"))[0].fields' <<<"$moves")
[[ $(jget "$proved" .computedRoot computedRoot) != $(jget "$proved" .claimedRoot claimedRoot) ]] ||
  die "the one-step proof computed the proposer's own root: $proved"
ok "every move is on the L1 event log, and the step the L1 re-executed disagrees with the proposer"

step "the chain continues from the last good root"
head=$(http GET "$L1/l1/v1/head")
tip0=$(jget "$head" .tipBatch tipBatch)
reposted() {
  local n
  n=$(curl -sf "$L1/l1/v1/head" | jq -r .tipBatch)
  ((n >= tip0 + 2 && n > FAULT + 1))
}
wait_for 60 "two more batches after the removal" reposted
head=$(http GET "$L1/l1/v1/head")
tip=$(jget "$head" .tipBatch tipBatch)
# Walk the live batches after the removed one: each starts where the previous live one ended.
prev_root=$good_root
replacement=
for ((i = FAULT + 1; i <= tip; i++)); do
  bi=$(http GET "$L1/l1/v1/batches/$i")
  [[ $(jget "$bi" .status status) != removed ]] || die "batch $i was removed too: $(jq -c 'del(.data)' <<<"$bi")"
  [[ $(jget "$bi" .prevRoot prevRoot) == "$prev_root" ]] || die "batch $i does not start from the previous live root $prev_root: $(jq -c 'del(.data)' <<<"$bi")"
  [[ -n $replacement ]] || replacement=$i
  prev_root=$(jget "$bi" .postRoot postRoot)
done
[[ $(jget "$head" .tipRoot tipRoot) == "$prev_root" ]] || die "the L1 tip root is not the last live batch's root: $head"
ok "batch $replacement re-posts the work of batch $FAULT from $good_root with the honest root $(jget "$(http GET "$L1/l1/v1/batches/$replacement")" .postRoot r)"
ok "the tip moved on to batch $tip (root $(jget "$head" .tipRoot tipRoot)); every live batch chains to the previous one"
grep -q "verified batch $replacement: .* ok" "$DEVNET_LOG" || die "the challenger did not verify the replacement batch $replacement (see the devnet log)"
ok "the challenger verified the replacement batch"

step "the devnet's own account of it"
grep -E '^[0-9:]{8} ' "$DEVNET_LOG" | grep -E "WRONG ROOT|challeng|defender|removed|verified batch $replacement" | sed 's/^/    | /'
printf '\nfraud demo: the wrong root was caught, proven and removed, and the chain continued\n'
