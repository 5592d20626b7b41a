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
  if (!hasCoordinates(facts.loc)) return { rttMs: Infinity, source: 'unknown' };
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
 * form one group, ordered inside by weight (heaviest first).
 */
export function groupByTolerance(
  cands: Candidate[],
  pops: readonly PopInfo[],
  toleranceMs: number,
  tolerancePct: number,
): Candidate[] {
  const sorted = [...cands].sort((a, b) => a.rttMs - b.rttMs || a.pop - b.pop);
  const out: Candidate[] = [];
  let i = 0;
  let group = 0;
  while (i < sorted.length) {
    const best = sorted[i].rttMs;
    const limit = best + Math.max(toleranceMs, (best * tolerancePct) / 100);
    let j = i;
    while (j < sorted.length && sorted[j].rttMs <= limit) j++;
    const members = sorted.slice(i, j).map((c) => ({ ...c, group }));
    members.sort((a, b) => pops[b.pop].weight - pops[a.pop].weight || a.rttMs - b.rttMs || a.pop - b.pop);
    out.push(...members);
    group++;
    i = j;
  }
  return out;
}

function fixed(list: number[], pops: readonly PopInfo[], facts: ClientFacts, rows: LatencyRows | null, detail: boolean) {
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
          if (!detail) return { pops: nearestK(step.pops, pops, loc, k), step: s, kind: 'nearest', matched: '', candidates: null };
          const order = nearestK(step.pops, pops, loc, step.pops.length);
          const cands = order.map((pop) => candidate(pop, pops, facts, rows));
          return { pops: order.slice(0, k), step: s, kind: 'nearest', matched: '', candidates: cands };
        }
        break;
      case 'latency': {
        const cands = step.pops.map((pop) => candidate(pop, pops, facts, rows));
        if (cands.some((c) => Number.isFinite(c.rttMs))) {
          const ordered = groupByTolerance(cands, pops, step.toleranceMs, step.tolerancePct);
          return { pops: ordered.slice(0, k).map((c) => c.pop), step: s, kind: 'latency', matched: '', candidates: detail ? ordered : null };
        }
        break;
      }
    }
    if (list && list.length > 0) {
      return { pops: list.slice(0, k), step: s, kind: step.kind, matched, candidates: fixed(list, pops, facts, rows, detail) };
    }
  }
  return { pops: t.fallback.slice(0, k), step: -1, kind: 'fallback', matched: '', candidates: fixed(t.fallback, pops, facts, rows, detail) };
}
