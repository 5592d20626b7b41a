/**
 * ECS scopes merged by the answer a client gets now (src/policy/current-scopes.ts)
 * against today's full-ranking scopes, on one config, in several health
 * states made by the real HealthMonitor (all up, a PoP forced down, a PoP
 * drained, both):
 *
 *  - distinct scopes needed to cover all of IPv4 (and IPv6): leaves of the
 *    compiled trie vs of the merged trie;
 *  - mean returned scope and distinct cache entries over the 10,000 random
 *    public /24s of bench/public-v4.ts (ECS /24 lookups, as the query path does);
 *  - soundness and maximality, exhaustive over IPv4 and IPv6 (every compiled
 *    leaf checked against the merged leaf covering it, test/helpers/scope-check.ts),
 *    with answers from GeoAnswers.choose(), the query path's own choice, plus
 *    three random addresses re-asked inside every sampled scope;
 *  - merge time (first run, which allocates the scratch, and best of 3) and memory.
 *
 *   node --expose-gc --import tsx bench/current-scopes.ts [CONFIG] [--n 10000] [--down fra] [--drain lon] [--record NAME]
 */
import path from 'node:path';
import { HealthMonitor } from '../src/health/monitor.js';
import type { HealthView } from '../src/health/view.js';
import { AnswerMerger } from '../src/policy/answer-merge.js';
import { buildCurrentScopes, type CurrentScopes } from '../src/policy/current-scopes.js';
import { decisionOf, depthOf, lookup, type FamilyTrie } from '../src/policy/trie.js';
import { Runtime } from '../src/build/runtime.js';
import { buildSnapshotFromFile } from '../src/build/snapshot.js';
import type { GeoSlot } from '../src/zone/answers.js';
import { checkMergedTrie } from '../test/helpers/scope-check.js';
import { publicSlash24s } from './public-v4.js';
import { prng } from '../src/geo/clients.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const file = path.resolve(
  process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'config/meridian.yaml',
);
const n = Number(arg('n', '10000'));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

const t0 = performance.now();
const snapshot = buildSnapshotFromFile(file);
const compileMs = performance.now() - t0;
const popIds = snapshot.pops.map((p) => p.id);
const down = arg('down', popIds[0]);
const drain = arg('drain', popIds[1] ?? popIds[0]);
for (const id of [down, drain])
  if (!popIds.includes(id)) throw new Error(`no PoP '${id}' in ${file} (${popIds.join(', ')})`);
const recordIndex = Math.max(
  0,
  snapshot.geoRecords.findIndex((g) => g.name === arg('record', snapshot.geoRecords[0].name)),
);
const record = snapshot.geoRecords[recordIndex];
const policy = snapshot.policies[snapshot.policyNames.indexOf(record.policy)];
const rt = new Runtime(snapshot);
const slotA: GeoSlot = { id: 0, record: recordIndex, qtype: 1, owner: new Uint8Array(0) };

// Health states from the real monitor (no probes: the PoPs are marked by operator overrides).
const monitor = new HealthMonitor();
monitor.update(snapshot.pops.map((p) => ({ ...p, health: { ...p.health, type: 'none' as const } })));
const states: Array<{ name: string; view: HealthView }> = [];
const snap = (name: string) => states.push({ name, view: monitor.viewFor(popIds) });
snap('all PoPs up');
monitor.setOverride(down, 'force-down', 'api');
snap(`${down} down`);
monitor.setOverride(down, null, 'api');
monitor.setOverride(drain, 'drain', 'api');
snap(`${drain} drained`);
monitor.setOverride(down, 'force-down', 'api');
snap(`${down} down + ${drain} drained`);
monitor.stop();

/** A decision's answer under `view`, from the query path's GeoAnswers.choose(). */
function answerOf(view: HealthView): (d: number) => string {
  return (d) => {
    const c = rt.geo.choose(slotA, d, view);
    return `${c.pops.map((p) => popIds[p]).join(',') || 'empty'}${c.failOpen ? ' fail-open' : c.degraded ? ' degraded' : ''}`;
  };
}

const nets = publicSlash24s(n);
const bytes = new Uint8Array(4);

/** Mean scope and distinct (prefix, scope) entries over the sample, as the query path looks a /24 up. */
function sample(trie: FamilyTrie): { mean: number; entries: number; packed: Int32Array } {
  const entries = new Set<number>();
  const packed = new Int32Array(nets.length);
  let sum = 0;
  nets.forEach(([a, b, c], i) => {
    bytes[0] = a;
    bytes[1] = b;
    bytes[2] = c;
    const p = lookup(trie, bytes, 0, 3);
    const s = depthOf(p);
    packed[i] = p;
    sum += s;
    const addr = ((a << 24) | (b << 16) | (c << 8)) >>> 0;
    entries.add((s === 0 ? 0 : (addr & (~0 << (32 - s))) >>> 0) * 64 + s);
  });
  return { mean: sum / nets.length, entries: entries.size, packed };
}

/** Re-ask three random addresses inside each sampled merged scope: same answer? Returns the failures. */
function resample(merged: Int32Array, answer: (d: number) => string): number {
  const rand = prng(7);
  let bad = 0;
  nets.forEach(([a, b, c], i) => {
    const s = depthOf(merged[i]);
    const want = answer(decisionOf(merged[i]));
    const base = s === 0 ? 0 : ((a << 24) | (b << 16) | (c << 8)) & (~0 << (32 - s));
    for (let k = 0; k < 3; k++) {
      const x = (base | (s === 32 ? 0 : Math.floor(rand() * 2 ** (32 - s)))) >>> 0;
      bytes[0] = x >>> 24;
      bytes[1] = (x >>> 16) & 255;
      bytes[2] = (x >>> 8) & 255;
      bytes[3] = x & 255;
      if (answer(decisionOf(lookup(policy.v4, bytes, 0, 4))) !== want) bad++;
    }
  });
  return bad;
}

console.log(
  `config: ${file} (${snapshot.pops.length} PoPs; record ${record.name}, policy ${record.policy} K=${policy.candidates}, max_answers ${record.maxAnswers}, A answers)`,
);
console.log(
  `node ${process.version}; snapshot build with compile ${Math.round(compileMs)} ms; ${policy.decisionCount} decisions`,
);
console.log(
  `full-ranking trie: IPv4 ${policy.stats.leaves4} leaves (${policy.stats.nodes4} nodes), IPv6 ${policy.stats.leaves6} leaves (${policy.stats.nodes6} nodes)`,
);
const full = sample(policy.v4);
console.log(
  `full-ranking scopes over ${n} public /24s: mean /${full.mean.toFixed(2)}, ${full.entries} distinct cache entries`,
);
console.log('');
console.log(
  '| health state | IPv4 scopes: full ranking | current answer | fewer | IPv6 scopes: full | current | mean scope of 10k /24s: full | current | cache entries: full | current | sound + maximal (exhaustive v4+v6; 30k re-asked) | answer classes | merge ms: first / best of 3 (CPU) | merged tries |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|');

let previous: CurrentScopes | null = null;
const flaps: string[] = [];
for (const { name, view } of states) {
  gc();
  const first = buildCurrentScopes(snapshot, view, null, new AnswerMerger());
  const merger = new AnswerMerger();
  let best = Infinity;
  let bestCpu = Infinity;
  let result = first;
  for (let i = 0; i < 3; i++) {
    const cpu0 = process.cpuUsage();
    result = buildCurrentScopes(snapshot, view, null, merger);
    const cpu = process.cpuUsage(cpu0);
    best = Math.min(best, result.stats.ms);
    bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1000);
  }
  const kept = buildCurrentScopes(snapshot, { epoch: view.epoch + 1000, serving: view.serving }, result, merger);
  flaps.push(`${name}: ${kept.stats.ms.toFixed(2)} ms (tries reused: ${kept.stats.reused > 0 ? 'yes' : 'no'})`);
  previous = result;
  const tries = result.records[recordIndex][0]!;
  const answer = answerOf(view);
  const checks = [checkMergedTrie(policy.v4, tries.v4, 4, answer), checkMergedTrie(policy.v6, tries.v6, 6, answer)];
  const current = sample(tries.v4);
  let mismatched = 0;
  for (let i = 0; i < n; i++)
    if (answer(decisionOf(current.packed[i])) !== answer(decisionOf(full.packed[i]))) mismatched++;
  const bad = resample(current.packed, answer) + mismatched;
  const violations = checks.flatMap((c) => c.violations);
  const ok =
    violations.length === 0 && bad === 0 ? 'yes' : `NO (${violations.length} violations, ${bad} sampled mismatches)`;
  for (const v of violations.slice(0, 5)) console.error(`  ${v.kind} ${v.prefix}: ${v.detail}`);
  const pct = (100 * (1 - tries.leaves4 / policy.stats.leaves4)).toFixed(1);
  const bytesOut = tries.v4.nodes.byteLength + tries.v6.nodes.byteLength;
  console.log(
    `| ${name} | ${policy.stats.leaves4} | ${tries.leaves4} | ${pct} % | ${policy.stats.leaves6} | ${tries.leaves6} | /${full.mean.toFixed(2)} | /${current.mean.toFixed(2)} | ${full.entries} | ${current.entries} | ${ok} | ${tries.classes.count} | ${first.stats.ms.toFixed(0)} / ${best.toFixed(0)} (${bestCpu.toFixed(0)}) | ${mb(bytesOut)} |`,
  );
}
void previous;
const maxNodes = Math.max(...snapshot.policies.flatMap((p) => [p.v4.nodes.length, p.v6.nodes.length])) / 2;
console.log('');
console.log(
  `merge memory: scratch ${mb(maxNodes * 4)} (one Int32 per node of the largest trie, kept by the merger) + the merged node arrays above (${snapshot.geoRecords.length} geo records x A/AAAA share them when the partition is the same)`,
);
console.log(`a new health epoch with the same partition (a flap that changes no current answer): ${flaps.join('; ')}`);
const m = process.memoryUsage();
console.log(
  `RSS now ${mb(m.rss)}, peak ${mb(process.resourceUsage().maxRSS * 1024)} (array buffers ${mb(m.arrayBuffers)})`,
);
