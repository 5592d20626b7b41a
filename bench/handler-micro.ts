/**
 * In-process cost of the query handler (no sockets): handleQuery in a loop on
 * the default config, CPU time, best of 7 rounds of one million queries.
 *   node --import tsx bench/handler-micro.ts
 */
import { handleQuery } from '../src/handle-query.js';
import { QueryCounters } from '../src/observability/counters.js';
import { prng } from '../src/simulate/clients.js';
import { Runtime } from '../src/runtime.js';
import { buildSnapshotFromFile } from '../src/snapshot.js';
import { buildQuery } from '../test/helpers/dns.js';

const rt = new Runtime(buildSnapshotFromFile('config/meridian.yaml'));
const counters = new QueryCounters();
const rand = prng(7);
const sets: Record<string, Buffer[]> = {
  static: [buildQuery({ name: 'www.example.net', id: 1 })],
  'geo, ECS from 20,000 /24s': Array.from({ length: 20000 }, () =>
    buildQuery({ name: 'cdn.example.net', id: 1, ecs: `${1 + Math.floor(rand() * 222)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.0/24` }),
  ),
};
for (const [name, qs] of Object.entries(sets)) {
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const n = 1_000_000;
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const q = qs[i % qs.length];
      handleQuery(q, q.length, '127.0.0.1', 0, rt, counters);
    }
    const u = process.cpuUsage(t0);
    best = Math.min(best, ((u.user + u.system) * 1000) / n);
  }
  console.log(`${name}: ${best.toFixed(0)} ns per query (CPU time, best of 7 x 1M)`);
}
