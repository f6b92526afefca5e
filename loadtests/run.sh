#!/usr/bin/env bash
# Runs Coalesce's HTTP load scenarios with wrk against loadtests/Coalesce.LoadTestApp and writes
# loadtests/results/report.md and report.json. See loadtests/README.md for what each scenario measures.
#
#   loadtests/run.sh                   # 10 s per measured run
#   DURATION=3 WARMUP=1 loadtests/run.sh   # a quick smoke run
#
# Settings (environment): DURATION (s per measured run, 10), WARMUP (s, 2), SETTLE (s, 3), THREADS (wrk, 2),
# STAMPEDE_CONNECTIONS (256), CONNECTIONS (overhead and hit path, 64), ZIPF_CONNECTIONS (128),
# SCALE_CONNECTIONS (the scale scenario's connection counts, "64 512 2000"), MEMORY_KEYS (distinct responses per
# cache in the memory scenario, 5000), FLOOD_KEYS (distinct memoized keys in its flood, 100000), OUTAGE_BEFORE,
# OUTAGE, OUTAGE_AFTER (s of the outage scenario's run before, during and after its backend is down: 3, 10, 3),
# SCALEOUT_KEYS (fresh keys of the scale-out scenario's simultaneous miss, 50), SCALEOUT_CONNECTIONS (connections per
# instance on each of them, 20), SCALEOUT_WRITES (measured writes of its invalidation probe, 200),
# ROUNDS (the overhead and hit-path scenarios measure their variants in this many alternating rounds, each of
# DURATION s, and report medians: 5), SCENARIOS (which to run, space-separated: "stampede overhead memo zipf scale memory outage scaleout", all by
# default, scaleout only when redis-server is there or can be installed), RESULTS (folder).
#
# Needs bash, coreutils, the .NET SDK and wrk, and redis-server for the scaleout scenario (each installed with
# apt-get when missing and running as root). All traffic goes to 127.0.0.1; every wait is bounded.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
LOADTESTS="$ROOT/loadtests"
LUA_DIR="$LOADTESTS/lua"
RESULTS="${RESULTS:-$LOADTESTS/results}"
RAW="$RESULTS/raw"

DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-5}"
WARMUP="${WARMUP:-2}"
# Pause between a warm-up and its measured run. wrk ends the warm-up by closing connections mid-request, and a
# key whose leader did not finish passes straight through for RequestCoalescingOptions.PassThroughDuration
# (2 s); the pause keeps that leftover out of the measurement.
SETTLE="${SETTLE:-3}"
THREADS="${THREADS:-2}"
STAMPEDE_CONNECTIONS="${STAMPEDE_CONNECTIONS:-256}"
CONNECTIONS="${CONNECTIONS:-64}"
ZIPF_CONNECTIONS="${ZIPF_CONNECTIONS:-128}"
SCALE_CONNECTIONS="${SCALE_CONNECTIONS:-64 512 2000}"
MEMORY_KEYS="${MEMORY_KEYS:-5000}"
FLOOD_KEYS="${FLOOD_KEYS:-100000}"
OUTAGE_BEFORE="${OUTAGE_BEFORE:-3}"
OUTAGE="${OUTAGE:-10}"
OUTAGE_AFTER="${OUTAGE_AFTER:-3}"
SCALEOUT_KEYS="${SCALEOUT_KEYS:-50}"
SCALEOUT_CONNECTIONS="${SCALEOUT_CONNECTIONS:-20}"
SCALEOUT_WRITES="${SCALEOUT_WRITES:-200}"
ALL_SCENARIOS="stampede overhead memo zipf scale memory outage scaleout"
# Whether SCENARIOS was given: a default run skips scaleout (with a line in the report) when there is no
# redis-server; one that names it stops instead.
SCENARIOS_GIVEN=0
[ -z "${SCENARIOS:-}" ] || SCENARIOS_GIVEN=1
SCENARIOS="${SCENARIOS:-$ALL_SCENARIOS}"
SCALEOUT_SKIPPED=""
# The ids lua/zipf.lua draws from (1 to 10,000); the outage scenario's warm-up asks for each of them.
ZIPF_KEYS=10000

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

die() { echo "run.sh: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

for setting in DURATION ROUNDS WARMUP SETTLE THREADS STAMPEDE_CONNECTIONS CONNECTIONS ZIPF_CONNECTIONS OUTAGE_BEFORE OUTAGE OUTAGE_AFTER \
    SCALEOUT_KEYS SCALEOUT_CONNECTIONS SCALEOUT_WRITES; do
  value="${!setting}"
  [[ "$value" =~ ^[0-9]+$ ]] && [ "$value" -ge 1 ] && [ "$value" -le 10000 ] ||
    die "$setting must be a whole number from 1 to 10000; it is '$value'."
done

for setting in MEMORY_KEYS FLOOD_KEYS; do
  value="${!setting}"
  [[ "$value" =~ ^[0-9]+$ ]] && [ "$value" -ge 100 ] && [ "$value" -le 1000000 ] ||
    die "$setting must be a whole number from 100 to 1000000; it is '$value'."
done

for connections in $SCALE_CONNECTIONS; do
  [[ "$connections" =~ ^[0-9]+$ ]] && [ "$connections" -ge 1 ] && [ "$connections" -le 10000 ] ||
    die "SCALE_CONNECTIONS must list whole numbers from 1 to 10000; it has '$connections'."
done

[ -n "${SCENARIOS// /}" ] || die "SCENARIOS must name at least one of: $ALL_SCENARIOS."
for scenario in $SCENARIOS; do
  [[ " $ALL_SCENARIOS " == *" $scenario "* ]] || die "SCENARIOS may name only: $ALL_SCENARIOS; it has '$scenario'."
done
# The scenarios that run, in the order of the report, each once (the report and its reproduce line use it).
SCENARIOS="$(for scenario in $ALL_SCENARIOS; do [[ " $SCENARIOS " != *" $scenario "* ]] || printf '%s ' "$scenario"; done)"
SCENARIOS="${SCENARIOS% }"

# runs SCENARIO: whether SCENARIOS names it.
runs() { [[ " $SCENARIOS " == *" $1 "* ]]; }

ensure_wrk() {
  command -v wrk >/dev/null 2>&1 && return
  [ "$(id -u)" -eq 0 ] || die "wrk is not installed; install it (Debian/Ubuntu: sudo apt-get install -y wrk) and run again."
  command -v apt-get >/dev/null 2>&1 || die "wrk is not installed and there is no apt-get to install it with."
  log "Installing wrk with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  command -v wrk >/dev/null 2>&1 || die "apt-get did not install wrk."
}

# ensure_redis: whether redis-server is there, installing the Debian package with apt-get when missing and root.
ensure_redis() {
  command -v redis-server >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  log "Installing redis-server with apt-get"
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq redis-server >/dev/null || return 1
  command -v redis-server >/dev/null 2>&1
}

# --- the app -------------------------------------------------------------------------------------------

APP_PID=""
WORK="$(mktemp -d)"

stop_app() {
  stop_pid "$APP_PID"
  APP_PID=""
}

cleanup() {
  stop_wrk
  backend_up_if_down
  stop_app
  stop_scaleout
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=""

# http METHOD PATH: prints the response body; fails unless the status is 2xx. HTTP/1.0 over bash's /dev/tcp,
# so no curl is needed: the server answers without chunking and closes the connection.
http() {
  local method="$1" path="$2" response status
  response="$(timeout 10 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n" "$2" "$3" >&3
    cat <&3' _ "$PORT" "$method" "$path" 2>/dev/null)" || return 1
  status="$(printf '%s' "$response" | awk 'NR == 1 { print $2; exit }')"
  [[ "$status" == 2* ]] || return 1
  printf '%s' "$response" | awk 'body { print } /^\r?$/ { body = 1 }'
}

start_app() {
  local dll="$LOADTESTS/Coalesce.LoadTestApp/bin/Release/net10.0/Coalesce.LoadTestApp.dll"
  [ -f "$dll" ] || die "the build did not produce $dll."
  dotnet "$dll" --port 0 >"$WORK/app.log" 2>&1 &
  APP_PID=$!

  for _ in $(seq 1 120); do
    kill -0 "$APP_PID" 2>/dev/null || { cat "$WORK/app.log" >&2; die "the load-test app exited during start-up."; }
    PORT="$(awk '/^LOADTEST_LISTENING / { n = split($2, parts, ":"); print parts[n]; exit }' "$WORK/app.log")"
    [ -n "$PORT" ] && break
    sleep 0.25
  done
  [ -n "$PORT" ] || die "the load-test app did not report its address within 30 s."

  for _ in $(seq 1 40); do
    http GET /_ready >/dev/null 2>&1 && { log "App ready on http://127.0.0.1:$PORT (pid $APP_PID)"; return; }
    sleep 0.25
  done
  die "the load-test app did not answer /_ready within 10 s."
}

# The outage scenario's wrk runs in the background while the script switches the backend; both are undone on
# failure (stop_wrk, backend_up_if_down).
WRK_PID=""
BACKEND_DOWN=0

stop_wrk() {
  if [ -n "$WRK_PID" ] && kill -0 "$WRK_PID" 2>/dev/null; then
    kill "$WRK_PID" 2>/dev/null || true
    wait "$WRK_PID" 2>/dev/null || true
  fi
  WRK_PID=""
}

backend_up_if_down() {
  if [ "$BACKEND_DOWN" -eq 1 ] && [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
    http POST /_backend/up >/dev/null || echo "run.sh: could not switch the outage backend up again." >&2
  fi
  BACKEND_DOWN=0
}

# --- measuring -----------------------------------------------------------------------------------------

CLK_TCK="$(getconf CLK_TCK)"

# cpu_ticks: the app's user + system CPU time so far, in clock ticks (fields 14 and 15 of /proc/PID/stat, counted
# after the command name, which may hold spaces).
cpu_ticks() { sed 's/^.*) //' "/proc/$APP_PID/stat" | awk '{ print $12 + $13 }'; }

RUNS="$WORK/runs.tsv"
: >"$RUNS"

# wrk_run SECONDS CONNECTIONS LUA PATH [--latency]: runs wrk from the Lua folder (the scripts load report.lua).
wrk_run() {
  local seconds="$1" connections="$2" lua="$3" path="$4"
  shift 4
  local threads="$THREADS"
  [ "$threads" -le "$connections" ] || threads="$connections"
  (cd "$LUA_DIR" && exec timeout $((seconds + 60)) wrk -t "$threads" -c "$connections" -d "${seconds}s" --timeout 10s "$@" \
    -s "$lua" "http://127.0.0.1:$PORT$path")
}

# measure SCENARIO VARIANT COUNTER PATH LUA CONNECTIONS: warms up, resets the counts, measures, records one TSV
# row. COUNTER is the app's name for the variant in /_counts.
measure() {
  local scenario="$1" variant="$2" counter="$3" path="$4" lua="$5" connections="$6"
  local raw="$RAW/$scenario.$variant.txt"
  log "$scenario / $variant: $path, $connections connections, ${WARMUP}s warm-up, ${SETTLE}s pause, ${DURATION}s measured"

  wrk_run "$WARMUP" "$connections" "$lua" "$path" >/dev/null || die "wrk failed warming up $path."
  sleep "$SETTLE"
  http POST /_counts/reset >/dev/null || die "could not reset the counts."
  local cpu_before cpu_after
  cpu_before="$(cpu_ticks)"
  wrk_run "$DURATION" "$connections" "$lua" "$path" --latency >"$raw" || die "wrk failed on $path (see $raw)."
  cpu_after="$(cpu_ticks)"
  record_run "$scenario" "$variant" "$counter" "$path" "$connections" "$raw" $(( (cpu_after - cpu_before) * 1000000 / CLK_TCK ))
}

# measure_rounds SCENARIO LUA CONNECTIONS VARIANT COUNTER PATH [VARIANT COUNTER PATH ...]: warms each variant up once,
# then measures them all in ROUNDS rounds of DURATION s, in turn (the order reversed every other round), recording
# one row per variant and round as VARIANT@ROUND. The report compares variants within each round and takes the
# medians, so the machine's load changing during one run (wrk and the app share it, and so may other work) does not
# decide a comparison of a few percent.
measure_rounds() {
  local scenario="$1" lua="$2" connections="$3"
  shift 3
  local -a variants=() counters=() paths=()
  while [ "$#" -ge 3 ]; do
    variants+=("$1"); counters+=("$2"); paths+=("$3")
    shift 3
  done

  local i round order cpu_before cpu_after raw
  for i in "${!variants[@]}"; do
    log "$scenario / ${variants[$i]}: ${paths[$i]}, $connections connections, ${WARMUP}s warm-up"
    wrk_run "$WARMUP" "$connections" "$lua" "${paths[$i]}" >/dev/null || die "wrk failed warming up ${paths[$i]}."
  done
  sleep "$SETTLE"

  for round in $(seq 1 "$ROUNDS"); do
    order="$(seq 0 $(( ${#variants[@]} - 1 )))"
    [ $(( round % 2 )) -eq 1 ] || order="$(tac <<<"$order")"
    for i in $order; do
      log "$scenario / ${variants[$i]}: round $round of $ROUNDS, ${DURATION}s measured"
      raw="$RAW/$scenario.${variants[$i]}.$round.txt"
      http POST /_counts/reset >/dev/null || die "could not reset the counts."
      cpu_before="$(cpu_ticks)"
      wrk_run "$DURATION" "$connections" "$lua" "${paths[$i]}" --latency >"$raw" || die "wrk failed on ${paths[$i]} (see $raw)."
      cpu_after="$(cpu_ticks)"
      record_run "$scenario" "${variants[$i]}@$round" "${counters[$i]}" "${paths[$i]}" "$connections" "$raw" \
        $(( (cpu_after - cpu_before) * 1000000 / CLK_TCK ))
      sleep 1
    done
  done
}

# record_run SCENARIO VARIANT COUNTER PATH CONNECTIONS RAW CPU_US: reads the counts and wrk's result line, and
# records one TSV row: scenario variant path connections, requests duration_us p50 p90 p99 max status_errors
# socket_errors, executions hits misses, app CPU µs, then the answers the app counted (failed, answered and failed
# while the backend was down; outage variants only, 0 otherwise), stale-while-revalidate and stale-if-error
# answers, refreshes, failed refreshes, and executions that failed because the backend was down. The outage
# scenario appends the warnings and errors the app logged, and the log's growth in bytes.
record_run() {
  local scenario="$1" variant="$2" counter="$3" path="$4" connections="$5" raw="$6" cpu_us="$7"
  local counts answers result
  counts="$(http GET /_counts.txt | awk -v v="$counter" '$1 == v { print; exit }')"
  [ -n "$counts" ] || die "no counts for $counter."
  answers="$(awk '{ print $5, $6, $7, $8, $9, $10, $11, $12 }' <<<"$counts")"
  counts="$(awk '{ print $2, $3, $4 }' <<<"$counts")"
  result="$(awk '/^WRK_RESULT / { $1 = ""; print; exit }' "$raw")"
  [ -n "$result" ] || die "wrk printed no result for $path (see $raw)."

  # requests duration_us p50 p90 p99 max status_errors socket_errors (from report.lua's key=value line)
  local figures
  figures="$(printf '%s\n' "$result" | awk '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      print f["requests"], f["duration_us"], f["p50_us"], f["p90_us"], f["p99_us"], f["max_us"], f["status_errors"],
            f["connect_errors"] + f["read_errors"] + f["write_errors"] + f["timeouts"]
    }')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$variant" "$path" "$connections" \
    "$(tr ' ' '\t' <<<"$figures")" "$(tr ' ' '\t' <<<"$counts")" "$cpu_us" "$(tr ' ' '\t' <<<"$answers")" >>"$RUNS"
}

# --- outage --------------------------------------------------------------------------------------------

# measure_outage VARIANT: Zipf ids on /outage/VARIANT, whose backend fails for OUTAGE seconds in the middle of the
# measured run. The warm-up asks for every id once (so each has a memoized response, stale copy included, before
# the outage), then the run starts; OUTAGE_BEFORE seconds in, the backend goes down, OUTAGE seconds later up again.
measure_outage() {
  local variant="$1" path="/outage/$1" connections="$ZIPF_CONNECTIONS"
  local raw="$RAW/outage.$variant.txt" total=$(( OUTAGE_BEFORE + OUTAGE + OUTAGE_AFTER ))
  local fill_seconds=$(( WARMUP > 4 ? WARMUP : 4 ))
  log "outage / $variant: $path, $connections connections, ${fill_seconds}s filling ids 1-$ZIPF_KEYS, ${SETTLE}s pause, ${total}s measured, the backend down from ${OUTAGE_BEFORE}s for ${OUTAGE}s"

  http POST /_backend/up >/dev/null || die "could not switch the outage backend up."
  # Only this variant's responses in the cache: its $ZIPF_KEYS ids fill the default MemoMaxEntries (10,000).
  http POST /_caches/clear >/dev/null || die "could not clear the caches."
  (cd "$LUA_DIR" && FORM=path KEYS="$ZIPF_KEYS" THREADS="$THREADS" timeout $((fill_seconds + 60)) \
    wrk -t "$THREADS" -c "$connections" -d "${fill_seconds}s" --timeout 10s -s fill.lua "http://127.0.0.1:$PORT$path") >/dev/null ||
    die "wrk failed filling $path."
  if [ "$variant" = stale ]; then
    # An id the fill did not reach has no stale copy and fails in the outage: the cache must hold every id (its
    # stale copies stay for 5 min; a slow machine may need more than one pass, each thread covering half the ids).
    local entries attempt
    entries="$(heap_figure memo_entries)"
    for attempt in 1 2; do
      [ "${entries:-0}" -lt "$ZIPF_KEYS" ] || break
      log "outage / $variant: $entries of $ZIPF_KEYS ids memoized after the warm-up; filling again ($attempt)"
      (cd "$LUA_DIR" && FORM=path KEYS="$ZIPF_KEYS" THREADS="$THREADS" timeout $((fill_seconds + 60)) \
        wrk -t "$THREADS" -c "$connections" -d "${fill_seconds}s" --timeout 10s -s fill.lua "http://127.0.0.1:$PORT$path") >/dev/null ||
        die "wrk failed filling $path."
      entries="$(heap_figure memo_entries)"
    done
    [ "${entries:-0}" -ge "$ZIPF_KEYS" ] ||
      log "warning: only $entries of $ZIPF_KEYS ids memoized after the warm-up of $path; the others have no stale copy and fail in the outage."
  fi
  sleep "$SETTLE"
  http POST /_counts/reset >/dev/null || die "could not reset the counts."

  local cpu_before cpu_after log_before log_after
  log_before="$(stat -c %s "$WORK/app.log")"
  cpu_before="$(cpu_ticks)"
  wrk_run "$total" "$connections" zipf.lua "$path" --latency >"$raw" &
  WRK_PID=$!
  sleep "$OUTAGE_BEFORE"
  BACKEND_DOWN=1
  http POST /_backend/down >/dev/null || die "could not switch the outage backend down."
  log "outage / $variant: backend down"
  sleep "$OUTAGE"
  http POST /_backend/up >/dev/null || die "could not switch the outage backend up again."
  BACKEND_DOWN=0
  log "outage / $variant: backend up"
  local status=0
  wait "$WRK_PID" || status=$?
  WRK_PID=""
  [ "$status" -eq 0 ] || die "wrk failed on $path (exit $status, see $raw)."
  cpu_after="$(cpu_ticks)"
  record_run outage "$variant" "outage.$variant" "$path" "$connections" "$raw" $(( (cpu_after - cpu_before) * 1000000 / CLK_TCK ))

  # What the app logged meanwhile (warnings and errors, and bytes): the console logger writes in the background,
  # so give it a moment. Appended to the row just recorded.
  sleep 1
  log_after="$(stat -c %s "$WORK/app.log")"
  local logged
  logged="$(tail -c +$((log_before + 1)) "$WORK/app.log" | head -c $((log_after - log_before)) | grep -cE '^(warn|fail|crit): ' || true)"
  sed -i '$ s/$/\t'"${logged:-0}"'\t'"$((log_after - log_before))"'/' "$RUNS"
}

# --- memory --------------------------------------------------------------------------------------------

MEMO_PER_ENTRY="" OUTPUT_CACHE_PER_ENTRY="" MEMO_ENTRIES="" FLOOD_HEAP="" FLOOD_ENTRIES="" FLOOD_BYTES=""

heap_figure() { http GET /_heap.txt | awk -v k="$1" '$1 == k { print $2; exit }'; }

# fill PATH KEYS SECONDS: asks for ?id=1..KEYS round and round for SECONDS, so every id is kept once.
fill() {
  (cd "$LUA_DIR" && KEYS="$2" THREADS="$THREADS" timeout $(($3 + 60)) wrk -t "$THREADS" -c 32 -d "${3}s" --timeout 10s \
    -s fill.lua "http://127.0.0.1:$PORT$1") >/dev/null || die "wrk failed filling $1."
}

# The managed heap (after a full collection) grown by MEMORY_KEYS distinct ~1 KB responses kept by Coalesce and
# by OutputCache's memory store, per entry; then the heap after FLOOD_KEYS distinct memoized keys under the
# default bounds (MemoMaxEntries 10,000, MemoMaxBytes 100 MiB).
measure_memory() {
  local before after seconds=$(( MEMORY_KEYS / 1000 + 3 ))
  log "memory: $MEMORY_KEYS distinct memoized responses, the same under OutputCache, then $FLOOD_KEYS distinct memoized keys"
  http POST /_caches/clear >/dev/null || die "could not clear the caches."
  before="$(heap_figure heap_bytes)"
  fill /memo/fill "$MEMORY_KEYS" "$seconds"
  after="$(heap_figure heap_bytes)"
  MEMO_ENTRIES="$(heap_figure memo_entries)"
  MEMO_PER_ENTRY=$(( (after - before) / (MEMO_ENTRIES > 0 ? MEMO_ENTRIES : 1) ))

  http POST /_caches/clear >/dev/null || die "could not clear the caches."
  before="$(heap_figure heap_bytes)"
  fill /outputcache/fill "$MEMORY_KEYS" "$seconds"
  after="$(heap_figure heap_bytes)"
  OUTPUT_CACHE_PER_ENTRY=$(( (after - before) / MEMORY_KEYS ))

  http POST /_caches/clear >/dev/null || die "could not clear the caches."
  before="$(heap_figure heap_bytes)"
  fill /memo/fill "$FLOOD_KEYS" $(( FLOOD_KEYS / 2000 + 5 ))
  after="$(heap_figure heap_bytes)"
  FLOOD_HEAP=$(( after - before ))
  FLOOD_ENTRIES="$(heap_figure memo_entries)"
  FLOOD_BYTES="$(heap_figure memo_bytes)"
}

# --- scale-out (Redis) ---------------------------------------------------------------------------------

# Its own redis-server, and six instances of the app: three on that Redis ("redis" set) and three without it
# ("local" set), all started at once and stopped in every case (cleanup). The Host header is part of a coalescing
# key, so every request of the scenario names one host, as a load balancer in front of the instances would.
SCALEOUT_HOST="scaleout.test"
REDIS_PID="" REDIS_PORT=""
SO_NAMES=() SO_PIDS=() SO_PORTS=() SO_WRK_PIDS=() SO_PROBE_PID=""

# stop_pid PID: stops a process the script started, politely and then not (bounded).
stop_pid() {
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_scaleout() {
  local pid
  for pid in "${SO_WRK_PIDS[@]}" "$SO_PROBE_PID"; do
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  done
  for pid in "${SO_WRK_PIDS[@]}" "$SO_PROBE_PID"; do
    [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
  done
  SO_WRK_PIDS=() SO_PROBE_PID=""
  for pid in "${SO_PIDS[@]}"; do stop_pid "$pid"; done
  SO_NAMES=() SO_PIDS=() SO_PORTS=()
  stop_pid "$REDIS_PID"
  REDIS_PID="" REDIS_PORT=""
}

# redis_ping PORT: whether a Redis answers PING there (bash's /dev/tcp, no redis-cli needed).
redis_ping() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r line <&3 && [[ "$line" == "+PONG"* ]]' _ "$1" 2>/dev/null
}

# start_redis: a redis-server of the run's own on a free loopback port, persistence off.
start_redis() {
  local attempt port
  for attempt in $(seq 1 10); do
    port=$(( 20000 + RANDOM % 40000 ))
    # Something answers there already: try another port.
    timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null && continue
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 40); do
      kill -0 "$REDIS_PID" 2>/dev/null || break
      if redis_ping "$port"; then
        REDIS_PORT="$port"
        log "redis-server ready on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
        return
      fi
      sleep 0.25
    done
    stop_pid "$REDIS_PID"
    REDIS_PID=""
  done
  cat "$WORK/redis.log" >&2
  die "could not start redis-server on a free loopback port."
}

# launch_instance NAME [app options...]: starts one instance on a free port, in the background.
launch_instance() {
  local name="$1" dll="$LOADTESTS/Coalesce.LoadTestApp/bin/Release/net10.0/Coalesce.LoadTestApp.dll"
  shift
  dotnet "$dll" --port 0 "$@" >"$WORK/so-$name.log" 2>&1 &
  SO_NAMES+=("$name") SO_PIDS+=("$!") SO_PORTS+=("")
}

# await_instances: waits for every launched instance's address and /_ready (bounded).
await_instances() {
  local i port
  for i in "${!SO_NAMES[@]}"; do
    for _ in $(seq 1 160); do
      kill -0 "${SO_PIDS[$i]}" 2>/dev/null || { cat "$WORK/so-${SO_NAMES[$i]}.log" >&2; die "instance ${SO_NAMES[$i]} exited during start-up."; }
      port="$(awk '/^LOADTEST_LISTENING / { n = split($2, parts, ":"); print parts[n]; exit }' "$WORK/so-${SO_NAMES[$i]}.log")"
      [ -z "$port" ] || break
      sleep 0.25
    done
    [ -n "$port" ] || die "instance ${SO_NAMES[$i]} did not report its address within 40 s."
    SO_PORTS[$i]="$port"
    for _ in $(seq 1 40); do
      PORT="$port" http GET /_ready >/dev/null 2>&1 && break
      sleep 0.25
    done
    PORT="$port" http GET /_ready >/dev/null 2>&1 || die "instance ${SO_NAMES[$i]} did not answer /_ready within 10 s."
    log "Instance ${SO_NAMES[$i]} ready on http://127.0.0.1:$port (pid ${SO_PIDS[$i]})"
  done
}

# so_index NAME: the index of an instance in SO_NAMES.
so_index() {
  local i
  for i in "${!SO_NAMES[@]}"; do [ "${SO_NAMES[$i]}" != "$1" ] || { echo "$i"; return; }; done
  die "no instance named $1."
}

# so_counts NAME...: every named instance's /_scaleout/counts.txt, one after the other.
so_counts() {
  local name
  for name in "$@"; do
    echo "instance $name"
    PORT="${SO_PORTS[$(so_index "$name")]}" http GET /_scaleout/counts.txt || die "could not read the counts of instance $name."
  done
}

# redis_delta BEFORE AFTER FIGURE: the growth of a Redis figure summed over instances (BEFORE and AFTER from so_counts).
redis_delta() {
  awk -v f="$3" 'FNR == 1 { file++ } $1 == "redis" && $2 == f { s[file] += $3 } END { print s[2] - s[1] }' "$1" "$2"
}

# lockstep SECONDS FIRST_ID OUT_PREFIX NAME...: lua/lockstep.lua against each named instance at once, one wrk each
# (one thread, SCALEOUT_CONNECTIONS connections), all asking for ids FIRST_ID .. FIRST_ID + SCALEOUT_KEYS - 1 in
# step; wrk's output to OUT_PREFIX.NAME.txt.
lockstep() {
  local seconds="$1" first="$2" out="$3" name status=0 pid
  shift 3
  SO_WRK_PIDS=()
  for name in "$@"; do
    (cd "$LUA_DIR" && FIRST_ID="$first" KEYS="$SCALEOUT_KEYS" CONNECTIONS="$SCALEOUT_CONNECTIONS" exec timeout $((seconds + 60)) \
      wrk -t 1 -c "$SCALEOUT_CONNECTIONS" -d "${seconds}s" --timeout 10s --latency -H "Host: $SCALEOUT_HOST" -s lockstep.lua \
      "http://127.0.0.1:${SO_PORTS[$(so_index "$name")]}/scaleout/item/") >"$out.$name.txt" 2>&1 &
    SO_WRK_PIDS+=("$!")
  done
  for pid in "${SO_WRK_PIDS[@]}"; do wait "$pid" || status=$?; done
  SO_WRK_PIDS=()
  [ "$status" -eq 0 ] || die "wrk failed in a simultaneous miss (see $out.*.txt)."
}

# measure_miss VARIANT NAME...: SCALEOUT_KEYS fresh keys, each asked for by SCALEOUT_CONNECTIONS connections on
# every named instance at once (lockstep), and the backend executions per key summed over the instances.
SO_NEXT_ID=1
measure_miss() {
  local variant="$1" first="$SO_NEXT_ID" seconds=$(( SCALEOUT_KEYS / 10 + 3 ))
  shift
  SO_NEXT_ID=$(( SO_NEXT_ID + SCALEOUT_KEYS ))
  log "scaleout / $variant: ids $first-$((first + SCALEOUT_KEYS - 1)), $SCALEOUT_CONNECTIONS connections on each of $* at once"
  so_counts "$@" >"$WORK/so-before.txt"
  lockstep "$seconds" "$first" "$RAW/scaleout.$variant" "$@"
  so_counts "$@" >"$WORK/so-after.txt"
  # Each instance's executions per id (and Redis figures) after the run, one after the other, for a closer look.
  cp "$WORK/so-after.txt" "$RAW/scaleout.$variant.counts.txt"

  local name raw raws=() figures incomplete=0 executions
  for name in "$@"; do
    raw="$RAW/scaleout.$variant.$name.txt"
    raws+=("$raw")
    grep -q '^WRK_RESULT ' "$raw" || die "wrk printed no result (see $raw)."
    awk '/^LOCKSTEP / { split($2, a, "="); split($3, b, "="); found = 1; exit !(a[2] + 0 >= b[2] + 0) } END { if (!found) exit 1 }' "$raw" || incomplete=1
  done
  [ "$incomplete" -eq 0 ] || log "warning: a wrk of scaleout / $variant did not get every answer within ${seconds}s; the figures cover what it got."
  # Over the instances: requests and errors summed, the run's length and latencies the largest (worst instance).
  figures="$(cat "${raws[@]}" | awk '/^WRK_RESULT / {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      rq += f["requests"]; st += f["status_errors"]; so += f["connect_errors"] + f["read_errors"] + f["write_errors"] + f["timeouts"]
      if (f["duration_us"] > du) du = f["duration_us"]; if (f["p50_us"] > p50) p50 = f["p50_us"]; if (f["p90_us"] > p90) p90 = f["p90_us"]
      if (f["p99_us"] > p99) p99 = f["p99_us"]; if (f["max_us"] > mx) mx = f["max_us"]
    } END { print rq + 0, du + 0, p50 + 0, p90 + 0, p99 + 0, mx + 0, st + 0, so + 0 }')"
  # Executions per id in the range: summed over the instances (after minus before), then per key.
  executions="$(awk -v lo="$first" -v hi="$((first + SCALEOUT_KEYS - 1))" '
      FNR == 1 { file++ }
      $1 == "exec" && $2 >= lo && $2 <= hi { e[$2] += (file == 2 ? $3 : -$3) }
      END { for (k in e) if (e[k] > 0) { keys++; total += e[k]; if (e[k] > top) top = e[k]; if (e[k] > 1) over++ }
            print total + 0, keys + 0, top + 0, over + 0 }' "$WORK/so-before.txt" "$WORK/so-after.txt")"
  local total keys_run top over
  read -r total keys_run top over <<<"$executions"
  local extras=() figure
  for figure in remote_waits leases_won l2_hits fills_received takeovers passes errors; do
    extras+=("$(redis_delta "$WORK/so-before.txt" "$WORK/so-after.txt" "$figure")")
  done
  # scenario variant path connections | requests duration p50 p90 p99 max status socket | executions hits misses cpu
  # | ten outage columns | keys, keys run, max per key, keys run more than once, remote waits, leases won,
  # second-level hits, fills received, takeovers, passes, Redis errors, every answer received (1/0)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t%s\t%s\t%s\t%s\t%s\t%s\n' scaleout "$variant" "/scaleout/item/{id}" \
    "$(( $# * SCALEOUT_CONNECTIONS ))" "$(tr ' ' '\t' <<<"$figures")" "$total" \
    "$SCALEOUT_KEYS" "$keys_run" "$top" "$over" "$(IFS=$'\t'; echo "${extras[*]}")" "$(( 1 - incomplete ))" >>"$RUNS"
  log "scaleout / $variant: $total executions for $SCALEOUT_KEYS keys (at most $top per key, $over keys more than once)"
}

# measure_invalidation WRITER READER...: the invalidation probe (the app's --probe mode, see InvalidationProbe.cs):
# SCALEOUT_WRITES writes on WRITER while the READERs poll for the new version.
measure_invalidation() {
  local writer="$1" first="$SO_NEXT_ID" ids=10 urls="" name raw="$RAW/scaleout.invalidation.txt"
  local dll="$LOADTESTS/Coalesce.LoadTestApp/bin/Release/net10.0/Coalesce.LoadTestApp.dll"
  SO_NEXT_ID=$(( SO_NEXT_ID + ids ))
  for name in "$@"; do urls+="${urls:+,}http://127.0.0.1:${SO_PORTS[$(so_index "$name")]}"; done
  log "scaleout / invalidation: $SCALEOUT_WRITES writes on $writer (after 10 not measured), ${*:2} polling, ids $first-$((first + ids - 1))"
  so_counts "$@" >"$WORK/so-before.txt"
  timeout $(( SCALEOUT_WRITES * 12 + 120 )) dotnet "$dll" --probe "$urls" --host "$SCALEOUT_HOST" --writes "$SCALEOUT_WRITES" \
    --warmup-writes 10 --first-id "$first" --ids "$ids" >"$raw" 2>&1 &
  SO_PROBE_PID=$!
  local status=0
  wait "$SO_PROBE_PID" || status=$?
  SO_PROBE_PID=""
  [ "$status" -eq 0 ] || die "the invalidation probe failed (exit $status, see $raw)."
  so_counts "$@" >"$WORK/so-after.txt"
  local result figures extras=() figure executions
  result="$(awk '/^PROBE_RESULT / { $1 = ""; print; exit }' "$raw")"
  [ -n "$result" ] || die "the invalidation probe printed no result (see $raw)."
  # requests (writes) duration (0) p50 p90 p99 max (first fresh answer) status (errors) socket (timeouts); then
  # samples, poll-sent p50 and p99, PUT 2xx p50 and p99, stale reads after the 2xx, stale before the write, polls
  figures="$(printf '%s\n' "$result" | awk '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      print f["writes"], 0, f["p50_us"], f["p90_us"], f["p99_us"], f["max_us"], f["errors"], f["timeouts"]
      print f["samples"], f["sent_p50_us"], f["sent_p99_us"], f["ack_p50_us"], f["ack_p99_us"], f["stale_after_ack"], f["stale_before"], f["polls"]
    }')"
  executions="$(awk -v lo="$first" -v hi="$((first + ids - 1))" 'FNR == 1 { file++ }
      $1 == "exec" && $2 >= lo && $2 <= hi { t += (file == 2 ? $3 : -$3) } END { print t + 0 }' "$WORK/so-before.txt" "$WORK/so-after.txt")"
  for figure in invalidations_published invalidations_received ack_timeouts errors; do
    extras+=("$(redis_delta "$WORK/so-before.txt" "$WORK/so-after.txt" "$figure")")
  done
  # scenario variant path connections | 8 figures | executions hits misses cpu | ten outage columns | samples, poll
  # sent p50/p99, PUT p50/p99, stale after the 2xx, stale before, polls, invalidations published, received, ack
  # timeouts, Redis errors
  printf '%s\t%s\t%s\t%s\t%s\t%s\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t%s\t%s\n' scaleout invalidation "PUT /scaleout/item/{id}" "$#" \
    "$(head -1 <<<"$figures" | tr ' ' '\t')" "$executions" "$(tail -1 <<<"$figures" | tr ' ' '\t')" "$(IFS=$'\t'; echo "${extras[*]}")" >>"$RUNS"
  log "scaleout / invalidation: $result"
}

# so_logged SET: what the instances of a set ("r" or "l") logged over the whole scenario, warm-up included: errors
# (with the exceptions they name) and warnings, as one sentence.
SO_LOGGED=""
so_logged() {
  local logs=("$WORK"/so-"$1"?.log) errors warnings exceptions
  errors="$(cat "${logs[@]}" | grep -cE '^(fail|crit): ' || true)"
  warnings="$(cat "${logs[@]}" | grep -cE '^warn: ' || true)"
  exceptions="$(cat "${logs[@]}" | awk '/^(fail|crit): / { grab = 3; next } grab > 0 { grab--; if (match($0, /[A-Za-z.]+Exception/)) { print substr($0, RSTART, RLENGTH); grab = 0 } }' |
    sort | uniq -c | awk '{ printf "%s%d × `%s`", (NR > 1 ? ", " : ""), $1, $2 }')"
  printf 'the three instances logged %d error%s%s and %d warning%s' "$errors" "$([ "$errors" -eq 1 ] || echo s)" \
    "${exceptions:+ ($exceptions)}" "$warnings" "$([ "$warnings" -eq 1 ] || echo s)"
}

# measure_scaleout: the whole scenario; see loadtests/README.md.
measure_scaleout() {
  local prefix="loadtest-$$-$(date +%s)"
  start_redis
  launch_instance r1 --redis "127.0.0.1:$REDIS_PORT" --redis-prefix "$prefix"
  launch_instance r2 --redis "127.0.0.1:$REDIS_PORT" --redis-prefix "$prefix"
  launch_instance r3 --redis "127.0.0.1:$REDIS_PORT" --redis-prefix "$prefix"
  launch_instance l1
  launch_instance l2
  launch_instance l3
  await_instances

  # Warm-up: every instance runs the miss path (and so leads a few flights on its own) and the hit path before
  # anything is measured, so no cold first call (JIT, a connection) is measured; ids apart from the measured ones.
  log "scaleout: warming up every instance (${WARMUP}s of misses in step, then the hit path)"
  SO_NEXT_ID=900001
  lockstep $(( WARMUP + 2 )) "$SO_NEXT_ID" "$WORK/so-warmup" r1 r2 r3 l1 l2 l3
  SO_NEXT_ID=1
  sleep "$SETTLE"

  measure_miss miss-local l1 l2 l3
  sleep "$SETTLE"
  measure_miss miss-redis r1 r2 r3
  sleep "$SETTLE"
  measure_invalidation r1 r2 r3
  sleep "$SETTLE"

  # The hit path on one instance with Redis configured and on one without, in three adjacent pairs (without, with;
  # with, without; without, with): the report takes the median of the pairs' ratios, so a change in the machine's
  # load (other work on it) during one pair does not decide the result.
  local round variant name
  round=0
  for variant in local redis redis local local redis; do
    round=$(( round + 1 ))
    name="${variant:0:1}1"
    PORT="${SO_PORTS[$(so_index "$name")]}" APP_PID="${SO_PIDS[$(so_index "$name")]}" \
      measure scaleout "hit-$variant-$round" item.memo /memo/item fixed.lua "$CONNECTIONS"
  done

  for name in "${SO_NAMES[@]}"; do cp "$WORK/so-$name.log" "$RAW/scaleout.$name.log"; done
  SO_LOGGED="with Redis, $(so_logged r); without, $(so_logged l)"
  cp "$WORK/redis.log" "$RAW/scaleout.redis.log"
  stop_scaleout
}

# --- the report ----------------------------------------------------------------------------------------

json_escape() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' <<<"$1" | tr -d '\n'; }

machine_info() {
  CPU_MODEL="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
  [ -n "$CPU_MODEL" ] || CPU_MODEL="unknown"
  CPUS="$(nproc)"
  MEMORY="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576; exit }' /proc/meminfo 2>/dev/null || echo unknown)"
  OS="$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}") || echo unknown) ($(uname -sr))"
  DOTNET_VERSION="$(dotnet --version)"
  WRK_VERSION="$( (wrk -v 2>&1 || true) | awk 'NR == 1 { print $1, $2; exit }')"
  LOAD_AVERAGE="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
  COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

write_report() {
  local md="$RESULTS/report.md" json="$RESULTS/report.json" stats="$1"
  awk -F'\t' -v md="$md" -v json="$json" -v stats="$stats" \
      -v started="$STARTED" -v cpus="$CPUS" -v cpu="$(json_escape "$CPU_MODEL")" -v memory="$MEMORY" \
      -v os="$(json_escape "$OS")" -v dotnet="$DOTNET_VERSION" -v wrkv="$WRK_VERSION" -v load="$LOAD_AVERAGE" \
      -v commit="$COMMIT" -v duration="$DURATION" -v rounds="$ROUNDS" -v warmup="$WARMUP" -v settle="$SETTLE" -v threads="$THREADS" \
      -v memkeys="$MEMORY_KEYS" -v memo_entry="$MEMO_PER_ENTRY" -v memo_entries="$MEMO_ENTRIES" -v oc_entry="$OUTPUT_CACHE_PER_ENTRY" \
      -v flood_keys="$FLOOD_KEYS" -v flood_heap="$FLOOD_HEAP" -v flood_entries="$FLOOD_ENTRIES" -v flood_bytes="$FLOOD_BYTES" \
      -v scenarios="$SCENARIOS" -v all_scenarios="$ALL_SCENARIOS" -v outage_before="$OUTAGE_BEFORE" -v outage="$OUTAGE" \
      -v outage_after="$OUTAGE_AFTER" -v so_skipped="$SCALEOUT_SKIPPED" -v so_keys="$SCALEOUT_KEYS" \
      -v so_connections="$SCALEOUT_CONNECTIONS" -v so_writes="$SCALEOUT_WRITES" -v so_host="$SCALEOUT_HOST" -v so_logged="$SO_LOGGED" '
    function ms(us) { return sprintf("%.2f", us / 1000) }
    function num(x) { return sprintf("%.0f", x) }
    function pct(a, b) { return b > 0 ? sprintf("%.1f%%", 100 * a / b) : "n/a" }
    function ratio(a, b) { return b > 0 ? sprintf("%.3f", a / b) : "null" }
    function find(s, v,   i) { for (i = 1; i <= n; i++) if (sc[i] == s && va[i] == v) return i; return 0 }
    function errs(i) { return st[i] + so[i] }
    function cpureq(i) { return rq[i] > 0 ? sprintf("%.1f", cpuus[i] / rq[i]) : "n/a" }
    # The median of M[1..m] (sorted in place).
    function median(m,   a, b, t) {
      for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (M[b] < M[a]) { t = M[a]; M[a] = M[b]; M[b] = t }
      return m == 0 ? 0 : (m % 2 ? M[(m + 1) / 2] : (M[m / 2] + M[m / 2 + 1]) / 2)
    }
    # The baseline a variant of a measured-in-rounds scenario is compared with.
    function baseline(s, v) { return s == "overhead" ? "off" : v ~ /30k$/ ? "outputcache-30k" : "outputcache" }
    # The row of variant v of scenario s in round r, or 0.
    function in_round(s, v, r,   i) { for (i = 1; i <= n; i++) if (sc[i] == s && vn[i] == v && rd[i] == r) return i; return 0 }
    # Summarizes variant v of scenario s over its rounds, into the S_ globals: medians of requests/s, p50, p99 and of
    # the per-round ratio to the baseline of the same round (with its lowest and highest), CPU over all rounds.
    function summarize(s, v,   i, j, m, cpu, req) {
      S_rounds = 0; S_err = 0; S_ex = 0; S_first = 0; cpu = 0; req = 0
      m = 0; for (i = 1; i <= n; i++) if (sc[i] == s && vn[i] == v) { if (!S_first) S_first = i; M[++m] = rps[i]; S_rounds++; S_err += errs(i); S_ex += ex[i]; cpu += cpuus[i]; req += rq[i] }
      S_rps = median(m)
      m = 0; for (i = 1; i <= n; i++) if (sc[i] == s && vn[i] == v) M[++m] = p50[i]; S_p50 = median(m)
      m = 0; for (i = 1; i <= n; i++) if (sc[i] == s && vn[i] == v) M[++m] = p99[i]; S_p99 = median(m)
      m = 0; for (i = 1; i <= n; i++) if (sc[i] == s && vn[i] == v && (j = in_round(s, baseline(s, v), rd[i])) && rps[j] > 0) M[++m] = rps[i] / rps[j]
      S_ratio = median(m); S_lo = m ? M[1] : 0; S_hi = m ? M[m] : 0; S_pairs = m
      S_cpu = req > 0 ? sprintf("%.1f", cpu / req) : "n/a"
    }
    {
      n++; sc[n] = $1; va[n] = $2; pa[n] = $3; co[n] = $4; rq[n] = $5; du[n] = $6 / 1e6
      p50[n] = $7; p90[n] = $8; p99[n] = $9; mx[n] = $10; st[n] = $11; so[n] = $12
      ex[n] = $13; hi[n] = $14; mi[n] = $15; cpuus[n] = $16
      fa[n] = $17 + 0; dn[n] = $18 + 0; dnf[n] = $19 + 0; sh[n] = $20 + 0; se[n] = $21 + 0; rf[n] = $22 + 0; rff[n] = $23 + 0
      bf[n] = $24 + 0; lw[n] = $25 + 0; lb[n] = $26 + 0
      for (k = 1; k <= 12; k++) x[n, k] = $(26 + k) + 0
      rps[n] = du[n] > 0 ? rq[n] / du[n] : 0
      # A variant measured in rounds is recorded as VARIANT@ROUND.
      vn[n] = va[n]; rd[n] = 0
      if (split(va[n], part, "@") == 2) { vn[n] = part[1]; rd[n] = part[2] + 0 }
      eps[n] = du[n] > 0 ? ex[n] / du[n] : 0
      hr[n] = (hi[n] + mi[n]) > 0 ? hi[n] / (hi[n] + mi[n]) : -1
    }
    END {
      split(scenarios, names, " ")
      for (i in names) ran[names[i]] = 1
      print "# Coalesce HTTP load test report\n" > md
      print "Generated " started " from commit `" commit "` by `loadtests/run.sh`: each variant warmed up for " warmup \
            " s, paused " settle " s, then measured for " duration " s with wrk (" threads " threads) against `Coalesce.LoadTestApp` " \
            "(Release) on 127.0.0.1. wrk and the app share the machine, so absolute figures are bounded by it; the " \
            "ratios compare variants measured in the same run" \
            (ran["outage"] ? " (the outage scenario fills its cache and measures " (outage_before + outage + outage_after) " s instead: see section 7)." : ".") > md
      if (so_skipped != "") print "The scale-out scenario (section 8) was skipped: " so_skipped "." > md
      if (scenarios != all_scenarios && !(so_skipped != "" && scenarios " scaleout" == all_scenarios)) print "Only some scenarios ran (`SCENARIOS=\"" scenarios "\"`); the report has their sections only." > md
      print "" > md
      print "## Machine\n" > md
      print "| | |\n| --- | --- |" > md
      print "| CPU | " cpu " |\n| Logical CPUs (`nproc`) | " cpus " |\n| Memory | " memory " |" > md
      print "| OS | " os " |\n| .NET SDK | " dotnet " |\n| Load generator | " wrkv " |" > md
      print "| Load average at start | " load " |\n" > md

      if (ran["stampede"]) {
      b = find("stampede", "off")
      print "## 1. Stampede: one key, 100 ms handler\n" > md
      print "Every connection asks for the same URL. *Handler executions/s* is how often the 100 ms handler really " \
            "ran. OutputCache keeps its entry for 1 ms only, so what it shows is its locking (one execution while " \
            "the rest wait), as with coalescing; coalescing keeps nothing once the flight ends.\n" > md
      print "| Variant | Connections | Requests/s | Handler executions/s | Executions vs off | p50 ms | p99 ms | Errors |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "stampede")
        print "| " va[i] " (`" pa[i] "`) | " co[i] " | " num(rps[i]) " | " sprintf("%.1f", eps[i]) " | " pct(eps[i], eps[b]) \
              " | " ms(p50[i]) " | " ms(p99[i]) " | " errs(i) " |" > md
      print "" > md
      }

      if (ran["overhead"]) {
      print "## 2. Overhead: unique keys, trivial handler\n" > md
      print "Every request has a new `?id=`, so nothing can be shared: this is the cost of the middleware on a " \
            "request it cannot help. Goal: at least 97% of the requests/s without it. The two variants are measured " \
            "in " rounds " alternating rounds of " duration " s; *vs off* is the median of the rounds'"'"' ratios (lowest " \
            "and highest in brackets), the other figures medians over the rounds. *App CPU per request* is the " \
            "app'"'"'s user + system CPU time over all rounds divided by their requests.\n" > md
      print "| Variant | Connections | Requests/s | vs off | App CPU per request µs | p50 ms | p99 ms | Errors | Goal |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "overhead" && rd[i] == 1) {
        summarize("overhead", vn[i])
        print "| " vn[i] " (`" pa[i] "`) | " co[i] " | " num(S_rps) " | " sprintf("%.1f%%", 100 * S_ratio) \
              (vn[i] == "off" ? "" : sprintf(" (%.1f–%.1f%%)", 100 * S_lo, 100 * S_hi)) " | " S_cpu " | " ms(S_p50) " | " ms(S_p99) " | " S_err \
              " | " (vn[i] == "off" ? "baseline" : (S_pairs > 0 && S_ratio >= 0.97 ? "met (>= 97%)" : "not met (< 97%)")) " |" > md
      }
      print "" > md
      }

      if (ran["memo"]) {
      print "## 3. Memoized hit path\n" > md
      print "The same ~0.9 KB JSON from a memoized endpoint, from the same endpoint under OutputCache, and as " \
            "precomputed bytes (the ceiling); then a ~30 KB JSON page memoized and under OutputCache. Each group is " \
            "measured in " rounds " rounds of " duration " s, its variants in turn; *vs OutputCache* is the median of the " \
            "rounds'"'"' ratios (lowest and highest in brackets), the other figures medians over the rounds. Goals: the " \
            "memoized hit at least 1.2x OutputCache'"'"'s for ~1 KB, at least 1.1x for ~30 KB.\n" > md
      print "| Variant | Connections | Requests/s | vs OutputCache | App CPU per request µs | p50 ms | p99 ms | Handler executions | Errors | Goal |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "memo" && rd[i] == 1) {
        summarize("memo", vn[i])
        goal = vn[i] == "memo" ? 1.2 : vn[i] == "memo-30k" ? 1.1 : 0
        print "| " vn[i] " (`" pa[i] "`) | " co[i] " | " num(S_rps) " | " sprintf("%.2fx", S_ratio) \
              (vn[i] ~ /^outputcache/ ? "" : sprintf(" (%.2f–%.2f)", S_lo, S_hi)) " | " S_cpu " | " ms(S_p50) " | " ms(S_p99) " | " S_ex " | " S_err \
              " | " (goal > 0 ? (S_pairs > 0 && S_ratio >= goal ? "met (>= " goal "x)" : "not met (< " goal "x)") : "") " |" > md
      }
      print "" > md
      }

      if (ran["zipf"]) {
      b = find("zipf", "off")
      print "## 4. Zipf-distributed keys, 20 ms handler\n" > md
      print "Ids 1 to 10,000 drawn with probability proportional to 1/id (Zipf, exponent 1, seeded), so a few ids " \
            "are hot and most are cold. *Hit rate* is the share of requests served without running the handler " \
            "(coalesced, or memoized for `memo`), from `/_coalesce/stats`. `memo` keeps each id for 30 min and was " \
            "warmed up like the others, so its figures are a warm cache'"'"'s.\n" > md
      print "| Variant | Connections | Requests/s | Backend executions | Executions/s | Executions per request | Hit rate | p50 ms | p99 ms | Errors |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "zipf")
        print "| " va[i] " (`" pa[i] "`) | " co[i] " | " num(rps[i]) " | " ex[i] " | " num(eps[i]) " | " \
              (rq[i] > 0 ? sprintf("%.3f", ex[i] / rq[i]) : "n/a") " | " (hr[i] < 0 ? "n/a" : sprintf("%.1f%%", 100 * hr[i])) \
              " | " ms(p50[i]) " | " ms(p99[i]) " | " errs(i) " |" > md
      print "" > md
      }

      if (ran["scale"]) {
      print "## 5. Scale: one key, 100 ms handler, more and more connections\n" > md
      print "The stampede of section 1 through coalescing at 64, 512 and 2,000 connections. Coalescing should run " \
            "the handler about once per 100 ms flight however many wait, with no errors, and each follower should " \
            "cost the same CPU however many there are.\n" > md
      print "| Variant | Connections | Requests/s | Handler executions/s | App CPU per request µs | p50 ms | p99 ms | Errors |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "scale")
        print "| " va[i] " (`" pa[i] "`) | " co[i] " | " num(rps[i]) " | " sprintf("%.1f", eps[i]) " | " cpureq(i) \
              " | " ms(p50[i]) " | " ms(p99[i]) " | " errs(i) " |" > md
      print "" > md
      }

      if (ran["memory"]) {
      print "## 6. Memory\n" > md
      print "Managed heap after a full collection, grown by " memkeys " distinct ~1 KB JSON responses (`?id=1..` " \
            "on one endpoint) kept by each cache, per entry; then the heap grown by " flood_keys " distinct memoized " \
            "keys under the default bounds (`MemoMaxEntries` 10,000, `MemoMaxBytes` 100 MiB).\n" > md
      print "| Measure | Value |\n| --- | ---: |" > md
      print "| Heap per memoized response, Coalesce (" memo_entries " entries) | " memo_entry " B |" > md
      print "| Heap per cached response, OutputCache memory store | " oc_entry " B |" > md
      print "| Coalesce vs OutputCache | " ratio(memo_entry, oc_entry) " |" > md
      print "| Heap growth after " flood_keys " distinct memoized keys | " sprintf("%.1f MiB", flood_heap / 1048576) " |" > md
      print "| Entries kept / bytes the cache counts | " flood_entries " / " sprintf("%.1f MiB", flood_bytes / 1048576) " |" > md
      print "" > md
      }

      if (ran["outage"]) {
      print "## 7. Outage: the backend fails for " outage " s\n" > md
      print "Zipf ids (as in section 4) on a 20 ms backend, memoized for 1 s, `plain` without stale windows and `stale` " \
            "with `StaleWhileRevalidate(2 s)` and `StaleIfError(5 min)`. The warm-up asks for every id once; the run " \
            "lasts " (outage_before + outage + outage_after) " s, and " outage_before " s in the backend goes down: for " outage " s every " \
            "execution fails after its work (the exception is answered 503). Goal: with the stale windows, about no " \
            "errors and a flat p99 through the outage; without them, every request for an expired key fails. *During " \
            "the outage* is what the app counted for requests it answered while the backend was down; *stale answers* " \
            "are stale-while-revalidate / stale-if-error answers, *refreshes* background refreshes (failed), *backend " \
            "calls while down* the executions that failed because the backend was down; *logged* " \
            "the app'"'"'s warnings and errors over the run (each with its exception), and the log'"'"'s growth.\n" > md
      print "| Variant | Connections | Requests | Requests/s | Errors | Error share | Errors / requests during the outage | p50 ms | p99 ms | Max ms | Handler executions | Backend calls while down | Stale answers | Refreshes (failed) | Logged |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "outage")
        print "| " va[i] " (`" pa[i] "`) | " co[i] " | " rq[i] " | " num(rps[i]) " | " errs(i) " | " pct(errs(i), rq[i]) " | " \
              dnf[i] " / " dn[i] " (" pct(dnf[i], dn[i]) ") | " ms(p50[i]) " | " ms(p99[i]) " | " ms(mx[i]) " | " ex[i] " | " bf[i] " | " \
              sh[i] " / " se[i] " | " rf[i] " (" rff[i] ") | " lw[i] " (" sprintf("%.1f MB", lb[i] / 1e6) ") |" > md
      print "" > md
      }

      if (ran["scaleout"]) {
      print "## 8. Across instances (Redis)\n" > md
      print "Three instances of the app on one `redis-server` of the run'"'"'s own (persistence off; `AddStackExchangeRedisCoalescing`, " \
            "a key prefix of the run'"'"'s own), three more without Redis, all on this machine with wrk. Every request names one host " \
            "(`Host: " so_host "`), as a load balancer in front of the instances would: the host is part of a coalescing key. " \
            "`/scaleout/item/{id}` is memoized with the tag `item:{id}` over a 20 ms backend that counts its executions per id; " \
            "`PUT /scaleout/item/{id}` bumps the item'"'"'s version in a store the instances share (Redis) and invalidates the tag.\n" > md
      print "**Simultaneous miss.** " so_keys " fresh ids; one wrk per instance, all three started at once (`lua/lockstep.lua`, one " \
            "thread, " so_connections " connections), each walking the ids in order so that all its connections ask for an id " \
            "together and move to the next once answered: every id is asked for by " so_connections " connections on each of " \
            "the three instances at about the same moment. *Backend executions* are summed over the instances. Goal with " \
            "Redis: 1 per key; without, each instance runs its own (3). *Remote waits*: requests that waited for another " \
            "instance'"'"'s execution; *second-level hits*: instances that arrived after it had finished. Latencies are the " \
            "largest of the three wrk runs.\n" > md
      print "| Variant | Instances × connections | Keys | Backend executions | Executions per key | Max per key | Keys run more than once | Remote waits | Second-level hits | Leases won | p50 ms | p99 ms | Errors | Goal |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "scaleout" && va[i] ~ /^miss-/)
        print "| " (va[i] == "miss-redis" ? "with Redis" : "without Redis") " | 3 × " so_connections " | " x[i, 1] " | " ex[i] " | " \
              (x[i, 1] > 0 ? sprintf("%.2f", ex[i] / x[i, 1]) : "n/a") " | " x[i, 3] " | " x[i, 4] " | " x[i, 5] " | " x[i, 7] " | " x[i, 6] \
              " | " ms(p50[i]) " | " ms(p99[i]) " | " errs(i) " | " \
              (va[i] == "miss-redis" ? (ex[i] == x[i, 1] && x[i, 2] == x[i, 1] ? "met (1 per key)" : "not met") : "baseline") \
              (x[i, 12] ? "" : " (not every answer came back in time)") " |" > md
      print "" > md
      b = find("scaleout", "invalidation")
      if (b) {
      print "**Invalidation propagation.** A client (the app'"'"'s `--probe` mode, its own process) makes " rq[b] " writes (after 10 not " \
            "measured) on one instance, cycling over 10 ids. Before each it reads the id on all three, so the other two hold " \
            "the old version memoized; then it sends the `PUT` while it polls both others (a ~1 ms pause between polls) until " \
            "each answers the new version. Times run from the moment the `PUT` is sent: its 2xx (read-your-writes: sent once every " \
            "live instance has evicted the tag), the sending of the first poll that got the fresh version (that instance had " \
            "evicted by then), and its answer (which re-renders: 20 ms of backend). *Stale after the 2xx*: polls sent after the " \
            "`PUT`'"'"'s 2xx that still answered the old version (goal: 0).\n" > md
      print "| Writes | Reader samples | PUT 2xx p50 / p99 ms | Fresh poll sent p50 / p99 ms | Fresh answer p50 / p90 / p99 / max ms | Stale after the 2xx | Reader timeouts (5 s) | Errors | Invalidations published / applied | Ack timeouts | Redis errors |" > md
      print "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" > md
      print "| " rq[b] " | " x[b, 1] " | " ms(x[b, 4]) " / " ms(x[b, 5]) " | " ms(x[b, 2]) " / " ms(x[b, 3]) " | " ms(p50[b]) " / " ms(p90[b]) " / " \
            ms(p99[b]) " / " ms(mx[b]) " | " x[b, 6] " | " so[b] " | " st[b] " | " x[b, 9] " / " x[b, 10] " | " x[b, 11] " | " x[b, 12] " |" > md
      print "" > md
      }
      print "**Local hits with Redis configured vs without.** The memoized hit path (`/memo/item`, as in section 3) on one " \
            "instance of each set, " duration " s each after its warm-up, in three adjacent pairs (without, with; with, without; " \
            "without, with). A local hit never touches Redis. *Ratio* is the pair'"'"'s requests/s with Redis over without; the " \
            "result is the median of the three, so a change in the machine'"'"'s load during one pair (other work shares it) " \
            "does not decide it. *App CPU per request* is the instance'"'"'s user + system CPU over the run divided by its " \
            "requests. Goal: with Redis at least 98% of the requests/s without.\n" > md
      print "| Pair | Variant | Round | Connections | Requests/s | App CPU per request µs | p50 ms | p99 ms | Errors | Ratio (with / without) |" > md
      print "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" > md
      np = 0; half = 0
      for (i = 1; i <= n; i++) if (sc[i] == "scaleout" && va[i] ~ /^hit-/) {
        split(va[i], part, "-")
        if (part[2] == "redis") { pr_r = rps[i]; cpu_r += cpuus[i]; req_r += rq[i] } else { pr_l = rps[i]; cpu_l += cpuus[i]; req_l += rq[i] }
        half++
        cell = ""
        if (half == 2) { np++; pair[np] = pr_l > 0 ? pr_r / pr_l : 0; cell = sprintf("%.3f", pair[np]); half = 0 }
        print "| " (np + (half == 1 ? 1 : 0)) " | " (part[2] == "redis" ? "with Redis" : "without Redis") " | " part[3] " | " co[i] " | " num(rps[i]) \
              " | " cpureq(i) " | " ms(p50[i]) " | " ms(p99[i]) " | " errs(i) " | " cell " |" > md
      }
      # The median of the ratios of the pairs (sorted in place; three pairs unless the run was cut short).
      for (a = 1; a <= np; a++) for (b = a + 1; b <= np; b++) if (pair[b] < pair[a]) { t = pair[a]; pair[a] = pair[b]; pair[b] = t }
      med = np == 0 ? 0 : (np % 2 ? pair[(np + 1) / 2] : (pair[np / 2] + pair[np / 2 + 1]) / 2)
      print "\nWith Redis vs without (the median of the pairs'"'"' ratios): " sprintf("%.1f%%", 100 * med) " (pairs from " \
            sprintf("%.1f%%", 100 * pair[1]) " to " sprintf("%.1f%%", 100 * pair[np]) "); goal at least 98%: " (med >= 0.98 ? "met" : "not met") \
            ". App CPU per request over all rounds: " (req_r > 0 ? sprintf("%.1f", cpu_r / req_r) : "n/a") " µs with Redis, " \
            (req_l > 0 ? sprintf("%.1f", cpu_l / req_l) : "n/a") " µs without.\n" > md
      if (so_logged != "") print "Over the whole scenario, warm-up included: " so_logged \
            " (raw logs in `results/raw/scaleout.*.log`).\n" > md
      } else if (so_skipped != "") {
      print "## 8. Across instances (Redis)\n" > md
      print "Skipped: " so_skipped ".\n" > md
      }

      print "Errors are responses with status 400 or more plus socket errors and timeouts, as wrk counts them. " \
            "Raw wrk output (with `--latency` distributions) is written to `loadtests/results/raw/`, not committed.\n" > md
      print "Reproduce: `" (scenarios != all_scenarios ? "SCENARIOS=\"" scenarios "\" " : "") "DURATION=" duration " ROUNDS=" rounds " WARMUP=" warmup " SETTLE=" settle \
            (ran["outage"] && (outage_before != 3 || outage != 10 || outage_after != 3) ? " OUTAGE_BEFORE=" outage_before " OUTAGE=" outage " OUTAGE_AFTER=" outage_after : "") \
            " loadtests/run.sh`" > md

      printf "{\n  \"generated\": \"%s\",\n  \"commit\": \"%s\",\n", started, commit > json
      printf "  \"settings\": { \"durationSeconds\": %d, \"rounds\": %d, \"warmupSeconds\": %d, \"settleSeconds\": %d, \"threads\": %d, \"scenarios\": \"%s\", \"outageBeforeSeconds\": %d, \"outageSeconds\": %d, \"outageAfterSeconds\": %d },\n", \
             duration, rounds, warmup, settle, threads, scenarios, outage_before, outage, outage_after > json
      printf "  \"machine\": { \"cpus\": %d, \"cpuModel\": \"%s\", \"memory\": \"%s\", \"os\": \"%s\", \"dotnet\": \"%s\", \"loadGenerator\": \"%s\", \"loadAverageAtStart\": \"%s\" },\n", \
             cpus, cpu, memory, os, dotnet, wrkv, load > json
      print "  \"runs\": [" > json
      for (i = 1; i <= n; i++) {
        base = rd[i] > 0 ? in_round(sc[i], baseline(sc[i], vn[i]), rd[i]) : sc[i] == "outage" ? find("outage", "plain") : \
               sc[i] != "scaleout" ? find(sc[i], "off") : va[i] ~ /^miss-/ ? find("scaleout", "miss-local") : \
               va[i] ~ /^hit-/ ? find("scaleout", "hit-local-1") : i
        printf "    { \"scenario\": \"%s\", \"variant\": \"%s\", \"path\": \"%s\", \"connections\": %d, \"requests\": %d, \"durationSeconds\": %.3f, ", \
               sc[i], va[i], pa[i], co[i], rq[i], du[i] > json
        printf "\"requestsPerSecond\": %.1f, \"p50Ms\": %s, \"p90Ms\": %s, \"p99Ms\": %s, \"maxMs\": %s, \"statusErrors\": %d, \"socketErrors\": %d, ", \
               rps[i], ms(p50[i]), ms(p90[i]), ms(p99[i]), ms(mx[i]), st[i], so[i] > json
        printf "\"handlerExecutions\": %d, \"handlerExecutionsPerSecond\": %.1f, \"coalesceHits\": %d, \"coalesceMisses\": %d, \"hitRate\": %s, ", \
               ex[i], eps[i], hi[i], mi[i], (hr[i] < 0 ? "null" : sprintf("%.4f", hr[i])) > json
        printf "\"appCpuMicrosecondsPerRequest\": %s, ", (rq[i] > 0 ? sprintf("%.2f", cpuus[i] / rq[i]) : "null") > json
        if (sc[i] == "outage")
          printf "\"failedAnswers\": %d, \"answeredDuringOutage\": %d, \"failedDuringOutage\": %d, \"staleWhileRevalidate\": %d, \"staleIfError\": %d, \"refreshes\": %d, \"refreshFailures\": %d, \"backendFailures\": %d, \"warningsLogged\": %d, \"bytesLogged\": %d, ", \
                 fa[i], dn[i], dnf[i], sh[i], se[i], rf[i], rff[i], bf[i], lw[i], lb[i] > json
        if (sc[i] == "scaleout" && va[i] ~ /^miss-/)
          printf "\"instances\": 3, \"keys\": %d, \"keysRun\": %d, \"executionsPerKey\": %s, \"maxExecutionsPerKey\": %d, \"keysRunMoreThanOnce\": %d, \"remoteWaits\": %d, \"leasesWon\": %d, \"secondLevelHits\": %d, \"fillsReceived\": %d, \"takeovers\": %d, \"passes\": %d, \"redisErrors\": %d, \"everyAnswerReceived\": %s, ", \
                 x[i, 1], x[i, 2], ratio(ex[i], x[i, 1]), x[i, 3], x[i, 4], x[i, 5], x[i, 6], x[i, 7], x[i, 8], x[i, 9], x[i, 10], x[i, 11], (x[i, 12] ? "true" : "false") > json
        if (sc[i] == "scaleout" && va[i] == "invalidation")
          printf "\"writes\": %d, \"readerSamples\": %d, \"freshAnswerP50Ms\": %s, \"freshAnswerP99Ms\": %s, \"freshPollSentP50Ms\": %s, \"freshPollSentP99Ms\": %s, \"putAckP50Ms\": %s, \"putAckP99Ms\": %s, \"staleAfterAck\": %d, \"staleBeforeWrite\": %d, \"readerTimeouts\": %d, \"polls\": %d, \"invalidationsPublished\": %d, \"invalidationsApplied\": %d, \"ackTimeouts\": %d, \"redisErrors\": %d, ", \
                 rq[i], x[i, 1], ms(p50[i]), ms(p99[i]), ms(x[i, 2]), ms(x[i, 3]), ms(x[i, 4]), ms(x[i, 5]), x[i, 6], x[i, 7], so[i], x[i, 8], x[i, 9], x[i, 10], x[i, 11], x[i, 12] > json
        printf "\"baseline\": \"%s\", \"requestsPerSecondVsBaseline\": %s, \"executionsVsBaseline\": %s }%s\n", \
               va[base], ratio(rps[i], rps[base]), ratio(ex[i], ex[base]), (i < n ? "," : "") > json
      }
      print "  ]," > json
      printf "  \"coalesceStats\": " > json
      while ((getline line < stats) > 0) printf "%s", line > json
      print "\n}" > json
    }' "$RUNS"
}

# --- main ----------------------------------------------------------------------------------------------

ensure_wrk
if runs scaleout && ! ensure_redis; then
  [ "$SCENARIOS_GIVEN" -eq 0 ] ||
    die "the scaleout scenario needs redis-server (Debian/Ubuntu: sudo apt-get install -y redis-server); install it, or run as root to have it installed."
  SCALEOUT_SKIPPED="redis-server is not installed (Debian/Ubuntu package \`redis-server\`; run.sh installs it when it runs as root)"
  log "Skipping the scaleout scenario: $SCALEOUT_SKIPPED"
  SCENARIOS="$(sed -e 's/ *scaleout//' <<<"$SCENARIOS")"
fi
machine_info
mkdir -p "$RAW"

log "Building the load-test app (Release)"
dotnet build "$LOADTESTS/Coalesce.LoadTestApp/Coalesce.LoadTestApp.csproj" -c Release -nologo -v quiet >"$WORK/build.log" 2>&1 ||
  { cat "$WORK/build.log" >&2; die "the Release build failed."; }

# The scale scenario holds thousands of connections: wrk and the app need a descriptor for each.
ulimit -n "$(( $(ulimit -Hn) < 65536 ? $(ulimit -Hn) : 65536 ))" 2>/dev/null || true

start_app
log "Scenarios: $SCENARIOS"

if runs stampede; then
  measure stampede off         stampede.off         /off/stampede         fixed.lua  "$STAMPEDE_CONNECTIONS"
  measure stampede coalesce    stampede.coalesce    /coalesce/stampede    fixed.lua  "$STAMPEDE_CONNECTIONS"
  measure stampede outputcache stampede.outputcache /outputcache/stampede fixed.lua  "$STAMPEDE_CONNECTIONS"
fi

if runs overhead; then
  measure_rounds overhead unique.lua "$CONNECTIONS" \
    off      unique.off      /off/unique \
    coalesce unique.coalesce /coalesce/unique
fi

if runs memo; then
  measure_rounds memo fixed.lua "$CONNECTIONS" \
    outputcache item.outputcache /outputcache/item \
    memo        item.memo        /memo/item \
    const       item.const       /const/item
  measure_rounds memo fixed.lua "$CONNECTIONS" \
    outputcache-30k item30k.outputcache /outputcache/item30k \
    memo-30k        item30k.memo        /memo/item30k
fi

if runs zipf; then
  measure zipf     off         zipf.off             /off/zipf             zipf.lua   "$ZIPF_CONNECTIONS"
  measure zipf     coalesce    zipf.coalesce        /coalesce/zipf        zipf.lua   "$ZIPF_CONNECTIONS"
  measure zipf     memo        zipf.memo            /memo/zipf            zipf.lua   "$ZIPF_CONNECTIONS"
fi

if runs scale; then
  for connections in $SCALE_CONNECTIONS; do
    measure scale "coalesce-$connections" stampede.coalesce /coalesce/stampede fixed.lua "$connections"
  done
fi

if runs outage; then
  measure_outage plain
  measure_outage stale
fi

http GET /_coalesce/stats >"$RESULTS/coalesce-stats.json" || die "could not read /_coalesce/stats."
if runs memory; then
  measure_memory
fi
stop_app
cp "$WORK/app.log" "$RAW/app.log"

# Its own Redis and instances, with the app above stopped.
if runs scaleout; then
  measure_scaleout
fi

cp "$RUNS" "$RAW/runs.tsv"
# The BenchmarkDotNet sections at the end of report.md are recorded by hand, from the marker on; keep them.
KEEP_MARKER='<!-- Recorded by hand from here on; loadtests/run.sh keeps it. -->'
KEPT="$(awk -v marker="$KEEP_MARKER" '$0 == marker { keep = 1 } keep' "$RESULTS/report.md" 2>/dev/null || true)"
write_report "$RESULTS/coalesce-stats.json"
[[ -z "$KEPT" ]] || printf '\n%s\n' "$KEPT" >>"$RESULTS/report.md"
log "Wrote $RESULTS/report.md and $RESULTS/report.json"
cat "$RESULTS/report.md"
