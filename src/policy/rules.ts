/**
 * Turn a policy's config into rule tables of PoP indices, checking every
 * cross-reference (unknown PoPs, bad CIDRs and ASNs) and reporting each
 * problem with its config path. Pure.
 */
import type { PolicyConfig, StepConfig } from '../build/config/schema.js';
import { CONTINENT_CODES } from '../geo/continents.js';
import { formatPrefix, parsePrefix } from '../net/ip.js';
import { PrefixOverlay } from './overlay.js';

/** What the policy needs to know about a PoP. */
export interface PopInfo {
  id: string;
  lat: number;
  lon: number;
  weight: number;
  /** Percentage (0-100) of first-choice clients moved to their next candidate. */
  spill: number;
}

export type Step =
  | { kind: 'cidr'; count: number }
  | { kind: 'asn'; map: Map<number, number[]> }
  | { kind: 'subdivision'; map: Map<string, number[]> }
  | { kind: 'country'; map: Map<string, number[]> }
  | { kind: 'continent'; map: Map<string, number[]> }
  | { kind: 'nearest'; pops: number[] }
  | { kind: 'latency'; pops: number[]; toleranceMs: number; tolerancePct: number };

export interface RuleTables {
  name: string;
  /** Decision length K. */
  candidates: number;
  steps: Step[];
  fallback: number[];
  /** CIDR rules of every cidr step (and, later, measured RTT rows by CIDR). */
  overlay: PrefixOverlay;
  spillGranularity4: number;
  spillGranularity6: number;
}

import { didYouMean } from '../util/did-you-mean.js';
export type { Report } from '../build/config/load.js';
import type { Report } from '../build/config/load.js';

function resolvePops(
  ids: readonly string[],
  popIndex: ReadonlyMap<string, number>,
  path: ReadonlyArray<string | number>,
  report: Report,
): number[] {
  const out: number[] = [];
  ids.forEach((id, i) => {
    const idx = popIndex.get(id);
    if (idx === undefined) report([...path, i], `unknown PoP "${id}"${didYouMean(id, popIndex.keys())}`);
    else if (out.includes(idx)) report([...path, i], `PoP "${id}" listed twice`);
    else out.push(idx);
  });
  return out;
}

function keyedMap(
  entries: Record<string, string[]>,
  normalise: (key: string) => string | null,
  what: string,
  popIndex: ReadonlyMap<string, number>,
  path: ReadonlyArray<string | number>,
  report: Report,
): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const [key, ids] of Object.entries(entries)) {
    const norm = normalise(key);
    if (norm === null) {
      report([...path, key], `"${key}" is not a valid ${what}`, true);
      continue;
    }
    if (map.has(norm)) report([...path, key], `duplicate ${what} "${key}"`, true);
    map.set(norm, resolvePops(ids, popIndex, [...path, key], report));
  }
  return map;
}

const normCountry = (k: string) => (/^[A-Za-z]{2}$/.test(k) ? k.toUpperCase() : null);
const normContinent = (k: string) => (CONTINENT_CODES.includes(k.toUpperCase()) ? k.toUpperCase() : null);
/** Subdivision keys: "US-CA" (ISO code) or "US-California" (name, as DB-IP has it); case-insensitive. */
const normSubdivision = (k: string) => (/^[A-Za-z]{2}-.+$/.test(k) ? k.toLowerCase() : null);

function buildStep(
  step: StepConfig,
  stepIndex: number,
  overlay: PrefixOverlay,
  allPops: number[],
  popIndex: ReadonlyMap<string, number>,
  path: ReadonlyArray<string | number>,
  report: Report,
): Step | null {
  if ('cidr' in step) {
    let count = 0;
    for (const [text, ids] of Object.entries(step.cidr)) {
      try {
        const prefix = parsePrefix(text);
        const pops = resolvePops(ids, popIndex, [...path, 'cidr', text], report);
        overlay.insert(prefix, formatPrefix(prefix), { kind: 'cidr', step: stepIndex, pops });
        count++;
      } catch (err) {
        report([...path, 'cidr', text], (err as Error).message, true);
      }
    }
    return { kind: 'cidr', count };
  }
  if ('asn' in step) {
    const map = new Map<number, number[]>();
    for (const [text, ids] of Object.entries(step.asn)) {
      const m = /^(?:AS)?(\d{1,10})$/i.exec(text);
      const asn = m ? Number(m[1]) : NaN;
      if (!m || asn < 1 || asn > 4294967295) {
        report([...path, 'asn', text], `"${text}" is not an AS number (1-4294967295, optionally "AS" prefixed)`, true);
        continue;
      }
      map.set(asn, resolvePops(ids, popIndex, [...path, 'asn', text], report));
    }
    return { kind: 'asn', map };
  }
  if ('subdivision' in step) {
    return {
      kind: 'subdivision',
      map: keyedMap(
        step.subdivision,
        normSubdivision,
        'subdivision (CC-CODE or CC-Name)',
        popIndex,
        [...path, 'subdivision'],
        report,
      ),
    };
  }
  if ('country' in step) {
    return {
      kind: 'country',
      map: keyedMap(step.country, normCountry, 'ISO country code', popIndex, [...path, 'country'], report),
    };
  }
  if ('continent' in step) {
    return {
      kind: 'continent',
      map: keyedMap(
        step.continent,
        normContinent,
        `continent code (${CONTINENT_CODES.join(' ')})`,
        popIndex,
        [...path, 'continent'],
        report,
      ),
    };
  }
  if ('nearest' in step) {
    const ids = step.nearest?.pops;
    return { kind: 'nearest', pops: ids ? resolvePops(ids, popIndex, [...path, 'nearest', 'pops'], report) : allPops };
  }
  const lat = step.latency;
  return {
    kind: 'latency',
    pops: lat?.pops ? resolvePops(lat.pops, popIndex, [...path, 'latency', 'pops'], report) : allPops,
    toleranceMs: lat?.tolerance_ms ?? 0,
    tolerancePct: lat?.tolerance_pct ?? 0,
  };
}

/** Build the rule tables of policy `name`. Problems go to `report`; the result is usable only if none were reported. */
export function buildRuleTables(
  name: string,
  policy: PolicyConfig,
  pops: readonly PopInfo[],
  path: ReadonlyArray<string | number>,
  report: Report,
): RuleTables {
  const popIndex = new Map(pops.map((p, i) => [p.id, i]));
  const allPops = pops.map((_, i) => i);
  const overlay = new PrefixOverlay();
  const steps: Step[] = [];
  policy.steps.forEach((step, i) => {
    const built = buildStep(step, i, overlay, allPops, popIndex, [...path, 'steps', i], report);
    if (built) steps.push(built);
  });
  const fallback = policy.fallback ? resolvePops(policy.fallback, popIndex, [...path, 'fallback'], report) : allPops;
  if (pops.length === 0) report(path, 'no PoPs are defined');
  return {
    name,
    candidates: policy.candidates,
    steps,
    fallback,
    overlay,
    spillGranularity4: policy.spill_granularity_v4,
    spillGranularity6: policy.spill_granularity_v6,
  };
}
