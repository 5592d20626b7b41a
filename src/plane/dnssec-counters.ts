/**
 * A data plane's DNSSEC counters for the metrics (observability/dnssec-metrics.ts):
 * the running runtime's on-demand signing and cache counters plus those of
 * the runtimes it replaced (reloads and re-signs make new runtimes; the
 * counters must not go back).
 */
import type { Runtime } from '../build/runtime.js';
import type { DnssecValues } from '../observability/dnssec-metrics.js';
import { sumDnssec } from '../observability/dnssec-metrics.js';

/** One runtime's values, per signed zone. */
export function runtimeDnssecValues(rt: Runtime): DnssecValues[] {
  const signing = rt.dnssec;
  if (signing === null) return [];
  return signing.stats().map((s) => ({
    zone: s.zone,
    made: [...s.made],
    inlineGeo: s.inlineGeo,
    budgetExceeded: s.budgetExceeded,
    seconds: s.signingSeconds,
    denial: [s.denialCache.hits, s.denialCache.misses, s.denialCache.evictions, s.denialCache.entries],
    geo: [s.geoCache.hits, s.geoCache.misses, s.geoCache.evictions, s.geoCache.entries],
    expiresAt: s.expiresAt,
  }));
}

/** Counters kept from replaced runtimes: entries (a gauge) and expiry belong to the running one only. */
export function retireDnssec(retired: DnssecValues[], rt: Runtime): DnssecValues[] {
  const old = runtimeDnssecValues(rt).map((v) => ({
    ...v,
    denial: [v.denial[0], v.denial[1], v.denial[2], 0],
    geo: [v.geo[0], v.geo[1], v.geo[2], 0],
    expiresAt: Infinity,
  }));
  return sumDnssec([retired, old]);
}

/** The data plane's report: the running runtime's values plus the retired counters. */
export function planeDnssecValues(retired: readonly DnssecValues[], rt: Runtime): DnssecValues[] {
  const running = runtimeDnssecValues(rt);
  const zones = new Set(running.map((v) => v.zone));
  // A zone no longer signed keeps its counters but reports no expiry.
  return sumDnssec([running, retired.filter((v) => zones.has(v.zone) || v.expiresAt === Infinity)]);
}
