#!/usr/bin/env bash
# Runs a drill with every binary under a folder only root can enter (mode 0700, as root's home or a
# `mktemp -d` folder is): the unprivileged party must still start, from its world-readable copy.
#   run_from_private_dir.sh TEST_BINARY OPTROLLUP_BINARY
set -euo pipefail
test_bin=$1
optrollup_bin=$2
private=$(mktemp -d)  # 0700
trap 'rm -rf "$private"' EXIT
chmod 0700 "$private"
mkdir "$private/checkout"
cp "$test_bin" "$private/checkout/drill"
cp "$optrollup_bin" "$private/checkout/optrollup"
cd "$private/checkout"
OPTROLLUP_BIN="$private/checkout/optrollup" exec ./drill
