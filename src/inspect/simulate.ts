/**
 * The traffic simulator: run a client population through the compiled
 * decisions of one geo record (the same trie walk and health filter the
 * server uses) and report the share of traffic per PoP, the mean and p95 RTT
 * (measured where the latency table has a row, modelled from distance
 * otherwise), and the number of distinct ECS scopes resolvers would cache.
 * Each client asks for its own family (IPv4 networks A, IPv6 networks AAAA);
 * clients the record cannot answer (none of their candidate PoPs has an
 * address of that family) are a "no answer" share of their own, so the
 * shares always add up to the whole population.
 */
import type { ExplainContext } from './explain.js';
import { hasCoordinates } from '../geo/location.js';
import { effectivePrefix } from '../ecs/subnet.js';
import { formatIp } from '../net/ip.js';
import { rttFor, type RttSource } from '../policy/rank.js';
import { lookup } from '../policy/trie.js';
import { QType } from '../wire/constants.js';
import type { GeoSlot } from '../zone/answers.js';
import type { SimClient } from '../geo/clients.js';
import { runSteps, runStepsAsync } from '../util/steps.js';

export interface SimClientResult {
  network: string;
  weight: number;
  /** The query type this client's family asks: A for IPv4 networks, AAAA for IPv6. */
  type: 'A' | 'AAAA';
  /** The PoP answered first; null when the record has no answer of this type for the client. */
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

/** Clients the record gives no address to (NODATA): their candidate PoPs have none of their family. */
export interface NoAnswerShare {
  share: number;
  clients: number;
  weight: number;
  /** Of those, IPv4 clients (no candidate with an IPv4 address) and IPv6 clients (none with IPv6). */
  byType: { A: number; AAAA: number };
}

export interface SimReport {
  config: string;
  record: string;
  clients: number;
  totalWeight: number;
  pops: PopShare[];
  noAnswer: NoAnswerShare;
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

/**
 * The answer slots of the geo record to simulate (`name`, or the first geo
 * record): A and AAAA, either absent when no PoP of its policy has an
 * address of that family (the server then answers NODATA to that type).
 */
function slotsFor(
  ctx: ExplainContext,
  name: string | undefined,
): { v4: GeoSlot | undefined; v6: GeoSlot | undefined; record: string } {
  const rt = ctx.runtime;
  const wanted = name === undefined ? rt.snapshot.geoRecords[0]?.name : name.toLowerCase().replace(/\.$/, '');
  if (wanted === undefined) throw new Error('the config has no geo records to simulate');
  const entry = rt.entries.find((e) => e.name === wanted);
  const v4 = entry?.plans.get(QType.A)?.geo ?? undefined;
  const v6 = entry?.plans.get(QType.AAAA)?.geo ?? undefined;
  if (!v4 && !v6)
    throw new Error(
      `"${wanted}" is not a geo record (geo records: ${rt.snapshot.geoRecords.map((g) => g.name).join(', ')})`,
    );
  return { v4, v6, record: wanted };
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
  const slots = slotsFor(ctx, name);
  const recordIndex = (slots.v4 ?? slots.v6)!.record;
  const g = rt.snapshot.geoRecords[recordIndex];
  const tables = ctx.tables.get(g.policy)!;
  const policy = rt.records[recordIndex].policy;
  // One health state for the whole run (the live map simulates in slices while health may change).
  const health = rt.health;
  const scopes = new Set<string>();
  let scopeSum = 0;
  const results: SimClientResult[] = [];
  for (const c of clients) {
    if (results.length % SLICE === SLICE - 1) yield;
    const v4 = c.prefix.family === 4;
    const slot = v4 ? slots.v4 : slots.v6;
    // The network the server looks up for this client as an ECS option (ecs/subnet.ts).
    const net = effectivePrefix(c.prefix);
    // The trie the server reads the scope from now (merged for the current answers, or the compiled one).
    const trie = slot
      ? health.tries[2 * slot.id + (net.family === 4 ? 0 : 1)]
      : net.family === 4
        ? policy.v4
        : policy.v6;
    const packed = lookup(trie, net.bytes, 0, Math.ceil(net.length / 8));
    const depth = net.scopeBase + (packed & 0xff);
    const pop = slot ? rt.geo.choose(slot, packed >>> 8, health.view).pops[0] : undefined;
    const masked = new Uint8Array(c.prefix.bytes);
    const bits = masked.length * 8;
    for (let i = depth; i < bits; i++) masked[i >> 3] &= ~(0x80 >> (i & 7));
    scopes.add(`${formatIp(c.prefix.family, masked)}/${depth}`);
    scopeSum += depth;
    const view = ctx.locator.view(net, tables);
    const rtt =
      pop === undefined
        ? { rttMs: Infinity, source: 'unknown' as RttSource }
        : rttFor(pop, pops[pop], view.facts, ctx.latency);
    const loc = view.facts.loc;
    results.push({
      network: c.text,
      weight: c.weight,
      type: v4 ? 'A' : 'AAAA',
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
      serving: health.view.serving[i] === 1,
    };
  });
  const unanswered = results.filter((r) => r.pop === null);
  const unansweredWeight = unanswered.reduce((n, r) => n + r.weight, 0);
  const noAnswer: NoAnswerShare = {
    share: totalWeight ? unansweredWeight / totalWeight : 0,
    clients: unanswered.length,
    weight: unansweredWeight,
    byType: {
      A: unanswered.filter((r) => r.type === 'A').length,
      AAAA: unanswered.filter((r) => r.type === 'AAAA').length,
    },
  };
  const all = results.map((r) => ({ v: r.rttMs ?? NaN, w: r.weight }));
  return {
    config: rt.snapshot.file,
    record: slots.record,
    clients: results.length,
    totalWeight,
    pops: popShares,
    noAnswer,
    meanRttMs: round1(weightedMean(all)),
    p95RttMs: round1(weightedPercentile(all, 0.95)),
    distinctScopes: scopes.size,
    meanScope: results.length ? Math.round((scopeSum / results.length) * 10) / 10 : 0,
    results,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)} ms`);

/** Why clients got no answer, in words (empty when every client was answered). */
function noAnswerNote(r: SimReport): string[] {
  const n = r.noAnswer;
  if (n.clients === 0) return [];
  const parts = [
    n.byType.AAAA
      ? `${n.byType.AAAA} IPv6 client network${n.byType.AAAA === 1 ? '' : 's'} whose candidate PoPs have no IPv6 address (AAAA gets NODATA; dual-stack clients use the A answer)`
      : '',
    n.byType.A
      ? `${n.byType.A} IPv4 client network${n.byType.A === 1 ? '' : 's'} whose candidate PoPs have no IPv4 address (A gets NODATA)`
      : '',
  ].filter(Boolean);
  return [`no answer: ${parts.join('; ')}; RTTs are of the answered clients`];
}

/** Text report; with `other`, the two side by side plus how much traffic moves. */
export function formatReport(a: SimReport, other?: SimReport): string {
  const lines: string[] = [];
  const head = (r: SimReport) => `${r.config} (${r.record || '.'})`;
  const total = (r: SimReport) => r.pops.reduce((n, p) => n + p.share, 0) + r.noAnswer.share;
  lines.push(`clients: ${a.clients} networks, total weight ${a.totalWeight}`);
  if (!other) {
    lines.push(`config: ${head(a)}`);
    lines.push(
      `${'pop'.padEnd(10)} ${'share'.padStart(6)}  ${'clients'.padStart(8)}  ${'mean rtt'.padStart(9)}  ${'p95 rtt'.padStart(9)}`,
    );
    for (const p of a.pops.filter((p) => p.clients > 0 || !p.serving)) {
      lines.push(
        `${p.pop.padEnd(10)} ${pct(p.share).padStart(6)}  ${String(p.clients).padStart(8)}  ${ms(p.meanRttMs).padStart(9)}  ${ms(p.p95RttMs).padStart(9)}${p.serving ? '' : '  (not serving)'}`,
      );
    }
    if (a.noAnswer.clients > 0)
      lines.push(
        `${'no answer'.padEnd(10)} ${pct(a.noAnswer.share).padStart(6)}  ${String(a.noAnswer.clients).padStart(8)}  ${'-'.padStart(9)}  ${'-'.padStart(9)}`,
      );
    lines.push(
      `${'all'.padEnd(10)} ${pct(total(a)).padStart(6)}  ${String(a.clients).padStart(8)}  ${ms(a.meanRttMs).padStart(9)}  ${ms(a.p95RttMs).padStart(9)}`,
    );
    lines.push(...noAnswerNote(a));
    lines.push(`distinct scopes: ${a.distinctScopes} (mean scope /${a.meanScope})`);
    return lines.join('\n');
  }
  lines.push(`A: ${head(a)}`);
  lines.push(`B: ${head(other)}`);
  lines.push(
    `${'pop'.padEnd(10)} ${'share A'.padStart(7)}  ${'share B'.padStart(7)}   ${'mean rtt A'.padStart(9)}  ${'mean rtt B'.padStart(9)}`,
  );
  const ids = [...new Set([...a.pops, ...other.pops].filter((p) => p.clients > 0).map((p) => p.pop))];
  for (const id of ids) {
    const pa = a.pops.find((p) => p.pop === id);
    const pb = other.pops.find((p) => p.pop === id);
    lines.push(
      `${id.padEnd(10)} ${pct(pa?.share ?? 0).padStart(7)}  ${pct(pb?.share ?? 0).padStart(7)}   ${ms(pa?.meanRttMs ?? null).padStart(9)}  ${ms(pb?.meanRttMs ?? null).padStart(9)}`,
    );
  }
  if (a.noAnswer.clients + other.noAnswer.clients > 0) {
    lines.push(
      `${'no answer'.padEnd(10)} ${pct(a.noAnswer.share).padStart(7)}  ${pct(other.noAnswer.share).padStart(7)}   ${'-'.padStart(9)}  ${'-'.padStart(9)}`,
    );
  }
  lines.push(
    `${'all'.padEnd(10)} ${pct(total(a)).padStart(7)}  ${pct(total(other)).padStart(7)}   mean rtt ${ms(a.meanRttMs)} -> ${ms(other.meanRttMs)}, p95 ${ms(a.p95RttMs)} -> ${ms(other.p95RttMs)}`,
  );
  lines.push(...noAnswerNote(a).map((l) => `A ${l}`), ...noAnswerNote(other).map((l) => `B ${l}`));
  lines.push(`distinct scopes: ${a.distinctScopes} -> ${other.distinctScopes}`);
  const moved = a.results.reduce((n, r, i) => n + (r.pop !== other.results[i]?.pop ? r.weight : 0), 0);
  lines.push(`traffic that changes PoP: ${pct(a.totalWeight ? moved / a.totalWeight : 0)}`);
  return lines.join('\n');
}
