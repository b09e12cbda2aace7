#!/usr/bin/env bash
# The seeded fault simulation's long mode: consecutive seeds for a while
# (default 30m), niced, with the race detector. Each failing seed prints
# itself (SEED=…) with its schedule and the command that replays it; the
# last line sums up how many seeds ran clean.
#
#   bash scripts/sim.sh            # 30 minutes of the CI fault classes (every class)
#   bash scripts/sim.sh 2h         # longer
#   SIM_FAULTS=ci,-sigkill bash scripts/sim.sh 10m   # the CI classes but one
#   SIM_START=5000 bash scripts/sim.sh 10m       # from seed 5000 (default: a random start)
#
# SIM_FAULTS takes class names (see cmd/logship/sim_test.go), "ci", "all" and
# "-name" to remove one; SIM_PARALLEL the seeds run at once. The full log is
# kept in ${SIM_LOG:-sim.log}.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-30m}"
log="${SIM_LOG:-sim.log}"
echo "== seeded fault simulation for $duration (faults ${SIM_FAULTS:-ci}); log in $log"
set +e
SIM_DURATION="$duration" nice -n 10 go test -race -count=1 -timeout 0 -run 'TestSimulation$' ./cmd/logship -v >"$log" 2>&1
code=$?
set -e
grep -E 'SEED=[0-9]+ failed|long mode:' "$log" || true
grep -E '^SIM SUMMARY' "$log" || tail -20 "$log"
exit $code
