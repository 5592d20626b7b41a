/**
 * The traffic simulator: run a client population through the compiled
 * decisions of one geo record (the same trie walk and health filter the
 * server uses) and report the share of traffic per PoP, the mean and p95 RTT
 * (measured where the latency table has a row, modelled from distance
 * otherwise), and the number of distinct ECS scopes resolvers would cache.
 */
import type { ExplainContext } from '../explain.js';
import { hasCoordinates } from '../geo/location.js';
import { formatIp } from '../policy/addr.js';
import { rttFor, type RttSource } from '../policy/rank.js';
import { lookup } from '../policy/trie.js';
import { QType } from '../wire/constants.js';
import type { GeoSlot } from '../zone/answers.js';
import type { SimClient } from './clients.js';
import { runSteps, runStepsAsync } from '../steps.js';

export interface SimClientResult {
  network: string;
  weight: number;
  pop: string | null;
  rttMs: number | null;
  rttSource: RttSource;
  scope: number;
  lat: number | null;
  lon: number | null;
}

export interface PopShare {
  pop: string;
  share: number;
  clients: number;
  weight: number;
  meanRttMs: number | null;
  p95RttMs: number | null;
  serving: boolean;
}

export interface SimReport {
  config: string;
  record: string;
  clients: number;
  totalWeight: number;
  pops: PopShare[];
  meanRttMs: number | null;
  p95RttMs: number | null;
  /** Distinct (family, prefix/scope) pairs: the cache entries resolvers hold for this population. */
  distinctScopes: number;
  meanScope: number;
  results: SimClientResult[];
}

function weightedPercentile(values: Array<{ v: number; w: number }>, q: number): number | null {
  const xs = values.filter((x) => Number.isFinite(x.v)).sort((a, b) => a.v - b.v);
  const total = xs.reduce((n, x) => n + x.w, 0);
  if (total === 0) return null;
  let acc = 0;
  for (const x of xs) {
    acc += x.w;
    if (acc >= q * total) return x.v;
  }
  return xs[xs.length - 1].v;
}

function weightedMean(values: Array<{ v: number; w: number }>): number | null {
  const xs = values.filter((x) => Number.isFinite(x.v));
  const total = xs.reduce((n, x) => n + x.w, 0);
  return total === 0 ? null : xs.reduce((n, x) => n + x.v * x.w, 0) / total;
}

const round1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

/** The geo record to simulate: `name`, or the first geo record of the snapshot. */
function slotFor(ctx: ExplainContext, name: string | undefined, qtype: number): { slot: GeoSlot; record: string } {
  const rt = ctx.runtime;
  const wanted = name === undefined ? rt.snapshot.geoRecords[0]?.name : name.toLowerCase().replace(/\.$/, '');
  if (wanted === undefined) throw new Error('the config has no geo records to simulate');
  const entry = rt.entries.find((e) => e.name === wanted);
  const slot = entry?.plans.get(qtype)?.geo ?? (qtype === QType.AAAA ? entry?.plans.get(QType.A)?.geo : undefined);
  if (!slot) throw new Error(`"${wanted}" is not a geo record (geo records: ${rt.snapshot.geoRecords.map((g) => g.name).join(', ')})`);
  return { slot, record: wanted };
}

/** Clients simulated between two yields of the stepped form. */
const SLICE = 32;

export function simulate(ctx: ExplainContext, clients: readonly SimClient[], name?: string): SimReport {
  return runSteps(simulating(ctx, clients, name));
}

/** simulate() in slices, the event loop free in between (the live map in a serving process). */
export function simulateAsync(ctx: ExplainContext, clients: readonly SimClient[], name?: string): Promise<SimReport> {
  return runStepsAsync(simulating(ctx, clients, name));
}

function* simulating(ctx: ExplainContext, clients: readonly SimClient[], name?: string): Generator<void, SimReport> {
  const rt = ctx.runtime;
  const pops = rt.snapshot.pops;
  const v4 = slotFor(ctx, name, QType.A);
  const v6 = slotFor(ctx, name, QType.AAAA);
  const g = rt.snapshot.geoRecords[v4.slot.record];
  const tables = ctx.tables.get(g.policy)!;
  const policy = rt.records[v4.slot.record].policy;
  const scopes = new Set<string>();
  let scopeSum = 0;
  const results: SimClientResult[] = [];
  for (const c of clients) {
    if (results.length % SLICE === SLICE - 1) yield;
    const slot = c.prefix.family === 4 ? v4.slot : v6.slot;
    const packed = lookup(c.prefix.family === 4 ? policy.v4 : policy.v6, c.prefix.bytes, 0, Math.ceil(c.prefix.length / 8));
    const depth = packed & 0xff;
    const chosen = rt.geo.choose(slot, packed >>> 8, rt.health);
    const masked = new Uint8Array(c.prefix.bytes);
    const bits = masked.length * 8;
    for (let i = depth; i < bits; i++) masked[i >> 3] &= ~(0x80 >> (i & 7));
    scopes.add(`${formatIp(c.prefix.family, masked)}/${depth}`);
    scopeSum += depth;
    const view = ctx.locator.view(c.prefix, tables);
    const pop = chosen.pops[0];
    const rtt = pop === undefined ? { rttMs: Infinity, source: 'unknown' as RttSource } : rttFor(pop, pops[pop], view.facts, ctx.latency);
    const loc = view.facts.loc;
    results.push({
      network: c.text,
      weight: c.weight,
      pop: pop === undefined ? null : pops[pop].id,
      rttMs: Number.isFinite(rtt.rttMs) ? round1(rtt.rttMs) : null,
      rttSource: rtt.source,
      scope: depth,
      lat: hasCoordinates(loc) ? loc.lat : null,
      lon: hasCoordinates(loc) ? loc.lon : null,
    });
  }
  const totalWeight = results.reduce((n, r) => n + r.weight, 0);
  const popShares: PopShare[] = pops.map((p, i) => {
    const mine = results.filter((r) => r.pop === p.id);
    const w = mine.reduce((n, r) => n + r.weight, 0);
    const rtts = mine.map((r) => ({ v: r.rttMs ?? NaN, w: r.weight }));
    return {
      pop: p.id,
      share: totalWeight ? w / totalWeight : 0,
      clients: mine.length,
      weight: w,
      meanRttMs: round1(weightedMean(rtts)),
      p95RttMs: round1(weightedPercentile(rtts, 0.95)),
      serving: rt.health.serving[i] === 1,
    };
  });
  const all = results.map((r) => ({ v: r.rttMs ?? NaN, w: r.weight }));
  return {
    config: rt.snapshot.file,
    record: v4.record,
    clients: results.length,
    totalWeight,
    pops: popShares,
    meanRttMs: round1(weightedMean(all)),
    p95RttMs: round1(weightedPercentile(all, 0.95)),
    distinctScopes: scopes.size,
    meanScope: results.length ? Math.round((scopeSum / results.length) * 10) / 10 : 0,
    results,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)} ms`);

/** Text report; with `other`, the two side by side plus how much traffic moves. */
export function formatReport(a: SimReport, other?: SimReport): string {
  const lines: string[] = [];
  const head = (r: SimReport) => `${r.config} (${r.record || '.'})`;
  lines.push(`clients: ${a.clients} networks, total weight ${a.totalWeight}`);
  if (!other) {
    lines.push(`config: ${head(a)}`);
    lines.push('pop      share    clients   mean rtt   p95 rtt');
    for (const p of a.pops.filter((p) => p.clients > 0 || !p.serving)) {
      lines.push(`${p.pop.padEnd(8)} ${pct(p.share).padStart(6)}  ${String(p.clients).padStart(8)}  ${ms(p.meanRttMs).padStart(9)}  ${ms(p.p95RttMs).padStart(9)}${p.serving ? '' : '  (not serving)'}`);
    }
    lines.push(`all      100.0%  ${String(a.clients).padStart(8)}  ${ms(a.meanRttMs).padStart(9)}  ${ms(a.p95RttMs).padStart(9)}`);
    lines.push(`distinct scopes: ${a.distinctScopes} (mean scope /${a.meanScope})`);
    return lines.join('\n');
  }
  lines.push(`A: ${head(a)}`);
  lines.push(`B: ${head(other)}`);
  lines.push('pop      share A  share B   mean rtt A  mean rtt B');
  const ids = [...new Set([...a.pops, ...other.pops].filter((p) => p.clients > 0).map((p) => p.pop))];
  for (const id of ids) {
    const pa = a.pops.find((p) => p.pop === id);
    const pb = other.pops.find((p) => p.pop === id);
    lines.push(`${id.padEnd(8)} ${pct(pa?.share ?? 0).padStart(7)}  ${pct(pb?.share ?? 0).padStart(7)}   ${ms(pa?.meanRttMs ?? null).padStart(9)}  ${ms(pb?.meanRttMs ?? null).padStart(9)}`);
  }
  lines.push(`all      mean rtt ${ms(a.meanRttMs)} -> ${ms(other.meanRttMs)}, p95 ${ms(a.p95RttMs)} -> ${ms(other.p95RttMs)}`);
  lines.push(`distinct scopes: ${a.distinctScopes} -> ${other.distinctScopes}`);
  const moved = a.results.reduce((n, r, i) => n + (r.pop !== other.results[i]?.pop ? r.weight : 0), 0);
  lines.push(`traffic that changes PoP: ${pct(a.totalWeight ? moved / a.totalWeight : 0)}`);
  return lines.join('\n');
}
