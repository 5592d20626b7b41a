/**
 * CPU per geo query, before against after, in ONE process: the query handler
 * and runtime of a base tree (BASE_DIR, e.g. `git archive main` unpacked, as
 * bench/handler-before-after.sh makes it) and of this checkout are loaded side
 * by side and measured in alternating rounds of 200,000 queries, so both see
 * the same machine load at the same moments (on a shared VM, separate runs
 * differ by 20 % or more). Geo queries with ECS from 20,000 random /24s on the
 * default config, source as bytes (the batched listener's way). This
 * checkout runs twice: serving the tries merged by the current answer with
 * every PoP up (issue 15), and its compiled tries (the query path's change
 * alone); the base serves its compiled tries.
 *
 *   node --import tsx bench/handler-ab.ts BASE_DIR [--rounds 40]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCurrentScopes } from '../src/policy/current-scopes.js';
import { prng } from '../src/geo/clients.js';
import { buildQuery } from '../test/helpers/dns.js';

const baseDir = process.argv[2];
if (!baseDir) throw new Error('usage: bench/handler-ab.ts BASE_DIR [--rounds N]');
const ri = process.argv.indexOf('--rounds');
const rounds = ri > 0 ? Number(process.argv[ri + 1]) : 40;

type Side = { name: string; run: (q: Buffer) => void };

async function side(root: string, name: string, current: boolean): Promise<Side> {
  const load = (p: string) => import(pathToFileURL(path.join(root, p)).href);
  const { QueryContext } = await load('src/query/context.ts');
  const { handleQuery } = await load('src/query/handle-query.ts');
  const { QueryCounters } = await load('src/query/counters.ts');
  const { UDP } = await load('src/wire/constants.ts');
  const { defaultRuntime } = await load('bench/runtimes.ts');
  const prev = process.cwd();
  process.chdir(root);
  const rt = defaultRuntime();
  process.chdir(prev);
  if (current) {
    rt.health = rt.healthState(rt.health.view, buildCurrentScopes(rt.snapshot, rt.health.view).set);
    if (rt.health.scopes === null) throw new Error('no merged scopes installed');
  }
  const ctx = new QueryContext({ runtime: rt }, new QueryCounters(), UDP);
  const source = Uint8Array.of(127, 0, 0, 1);
  const slots = Buffer.alloc(65536);
  return {
    name,
    run: (q) => {
      ctx.source.setBytes(4, source, 0);
      ctx.out = slots;
      ctx.outOffset = 0;
      handleQuery(ctx, q, q.length);
    },
  };
}

const rand = prng(7);
const queries = Array.from({ length: 20000 }, () =>
  buildQuery({
    name: 'cdn.example.net',
    id: 1,
    ecs: `${1 + Math.floor(rand() * 222)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.0/24`,
  }),
);
const sides = [
  await side(path.resolve(baseDir), 'base', false),
  await side(process.cwd(), 'this checkout, current-answer tries', true),
  await side(process.cwd(), 'this checkout, full-ranking tries', false),
];
const ns: number[][] = sides.map(() => []);
for (let r = 0; r < rounds; r++)
  // The order turns every round, so that no side always runs after the same other one.
  for (let j = 0; j < sides.length; j++) {
    const i = (j + r) % sides.length;
    const s = sides[i];
    const n = 200_000;
    const t0 = process.cpuUsage();
    for (let k = 0; k < n; k++) s.run(queries[k % queries.length]);
    const u = process.cpuUsage(t0);
    if (r > 0) ns[i].push(((u.user + u.system) * 1000) / n); // round 0 warms up
  }
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const min = (a: number[]) => Math.min(...a);
for (const [i, s] of sides.entries())
  console.log(`${s.name}: median ${median(ns[i]).toFixed(0)} ns, best ${min(ns[i]).toFixed(0)} ns per geo query`);
// Paired: each round's ratio after/before, so load changes between rounds cancel.
for (const i of [1, 2]) {
  const ratios = ns[i].map((v, k) => v / ns[0][k]);
  console.log(`${sides[i].name} / base, median of ${ratios.length} paired rounds: ${median(ratios).toFixed(3)}`);
}
console.log(
  `load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
