#!/usr/bin/env bash
# The framework floor (issue 10): what `{ __typename }` (Q0) costs through the product against
# a bare async-graphql-axum handler (examples/bare.rs), in ONE run, on the same machine.
#
#   bash benches/floor.sh [seconds-per-pass=5] [passes=3] [connections=32]
#
#   FLOOR_TASKSET_SERVER=0 FLOOR_TASKSET_WRK=1 bash benches/floor.sh   # optional core pinning
#                                            (the same cpu list for every server, and for wrk)
#   FLOOR_PRESET=world (default)             the dataset the product serves (Q0 reads none of it)
#   FLOOR_BIN=path, FLOOR_NO_BUILD=1        measure that binary of the product; do not build
#   FLOOR_BASE_BIN=path/to/recover-better    also measures that build of the product (metrics on)
#                                            as `base`: a before/after in the same run
#
# Starts four servers side by side, all release builds: the product with its defaults
# (request log, metrics and the parsed-document cache on), the product with `--no-metrics`
# (request log still on), the product with `--no-document-cache` (every query parsed, as the
# bare handler does), and the bare handler. Waits until the product has finished its start-up
# work (the background assessment), then measures, pass after pass, in an order that rotates
# each pass:
#
#   on     POST Q0 to the product, metrics on
#   off    POST Q0 to the product, `--no-metrics`
#   parse  POST Q0 to the product, metrics on, `--no-document-cache`
#   304    GET Q0 with the If-None-Match of its last answer, to the product with metrics on
#   bare   POST Q0 to examples/bare.rs
#
# with the same `wrk -t2 -cN -dS` each time. For each it prints requests/s and the server's
# CPU time per request: user + system ticks of the whole process (/proc/PID/stat) before and
# after the wrk run, over the requests wrk completed. CPU per request moves much less with the
# machine's load than requests/s (other processes take cores away, not cycles per request).
# The load average is printed with every pass: on a shared machine only ratios measured in the
# same run mean anything. Nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
PASSES=${2:-3}
CONNECTIONS=${3:-32}
THREADS=2
PRESET=${FLOOR_PRESET:-world}
PIN_SERVER=()
PIN_WRK=()
[ -n "${FLOOR_TASKSET_SERVER:-}" ] && PIN_SERVER=(taskset -c "$FLOOR_TASKSET_SERVER")
[ -n "${FLOOR_TASKSET_WRK:-}" ] && PIN_WRK=(taskset -c "$FLOOR_TASKSET_WRK")

command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
[ -n "${FLOOR_NO_BUILD:-}" ] || cargo build --release --quiet --bin recover-better --example bare
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${FLOOR_BIN:-$TARGET/release/recover-better}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
TCK=$(getconf CLK_TCK)

"$BIN" generate --preset "$PRESET" --out "$WORK/data" >/dev/null
"$BIN" --data "$WORK/on.store" import "$WORK/data" | tail -1
# sled locks its directory: the second server gets a copy.
cp -r "$WORK/on.store" "$WORK/off.store"
cp -r "$WORK/on.store" "$WORK/parse.store"
TARGETS=(on off parse 304 bare)
if [ -n "${FLOOR_BASE_BIN:-}" ]; then
  cp -r "$WORK/on.store" "$WORK/base.store"
  TARGETS+=(base)
fi

declare -A PID URL
# Starts the product; its log goes to a file (appended, so it can be emptied between passes).
start_product() { # name, binary, extra args...
  local name=$1 bin=$2; shift 2
  "${PIN_SERVER[@]}" "$bin" --data "$WORK/$name.store" serve --empty --listen 127.0.0.1:0 "$@" \
    >"$WORK/$name.out" 2>>"$WORK/$name.err" &
  PID[$name]=$!; PIDS+=($!)
  for _ in $(seq 1 600); do grep -q 'GraphQL endpoint: http://' "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
  URL[$name]=$(grep -o 'http://[0-9.:]*/graphql' "$WORK/$name.out" | head -1)
  [ -n "${URL[$name]}" ] || { echo "$name did not start:"; cat "$WORK/$name.err"; exit 1; }
}
start_product on "$BIN"
start_product off "$BIN" --no-metrics
start_product parse "$BIN" --no-document-cache
[ -n "${FLOOR_BASE_BIN:-}" ] && start_product base "$FLOOR_BASE_BIN"
"${PIN_SERVER[@]}" "$TARGET/release/examples/bare" >"$WORK/bare.out" 2>&1 &
PID[bare]=$!; PIDS+=($!)
for _ in $(seq 1 100); do grep -q 'http://' "$WORK/bare.out" 2>/dev/null && break; sleep 0.1; done
URL[bare]=$(grep -o 'http://[0-9.:]*/graphql' "$WORK/bare.out" | head -1)

ticks() { # user + system ticks of a process, all threads (fields 14 and 15 of /proc/PID/stat)
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
# The product assesses every recommendation in a background thread after it starts: wait
# until both servers are idle (under 2 ticks in a second), so that work is not measured.
WAIT_START=$(date +%s)
for name in "${!PID[@]}"; do
  [ "$name" = bare ] && continue
  for _ in $(seq 1 600); do
    a=$(ticks "${PID[$name]}"); sleep 1; b=$(ticks "${PID[$name]}")
    [ $((b - a)) -lt 2 ] && break
  done
done
echo "waited $(($(date +%s) - WAIT_START)) s for the products' start-up work to end"

python3 -c 'import json; print(json.dumps({"query": "{ __typename }"}))' >"$WORK/q0.json"
for name in "${!PID[@]}"; do
  curl -sf -H 'content-type: application/json' --data @"$WORK/q0.json" "${URL[$name]}" | grep -q '"__typename"' \
    || { echo "Q0 failed on $name"; exit 1; }
done
GET_URL="${URL[on]}?query=%7B%20__typename%20%7D"
ETAG=$(curl -s -D - -o /dev/null "$GET_URL" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')
[ -n "$ETAG" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$GET_URL")" = 304 ] \
  || { echo "the GET of Q0 got no ETag or no 304: $ETAG"; exit 1; }

# The wrk scripts: a request, then the reporter every bench script reads (benches/wrk/).
cat benches/wrk/post.lua benches/wrk/report.lua >"$WORK/post.lua"
cat benches/wrk/get304.lua benches/wrk/report.lua >"$WORK/get304.lua"

# One wrk run against a target; prints "requests ticks seconds errors".
measure() {
  local target=$1 server url script
  case $target in
    on) server=on; url=${URL[on]}; script=post.lua ;;
    off) server=off; url=${URL[off]}; script=post.lua ;;
    parse) server=parse; url=${URL[parse]}; script=post.lua ;;
    304) server=on; url=$GET_URL; script=get304.lua ;;
    bare) server=bare; url=${URL[bare]}; script=post.lua ;;
    base) server=base; url=${URL[base]}; script=post.lua ;;
  esac
  local pid=${PID[$server]} before after line
  before=$(ticks "$pid")
  line=$(BODY_FILE="$WORK/q0.json" ETAG="$ETAG" "${PIN_WRK[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/$script" "$url" | grep '^RESULT')
  after=$(ticks "$pid")
  read -r _ _ _ _ errors requests seconds <<<"$line"
  echo "$requests $((after - before)) $seconds $errors"
}

echo
echo "Q0 floor: preset $PRESET; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s; $PASSES passes; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
[ ${#PIN_SERVER[@]} -gt 0 ] && echo "servers pinned: ${PIN_SERVER[*]}; wrk pinned: ${PIN_WRK[*]:-no}"
printf '| %-4s | %-4s | %10s | %12s | %6s | %-14s |\n' pass what "req/s" "CPU µs/req" errors "load avg (1m)"
printf '|------|------|-----------:|-------------:|-------:|----------------|\n'
declare -A REQ TICKS SECS
for t in "${TARGETS[@]}"; do REQ[$t]=0; TICKS[$t]=0; SECS[$t]=0; done
N=${#TARGETS[@]}
for pass in $(seq 1 "$PASSES"); do
  for i in $(seq 0 $((N - 1))); do
    t=${TARGETS[$(((i + pass - 1) % N))]}
    for f in "$WORK"/*.err; do : >"$f"; done # the request logs, emptied (the servers append)
    read -r requests dt seconds errors <<<"$(measure "$t")"
    load=$(cut -d' ' -f1 /proc/loadavg)
    REQ[$t]=$((REQ[$t] + requests)); TICKS[$t]=$((TICKS[$t] + dt))
    SECS[$t]=$(python3 -c "print(${SECS[$t]} + $seconds)")
    python3 - "$pass" "$t" "$requests" "$dt" "$seconds" "$errors" "$load" "$TCK" <<'PY'
import sys
p, t, n, dt, s, e, load, tck = sys.argv[1:]
n, dt, s, tck = int(n), int(dt), float(s), int(tck)
print(f"| {p:>4} | {t:<4} | {n / s:10,.0f} | {dt / tck * 1e6 / max(n, 1):12.2f} | {e:>6} | {load:<14} |")
PY
  done
done

echo
echo "All passes together (requests and CPU ticks summed over the passes):"
ARGS=()
for t in "${TARGETS[@]}"; do ARGS+=("$t" "${REQ[$t]}" "${TICKS[$t]}" "${SECS[$t]}"); done
python3 - "$TCK" "${ARGS[@]}" <<'PY'
import sys
tck = int(sys.argv[1])
v = sys.argv[2:]
rps, cpu, names = {}, {}, []
for i in range(0, len(v), 4):
    n, req, ticks, secs = v[i], int(v[i + 1]), int(v[i + 2]), float(v[i + 3])
    names.append(n)
    rps[n] = req / secs
    cpu[n] = ticks / tck * 1e6 / max(req, 1)
label = {"on": "product, metrics on", "off": "product, --no-metrics",
         "parse": "product, metrics on, --no-document-cache", "304": "product, 304 (metrics on)",
         "bare": "bare handler", "base": "FLOOR_BASE_BIN, metrics on"}
print("| what | req/s | CPU µs/req |")
print("|---|---:|---:|")
for n in names:
    print(f"| {label[n]} | {rps[n]:,.0f} | {cpu[n]:.2f} |")
print()
print("| ratio | by CPU per request | by throughput |")
print("|---|---:|---:|")
for n in ["on", "off", "parse", "base"]:
    if n in cpu:
        print(f"| Q0 {label[n]} / bare | {cpu[n] / cpu['bare']:.2f}× | {rps['bare'] / rps[n]:.2f}× |")
print(f"| 304 / Q0 (metrics on) | {cpu['304'] / cpu['on']:.2f}× | {rps['on'] / rps['304']:.2f}× |")
PY
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
