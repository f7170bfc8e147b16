# shellcheck shell=bash
# Helpers shared by the example scripts (sourced, not run). Bash with `set -euo pipefail` in the caller.
#
#   die MESSAGE            print "FAIL: MESSAGE" and exit 1
#   http METHOD URL [BODY] print the body of a 2xx answer, or fail naming the request, status and error
#   jget JSON FILTER WHAT  jq -r FILTER on JSON; fail naming WHAT if the result is null, false or missing
#   items JSON NAME        a list endpoint's array, whether the answer is [...] or {"NAME": [...]}
#   wait_for SECONDS WHAT COMMAND...   run COMMAND every 0.5 s until it succeeds, or fail after SECONDS
#   start_devnet [FLAGS]   start `optrollup devnet` on free 127.0.0.1 ports in a temporary directory and
#                          export OPTROLLUP_API and OPTROLLUP_L1; an EXIT trap stops it (SIGTERM) and, if
#                          the script failed, prints the end of its log

EXAMPLES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$EXAMPLES_DIR/.." && pwd)
OPTROLLUP=${OPTROLLUP:-$REPO_DIR/build/engine/cli/optrollup}

die() {
  echo "FAIL: $*" >&2
  exit 1
}

step() { printf '\n==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "this example needs '$1' (apt-get install $1)"
}

need_optrollup() {
  [[ -x $OPTROLLUP ]] || die "no optrollup binary at $OPTROLLUP: build it (meson setup build && ninja -C build) or set OPTROLLUP"
}

http() {
  local method=$1 url=$2 body=${3-} out status
  local args=(-sS -X "$method" -w $'\n%{http_code}' --max-time 30)
  [[ -n $body ]] && args+=(-H 'content-type: application/json' --data-binary "$body")
  out=$(curl "${args[@]}" "$url" 2>&1) || die "$method $url: cannot connect ($(head -n 1 <<<"$out")): is the devnet running?"
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  [[ $status == 2* ]] || die "$method $url: HTTP $status: $out"
  printf '%s' "$out"
}

jget() {
  local v
  v=$(jq -er "$2" <<<"$1" 2>/dev/null) || die "expected ${3:-$2} in: $(head -c 600 <<<"$1")"
  printf '%s' "$v"
}

items() {
  jq -c --arg n "$2" 'if type == "array" then . elif type == "object" and (.[$n] | type) == "array" then .[$n] else error("no list") end' \
    <<<"$1" 2>/dev/null || die "expected a list of $2 (a JSON array or {\"$2\": [...]}) in: $(head -c 600 <<<"$1")"
}

wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${seconds}s waiting for $what"
    sleep 0.5
  done
}

DEVNET_PID=
DEVNET_DIR=

stop_devnet() {
  local rc=$?
  if [[ -n $DEVNET_PID ]] && kill -0 "$DEVNET_PID" 2>/dev/null; then
    kill -TERM "$DEVNET_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$DEVNET_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$DEVNET_PID" 2>/dev/null; then
      echo "devnet (pid $DEVNET_PID) did not stop on SIGTERM within 10 s: killing it" >&2
      kill -KILL "$DEVNET_PID" 2>/dev/null || true
    fi
    wait "$DEVNET_PID" 2>/dev/null || true
  fi
  DEVNET_PID=
  if [[ -n $DEVNET_DIR && -d $DEVNET_DIR ]]; then
    if ((rc != 0)) && [[ -f $DEVNET_DIR/devnet.log ]]; then
      echo "---- last lines of the devnet log ($DEVNET_DIR/devnet.log) ----" >&2
      tail -n 60 "$DEVNET_DIR/devnet.log" >&2
    fi
    rm -rf "$DEVNET_DIR"
  fi
  DEVNET_DIR=
  return "$rc"
}

start_devnet() {
  need_optrollup
  DEVNET_DIR=$(mktemp -d "${TMPDIR:-/tmp}/optrollup-example.XXXXXX")
  trap stop_devnet EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Port 0: the kernel picks free ports; the devnet prints the ones it got.
  "$OPTROLLUP" devnet --data-dir "$DEVNET_DIR/data" --api 127.0.0.1:0 --l1 127.0.0.1:0 "$@" >"$DEVNET_DIR/devnet.log" 2>&1 &
  DEVNET_PID=$!
  local log=$DEVNET_DIR/devnet.log
  for _ in $(seq 1 300); do
    grep -q '^try:' "$log" && break
    kill -0 "$DEVNET_PID" 2>/dev/null || die "optrollup devnet exited at startup: $(cat "$log")"
    sleep 0.1
  done
  grep -q '^try:' "$log" || die "optrollup devnet did not print its banner within 30 s"
  OPTROLLUP_API=$(sed -n 's|^ *rollup API *\(http://[0-9.]*:[0-9]*\)/v1.*|\1|p' "$log")
  OPTROLLUP_L1=$(sed -n 's|^ *L1 API *\(http://[0-9.]*:[0-9]*\)/l1/v1.*|\1|p' "$log")
  [[ -n $OPTROLLUP_API && -n $OPTROLLUP_L1 ]] || die "cannot read the API URLs from the devnet banner: $(head -20 "$log")"
  export OPTROLLUP_API OPTROLLUP_L1 DEVNET_LOG=$log
  echo "devnet (pid $DEVNET_PID) on $OPTROLLUP_API, L1 $OPTROLLUP_L1, data in $DEVNET_DIR"
}
