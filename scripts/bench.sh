#!/usr/bin/env bash
# The performance figures of the README, measured in one run on this
# machine, printed as one table:
#   1. one stream of BENCH_LINES backlog lines from `logship emulator` (its
#      own process, unpaced), read by `logship run` into a file sink, by the
#      official `clever logs -F json-stream`, and by curl (bytes only);
#      CPU is user+sys of that process only (/usr/bin/time), RSS its peak;
#   2. 500 applications x 20 lines/s into one file sink: CPU % of a core and
#      RSS of `logship run`, sampled from /proc over BENCH_SECONDS;
#   3. allocations per line and enrichment's cost (Go benchmarks).
# Then the older Go benchmarks (BENCH_ALL=1). Compare ratios, not absolute
# numbers: the machines are shared and noisy; CPU time is what to trust.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/clever-tools.sh
lines="${BENCH_LINES:-100000}"
apps="${BENCH_APPS:-500}"
secs="${BENCH_SECONDS:-15}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/logship" ./cmd/logship
ls="$work/logship"

# emulator N_APPS BACKLOG RATE PORT: starts it, waits for its listing.
emulator() {
  "$ls" emulator --listen "127.0.0.1:$4" --apps "$1" --backlog "$2" --rate "$3" \
    --token bench-token --oauth-token oauth-token --oauth-secret oauth-secret >"$work/emu.$4" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    local listed; listed=$(grep -c application_id: "$work/emu.$4" 2>/dev/null || true)
    [ "${listed:-0}" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "emulator did not start" >&2; cat "$work/emu.$4" >&2; exit 1
}
# measure NAME LINES OUTFILE CMD...: one row (lines/s, CPU µs/line, peak RSS).
measure() {
  local name="$1" lines="$2" out="$3"; shift 3
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  read -r el us sy rss <"$work/time"
  awk -v n="$name" -v l="$lines" -v el="$el" -v us="$us" -v sy="$sy" -v rss="$rss" 'BEGIN {
    printf "%-38s %12.0f %14.2f %10.1f %16s\n", n, l/el, (us+sy)*1e6/l, rss/1024, sprintf("%.2f + %.2f", us*1e6/l, sy*1e6/l) }'
}

# 1. One stream.
if [ -z "${BENCH_ONLY:-}" ] || [ "${BENCH_ONLY}" = stream ]; then
emulator 1 "$lines" 0 18931
owner=$(awk '/owner_id:/ {print $2; exit}' "$work/emu.18931")
app=$(awk '/application_id:/ {print $4; exit}' "$work/emu.18931")
since="2000-01-01T00:00:00.000Z"
until=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S.000Z)
api=http://127.0.0.1:18931
cat >"$work/one.yaml" <<YAML
api: {url: $api, token: bench-token}
state_dir: $work/state1
sources:
  - {owner_id: $owner, application_id: $app, since: $since, until: $until, throttle_elements: 100000, throttle_per_ms: 10}
sinks:
  - {type: file, path: $work/one.ndjson}
log: {level: warn}
YAML
echo "== one stream, $lines lines of the emulator's backlog ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-38s %12s %14s %10s %16s\n" "reader" "lines/s" "CPU µs/line" "RSS MiB" "user + sys µs"
measure "raw read (curl > /dev/null)" "$lines" /dev/null curl -s -N -H "Authorization: Bearer bench-token" \
  "$api/v4/logs/organisations/$owner/applications/$app/logs?since=$since&until=$until&throttleElements=100000&throttlePerInMilliseconds=10"
measure "logship run -> file sink" "$lines" /dev/null "$ls" run --config "$work/one.yaml"
got=$(wc -l <"$work/one.ndjson"); [ "$got" -eq "$lines" ] || echo "   (logship wrote $got lines, want $lines)"
# The same with an fsync per second instead of per batch: what the fsyncs
# (and the sink buffer they fill) cost.
sed -e "s|state1|state1i|" -e "s|one.ndjson}|one-i.ndjson, fsync: interval}|" "$work/one.yaml" >"$work/one-i.yaml"
measure "logship run -> file (fsync: interval)" "$lines" /dev/null "$ls" run --config "$work/one-i.yaml"
kill "${pids[@]}" 2>/dev/null || true; pids=()
# clever logs spends ~150 µs of CPU per line: it reads a smaller backlog so
# the run stays short (lines/s and CPU per line do not depend on its size).
if [ -n "${CLEVER_BIN:-}" ]; then
  clines="${BENCH_CLEVER_LINES:-20000}"
  emulator 1 "$clines" 0 18933
  app=$(awk '/application_id:/ {print $4; exit}' "$work/emu.18933")
  HOME="$work" XDG_CONFIG_HOME="$work" API_HOST=http://127.0.0.1:18933 CLEVER_TOKEN=oauth-token CLEVER_SECRET=oauth-secret \
    NO_UPDATE_NOTIFIER=1 NO_COLOR=1 measure "clever logs -F json-stream" "$clines" "$work/clever.out" \
    "$CLEVER_BIN" logs --app "$app" --since "$since" --until "$until" --format json-stream --no-update-notifier
  got=$(wc -l <"$work/clever.out"); [ "$got" -eq "$clines" ] || echo "   (clever logs printed $got lines, want $clines)"
  kill "${pids[@]}" 2>/dev/null || true; pids=()
else
  echo "clever logs: not installed (npm missing)"
fi
fi

# 2. Many applications.
# many BIN LABEL: runs BIN (a logship binary) against the many-application
# emulator for BENCH_SECONDS after a settling time, prints CPU and RSS.
# With BENCH_PROFILE=DIR, also saves a CPU profile (over the sampling) and
# a heap profile (at its end) of that run into DIR (LOGSHIP_DEBUG_PPROF).
many() {
  local bin="$1" label="$2" n="$3"
  local metrics="" port=$((18940 + n))
  [ -n "${BENCH_PROFILE:-}" ] && metrics="metrics: {listen: 127.0.0.1:$port}"
  {
    echo "api: {url: $api, token: bench-token}"
    echo "state_dir: $work/state2.$n"
    echo "sources:"
    awk '/application_id:/ {printf "  - {owner_id: %s, application_id: %s}\n", $2, $4}' "$work/emu.18932"
    echo "sinks:"
    echo "  - {type: file, path: $work/many.$n.ndjson}"
    echo "log: {level: warn}"
    echo "$metrics"
  } >"$work/many.yaml"
  LOGSHIP_DEBUG_PPROF=1 "$bin" run --config "$work/many.yaml" >/dev/null 2>"$work/many.err" &
  local agent=$!; pids+=($agent)
  sleep "$settle" # connect, settle
  local hz; hz=$(getconf CLK_TCK)
  local t0 s0 l0 t1 s1 l1 hwm peak=0 r prof=""
  if [ -n "${BENCH_PROFILE:-}" ]; then
    mkdir -p "$BENCH_PROFILE"
    curl -s -o "$BENCH_PROFILE/cpu.$label.pprof" "http://127.0.0.1:$port/debug/pprof/profile?seconds=$((secs - 1))" & prof=$!
  fi
  t0=$(awk '{print $14+$15}' "/proc/$agent/stat"); s0=$(date +%s.%N); l0=$(wc -l <"$work/many.$n.ndjson" 2>/dev/null || echo 0)
  local e0 e1; e0=$(awk '{print $14+$15}' "/proc/$emu/stat")
  for _ in $(seq "$secs"); do
    sleep 1
    r=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status"); [ "$r" -gt "$peak" ] && peak=$r
  done
  t1=$(awk '{print $14+$15}' "/proc/$agent/stat"); s1=$(date +%s.%N); l1=$(wc -l <"$work/many.$n.ndjson")
  e1=$(awk '{print $14+$15}' "/proc/$emu/stat")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
  if [ -n "$prof" ]; then
    wait "$prof" || true
    curl -s -o "$BENCH_PROFILE/heap.$label.pprof" "http://127.0.0.1:$port/debug/pprof/heap"
    curl -s -o "$BENCH_PROFILE/goroutine.$label.txt" "http://127.0.0.1:$port/debug/pprof/goroutine?debug=1"
    curl -s "http://127.0.0.1:$port/metrics" | grep -E '^go_(memstats|gc|goroutines|sched)' >"$BENCH_PROFILE/memstats.$label.txt" || true
    grep -E '^(Vm|Rss)' "/proc/$agent/status" >>"$BENCH_PROFILE/memstats.$label.txt"
  fi
  awk -v lb="$label" -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" -v peak="$peak" -v hwm="$hwm" -v l0="$l0" -v l1="$l1" -v e0="$e0" -v e1="$e1" 'BEGIN {
    printf "%-10s CPU %.1f %% of one core (%.2f s CPU), RSS %.1f MiB (peak sampled), %.1f MiB (VmHWM), %.0f lines/s delivered (emulator: %.0f %% of a core)\n",
      lb, 100*(t1-t0)/hz/(s1-s0), (t1-t0)/hz, peak/1024, hwm/1024, (l1-l0)/(s1-s0), 100*(e1-e0)/hz/(s1-s0) }'
  kill "$agent" 2>/dev/null || true; wait "$agent" 2>/dev/null || true
}
if [ -z "${BENCH_ONLY:-}" ] || [ "${BENCH_ONLY}" = apps ]; then
  emulator "$apps" 0 "${BENCH_RATE:-20}" 18932
  emu=${pids[-1]}
  api=http://127.0.0.1:18932
  settle=$(( apps / 100 > 5 ? apps / 100 : 5 ))
  echo "== $apps applications x ${BENCH_RATE:-20} lines/s into one file sink, ${secs}s sampled after ${settle}s ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
  many "$ls" logship 0
  # BENCH_COMPARE=BIN: the same measure for another logship binary (a
  # baseline build), alternated with this one, in the same run.
  if [ -n "${BENCH_COMPARE:-}" ]; then
    many "$BENCH_COMPARE" compare 1
    many "$ls" logship 2
    many "$BENCH_COMPARE" compare 3
  fi
  echo "   (load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
  kill "${pids[@]}" 2>/dev/null || true; pids=()
fi

# 3. Go benchmarks: allocations per line (process incl. the in-process
#    emulator) and enrichment's cost per line.
[ -n "${BENCH_ONLY:-}" ] && exit 0
echo "== Go benchmarks"
go test -run '^$' -bench 'StreamToFile/fsync=batch' -benchtime 100000x ./cmd/logship/ | grep -E '^Benchmark'
go test -run '^$' -bench 'Enrich' -benchmem ./enrich/ | grep -E '^Benchmark'

if [ -n "${BENCH_ALL:-}" ]; then
  count="${BENCH_COUNT:-3}"
  go test -run '^$' -bench 'VersusCleverLogs' -benchtime 1x -count "$count" ./cmd/logship/
  go test -run '^$' -bench 'StreamToFile' -benchtime 1000000x -count "$count" ./cmd/logship/
  go test -run '^$' -bench 'ScanObject' -count "$count" ./event/
  go test -run '^$' -bench . -benchtime 2s ./sinks/httpsink/ ./sinks/kafka/
  go test -run '^$' -bench . -benchmem ./pipeline/
fi
