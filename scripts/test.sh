#!/usr/bin/env bash
# The test suite, as the README gives it: every package with the race
# detector, then a short run of each fuzz target.
#
# The emulator's compatibility test drives the official Clever Cloud CLI
# (clever-tools, pinned below); this script installs it with npm when it is
# missing. Without npm that one test skips, except under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

CLEVER_TOOLS_VERSION=4.11.0
cache="${LOGSHIP_CACHE:-$HOME/.cache/logship}"
if [ -z "${CLEVER_BIN:-}" ]; then
  bin="$cache/clever-tools-$CLEVER_TOOLS_VERSION/node_modules/.bin/clever"
  if [ ! -x "$bin" ] && command -v npm >/dev/null 2>&1; then
    echo "== installing clever-tools@$CLEVER_TOOLS_VERSION (for the emulator compatibility test)"
    npm install --silent --no-audit --no-fund --prefix "$cache/clever-tools-$CLEVER_TOOLS_VERSION" "clever-tools@$CLEVER_TOOLS_VERSION" >/dev/null
  fi
  [ -x "$bin" ] && export CLEVER_BIN="$bin"
fi

echo "== go test -race ./..."
go test -race -count=1 -timeout 12m ./...

echo "== fuzz (short runs)"
fuzz() { go test -run '^$' -fuzz "^$2\$" -fuzztime "${FUZZTIME:-10s}" "$1"; }
fuzz ./event FuzzEachMember
fuzz ./event FuzzScanObject
fuzz ./source FuzzDecodeLog
fuzz ./config FuzzParse
