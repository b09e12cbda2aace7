#!/usr/bin/env bash
# The performance figures of the README, measured in one run on this
# machine: logship against the official `clever logs` (same emulator, same
# backfill), one stream into the file sink, and the sinks' own benchmarks.
# Compare ratios, not absolute numbers: the machines are shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/clever-tools.sh
count="${BENCH_COUNT:-3}"

go test -run '^$' -bench 'VersusCleverLogs' -benchtime 1x -count "$count" ./cmd/logship/
go test -run '^$' -bench 'StreamToFile' -benchtime 1000000x -count "$count" ./cmd/logship/
go test -run '^$' -bench 'ScanObject' -count "$count" ./event/
go test -run '^$' -bench 'Enrich' -benchmem -count "$count" ./enrich/   # enrichment's cost per line, cached
go test -run '^$' -bench . -benchtime 2s ./sinks/httpsink/ ./sinks/kafka/
go test -run '^$' -bench . -benchmem ./pipeline/
