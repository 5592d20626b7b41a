#!/usr/bin/env bash
# Serve the peer-bench scenario (../shared/peer-bench/README.md) with Meridian:
# zone geo.example, static www, geo name cdn over the PoPs of pops.tsv,
# nearest PoP from the given MaxMind DB. Used as the harness's `project` target:
#   PROJECT_CMD='bench/meridian-peer.sh {ADDR} {PORT} {THREADS} {MMDB} {POPS} {RUNDIR}'
# THREADS 1 runs one process (--workers 0); N > 1 runs N cluster workers.
# With MERIDIAN_PEER_CONFIG_ONLY=1 it only writes RUNDIR/meridian.yaml and prints
# its path (bench/current-scopes.ts measures the scenario offline from it).
# With MERIDIAN_PEER_FLEET=nats://HOST:PORT the instance also joins a fleet on
# that NATS server (issue 14: the fleet must cost nothing on the query path).
set -euo pipefail
addr=$1 port=$2 threads=$3 mmdb=$4 pops=$5 rundir=$6
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$rundir"
cfg="$rundir/meridian.yaml"
{
  echo "server: { identity: meridian-bench }"
  echo "geo: { databases: [\"$mmdb\"] }"
  echo "pops:"
  while IFS=$'\t' read -r name lat lon v4 v6 _city; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    echo "  $name: { location: [$lat, $lon], ipv4: [$v4], ipv6: [\"$v6\"] }"
  done < "$pops"
  cat <<'YAML'
policies:
  nearest: { candidates: 3, steps: [ nearest: {} ] }
zones:
  - origin: geo.example.
    soa: { mname: ns1, rname: hostmaster@geo.example, serial: 1, minimum: 300 }
    ns: [ns1]
    records:
      ns1: { A: [127.0.0.1] }
      www: { A: { ttl: 300, values: [198.51.100.10] } }
    geo:
      cdn: { policy: nearest, ttl: 30 }
YAML
  if [[ -n "${MERIDIAN_PEER_FLEET:-}" ]]; then
    echo "fleet: { servers: [\"$MERIDIAN_PEER_FLEET\"], instance: bench-1, heartbeat: 1s }"
  fi
} > "$cfg"
if [[ "${MERIDIAN_PEER_CONFIG_ONLY:-0}" == 1 ]]; then echo "$cfg"; exit 0; fi
workers=0
(( threads > 1 )) && workers=$threads
exec node "$root/dist/cli.js" serve --config "$cfg" --listen "$addr:$port" --workers "$workers" --admin off --log-level warn
