/**
 * Does the query path allocate? handleQuery over a batched listener's context
 * (source as bytes, answer into the caller's buffer) in a loop, counting garbage collections:
 * none over millions of queries means no allocation per query. Static
 * answers, geo answers with ECS, and DNAME substitution (RFC 6672).
 *   node --import tsx bench/handler-gc.ts
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { QueryContext } from '../src/query/context.js';
import { handleQuery } from '../src/query/handle-query.js';
import { QueryCounters } from '../src/query/counters.js';
import type { Runtime } from '../src/build/runtime.js';
import { defaultRuntime, dnameRuntime } from './runtimes.js';
import { UDP } from '../src/wire/constants.js';
import { buildQuery } from '../test/helpers/dns.js';

const N = 2_000_000;
const rt = defaultRuntime();
// The default config has no DNAME: a second runtime with one (RFC 6672 substitution per query).
const dnameRt = dnameRuntime();
const counters = new QueryCounters();
const out = Buffer.alloc(65536);
const source = Uint8Array.of(192, 0, 2, 7);
let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });
const settle = () => new Promise((r) => setTimeout(r, 200));

const cases: Array<[string, Runtime, Buffer]> = [
  ['static www.example.net A', rt, buildQuery({ name: 'www.example.net', id: 1 })],
  ['geo cdn.example.net A, ECS 1.1.1.0/24', rt, buildQuery({ name: 'cdn.example.net', id: 1, ecs: '1.1.1.0/24' })],
  ['DNAME www.old.example.com A', dnameRt, buildQuery({ name: 'www.old.example.com', id: 1 })],
];
for (const [name, runtime, q] of cases) {
  // As the batched listener does: the source as bytes, the answer written into its output slot.
  const ctx = new QueryContext({ runtime }, counters, UDP, out);
  ctx.source.setBytes(4, source, 0);
  for (let i = 0; i < 200_000; i++) handleQuery(ctx, q, q.length);
  await settle();
  gcs = 0;
  for (let i = 0; i < N; i++) handleQuery(ctx, q, q.length);
  await settle();
  console.log(`${name}: ${gcs} garbage collections during ${N / 1e6}M queries`);
}
