/**
 * In-process cost of the query handler (no sockets): handleQuery in a loop on
 * the default config (and DNAME substitution on a small zone), CPU time,
 * best of 7 rounds of one million queries. Each query is handled as the
 * node:dgram listener does it (the source set as text, the answer written
 * into the listener's buffer; the copy handed to send() is not counted) and
 * as the batched listener does it (the source as bytes, a slot per datagram).
 * Geo queries run twice: with the compiled full-ranking tries (what a server
 * serves until its first merge) and with the tries merged by the current
 * answer (issue 15: the only change to the query path is which trie it walks).
 *   node --import tsx bench/handler-micro.ts
 */
import { QueryContext } from '../src/query/context.js';
import { handleQuery } from '../src/query/handle-query.js';
import { UDP } from '../src/wire/constants.js';
import { QueryCounters } from '../src/query/counters.js';
import { prng } from '../src/geo/clients.js';
import type { Runtime } from '../src/build/runtime.js';
import { buildCurrentScopes } from '../src/policy/current-scopes.js';
import { defaultRuntime, dnameRuntime } from './runtimes.js';
import { buildQuery } from '../test/helpers/dns.js';

const rt = defaultRuntime();
// The same config answering with the scopes of the current answer (issue 15), as a server does once its
// background merge for the current health state is done; `rt` keeps the compiled (full-ranking) tries.
const currentRt = defaultRuntime();
const allUp = currentRt.health.view;
currentRt.health = currentRt.healthState(allUp, buildCurrentScopes(currentRt.snapshot, allUp).set);
if (currentRt.health.scopes === null) throw new Error('no merged scopes installed');
// The default config has no DNAME: a second runtime with one (RFC 6672 substitution per query).
const dnameRt = dnameRuntime();
const counters = new QueryCounters();
const rand = prng(7);
const geoQueries = Array.from({ length: 20000 }, () =>
  buildQuery({
    name: 'cdn.example.net',
    id: 1,
    ecs: `${1 + Math.floor(rand() * 222)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.0/24`,
  }),
);
const sets: Record<string, [Runtime, Buffer[]]> = {
  static: [rt, [buildQuery({ name: 'www.example.net', id: 1 })]],
  'geo, ECS from 20,000 /24s (full-ranking scopes)': [rt, geoQueries],
  'geo, ECS from 20,000 /24s (current-answer scopes)': [currentRt, geoQueries],
  'DNAME substitution (www.old.example.com -> www.example.net A)': [
    dnameRt,
    [buildQuery({ name: 'www.old.example.com', id: 1 })],
  ],
};
/** Best of 7 rounds of one million queries, CPU time per query in ns. */
function measure(run: (q: Buffer) => void, qs: Buffer[]): number {
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const n = 1_000_000;
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) run(qs[i % qs.length]);
    const u = process.cpuUsage(t0);
    best = Math.min(best, ((u.user + u.system) * 1000) / n);
  }
  return best;
}

const source = Uint8Array.of(127, 0, 0, 1);
for (const [name, [runtime, qs]] of Object.entries(sets)) {
  const ctx = new QueryContext({ runtime }, counters, UDP);
  // As the node:dgram listener calls it: the source as text.
  const dgram = measure((q) => {
    ctx.source.setText('127.0.0.1');
    handleQuery(ctx, q, q.length);
  }, qs);
  // As the batched listener calls it: the source as bytes, the output slot set per datagram.
  const slots = Buffer.alloc(65536);
  const batched = measure((q) => {
    ctx.source.setBytes(4, source, 0);
    ctx.out = slots;
    ctx.outOffset = 0;
    handleQuery(ctx, q, q.length);
  }, qs);
  console.log(
    `${name}: ${dgram.toFixed(0)} ns per query as node:dgram, ${batched.toFixed(0)} ns as batched UDP (CPU time, best of 7 x 1M)`,
  );
}
