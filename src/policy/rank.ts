/**
 * Rank the PoPs for one client: the policy's steps in order, the first that
 * applies decides, cut to K candidates. The single source of truth for both
 * the compiler (once per distinct database record) and explain. Pure.
 */
import { distanceKm, haversineTerm, modelledRttMs } from '../geo/distance.js';
import { hasCoordinates, type GeoLocation } from '../geo/location.js';
import type { OverlayContext } from './overlay.js';
import type { PopInfo, RuleTables } from './rules.js';

/** Measured RTT rows keyed by AS number and by country (CIDR rows live in the overlay). */
export interface LatencyRows {
  byAsn: Map<number, Map<number, number>>;
  byCountry: Map<string, Map<number, number>>;
  pathInflation: number;
}

export interface ClientFacts {
  loc: GeoLocation;
  /** AS number, 0 when unknown. */
  asn: number;
  ctx: OverlayContext;
}

export type RttSource = 'measured-cidr' | 'measured-asn' | 'measured-country' | 'modelled' | 'unknown';

export interface Candidate {
  pop: number;
  /** Great-circle km from the client, NaN when the client has no coordinates. */
  distanceKm: number;
  rttMs: number;
  rttSource: RttSource;
  /** Latency step: index of the tolerance group (PoPs within tolerance count as equal). */
  group: number;
}

export interface Ranking {
  /** PoP indices, best first, at most K. */
  pops: number[];
  /** Index of the step that decided, -1 for the fallback. */
  step: number;
  /** Step kind ('fallback' when none applied) and the key that matched (country code, prefix...). */
  kind: string;
  matched: string;
  /** Per-candidate detail, only when asked for (explain). */
  candidates: Candidate[] | null;
}

let rttScratch = new Float64Array(64);

/** rttFor without the source: the compiler's fast path (same values). */
function rttMs(pop: number, p: PopInfo, facts: ClientFacts, rows: LatencyRows | null): number {
  const cidr = facts.ctx.rtt.get(pop);
  if (cidr) return cidr.rttMs;
  if (rows !== null) {
    if (facts.asn) {
      const v = rows.byAsn.get(facts.asn)?.get(pop);
      if (v !== undefined) return v;
    }
    if (facts.loc.country) {
      const v = rows.byCountry.get(facts.loc.country)?.get(pop);
      if (v !== undefined) return v;
    }
  }
  if (!hasCoordinates(facts.loc)) return Infinity;
  return modelledRttMs(distanceKm(facts.loc.lat, facts.loc.lon, p.lat, p.lon), rows?.pathInflation ?? 1.5);
}

const UNKNOWN_RTT = Object.freeze({ rttMs: Infinity, source: 'unknown' as RttSource });

/** RTT estimate for each PoP: the most specific measured row, else modelled from distance. */
export function rttFor(
  pop: number,
  p: PopInfo,
  facts: ClientFacts,
  rows: LatencyRows | null,
): { rttMs: number; source: RttSource } {
  const cidr = facts.ctx.rtt.get(pop);
  if (cidr) return { rttMs: cidr.rttMs, source: 'measured-cidr' };
  if (rows) {
    const byAsn = facts.asn ? rows.byAsn.get(facts.asn)?.get(pop) : undefined;
    if (byAsn !== undefined) return { rttMs: byAsn, source: 'measured-asn' };
    const byCountry = facts.loc.country ? rows.byCountry.get(facts.loc.country)?.get(pop) : undefined;
    if (byCountry !== undefined) return { rttMs: byCountry, source: 'measured-country' };
  }
  if (!hasCoordinates(facts.loc)) return UNKNOWN_RTT;
  const km = distanceKm(facts.loc.lat, facts.loc.lon, p.lat, p.lon);
  return { rttMs: modelledRttMs(km, rows?.pathInflation ?? 1.5), source: 'modelled' };
}

function candidate(pop: number, pops: readonly PopInfo[], facts: ClientFacts, rows: LatencyRows | null): Candidate {
  const p = pops[pop];
  const located = hasCoordinates(facts.loc);
  const { rttMs, source } = rttFor(pop, p, facts, rows);
  return {
    pop,
    distanceKm: located ? distanceKm(facts.loc.lat, facts.loc.lon, p.lat, p.lon) : NaN,
    rttMs,
    rttSource: source,
    group: 0,
  };
}

// Scratch for nearestK (a config has at most a few hundred PoPs).
const nearestKeys = new Float64Array(1024);
const nearestPops = new Int32Array(1024);

/**
 * The k PoPs of `list` nearest to `loc`, without building candidates: the
 * compiler ranks hundreds of thousands of records. Ordered by the haversine
 * term (monotonic in distance), ties by PoP index, so every instance agrees.
 */
function nearestK(list: readonly number[], pops: readonly PopInfo[], loc: GeoLocation, k: number): number[] {
  let n = 0;
  for (const pop of list) {
    const key = haversineTerm(loc.lat, loc.lon, pops[pop].lat, pops[pop].lon);
    // Insertion into the sorted top-k window.
    let i = Math.min(n, k);
    while (i > 0 && (nearestKeys[i - 1] > key || (nearestKeys[i - 1] === key && nearestPops[i - 1] > pop))) {
      if (i < k) {
        nearestKeys[i] = nearestKeys[i - 1];
        nearestPops[i] = nearestPops[i - 1];
      }
      i--;
    }
    if (i < k) {
      nearestKeys[i] = key;
      nearestPops[i] = pop;
    }
    n++;
  }
  return Array.from(nearestPops.subarray(0, Math.min(n, k)));
}

/**
 * Latency ranking with tolerance: sorted by RTT, then PoPs within
 * max(toleranceMs, tolerancePct of the group's best) of the group's best RTT
 * form one group, ordered inside by weight (heaviest first), then RTT, then
 * PoP index. Returns PoP indices in order and each one's group.
 */
export function latencyOrder(
  list: readonly number[],
  rtts: ArrayLike<number>,
  pops: readonly PopInfo[],
  toleranceMs: number,
  tolerancePct: number,
): { order: number[]; groups: number[] } {
  // Insertion sorts on a scratch index array: lists are a handful of PoPs and
  // the compiler calls this hundreds of thousands of times.
  const n = list.length;
  const idx = latencyScratch.length >= n ? latencyScratch : (latencyScratch = new Int32Array(n * 2));
  for (let i = 0; i < n; i++) {
    let j = i;
    while (j > 0 && (rtts[idx[j - 1]] > rtts[i] || (rtts[idx[j - 1]] === rtts[i] && list[idx[j - 1]] > list[i]))) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
  }
  const order = new Array<number>(n);
  const groups = new Array<number>(n);
  let i = 0;
  let group = 0;
  while (i < n) {
    const best = rtts[idx[i]];
    // Unknown RTTs (Infinity) form one last group; Infinity * 0 would be NaN.
    const limit =
      best === Infinity ? Infinity : best + Math.max(toleranceMs, tolerancePct > 0 ? (best * tolerancePct) / 100 : 0);
    let end = i + 1;
    while (end < n && rtts[idx[end]] <= limit) end++;
    // Inside a group: heaviest weight first, then lower RTT, then PoP index.
    for (let a = i + 1; a < end; a++) {
      const m = idx[a];
      let b = a;
      while (b > i && heavierFirst(idx[b - 1], m, list, rtts, pops) > 0) {
        idx[b] = idx[b - 1];
        b--;
      }
      idx[b] = m;
    }
    for (let a = i; a < end; a++) {
      order[a] = list[idx[a]];
      groups[a] = group;
    }
    group++;
    i = end;
  }
  return { order, groups };
}

let latencyScratch = new Int32Array(64);

function heavierFirst(
  x: number,
  y: number,
  list: readonly number[],
  rtts: ArrayLike<number>,
  pops: readonly PopInfo[],
): number {
  return pops[list[y]].weight - pops[list[x]].weight || rtts[x] - rtts[y] || list[x] - list[y];
}

/** Candidates (with distances and RTTs) in a latency order, for explain. */
export function groupByTolerance(
  cands: Candidate[],
  pops: readonly PopInfo[],
  toleranceMs: number,
  tolerancePct: number,
): Candidate[] {
  const { order, groups } = latencyOrder(
    cands.map((c) => c.pop),
    cands.map((c) => c.rttMs),
    pops,
    toleranceMs,
    tolerancePct,
  );
  const byPop = new Map(cands.map((c) => [c.pop, c]));
  return order.map((pop, i) => ({ ...byPop.get(pop)!, group: groups[i] }));
}

function fixed(
  list: number[],
  pops: readonly PopInfo[],
  facts: ClientFacts,
  rows: LatencyRows | null,
  detail: boolean,
) {
  return detail ? list.map((pop) => candidate(pop, pops, facts, rows)) : null;
}

/** Rank the PoPs for a client under rule tables `t`. */
export function rankClient(
  t: RuleTables,
  pops: readonly PopInfo[],
  facts: ClientFacts,
  rows: LatencyRows | null,
  detail = false,
): Ranking {
  const k = t.candidates;
  const loc = facts.loc;
  for (let s = 0; s < t.steps.length; s++) {
    const step = t.steps[s];
    let list: number[] | undefined;
    let matched = '';
    switch (step.kind) {
      case 'cidr': {
        const hit = facts.ctx.cidr.get(s);
        if (hit) {
          list = hit.pops;
          matched = hit.prefix;
        }
        break;
      }
      case 'asn':
        if (facts.asn) {
          list = step.map.get(facts.asn);
          matched = `AS${facts.asn}`;
        }
        break;
      case 'subdivision':
        if (loc.country) {
          const byCode = loc.subdivisionCode ? `${loc.country}-${loc.subdivisionCode}`.toLowerCase() : '';
          const byName = loc.subdivisionName ? `${loc.country}-${loc.subdivisionName}`.toLowerCase() : '';
          list = (byCode && step.map.get(byCode)) || (byName && step.map.get(byName)) || undefined;
          matched = step.map.has(byCode) ? byCode.toUpperCase() : byName;
        }
        break;
      case 'country':
        if (loc.country) {
          list = step.map.get(loc.country);
          matched = loc.country;
        }
        break;
      case 'continent':
        if (loc.continent) {
          list = step.map.get(loc.continent);
          matched = loc.continent;
        }
        break;
      case 'nearest':
        if (hasCoordinates(loc)) {
          if (!detail)
            return { pops: nearestK(step.pops, pops, loc, k), step: s, kind: 'nearest', matched: '', candidates: null };
          const order = nearestK(step.pops, pops, loc, step.pops.length);
          const cands = order.map((pop) => candidate(pop, pops, facts, rows));
          return { pops: order.slice(0, k), step: s, kind: 'nearest', matched: '', candidates: cands };
        }
        break;
      case 'latency': {
        const rtts =
          rttScratch.length >= step.pops.length ? rttScratch : (rttScratch = new Float64Array(step.pops.length * 2));
        let known = false;
        for (let i = 0; i < step.pops.length; i++) {
          rtts[i] = rttMs(step.pops[i], pops[step.pops[i]], facts, rows);
          if (rtts[i] !== Infinity) known = true;
        }
        if (known) {
          const { order, groups } = latencyOrder(step.pops, rtts, pops, step.toleranceMs, step.tolerancePct);
          const cands = detail
            ? order.map((pop, i) => ({ ...candidate(pop, pops, facts, rows), group: groups[i] }))
            : null;
          return { pops: order.slice(0, k), step: s, kind: 'latency', matched: '', candidates: cands };
        }
        break;
      }
    }
    if (list && list.length > 0) {
      return {
        pops: list.slice(0, k),
        step: s,
        kind: step.kind,
        matched,
        candidates: fixed(list, pops, facts, rows, detail),
      };
    }
  }
  return {
    pops: t.fallback.slice(0, k),
    step: -1,
    kind: 'fallback',
    matched: '',
    candidates: fixed(t.fallback, pops, facts, rows, detail),
  };
}
