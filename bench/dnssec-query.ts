/**
 * DNSSEC on the query path, in process (the real handleQuery and runtime, no
 * sockets), CPU time per query, best of 5 rounds:
 *
 * - geo answers with ECS from 20,000 different /24s: the zone unsigned, the
 *   zone signed with DO=0, and the zone signed with DO=1 (signatures cached
 *   per answer set after the first round: issue 16's goal is at most 1.5x
 *   the unsigned CPU);
 * - static answers (www A), unsigned vs DO=1;
 * - a random-subdomain stream with DO=1 over UDP (every name new: a compact
 *   denial signed per name, the worst case), queries and signatures per
 *   second in one process, without a signing budget and with the default
 *   one (dnssec.signing_budget 5000/s: TC=1 past it), and the same names
 *   asked again (cache hits).
 *
 * The random-subdomain stream is also sent from one resolver /24 through a
 * data plane with response rate limiting on (the defaults: NXDOMAIN answers
 * of a zone limited per source /24) and off.
 *   node --import tsx bench/dnssec-query.ts
 */
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { buildSnapshotFromFile } from '../src/build/snapshot.js';
import { Runtime } from '../src/build/runtime.js';
import { QueryContext } from '../src/query/context.js';
import { QueryCounters } from '../src/query/counters.js';
import { handleQuery } from '../src/query/handle-query.js';
import { UDP } from '../src/wire/constants.js';
import { DataPlane } from '../src/plane/data-plane.js';
import { buildQuery } from '../test/helpers/dns.js';
import { makeKeys, signedConfig } from '../test/helpers/dnssec.js';

const dir = mkdtempSync(path.join(tmpdir(), 'meridian-bench-dnssec-'));
makeKeys(dir);
const signedFile = path.join(dir, 'signed.yaml');
const unsignedFile = path.join(dir, 'unsigned.yaml');
const yaml = signedConfig(dir, { zoneExtra: '\n      signing_budget: 0' });
writeFileSync(signedFile, yaml);
const budgetFile = path.join(dir, 'budget.yaml');
writeFileSync(budgetFile, signedConfig(dir));
writeFileSync(unsignedFile, signedConfig(dir).replace(/\n {4}dnssec:\n {6}keys: .*/, ''));
function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}
const signed = new Runtime(buildSnapshotFromFile(signedFile));
const unsigned = new Runtime(buildSnapshotFromFile(unsignedFile));
const budgeted = new Runtime(buildSnapshotFromFile(budgetFile));

function context(rt: Runtime): QueryContext {
  const ctx = new QueryContext({ runtime: rt }, new QueryCounters(), UDP);
  ctx.source.setText('198.51.100.1');
  return ctx;
}

/** CPU microseconds per query over `queries`, best of 5 rounds (the first round warms the caches). */
function perQuery(rt: Runtime, queries: Buffer[], rounds = 5): number {
  const ctx = context(rt);
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.cpuUsage();
    for (const q of queries) if (handleQuery(ctx, q, q.length) === 0) throw new Error('no answer');
    const u = process.cpuUsage(t0);
    best = Math.min(best, (u.user + u.system) / queries.length);
  }
  return best;
}

// 20,000 /24s spread over the IPv4 space (the fixture database places them on six continents).
const subnets = Array.from({ length: 20000 }, (_, i) => {
  const n = (i * 2654435761) >>> 0;
  return `${1 + ((n >>> 24) % 222)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.0/24`;
});
const geo = (dnssecOk: boolean) =>
  subnets.map((ecs, i) => buildQuery({ name: 'cdn.example.net', type: 'A', id: i, edns: true, ecs, dnssecOk }));
const www = (dnssecOk: boolean) =>
  Array.from({ length: 20000 }, (_, i) =>
    buildQuery({ name: 'www.example.net', type: 'A', id: i, edns: true, dnssecOk }),
  );

console.log(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const base = perQuery(unsigned, geo(false));
const signedDo0 = perQuery(signed, geo(false));
const signedDo1 = perQuery(signed, geo(true));
console.log(`geo + ECS (20,000 /24s), unsigned zone:      ${base.toFixed(2)} µs CPU per query`);
console.log(`geo + ECS, signed zone, DO=0:               ${signedDo0.toFixed(2)} µs CPU per query`);
console.log(
  `geo + ECS, signed zone, DO=1 (cached sigs): ${signedDo1.toFixed(2)} µs CPU per query (${(signedDo1 / base).toFixed(2)}x unsigned)`,
);
const st0 = perQuery(unsigned, www(false));
const st1 = perQuery(signed, www(true));
console.log(
  `static www A, unsigned:                     ${st0.toFixed(2)} µs; signed DO=1: ${st1.toFixed(2)} µs (${(st1 / st0).toFixed(2)}x)`,
);

// Random subdomains: every name new (a denial signed per name), then the same names again (cache hits).
const flood = Array.from({ length: 5000 }, (_, i) =>
  buildQuery({ name: `r${i}x${(i * 7919) % 100003}.example.net`, type: 'A', id: i, edns: true, dnssecOk: true }),
);
const before = signed.dnssec!.stats()[0].made[1];
const ctx = context(signed);
const t0 = process.cpuUsage();
const w0 = performance.now();
for (const q of flood) handleQuery(ctx, q, q.length);
const u = process.cpuUsage(t0);
const wall = (performance.now() - w0) / 1000;
const made = signed.dnssec!.stats()[0].made[1] - before;
const cpu = (u.user + u.system) / 1e6;
console.log(
  `random subdomains, DO=1, every name new: ${(flood.length / cpu).toFixed(0)} queries/s and ${(made / cpu).toFixed(0)} signatures/s per CPU second (${((cpu * 1e6) / flood.length).toFixed(1)} µs per query; wall ${(flood.length / wall).toFixed(0)} qps)`,
);
{
  const flood2 = Array.from({ length: 20000 }, (_, i) =>
    buildQuery({ name: `b${i}x${(i * 7919) % 100003}.example.net`, type: 'A', id: i, edns: true, dnssecOk: true }),
  );
  const c = context(budgeted);
  const b0 = { made: budgeted.dnssec!.stats()[0].made[1], tc: budgeted.dnssec!.stats()[0].budgetExceeded };
  const t1 = process.cpuUsage();
  const w1 = performance.now();
  for (const q of flood2) handleQuery(c, q, q.length);
  const u1 = process.cpuUsage(t1);
  const wall1 = (performance.now() - w1) / 1000;
  const b1 = { made: budgeted.dnssec!.stats()[0].made[1], tc: budgeted.dnssec!.stats()[0].budgetExceeded };
  const cpu1 = (u1.user + u1.system) / 1e6;
  console.log(
    `random subdomains with the default signing budget (5000/s): ${(flood2.length / cpu1).toFixed(0)} queries/s per CPU second, ${((b1.made - b0.made) / wall1).toFixed(0)} signatures/s (wall), ${b1.tc - b0.tc} of ${flood2.length} answered TC=1 (the bucket holds one second's worth)`,
  );
}
// The same stream from one resolver /24 through a data plane with its guards: RRL on (the defaults) vs off.
for (const rrl of [false, true]) {
  const plane = new DataPlane(
    buildSnapshotFromFile(writeConfig(`rrl-${rrl}.yaml`, signedConfig(dir, { extra: `rrl: { enabled: ${rrl} }\n` }))),
  );
  const c = new QueryContext(plane, new QueryCounters(), UDP);
  c.source.setText('198.51.100.1');
  const names = Array.from({ length: 20000 }, (_, i) =>
    buildQuery({ name: `${rrl ? 'l' : 'n'}${i}q.example.net`, type: 'A', id: i, edns: true, dnssecOk: true }),
  );
  const t2 = process.cpuUsage();
  const w2 = performance.now();
  let answered = 0;
  names.forEach((q, i) => {
    if ((i & 63) === 0) c.tick();
    if (handleQuery(c, q, q.length) > 0) answered++;
  });
  const u2 = process.cpuUsage(t2);
  const wall2 = (performance.now() - w2) / 1000;
  const made2 = plane.runtime.dnssec!.stats()[0].made[1];
  const cpu2 = (u2.user + u2.system) / 1e6;
  console.log(
    `random subdomains from one /24 (signing budget on), RRL ${rrl ? 'on (defaults)' : 'off'}: ${(names.length / cpu2).toFixed(0)} queries/s per CPU second, ${(made2 / wall2).toFixed(0)} signatures/s (wall), ${answered} of ${names.length} answered`,
  );
  await plane.close();
}

const again = perQuery(signed, flood, 3);
console.log(`the same names again (denial cache hits): ${again.toFixed(2)} µs CPU per query`);
const unsignedNx = perQuery(unsigned, flood, 3);
console.log(`the same names, unsigned zone (NXDOMAIN): ${unsignedNx.toFixed(2)} µs CPU per query`);
console.log(
  `load average at end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
