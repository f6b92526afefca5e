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
# cache in the memory scenario, 5000), FLOOD_KEYS (distinct memoized keys in its flood, 100000), RESULTS (folder).
#
# Needs bash, coreutils, the .NET SDK and wrk (installed with apt-get when missing and running as root).
# All traffic goes to 127.0.0.1; every wait is bounded.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
LOADTESTS="$ROOT/loadtests"
LUA_DIR="$LOADTESTS/lua"
RESULTS="${RESULTS:-$LOADTESTS/results}"
RAW="$RESULTS/raw"

DURATION="${DURATION:-10}"
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

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

die() { echo "run.sh: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

for setting in DURATION WARMUP SETTLE THREADS STAMPEDE_CONNECTIONS CONNECTIONS ZIPF_CONNECTIONS; do
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

ensure_wrk() {
  command -v wrk >/dev/null 2>&1 && return
  [ "$(id -u)" -eq 0 ] || die "wrk is not installed; install it (Debian/Ubuntu: sudo apt-get install -y wrk) and run again."
  command -v apt-get >/dev/null 2>&1 || die "wrk is not installed and there is no apt-get to install it with."
  log "Installing wrk with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  command -v wrk >/dev/null 2>&1 || die "apt-get did not install wrk."
}

# --- the app -------------------------------------------------------------------------------------------

APP_PID=""
WORK="$(mktemp -d)"

stop_app() {
  if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
    kill "$APP_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 "$APP_PID" 2>/dev/null || break
      sleep 0.25
    done
    kill -9 "$APP_PID" 2>/dev/null || true
    wait "$APP_PID" 2>/dev/null || true
  fi
  APP_PID=""
}

cleanup() {
  stop_app
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
  (cd "$LUA_DIR" && timeout $((seconds + 60)) wrk -t "$threads" -c "$connections" -d "${seconds}s" --timeout 10s "$@" \
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
  local counts result
  counts="$(http GET /_counts.txt | awk -v v="$counter" '$1 == v { print $2, $3, $4; exit }')"
  [ -n "$counts" ] || die "no counts for $counter."
  result="$(awk '/^WRK_RESULT / { $1 = ""; print; exit }' "$raw")"
  [ -n "$result" ] || die "wrk printed no result for $path (see $raw)."

  # requests duration_us p50 p90 p99 max status_errors socket_errors (from report.lua's key=value line)
  local figures
  figures="$(printf '%s\n' "$result" | awk '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      print f["requests"], f["duration_us"], f["p50_us"], f["p90_us"], f["p99_us"], f["max_us"], f["status_errors"],
            f["connect_errors"] + f["read_errors"] + f["write_errors"] + f["timeouts"]
    }')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$variant" "$path" "$connections" \
    "$(tr ' ' '\t' <<<"$figures")" "$(tr ' ' '\t' <<<"$counts")" "$(( (cpu_after - cpu_before) * 1000000 / CLK_TCK ))" >>"$RUNS"
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
      -v commit="$COMMIT" -v duration="$DURATION" -v warmup="$WARMUP" -v settle="$SETTLE" -v threads="$THREADS" \
      -v memkeys="$MEMORY_KEYS" -v memo_entry="$MEMO_PER_ENTRY" -v memo_entries="$MEMO_ENTRIES" -v oc_entry="$OUTPUT_CACHE_PER_ENTRY" \
      -v flood_keys="$FLOOD_KEYS" -v flood_heap="$FLOOD_HEAP" -v flood_entries="$FLOOD_ENTRIES" -v flood_bytes="$FLOOD_BYTES" '
    function ms(us) { return sprintf("%.2f", us / 1000) }
    function num(x) { return sprintf("%.0f", x) }
    function pct(a, b) { return b > 0 ? sprintf("%.1f%%", 100 * a / b) : "n/a" }
    function ratio(a, b) { return b > 0 ? sprintf("%.3f", a / b) : "null" }
    function find(s, v,   i) { for (i = 1; i <= n; i++) if (sc[i] == s && va[i] == v) return i; return 0 }
    function errs(i) { return st[i] + so[i] }
    function cpureq(i) { return rq[i] > 0 ? sprintf("%.1f", cpuus[i] / rq[i]) : "n/a" }
    {
      n++; sc[n] = $1; va[n] = $2; pa[n] = $3; co[n] = $4; rq[n] = $5; du[n] = $6 / 1e6
      p50[n] = $7; p90[n] = $8; p99[n] = $9; mx[n] = $10; st[n] = $11; so[n] = $12
      ex[n] = $13; hi[n] = $14; mi[n] = $15; cpuus[n] = $16
      rps[n] = du[n] > 0 ? rq[n] / du[n] : 0
      eps[n] = du[n] > 0 ? ex[n] / du[n] : 0
      hr[n] = (hi[n] + mi[n]) > 0 ? hi[n] / (hi[n] + mi[n]) : -1
    }
    END {
      print "# Coalesce HTTP load test report\n" > md
      print "Generated " started " from commit `" commit "` by `loadtests/run.sh`: each variant warmed up for " warmup \
            " s, paused " settle " s, then measured for " duration " s with wrk (" threads " threads) against `Coalesce.LoadTestApp` " \
            "(Release) on 127.0.0.1. wrk and the app share the machine, so absolute figures are bounded by it; the " \
            "ratios compare variants measured in the same run.\n" > md
      print "## Machine\n" > md
      print "| | |\n| --- | --- |" > md
      print "| CPU | " cpu " |\n| Logical CPUs (`nproc`) | " cpus " |\n| Memory | " memory " |" > md
      print "| OS | " os " |\n| .NET SDK | " dotnet " |\n| Load generator | " wrkv " |" > md
      print "| Load average at start | " load " |\n" > md

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

      b = find("overhead", "off")
      print "\n## 2. Overhead: unique keys, trivial handler\n" > md
      print "Every request has a new `?id=`, so nothing can be shared: this is the cost of the middleware on a " \
            "request it cannot help. Goal: at least 97% of the requests/s without it. *App CPU per request* is the " \
            "app'"'"'s user + system CPU time over the measured run divided by its requests.\n" > md
      print "| Variant | Connections | Requests/s | vs off | App CPU per request µs | p50 ms | p99 ms | Errors | Goal |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "overhead")
        print "| " va[i] " (`" pa[i] "`) | " co[i] " | " num(rps[i]) " | " pct(rps[i], rps[b]) " | " cpureq(i) " | " ms(p50[i]) \
              " | " ms(p99[i]) " | " errs(i) " | " (i == b ? "baseline" : (rps[b] > 0 && rps[i] >= 0.97 * rps[b] ? "met (>= 97%)" : "not met (< 97%)")) " |" > md

      b = find("memo", "outputcache")
      print "\n## 3. Memoized hit path\n" > md
      print "The same ~0.9 KB JSON from a memoized endpoint, from the same endpoint under OutputCache, and as " \
            "precomputed bytes (the ceiling). Goal: memoized at least as fast as OutputCache.\n" > md
      print "| Variant | Connections | Requests/s | vs OutputCache | p50 ms | p99 ms | Handler executions | Errors | Goal |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "memo")
        print "| " va[i] " (`" pa[i] "`) | " co[i] " | " num(rps[i]) " | " pct(rps[i], rps[b]) " | " ms(p50[i]) \
              " | " ms(p99[i]) " | " ex[i] " | " errs(i) " | " (va[i] == "memo" ? (rps[b] > 0 && rps[i] >= rps[b] ? "met" : "not met") : "") " |" > md

      b = find("zipf", "off")
      print "\n## 4. Zipf-distributed keys, 20 ms handler\n" > md
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

      print "\n## 5. Scale: one key, 100 ms handler, more and more connections\n" > md
      print "The stampede of section 1 through coalescing at 64, 512 and 2,000 connections. Coalescing should run " \
            "the handler about once per 100 ms flight however many wait, with no errors, and each follower should " \
            "cost the same CPU however many there are.\n" > md
      print "| Variant | Connections | Requests/s | Handler executions/s | App CPU per request µs | p50 ms | p99 ms | Errors |" > md
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" > md
      for (i = 1; i <= n; i++) if (sc[i] == "scale")
        print "| " va[i] " (`" pa[i] "`) | " co[i] " | " num(rps[i]) " | " sprintf("%.1f", eps[i]) " | " cpureq(i) \
              " | " ms(p50[i]) " | " ms(p99[i]) " | " errs(i) " |" > md

      print "\n## 6. Memory\n" > md
      print "Managed heap after a full collection, grown by " memkeys " distinct ~1 KB JSON responses (`?id=1..` " \
            "on one endpoint) kept by each cache, per entry; then the heap grown by " flood_keys " distinct memoized " \
            "keys under the default bounds (`MemoMaxEntries` 10,000, `MemoMaxBytes` 100 MiB).\n" > md
      print "| Measure | Value |\n| --- | ---: |" > md
      print "| Heap per memoized response, Coalesce (" memo_entries " entries) | " memo_entry " B |" > md
      print "| Heap per cached response, OutputCache memory store | " oc_entry " B |" > md
      print "| Coalesce vs OutputCache | " ratio(memo_entry, oc_entry) " |" > md
      print "| Heap growth after " flood_keys " distinct memoized keys | " sprintf("%.1f MiB", flood_heap / 1048576) " |" > md
      print "| Entries kept / bytes the cache counts | " flood_entries " / " sprintf("%.1f MiB", flood_bytes / 1048576) " |" > md

      print "\nErrors are responses with status 400 or more plus socket errors and timeouts, as wrk counts them. " \
            "Raw wrk output (with `--latency` distributions) is written to `loadtests/results/raw/`, not committed.\n" > md
      print "Reproduce: `DURATION=" duration " WARMUP=" warmup " SETTLE=" settle " loadtests/run.sh`" > md

      printf "{\n  \"generated\": \"%s\",\n  \"commit\": \"%s\",\n", started, commit > json
      printf "  \"settings\": { \"durationSeconds\": %d, \"warmupSeconds\": %d, \"settleSeconds\": %d, \"threads\": %d },\n", duration, warmup, settle, threads > json
      printf "  \"machine\": { \"cpus\": %d, \"cpuModel\": \"%s\", \"memory\": \"%s\", \"os\": \"%s\", \"dotnet\": \"%s\", \"loadGenerator\": \"%s\", \"loadAverageAtStart\": \"%s\" },\n", \
             cpus, cpu, memory, os, dotnet, wrkv, load > json
      print "  \"runs\": [" > json
      for (i = 1; i <= n; i++) {
        base = sc[i] == "memo" ? find("memo", "outputcache") : find(sc[i], "off")
        printf "    { \"scenario\": \"%s\", \"variant\": \"%s\", \"path\": \"%s\", \"connections\": %d, \"requests\": %d, \"durationSeconds\": %.3f, ", \
               sc[i], va[i], pa[i], co[i], rq[i], du[i] > json
        printf "\"requestsPerSecond\": %.1f, \"p50Ms\": %s, \"p90Ms\": %s, \"p99Ms\": %s, \"maxMs\": %s, \"statusErrors\": %d, \"socketErrors\": %d, ", \
               rps[i], ms(p50[i]), ms(p90[i]), ms(p99[i]), ms(mx[i]), st[i], so[i] > json
        printf "\"handlerExecutions\": %d, \"handlerExecutionsPerSecond\": %.1f, \"coalesceHits\": %d, \"coalesceMisses\": %d, \"hitRate\": %s, ", \
               ex[i], eps[i], hi[i], mi[i], (hr[i] < 0 ? "null" : sprintf("%.4f", hr[i])) > json
        printf "\"appCpuMicrosecondsPerRequest\": %s, ", (rq[i] > 0 ? sprintf("%.2f", cpuus[i] / rq[i]) : "null") > json
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
machine_info
mkdir -p "$RAW"

log "Building the load-test app (Release)"
dotnet build "$LOADTESTS/Coalesce.LoadTestApp/Coalesce.LoadTestApp.csproj" -c Release -nologo -v quiet >"$WORK/build.log" 2>&1 ||
  { cat "$WORK/build.log" >&2; die "the Release build failed."; }

# The scale scenario holds thousands of connections: wrk and the app need a descriptor for each.
ulimit -n "$(( $(ulimit -Hn) < 65536 ? $(ulimit -Hn) : 65536 ))" 2>/dev/null || true

start_app

measure stampede off         stampede.off         /off/stampede         fixed.lua  "$STAMPEDE_CONNECTIONS"
measure stampede coalesce    stampede.coalesce    /coalesce/stampede    fixed.lua  "$STAMPEDE_CONNECTIONS"
measure stampede outputcache stampede.outputcache /outputcache/stampede fixed.lua  "$STAMPEDE_CONNECTIONS"

measure overhead off         unique.off           /off/unique           unique.lua "$CONNECTIONS"
measure overhead coalesce    unique.coalesce      /coalesce/unique      unique.lua "$CONNECTIONS"

measure memo     outputcache item.outputcache     /outputcache/item     fixed.lua  "$CONNECTIONS"
measure memo     memo        item.memo            /memo/item            fixed.lua  "$CONNECTIONS"
measure memo     const       item.const           /const/item           fixed.lua  "$CONNECTIONS"

measure zipf     off         zipf.off             /off/zipf             zipf.lua   "$ZIPF_CONNECTIONS"
measure zipf     coalesce    zipf.coalesce        /coalesce/zipf        zipf.lua   "$ZIPF_CONNECTIONS"
measure zipf     memo        zipf.memo            /memo/zipf            zipf.lua   "$ZIPF_CONNECTIONS"

for connections in $SCALE_CONNECTIONS; do
  measure scale "coalesce-$connections" stampede.coalesce /coalesce/stampede fixed.lua "$connections"
done

http GET /_coalesce/stats >"$RESULTS/coalesce-stats.json" || die "could not read /_coalesce/stats."
measure_memory
stop_app

cp "$RUNS" "$RAW/runs.tsv"
# The BenchmarkDotNet sections at the end of report.md are recorded by hand, from the marker on; keep them.
KEEP_MARKER='<!-- Recorded by hand from here on; loadtests/run.sh keeps it. -->'
KEPT="$(awk -v marker="$KEEP_MARKER" '$0 == marker { keep = 1 } keep' "$RESULTS/report.md" 2>/dev/null || true)"
write_report "$RESULTS/coalesce-stats.json"
[[ -z "$KEPT" ]] || printf '\n%s\n' "$KEPT" >>"$RESULTS/report.md"
log "Wrote $RESULTS/report.md and $RESULTS/report.json"
cat "$RESULTS/report.md"
