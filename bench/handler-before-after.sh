#!/usr/bin/env bash
# CPU per query before and after a change, on the same machine and moment:
# bench/handler-micro.ts run alternately from a base commit (exported with
# git archive to a temporary directory, sharing this checkout's node_modules
# and native addon) and from this checkout, ROUNDS times each, with the load
# average after each run. Issue 15 asks CPU per geo query within 5 % of before.
#
#   bash bench/handler-before-after.sh [BASE_REF (default main)] [ROUNDS (default 3)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_REF="${1:-main}"
ROUNDS="${2:-3}"
BASE="$(mktemp -d)"
trap 'rm -rf "$BASE"' EXIT
cd "$ROOT"
git archive "$BASE_REF" | tar -x -C "$BASE"
ln -s "$ROOT/node_modules" "$BASE/node_modules"
ln -s "$ROOT/build" "$BASE/build"
for ((i = 1; i <= ROUNDS; i++)); do
  echo "== round $i: base ($BASE_REF $(git rev-parse --short "$BASE_REF"))"
  (cd "$BASE" && node --import tsx bench/handler-micro.ts | grep -v DNAME)
  echo "   $(cut -d' ' -f1-3 /proc/loadavg) (load average)"
  echo "== round $i: this checkout ($(git rev-parse --short HEAD)$(git diff --quiet || echo ', modified'))"
  node --import tsx bench/handler-micro.ts | grep -v DNAME
  echo "   $(cut -d' ' -f1-3 /proc/loadavg) (load average)"
done
