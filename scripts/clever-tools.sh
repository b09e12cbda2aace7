#!/usr/bin/env bash
# Sourced by test.sh and bench.sh: exports CLEVER_BIN, the official Clever
# Cloud CLI at a pinned version, installing it with npm when missing. The
# emulator's compatibility test and the speed baseline drive it.
CLEVER_TOOLS_VERSION=4.11.0
if [ -z "${CLEVER_BIN:-}" ]; then
  _ct="${LOGSHIP_CACHE:-$HOME/.cache/logship}/clever-tools-$CLEVER_TOOLS_VERSION"
  if [ ! -x "$_ct/node_modules/.bin/clever" ] && command -v npm >/dev/null 2>&1; then
    echo "== installing clever-tools@$CLEVER_TOOLS_VERSION with npm"
    npm install --silent --no-audit --no-fund --prefix "$_ct" "clever-tools@$CLEVER_TOOLS_VERSION" >/dev/null 2>&1 ||
      echo "   (npm install failed: the tests that need clever-tools will say so)"
  fi
  if [ -x "$_ct/node_modules/.bin/clever" ]; then
    export CLEVER_BIN="$_ct/node_modules/.bin/clever"
  fi
  unset _ct
fi
