#!/usr/bin/env bash
# Load benchmark of the GraphQL server at the world preset, on loopback.
#
#   bash benches/load.sh [duration-seconds=10] [connections=32]
#   SERVER_ARGS="--no-metrics" bash benches/load.sh    # extra `serve` options
#   SCALE=10 QUERIES="Q3 Q5" BASELINES=0 bash benches/load.sh   # world ×10, two queries only
#   LOAD_NO_BUILD=1 bash benches/load.sh               # measure the release binary already built
#
# Generates the world dataset, imports it into a temporary store, starts the server on a free
# port and drives Q0-Q6 with wrk (POST, JSON bodies) at the given concurrency. Prints
# requests/s, p50 and p99 latency per query and the server's resident memory. Q0 is
# `{ __typename }`: the floor of what axum + async-graphql serve on this machine, measured in
# the same run so ratios are comparable. With SCALE, the world is multiplied (`generate
# --scale`), and the run also prints what one machine pays for it: import time, the time
# until the server serves and until its start-up work is over, and its memory then.
# Nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-32}
THREADS=2
SCALE=${SCALE:-1}
QUERIES=${QUERIES:-Q0 Q1 Q2 Q3 Q4 Q5 Q6}
BASELINES=${BASELINES:-1}

command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
[ -n "${LOAD_NO_BUILD:-}" ] || cargo build --release --quiet --bin recover-better --example bare
# Built where cargo builds (CARGO_TARGET_DIR when set, as on a machine shared by several
# worktrees), so the binary measured is the one just built.
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/recover-better
WORK=$(mktemp -d)
SERVER_PID=
BARE_PID=
cleanup() { for p in $SERVER_PID $BARE_PID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$BIN" generate --preset world --scale "$SCALE" --out "$WORK/world" >/dev/null
started=$(date +%s.%N)
"$BIN" --data "$WORK/store" import "$WORK/world" | tail -1
imported=$(date +%s.%N)
# shellcheck disable=SC2086
"$BIN" --data "$WORK/store" serve --empty --listen 127.0.0.1:0 ${SERVER_ARGS:-} >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 6000); do grep -q 'GraphiQL: http://' "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
serving=$(date +%s.%N)
ADDR=$(grep -o 'http://[0-9.:]*' "$WORK/server.out" | head -1)
[ -n "$ADDR" ] || { echo "server did not start:"; cat "$WORK/server.err"; exit 1; }
URL="$ADDR/graphql"
# The server assesses every recommendation in a background thread after it starts: wait
# until it is idle (under 2 CPU ticks in a second), so that work is not measured with Q0.
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
for _ in $(seq 1 600); do
  a=$(ticks "$SERVER_PID"); sleep 1; b=$(ticks "$SERVER_PID")
  [ $((b - a)) -lt 2 ] && break
done
idle=$(date +%s.%N)
mib() { echo $(($(awk "/$1/ {print \$2}" "/proc/$SERVER_PID/status") / 1024)); }
echo "world ×$SCALE: $(wc -l <"$WORK/world/recommendations.jsonl") recommendations, $(wc -l <"$WORK/world/measures.jsonl") measures, $(wc -l <"$WORK/world/links.jsonl") links"
awk -v a="$started" -v b="$imported" -v c="$serving" -v d="$idle" 'BEGIN { printf "import %.1f s; server serving after %.1f s, start-up work over after %.1f s\n", b - a, c - b, d - b }'
echo "server RSS when idle, before the queries: $(mib VmRSS) MiB (peak $(mib VmHWM) MiB); store on disk: $(du -sm "$WORK/store" | cut -f1) MB"

# Keys taken from the generated data, so the queries hit real records.
REC=$(head -1 "$WORK/world/recommendations.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
COUNTRY=$(python3 - "$WORK/world" <<'PY'
import json, sys, collections
n = collections.Counter(json.loads(l)["country"] for l in open(sys.argv[1] + "/measures.jsonl"))
print(n.most_common(1)[0][0])
PY
)

declare -A Q
Q[Q0]='{ __typename }'
Q[Q1]="{ recommendation(ref: \"$REC\") { ref text stateUnderReview { name } recommendingStates { name } } }"
Q[Q2]="{ country(code: \"$COUNTRY\") { name recommendationsReceived(first: 20, filter: {cycle: [3]}) { totalCount nodes { ref text response } } measures(first: 10) { totalCount nodes { ref title startDate } } } }"
Q[Q3]='{ recommendations(first: 50, filter: {theme: ["right-to-health"], response: [SUPPORTED], cycle: [3]}) { totalCount nodes { ref text stateUnderReview { name } } } }'
Q[Q4]="{ country(code: \"$COUNTRY\") { measures(first: 20, filter: {category: [HEALTH]}) { totalCount nodes { ref title links { relation recommendation { ref recommendingStates { name } } } } } } }"
Q[Q5]='{ recommendations(first: 50, filter: {theme: ["right-to-health"], response: [SUPPORTED], cycle: [3]}) { totalCount nodes { ref } facets { response { value count } actionCategory { value count } theme { value count } group { value count } sdg { value count } cycle { value count } session { value count } stateUnderReview { value count } recommendingState { value count } } } }'
Q[Q6]='{ search(text: "domestic violence", first: 20) { totalCount edges { node { score snippet node { __typename ... on Recommendation { ref } ... on Measure { ref } } } } } }'

# The wrk scripts: a request, then the reporter every bench script reads (benches/wrk/).
cat benches/wrk/post.lua benches/wrk/report.lua >"$WORK/post.lua"
cat benches/wrk/get304.lua benches/wrk/report.lua >"$WORK/get304.lua"

# One table row: NAME, URL, SCRIPT, then VAR=VALUE settings for wrk's environment (BODY_FILE,
# ETAG); at the run's concurrency, then on one connection (the service time of a request,
# without queueing behind the others).
row() {
  local name=$1 url=$2 script=$3 line line1 rps p50 p99 errors p50_c1
  shift 3
  line=$(env "$@" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/$script" "$url" | grep '^RESULT')
  read -r _ rps p50 p99 errors _ <<<"$line"
  line1=$(env "$@" wrk -t1 -c1 -d3s -s "$WORK/$script" "$url" | grep '^RESULT')
  read -r _ _ p50_c1 _ _ _ <<<"$line1"
  printf '| %-4s | %10s | %9s | %9s | %7s | %13s |\n' "$name" "$rps" "$p50" "$p99" "$errors" "$p50_c1"
}

echo
echo "world ×$SCALE; wrk: $THREADS threads, $CONNECTIONS connections, ${DURATION}s per query; $(nproc) cores"
printf '| %-4s | %10s | %9s | %9s | %7s | %13s |\n' query "req/s" "p50 ms" "p99 ms" errors "p50 ms (c=1)"
printf '|------|-----------:|----------:|----------:|--------:|--------------:|\n'
for name in $QUERIES; do
  python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "${Q[$name]}" >"$WORK/$name.json"
  # Each query must succeed before it is measured.
  if ! curl -sf -H 'content-type: application/json' --data @"$WORK/$name.json" "$URL" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(1 if d.get("errors") else 0)'; then
    echo "$name failed:"; curl -s -H 'content-type: application/json' --data @"$WORK/$name.json" "$URL"; exit 1
  fi
  row "$name" "$URL" post.lua BODY_FILE="$WORK/$name.json"
done

if [ "$BASELINES" = 1 ]; then
# A cached GET: `{ __typename }` with the ETag of its last answer, so the server answers 304
# without running it.
GET_URL="$URL?query=%7B%20__typename%20%7D"
ETAG=$(curl -s -D - -o /dev/null "$GET_URL" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')
if [ -n "$ETAG" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$GET_URL")" = 304 ]; then
  row 304 "$GET_URL" get304.lua ETAG="$ETAG"
else
  echo "the GET of Q0 got no ETag or no 304: $ETAG"
fi

# The baseline: a bare async-graphql-axum handler (examples/bare.rs), `{ __typename }`, same
# wrk settings, same run.
"$TARGET/release/examples/bare" >"$WORK/bare.out" 2>&1 &
BARE_PID=$!
for _ in $(seq 1 100); do grep -q 'http://' "$WORK/bare.out" 2>/dev/null && break; sleep 0.1; done
BARE_URL=$(grep -o 'http://[0-9.:]*/graphql' "$WORK/bare.out" | head -1)
python3 -c 'import json; print(json.dumps({"query": "{ __typename }"}))' >"$WORK/bare.json"
row bare "$BARE_URL" post.lua BODY_FILE="$WORK/bare.json"
kill "$BARE_PID" 2>/dev/null; BARE_PID=
fi

RSS=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
HWM=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
echo
echo "server RSS: $((RSS / 1024)) MiB (peak $((HWM / 1024)) MiB)"
