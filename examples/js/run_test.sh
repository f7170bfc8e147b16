#!/usr/bin/env bash
# The ethers.js example as a test: installs ethers (npm), starts a devnet of its own and runs client.mjs
# against it. Skips (exit 77, meson's "skipped") when node or npm is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIP: node and npm are needed for the ethers.js example"
  exit 77
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 18)); then
  echo "SKIP: node $major is too old (fetch needs node 18 or later)"
  exit 77
fi

# node_modules/ is git-ignored; package.json pins ethers ^6.13 (no lock file is kept).
log=$(mktemp)
if ! npm install --no-package-lock --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "FAIL: npm install (ethers) failed" >&2
  exit 1
fi
rm -f "$log"
exec ../run_with_devnet.sh --challenge-period 5s -- node client.mjs
