/**
 * DNSSEC metrics (docs/metrics.md#dnssec, docs/dnssec.md): what the data
 * planes signed on demand and kept in their caches (summed over processes,
 * per signed zone; `zone` is configured, so its values are few), and what
 * the running snapshot holds: static signatures, keys by state, the time to
 * the nearest signature expiry (the alert's input), the re-signing timer.
 */
import type { Snapshot } from '../build/snapshot.js';
import type { Labels, MetricSpec, Reading } from './metric-spec.js';

/** One signed zone's on-demand signing counters in one data plane (or summed over all). Plain values. */
export interface DnssecValues {
  zone: string;
  /** Signatures made by kind: [geo, denial, wildcard]. */
  made: number[];
  /** Geo answer sets signed on the query path (first use before the background got to them). */
  inlineGeo: number;
  /** UDP queries answered TC=1 past the signing budget. */
  budgetExceeded: number;
  /** Seconds spent signing on demand. */
  seconds: number;
  /** Cache counters: [hits, misses, evictions, entries] for the denial and the geo cache. */
  denial: number[];
  geo: number[];
  /** Earliest expiration of the signatures served, seconds since the epoch (min over planes). */
  expiresAt: number;
}

export const DNSSEC_KINDS = ['geo', 'denial', 'wildcard'] as const;

/** Sum the per-zone values of several data planes (expiry: the earliest). */
export function sumDnssec(lists: ReadonlyArray<readonly DnssecValues[] | undefined>): DnssecValues[] {
  const out = new Map<string, DnssecValues>();
  for (const list of lists)
    for (const v of list ?? []) {
      const o = out.get(v.zone);
      if (o === undefined) {
        out.set(v.zone, { ...v, made: [...v.made], denial: [...v.denial], geo: [...v.geo] });
        continue;
      }
      v.made.forEach((n, i) => (o.made[i] += n));
      v.denial.forEach((n, i) => (o.denial[i] += n));
      v.geo.forEach((n, i) => (o.geo[i] += n));
      o.inlineGeo += v.inlineGeo;
      o.budgetExceeded += v.budgetExceeded;
      o.seconds += v.seconds;
      o.expiresAt = Math.min(o.expiresAt, v.expiresAt);
    }
  return [...out.values()];
}

const zoneLabel = (z: string) => z || '.';

function* perZone(values: readonly DnssecValues[], f: (v: DnssecValues) => Iterable<readonly [Labels, number]>) {
  for (const v of values) yield* f(v);
}

const CACHES = ['denial', 'geo'] as const;

/** Metrics read from the data planes' collection (a `dnssec` list per scrape). */
export function dnssecPlaneMetrics<C extends { dnssec?: DnssecValues[] }>(): MetricSpec<C>[] {
  const of = (c: C) => c.dnssec ?? [];
  return [
    {
      name: 'meridian_dnssec_signatures_total',
      help: 'RRSIGs made on demand by the data planes, by zone and kind (geo answer sets, denials of names that do not exist, wildcard expansions).',
      type: 'counter',
      labels: ['zone', 'kind'],
      read: (c): Reading =>
        perZone(of(c), (v) => DNSSEC_KINDS.map((kind, i) => [{ zone: zoneLabel(v.zone), kind }, v.made[i]] as const)),
    },
    {
      name: 'meridian_dnssec_inline_geo_signatures_total',
      help: 'Geo answer sets signed on the query path because no background signature was ready (first use of a set): the counted fallback.',
      type: 'counter',
      labels: ['zone'],
      read: (c) => of(c).map((v) => [{ zone: zoneLabel(v.zone) }, v.inlineGeo] as const),
    },
    {
      name: 'meridian_dnssec_signing_budget_exceeded_total',
      help: "UDP queries answered TC=1 because the zone's per-name signing budget (dnssec.signing_budget) was spent: a random-subdomain flood.",
      type: 'counter',
      labels: ['zone'],
      read: (c) => of(c).map((v) => [{ zone: zoneLabel(v.zone) }, v.budgetExceeded] as const),
    },
    {
      name: 'meridian_dnssec_signing_seconds_total',
      help: 'Time the data planes spent signing on demand, by zone.',
      type: 'counter',
      labels: ['zone'],
      read: (c) => of(c).map((v) => [{ zone: zoneLabel(v.zone) }, v.seconds] as const),
    },
    {
      name: 'meridian_dnssec_cache_lookups_total',
      help: 'Lookups in the signature caches (denial: names that do not exist and wildcard expansions; geo: answer sets), by result.',
      type: 'counter',
      labels: ['zone', 'cache', 'result'],
      read: (c) =>
        perZone(of(c), (v) =>
          CACHES.flatMap((cache) => [
            [{ zone: zoneLabel(v.zone), cache, result: 'hit' }, v[cache][0]] as const,
            [{ zone: zoneLabel(v.zone), cache, result: 'miss' }, v[cache][1]] as const,
          ]),
        ),
    },
    {
      name: 'meridian_dnssec_cache_evictions_total',
      help: 'Entries evicted from a full signature cache (a random-subdomain flood shows here, memory stays bounded).',
      type: 'counter',
      labels: ['zone', 'cache'],
      read: (c) =>
        perZone(of(c), (v) => CACHES.map((cache) => [{ zone: zoneLabel(v.zone), cache }, v[cache][2]] as const)),
    },
    {
      name: 'meridian_dnssec_cache_entries',
      help: 'Entries in the signature caches, summed over processes.',
      type: 'gauge',
      labels: ['zone', 'cache'],
      read: (c) =>
        perZone(of(c), (v) => CACHES.map((cache) => [{ zone: zoneLabel(v.zone), cache }, v[cache][3]] as const)),
    },
    {
      name: 'meridian_dnssec_signature_expiry_seconds',
      help: 'Seconds until the earliest expiration of a signature being served, by zone (re-signing keeps it above the refresh time; alert when it falls below 3 days).',
      type: 'gauge',
      labels: ['zone'],
      read: (c) => of(c).map((v) => [{ zone: zoneLabel(v.zone) }, v.expiresAt - Date.now() / 1000] as const),
    },
  ];
}

/** Metrics read from the running snapshot and the re-signing timer. */
export function dnssecControlMetrics<
  S extends { snapshot(): Snapshot; resign?(): { ok: number; failed: number; nextAt: number | null } },
>(): MetricSpec<S>[] {
  const signed = (s: S) => (s.snapshot().dnssec ?? []).filter((z) => z !== null);
  return [
    {
      name: 'meridian_dnssec_static_signatures',
      help: 'RRSIGs in the running snapshot (every static RRset and NSEC, signed once at load or re-sign), by zone.',
      type: 'gauge',
      labels: ['zone'],
      read: (s) => signed(s).map((z) => [{ zone: zoneLabel(z.origin) }, z.signatures] as const),
    },
    {
      name: 'meridian_dnssec_static_signing_seconds',
      help: 'Time the last load or re-sign spent signing the static RRsets, by zone.',
      type: 'gauge',
      labels: ['zone'],
      read: (s) => signed(s).map((z) => [{ zone: zoneLabel(z.origin) }, z.signingSeconds] as const),
    },
    {
      name: 'meridian_dnssec_keys',
      help: 'Keys of each signed zone by state: published (in DNSKEY), signing, cds (in CDS/CDNSKEY).',
      type: 'gauge',
      labels: ['zone', 'state'],
      read: (s) =>
        signed(s).flatMap((z) =>
          (['published', 'signing', 'cds'] as const).map(
            (state) => [{ zone: zoneLabel(z.origin), state }, z.keys.filter((k) => k[state]).length] as const,
          ),
        ),
    },
    {
      name: 'meridian_dnssec_next_resign_timestamp_seconds',
      help: 'When the zones are signed again (the earliest refresh or key timing event), Unix seconds; absent without signed zones.',
      type: 'gauge',
      read: (s) => {
        const at = s.resign?.().nextAt ?? null;
        return at === null ? [] : at;
      },
    },
    {
      name: 'meridian_dnssec_resigns_total',
      help: 'Re-signing runs of the timer, by result (a failure keeps the running signatures and retries in 5 minutes).',
      type: 'counter',
      labels: ['result'],
      read: (s) => {
        const r = s.resign?.() ?? { ok: 0, failed: 0 };
        return [
          [{ result: 'ok' }, r.ok],
          [{ result: 'failure' }, r.failed],
        ] as const;
      },
    },
  ];
}
