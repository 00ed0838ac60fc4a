#!/usr/bin/env bash
# recover-better side by side with PostGraphile v4 on PostgreSQL, world preset, on loopback.
#
#   bash benches/postgraphile/run.sh [duration-seconds=10] [connections=32]
#
# Installs what is missing (Debian postgresql and wrk, node and npm; PostGraphile and its
# plugins with `npm ci` from the package-lock.json beside this script, into
# benches/postgraphile/node_modules), builds the release binary (in CARGO_TARGET_DIR when set),
# generates the world dataset with it, and then:
#   - starts a private PostgreSQL cluster in a temporary directory (unix socket only, on a
#     free port number; no system cluster is touched), loads the dataset into the normalized
#     schema of schema.sql with load.py + psql \copy, and runs VACUUM ANALYZE;
#   - starts PostGraphile on 127.0.0.1 (NODE_ENV=production, production flags, plugins:
#     pg-simplify-inflector, connection-filter, pg-aggregates);
#   - imports the same dataset into our store and starts our server as benches/load.sh does;
#   - runs Q0-Q6 on both, compares the answers (totalCounts, pages, facet counts; printed),
#     then drives each query with wrk exactly as benches/load.sh does (same Lua reporter),
#     ours then PostGraphile's, query by query;
#   - prints one markdown table with both products and the ratio of requests/s
#     (ours / PostGraphile), and the resident memory of both sides.
# Everything started here is stopped on exit. Nothing here asserts a time.
#
# Environment: PGL_WORKERS=N runs PostGraphile with --cluster-workers N (default: one worker per
# core, as our server uses every core; PGL_WORKERS=1 for a single Node process, PostGraphile's
# default); PGL_POOL=N sets each worker's pool size (default 10, PostGraphile's default);
# WARMUP=S runs each query S seconds on each product before it is measured (default 2; node's
# JIT and PostgreSQL's caches warm up; our server gets the same), WARMUP=0 for none.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
DURATION=${1:-10}
CONNECTIONS=${2:-32}
THREADS=2
PGL_WORKERS=${PGL_WORKERS:-$(nproc)}
PGL_POOL=${PGL_POOL:-10}
WARMUP=${WARMUP:-2}

log() { echo "[run.sh] $*" >&2; }
apt_install() {
  apt-get install -y "$@" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$@" >/dev/null; }
}

# --- What the benchmark needs -------------------------------------------------------------
command -v wrk >/dev/null || { log "installing wrk (Debian package)"; apt_install wrk; }
command -v curl >/dev/null || { log "installing curl (Debian package)"; apt_install curl; }
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null; then
  log "installing postgresql (Debian package)"
  apt_install postgresql
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
command -v node >/dev/null && command -v npm >/dev/null || { log "installing nodejs and npm (Debian packages)"; apt_install nodejs npm; }
if [ ! -x "$HERE/node_modules/.bin/postgraphile" ] || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
  log "npm ci (PostGraphile and plugins, pinned in benches/postgraphile/package-lock.json)"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# Where cargo builds (CARGO_TARGET_DIR when set), so the binary measured is the current one.
BIN=${CARGO_TARGET_DIR:-target}/release/recover-better
log "building $BIN"; cargo build --release --quiet --bin recover-better

WORK=$(mktemp -d)
chmod 755 "$WORK"
PGDATA="$WORK/pg/data"
SERVER_PID=
PGL_PID=
PG_STARTED=
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -n "$PGL_PID" ] && kill "$PGL_PID" 2>/dev/null
  [ -n "$PG_STARTED" ] && as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- The dataset ------------------------------------------------------------------------------
"$BIN" generate --preset world --out "$WORK/world" >/dev/null
REC=$(head -1 "$WORK/world/recommendations.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
COUNTRY=$(python3 - "$WORK/world" <<'PY'
import json, sys, collections
n = collections.Counter(json.loads(l)["country"] for l in open(sys.argv[1] + "/measures.jsonl"))
print(n.most_common(1)[0][0])
PY
)

# --- PostgreSQL: a private cluster, unix socket only -------------------------------------------
mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK/pg"
PGPORT=$(free_port)
as_postgres "$PGBIN/initdb" -D "$PGDATA" --username=postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
cat >>"$PGDATA/postgresql.conf" <<EOF
# benches/postgraphile/run.sh: a fair configuration for a read-mostly API on this machine
listen_addresses = ''
unix_socket_directories = '$WORK/pg'
port = $PGPORT
max_connections = 100
shared_buffers = 512MB
effective_cache_size = 4GB
work_mem = 16MB
maintenance_work_mem = 256MB
random_page_cost = 1.1
effective_io_concurrency = 200
# Many small concurrent queries on 2 cores: no JIT compilation, no parallel workers per query.
jit = off
max_parallel_workers_per_gather = 0
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
max_wal_size = 4GB
# Off while loading only (switched on below): an autovacuum snapshot taken during the load
# would keep VACUUM from marking the pages all-visible, and index-only scans from working.
autovacuum = off
EOF
as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/pg/postgres.log" -w start >/dev/null
PG_STARTED=1
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$WORK/pg" -p "$PGPORT" -U postgres)
"${PSQL[@]}" -d postgres -c 'create database bench'
T0=$(date +%s.%N)
python3 "$HERE/load.py" "$WORK/world" "$WORK/copy" >"$WORK/load.out"
"${PSQL[@]}" -d bench -f "$HERE/schema.sql" -f "$WORK/copy/load.psql"
"${PSQL[@]}" -d bench -c 'vacuum (analyze)'
"${PSQL[@]}" -d bench -c 'alter system set autovacuum = on' -c 'select pg_reload_conf()' >/dev/null
NOT_VISIBLE=$("${PSQL[@]}" -d bench -Atc "select string_agg(relname, ' ') from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace and relallvisible < relpages")
[ -z "$NOT_VISIBLE" ] || log "WARNING: not all-visible after VACUUM (index-only scans will visit the heap): $NOT_VISIBLE"
rm -rf "$WORK/copy"
T1=$(date +%s.%N)
DBSIZE=$("${PSQL[@]}" -d bench -Atc "select pg_size_pretty(pg_database_size('bench'))")
log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'): loaded in $(python3 -c "print(f'{$T1-$T0:.1f}')") s; database size $DBSIZE"

# --- PostGraphile ---------------------------------------------------------------------------
PGL_PORT=$(free_port)
PGL_ARGS=(
  --connection "postgres://postgres@$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$WORK/pg"):$PGPORT/bench"
  --schema public
  --host 127.0.0.1 --port "$PGL_PORT"
  --disable-default-mutations
  --no-setof-functions-contain-nulls
  --append-plugins @graphile-contrib/pg-simplify-inflector,postgraphile-plugin-connection-filter,@graphile/pg-aggregates
  --dynamic-json
  --disable-query-log
  --legacy-relations omit
  --max-pool-size "$PGL_POOL"
)
[ "$PGL_WORKERS" -gt 1 ] && PGL_ARGS+=(--cluster-workers "$PGL_WORKERS")
# Started from this directory so that it reads .postgraphilerc.js (connectionFilterRelations).
(cd "$HERE" && NODE_ENV=production exec node node_modules/postgraphile/cli.js "${PGL_ARGS[@]}" >"$WORK/pgl.out" 2>"$WORK/pgl.err") &
PGL_PID=$!
PGL_URL="http://127.0.0.1:$PGL_PORT/graphql"

# --- Our server, as benches/load.sh starts it --------------------------------------------------
"$BIN" --data "$WORK/store" import "$WORK/world" | tail -1 >&2
"$BIN" --data "$WORK/store" serve --empty --listen 127.0.0.1:0 >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 300); do grep -q 'GraphiQL: http://' "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
ADDR=$(grep -o 'http://[0-9.:]*' "$WORK/server.out" | head -1)
[ -n "$ADDR" ] || { echo "our server did not start:"; cat "$WORK/server.err"; exit 1; }
URL="$ADDR/graphql"
for _ in $(seq 1 600); do
  curl -sf -o /dev/null -H 'content-type: application/json' --data '{"query":"{__typename}"}' "$PGL_URL" && break
  kill -0 "$PGL_PID" 2>/dev/null || { echo "PostGraphile did not start:"; cat "$WORK/pgl.out" "$WORK/pgl.err"; exit 1; }
  sleep 0.1
done
curl -sf -o /dev/null -H 'content-type: application/json' --data '{"query":"{__typename}"}' "$PGL_URL" ||
  { echo "PostGraphile did not answer:"; cat "$WORK/pgl.out" "$WORK/pgl.err"; exit 1; }

# --- The queries ------------------------------------------------------------------------------
# Ours: exactly benches/load.sh's. PostGraphile's: the same data, the same page sizes, written
# as a PostGraphile user would (connection-filter `filter:`, pg-aggregates `groupedAggregates`
# for facets, a `search` function with `score`/`snippet` computed columns).
declare -A Q P
Q[Q0]='{ __typename }'
Q[Q1]="{ recommendation(ref: \"$REC\") { ref text stateUnderReview { name } recommendingStates { name } } }"
Q[Q2]="{ country(code: \"$COUNTRY\") { name recommendationsReceived(first: 20, filter: {cycle: [3]}) { totalCount nodes { ref text response } } measures(first: 10) { totalCount nodes { ref title startDate } } } }"
Q[Q3]='{ recommendations(first: 50, filter: {theme: ["right-to-health"], response: [SUPPORTED], cycle: [3]}) { totalCount nodes { ref text stateUnderReview { name } } } }'
Q[Q4]="{ country(code: \"$COUNTRY\") { measures(first: 20, filter: {category: [HEALTH]}) { totalCount nodes { ref title links { relation recommendation { ref recommendingStates { name } } } } } } }"
Q[Q5]='{ recommendations(first: 50, filter: {theme: ["right-to-health"], response: [SUPPORTED], cycle: [3]}) { totalCount nodes { ref } facets { response { value count } actionCategory { value count } theme { value count } group { value count } sdg { value count } cycle { value count } session { value count } stateUnderReview { value count } recommendingState { value count } } } }'
Q[Q6]='{ search(text: "domestic violence", first: 20) { totalCount edges { node { score snippet node { __typename ... on Recommendation { ref } ... on Measure { ref } } } } } }'

F='themes: {some: {themeSlug: {in: ["right-to-health"]}}}, response: {in: [SUPPORTED]}, cycleNumber: {in: [3]}'
P[Q0]='{ __typename }'
P[Q1]="{ recommendation(id: \"$REC\") { id text stateUnderReview { name } recommendingStates { nodes { country { name } } } } }"
P[Q2]="{ country(code: \"$COUNTRY\") { name recommendationsReceived(first: 20, filter: {cycleNumber: {in: [3]}}) { totalCount nodes { id text response } } measures(first: 10) { totalCount nodes { id title startDate } } } }"
P[Q3]="{ recommendations(first: 50, filter: {$F}) { totalCount nodes { id text stateUnderReview { name } } } }"
P[Q4]="{ country(code: \"$COUNTRY\") { measures(first: 20, filter: {category: {in: [HEALTH]}}) { totalCount nodes { id title links { nodes { relation recommendation { id recommendingStates { nodes { country { name } } } } } } } } } }"
P[Q5]="{ recommendations(first: 50, filter: {$F}) { totalCount nodes { id }
    response: groupedAggregates(groupBy: [RESPONSE]) { keys distinctCount { id } }
    cycle: groupedAggregates(groupBy: [CYCLE_NUMBER]) { keys distinctCount { id } }
    session: groupedAggregates(groupBy: [SESSION_NUMBER]) { keys distinctCount { id } }
    stateUnderReview: groupedAggregates(groupBy: [STATE_UNDER_REVIEW_CODE]) { keys distinctCount { id } } }
  actionCategory: recommendations(filter: {$F, actionCategory: {isNull: false}}) { groupedAggregates(groupBy: [ACTION_CATEGORY]) { keys distinctCount { id } } }
  theme: recommendationThemes(filter: {recommendation: {$F}}) { groupedAggregates(groupBy: [THEME_SLUG]) { keys distinctCount { recommendationId } } }
  group: recommendationGroups(filter: {recommendation: {$F}}) { groupedAggregates(groupBy: [GROUP_SLUG]) { keys distinctCount { recommendationId } } }
  sdg: recommendationSdgs(filter: {recommendation: {$F}}) { groupedAggregates(groupBy: [SDG]) { keys distinctCount { recommendationId } } }
  recommendingState: recommendationRecommendingStates(filter: {recommendation: {$F}}) { groupedAggregates(groupBy: [COUNTRY_CODE]) { keys distinctCount { recommendationId } } } }"
P[Q6]='{ search(query: "domestic violence", first: 20) { totalCount nodes { kind score(query: "domestic violence") snippet(query: "domestic violence") recommendation { id } measure { id } goodPractice { id } } } }'

# The wrk scripts of benches/load.sh: the request, then the reporter.
cat "$HERE/../wrk/post.lua" "$HERE/../wrk/report.lua" >"$WORK/post.lua"

# --- Same answers? ------------------------------------------------------------------------------
echo
echo "Answers compared (ours vs PostGraphile; REC=$REC, COUNTRY=$COUNTRY):"
MISMATCH=0
for name in Q0 Q1 Q2 Q3 Q4 Q5 Q6; do
  python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "${Q[$name]}" >"$WORK/$name.ours.json"
  python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "${P[$name]}" >"$WORK/$name.pgl.json"
  curl -s -H 'content-type: application/json' --data @"$WORK/$name.ours.json" "$URL" >"$WORK/$name.ours.out"
  curl -s -H 'content-type: application/json' --data @"$WORK/$name.pgl.json" "$PGL_URL" >"$WORK/$name.pgl.out"
  if ! python3 "$HERE/compare.py" "$name" "$WORK/$name.ours.out" "$WORK/$name.pgl.out"; then
    MISMATCH=1
    for side in ours pgl; do
      python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(1 if d.get("errors") else 0)' "$WORK/$name.$side.out" 2>/dev/null ||
        { echo "$name failed on $side:"; head -c 2000 "$WORK/$name.$side.out"; echo; exit 1; }
    done
  fi
done
[ "$MISMATCH" = 0 ] || echo "WARNING: some totalCounts differ (see above)"

# --- Load ---------------------------------------------------------------------------------
bench() { # URL BODY_FILE -> "rps p50 p99 errors"
  local line
  [ "$WARMUP" -gt 0 ] && BODY_FILE="$2" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/post.lua" "$1" >/dev/null
  line=$(BODY_FILE="$2" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/post.lua" "$1" | grep '^RESULT')
  read -r _ rps p50 p99 errors _ <<<"$line"
  echo "$rps $p50 $p99 $errors"
}
echo
echo "world preset; wrk: $THREADS threads, $CONNECTIONS connections, ${DURATION}s per query and product (after ${WARMUP}s of warm-up); $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PostGraphile $(node -p 'require(process.argv[1] + "/node_modules/postgraphile/package.json").version' "$HERE") on node $(node --version), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), $PGL_WORKERS node process(es) serving (--cluster-workers), pool $PGL_POOL each"
echo
printf '| %-5s | %10s | %8s | %8s | %6s | %10s | %8s | %8s | %6s | %13s |\n' query "ours req/s" "p50 ms" "p99 ms" errors "PGL req/s" "p50 ms" "p99 ms" errors "ours / PGL"
printf '|-------|-----------:|---------:|---------:|-------:|-----------:|---------:|---------:|-------:|--------------:|\n'
for name in Q0 Q1 Q2 Q3 Q4 Q5 Q6; do
  read -r o_rps o_p50 o_p99 o_err <<<"$(bench "$URL" "$WORK/$name.ours.json")"
  read -r p_rps p_p50 p_p99 p_err <<<"$(bench "$PGL_URL" "$WORK/$name.pgl.json")"
  ratio=$(python3 -c 'import sys; o,p=map(float,sys.argv[1:]); print(f"{o/p:.2f}x" if p else "inf")' "$o_rps" "$p_rps")
  printf '| %-5s | %10s | %8s | %8s | %6s | %10s | %8s | %8s | %6s | %13s |\n' "$name" "$o_rps" "$o_p50" "$o_p99" "$o_err" "$p_rps" "$p_p50" "$p_p99" "$p_err" "$ratio"
done
echo
echo "errors: non-2xx answers, socket errors and timeouts (wrk gives up on a request after 2 s; timed-out requests count in no percentile)."

# --- Memory -----------------------------------------------------------------------------------
tree() { # PID and its descendants
  echo "$1"
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done
}
kib() { # FIELD PID... -> sum in KiB (VmRSS/VmHWM from status, Pss from smaps_rollup)
  local field=$1 sum=0 p v
  shift
  for p in "$@"; do
    if [ "$field" = Pss ]; then v=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null)
    else v=$(awk -v f="$field:" '$1 == f {print $2}' /proc/"$p"/status 2>/dev/null); fi
    sum=$((sum + ${v:-0}))
  done
  echo $((sum / 1024))
}
PG_MASTER=$(head -1 "$PGDATA/postmaster.pid")
mapfile -t PG_PIDS < <(tree "$PG_MASTER")
mapfile -t PGL_PIDS < <(tree "$PGL_PID")
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "our server RSS: $(kib VmRSS "$SERVER_PID") MiB (peak $(kib VmHWM "$SERVER_PID") MiB)"
echo "PostGraphile node RSS: $(kib VmRSS "${PGL_PIDS[@]}") MiB (peak $(kib VmHWM "${PGL_PIDS[@]}") MiB; ${#PGL_PIDS[@]} process(es))"
echo "PostgreSQL cluster RSS: $(kib VmRSS "${PG_PIDS[@]}") MiB summed over ${#PG_PIDS[@]} processes (shared buffers counted once per process that touched them); PSS $(kib Pss "${PG_PIDS[@]}") MiB; database $DBSIZE"
echo "PostGraphile + PostgreSQL: RSS $(( $(kib VmRSS "${PGL_PIDS[@]}") + $(kib VmRSS "${PG_PIDS[@]}") )) MiB, PSS $(( $(kib Pss "${PGL_PIDS[@]}") + $(kib Pss "${PG_PIDS[@]}") )) MiB"
