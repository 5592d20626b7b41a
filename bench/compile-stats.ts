/**
 * Compile figures for the embedded default config (full DB-IP Lite City):
 * time, trie size, decisions, peak and steady-state RSS. Run with
 *   node --expose-gc --import tsx bench/compile-stats.ts [CONFIG]
 */
import path from 'node:path';
import { buildSnapshotFromFile } from '../src/build/snapshot.js';
import { Runtime } from '../src/build/runtime.js';

const file = path.resolve(process.argv[2] ?? 'config/meridian.yaml');
const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
const gc = (globalThis as { gc?: () => void }).gc;
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
const snapshot = buildSnapshotFromFile(file);
const t1 = performance.now();
const runtime = new Runtime(snapshot);
const t2 = performance.now();
gc?.();
const steady = process.memoryUsage();
console.log(`config: ${file}`);
console.log(`node ${process.version}, ${process.arch}`);
for (const d of snapshot.databases)
  console.log(
    `database: ${path.basename(d.file)} (${d.databaseType}, ${mb(d.size)}, ${d.nodeCount} tree nodes, used for ${d.usedFor.join('+')})`,
  );
for (const p of snapshot.policies) {
  const s = p.stats;
  console.log(
    `policy ${p.name}: compile ${s.compileMs} ms; networks walked ${s.networks4} IPv4 + ${s.networks6} IPv6; ` +
      `merged trie ${s.leaves4} + ${s.leaves6} leaves, ${s.nodes4} + ${s.nodes6} nodes (${mb((s.nodes4 + s.nodes6) * 8)}); ${s.decisions} decisions (K=${p.candidates})`,
  );
}
console.log(
  `snapshot build (zones, databases, policies): ${Math.round(t1 - t0)} ms; runtime hydration: ${Math.round(t2 - t1)} ms`,
);
console.log(
  `RSS: before ${mb(rss0)}, peak ${mb(process.resourceUsage().maxRSS * 1024)}, after build and GC ${mb(steady.rss)} (heap ${mb(steady.heapUsed)}, array buffers ${mb(steady.arrayBuffers)})`,
);
void runtime;
