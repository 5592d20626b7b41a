#!/usr/bin/env bash
# npm run bench: Meridian side by side with gdnsd, Knot and PowerDNS under
# dnsperf, on loopback, with the harness in ../shared/peer-bench (it installs
# the peers from Debian, converts DB-IP Lite City to the GeoIP2 schema they
# read, and writes the ECS query files). Results: bench/.data/results/<time>/
# and a markdown summary next to it.
#
#   bash bench/run.sh [--quick] [--targets "project node-ceiling gdnsd knot pdns-geoip pdns-lua-shared"]
#                     [--modes "pinned shared"] [--workers-scaling]
#
#   --quick            1 round of 5 s per case (a smoke run, ~5 min)
#   --workers-scaling  also run Meridian alone with 1 and 2 workers in shared mode
# Without the harness (no ../shared/peer-bench), only Meridian's own figures
# are measured: compile time/RSS, scopes, config-edit-to-answer, RSS over 20
# recompiles, DNS during /map renders, flood protection (bench/*.ts).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HARNESS="${PEER_BENCH:-$ROOT/../shared/peer-bench}"
export BENCH_DATA_DIR="$ROOT/bench/.data"
TARGETS="project node-ceiling gdnsd knot pdns-geoip pdns-lua-shared"
MODES="pinned shared"
RUNS=3; DURATION=8; SCALING=0
while (($#)); do
  case "$1" in
    --quick) RUNS=1; DURATION=5 ;;
    --targets) TARGETS=$2; shift ;;
    --modes) MODES=$2; shift ;;
    --workers-scaling) SCALING=1 ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
  shift
done
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
command -v dnsperf >/dev/null || { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsperf bind9-dnsutils; }

cd "$ROOT"
npm run build --silent
mkdir -p "$BENCH_DATA_DIR/results"
stamp=$(date +%Y%m%d-%H%M%S)

echo "== Meridian's own figures (compile, memory, scopes, reload latency, DNSSEC signing cost)"
node --expose-gc --import tsx bench/compile-stats.ts | tee "$BENCH_DATA_DIR/results/compile-$stamp.txt"
node --import tsx bench/scopes.ts | tee "$BENCH_DATA_DIR/results/scopes-$stamp.txt"
node --import tsx bench/reload-latency.ts | tee "$BENCH_DATA_DIR/results/reload-$stamp.txt"
node --import tsx bench/dnssec-sign.ts | tee "$BENCH_DATA_DIR/results/dnssec-sign-$stamp.txt"
node --import tsx bench/reload-soak.ts --steps 20 | tee "$BENCH_DATA_DIR/results/soak-$stamp.txt"
node --import tsx bench/map-lag.ts --seconds 10 | tee "$BENCH_DATA_DIR/results/map-lag-$stamp.txt"
node --import tsx bench/protection-micro.ts | tee "$BENCH_DATA_DIR/results/protection-micro-$stamp.txt"
node --import tsx bench/flood.ts | tee "$BENCH_DATA_DIR/results/flood-$stamp.txt"

if [[ ! -x "$HARNESS/run-bench.sh" ]]; then
  echo "no peer harness at $HARNESS: skipping the dnsperf comparison"
  exit 0
fi
[[ -f "$BENCH_DATA_DIR/queries/geo-ecs4.bin" ]] || "$HARNESS/setup-peers.sh"
export PROJECT_CMD="$ROOT/bench/meridian-peer.sh {ADDR} {PORT} {THREADS} {MMDB} {POPS} {RUNDIR}"
out="$BENCH_DATA_DIR/results/peers-$stamp"
"$HARNESS/run-bench.sh" $TARGETS --modes "$MODES" --runs "$RUNS" --duration "$DURATION" \
  --latency-qps "half" --latency-duration 5 --latency-runs 1 --out "$out" --label "npm run bench"
node "$HARNESS/summarize.js" "$out" > "$out.md"
if ((SCALING)); then
  for w in 1 2; do
    SHARED_THREADS=$w "$HARNESS/run-bench.sh" project --modes shared --runs "$RUNS" --duration "$DURATION" \
      --latency-duration 0 --out "$out-workers$w" --label "meridian workers=$w"
    node "$HARNESS/summarize.js" "$out-workers$w" > "$out-workers$w.md"
  done
fi
echo "results: $out.md"
