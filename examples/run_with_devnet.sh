#!/usr/bin/env bash
# Runs a command against a devnet of its own: starts `optrollup devnet` on free 127.0.0.1 ports in a
# temporary directory, exports OPTROLLUP_API and OPTROLLUP_L1 (and OPTROLLUP, the binary), runs the command
# and stops the devnet afterwards, whatever happened. Exits with the command's status.
#
#   examples/run_with_devnet.sh [DEVNET FLAGS...] -- COMMAND [ARGS...]
#   examples/run_with_devnet.sh --challenge-period 5s -- node examples/js/client.mjs
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

flags=()
while (($#)) && [[ $1 != -- ]]; do
  flags+=("$1")
  shift
done
(($#)) || die "usage: $0 [DEVNET FLAGS...] -- COMMAND [ARGS...]"
shift
(($#)) || die "usage: $0 [DEVNET FLAGS...] -- COMMAND [ARGS...]"

start_devnet "${flags[@]}"
export OPTROLLUP
"$@"
