#!/usr/bin/env bash
# The GraphQL-over-HTTP spec audits (graphql-http's serverAudits): serves a fresh store on a
# free loopback port, runs every audit against /graphql (audit.mjs), and fails unless all pass.
#
# Usage: tests/spec/run.sh
# Environment: RECOVER_BETTER_BIN=path uses that binary instead of `cargo build`.
# Needs: Node.js (18 or later, for fetch) + npm, and cargo unless RECOVER_BETTER_BIN is set.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

say() { echo "run.sh: $*"; }

say "installing graphql-http (npm ci)"
(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

bin="${RECOVER_BETTER_BIN:-}"
if [ -z "$bin" ]; then
  say "building (cargo build)"
  (cd "$root" && cargo build --quiet --bin recover-better)
  bin="${CARGO_TARGET_DIR:-$root/target}/debug/recover-better"
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

say "starting $bin serve --empty"
"$bin" serve --listen 127.0.0.1:0 --empty --data "$work/store" >"$work/stdout" 2>"$work/stderr" &
server_pid=$!

# The server prints its GraphQL endpoint (http://127.0.0.1:PORT/graphql) once it listens.
url=""
for _ in $(seq 1 600); do
  url="$(grep -o -m1 'http://127\.0\.0\.1:[0-9][0-9]*/graphql' "$work/stdout" || true)"
  [ -n "$url" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    say "the server exited before printing its address" >&2
    cat "$work/stdout" "$work/stderr" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  say "the server printed no http://127.0.0.1:PORT/graphql line within 60 s" >&2
  cat "$work/stdout" "$work/stderr" >&2
  exit 1
fi
say "auditing $url"

status=0
node "$here/audit.mjs" "$url" || status=$?
if [ "$status" -ne 0 ]; then
  say "spec audits failed; server output:" >&2
  cat "$work/stdout" "$work/stderr" >&2
fi
exit "$status"
