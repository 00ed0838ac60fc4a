#!/usr/bin/env bash
# Browser tests: builds the release binary, serves a fresh store on a free loopback port, and
# has Debian's Chromium (every request to another host blocked) open the GraphiQL page and run
# a real query (graphiql.mjs), then open each region's snapshot page, screenshot it and print
# it to a PDF of exactly two A4 pages (snapshots.mjs).
#
# Usage: tests/browser/run.sh [SCREENSHOT.png]
# Environment: RECOVER_BETTER_BIN=path uses that binary instead of `cargo build --release`;
# SNAPSHOT_DIR=dir keeps the snapshots' screenshots and PDFs there (default: a temporary dir).
# Needs: Node.js + npm, cargo, and /usr/bin/chromium (installed with apt-get when run as root).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
screenshot="${1:-}"
query='{ countries(first: 3) { totalCount nodes { code name } } }'
expected='"totalCount"'

say() { echo "run.sh: $*"; }

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "/usr/bin/chromium is missing: install Debian's chromium package (apt-get install chromium) as root" >&2
    exit 1
  fi
  say "installing Chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

say "installing playwright-core (npm ci)"
(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

bin="${RECOVER_BETTER_BIN:-}"
if [ -z "$bin" ]; then
  say "building (cargo build --release)"
  (cd "$root" && cargo build --release)
  bin="$root/target/release/recover-better"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "starting $bin serve"
"$bin" serve --listen 127.0.0.1:0 --data "$work/store" >"$work/stdout" 2>"$work/stderr" &
server_pid=$!

# The server prints the GraphiQL address (http://127.0.0.1:PORT/) on stdout once it listens.
url=""
for _ in $(seq 1 600); do
  url="$(grep -o -m1 'http://127\.0\.0\.1:[0-9][0-9]*/' "$work/stdout" || true)"
  [ -n "$url" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    say "the server exited before printing its address" >&2
    cat "$work/stdout" "$work/stderr" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  say "the server printed no http://127.0.0.1:PORT/ line within 60 s" >&2
  cat "$work/stdout" "$work/stderr" >&2
  exit 1
fi
say "server at $url"

status=0
node "$here/graphiql.mjs" "$url" "$query" "$expected" ${screenshot:+"$screenshot"} || status=$?
if [ "$status" -eq 0 ]; then
  snapshots="${SNAPSHOT_DIR:-$work/snapshots}"
  mkdir -p "$snapshots"
  node "$here/snapshots.mjs" "$url" "$snapshots" || status=$?
fi
if [ "$status" -ne 0 ]; then
  say "browser test failed; server output:" >&2
  cat "$work/stdout" "$work/stderr" >&2
fi
exit "$status"
