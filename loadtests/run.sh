#!/usr/bin/env bash
# Runs Coalesce's HTTP load scenarios: installs what they need when missing, then builds and starts the load runner
# (loadtests/Coalesce.LoadRunner), which drives wrk against loadtests/Coalesce.LoadTestApp and writes
# loadtests/results/report.md and report.json. Options go to the runner; see loadtests/README.md or --help.
#
#   loadtests/run.sh                                   # every scenario, both cores shared by the app and wrk
#   loadtests/run.sh --mode one-core --scenarios "overhead memo"
#   loadtests/run.sh --smoke                           # a few minutes, report in /tmp/coalesce-loadtest-smoke
#   DURATION=3 WARMUP=1 SCENARIOS="zipf outage" RESULTS=/tmp/r loadtests/run.sh   # the settings as environment variables
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# wrk is needed; redis-server only by the scaleout scenario (the runner skips it, or stops when it was named).
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> Installing ${missing[*]} with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  for package in "${missing[@]}"; do
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null || echo "run.sh: could not install $package." >&2
  done
fi
command -v wrk >/dev/null 2>&1 ||
  { echo "run.sh: wrk is not installed; install it (Debian/Ubuntu: sudo apt-get install -y wrk) and run again." >&2; exit 1; }

# The scale scenario holds thousands of connections: wrk and the app need a descriptor for each.
hard="$(ulimit -Hn)"; [[ "$hard" =~ ^[0-9]+$ ]] || hard=65536
ulimit -n "$(( hard < 65536 ? hard : 65536 ))" 2>/dev/null || true

dotnet build loadtests/Coalesce.LoadRunner -c Release -nologo -v quiet
exec dotnet loadtests/Coalesce.LoadRunner/bin/Release/net10.0/Coalesce.LoadRunner.dll "$@"
