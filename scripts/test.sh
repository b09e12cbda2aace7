#!/usr/bin/env bash
# The test suite, as the README gives it: every package with the race
# detector, then a short run of each fuzz target.
#
# The emulator's compatibility test drives the official Clever Cloud CLI
# (clever-tools, pinned in clever-tools.sh), installed here with npm when
# missing. Without npm that one test skips, except under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/clever-tools.sh

echo "== go test -race ./..."
go test -race -count=1 -timeout 12m ./...

echo "== deploy files (a module of its own: Kubernetes, Prometheus rules, Grafana)"
(cd deploy && go vet ./... && go test -count=1 -timeout 5m ./...)

echo "== fuzz (short runs of every fuzz target: parsers of outside input first)"
fuzz() { go test -run '^$' -fuzz "^$2\$" -fuzztime "${FUZZTIME:-8s}" "$1"; }
fuzz ./source FuzzDecodeLog
fuzz ./source FuzzFrameReader
fuzz ./event FuzzScanObject
fuzz ./config FuzzParse
fuzz ./sinks/httpsink FuzzBulkResult
fuzz ./sinks/httpsink FuzzParseRetryAfter
fuzz ./event FuzzNextMember
fuzz ./event FuzzFieldReader
fuzz ./event FuzzAppendString
fuzz ./pipeline FuzzFieldStage
fuzz ./event FuzzAppendUnescaped
