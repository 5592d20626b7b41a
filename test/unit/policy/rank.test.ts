/**
 * rankClient on hand-made client facts: the first step that applies decides
 * (in config order), CIDR rules through the overlay, subdivision by ISO code
 * or by name, nearest ordering with ties by PoP index, fallback, the K cut,
 * and the detail explain reads. Also the latency step's tolerance groups.
 */
import { describe, expect, it } from 'vitest';
import { FIXTURE_PLACES } from '../../../geo-data/fixture-networks.js';
import type { StepConfig } from '../../../src/build/config/schema.js';
import { distanceKm, modelledRttMs } from '../../../src/geo/distance.js';
import { UNKNOWN_LOCATION, type GeoLocation } from '../../../src/geo/location.js';
import { parsePrefix } from '../../../src/net/ip.js';
import { EMPTY_CONTEXT } from '../../../src/policy/overlay.js';
import {
  groupByTolerance,
  rankClient,
  rttFor,
  type Candidate,
  type ClientFacts,
  type LatencyRows,
} from '../../../src/policy/rank.js';
import type { PopInfo, RuleTables } from '../../../src/policy/rules.js';
import { POP_IDS, policy, referenceNearest, tablesFor, TEST_POP_INFOS } from './support.js';
import { at } from './support.js';

const countryOnly = (country: string, continent: string | null): GeoLocation => ({
  ...UNKNOWN_LOCATION,
  country,
  continent,
});

function build(
  steps: StepConfig[],
  o: { candidates?: number; fallback?: string[] } = {},
  pops: PopInfo[] = TEST_POP_INFOS,
): RuleTables {
  const { tables, issues } = tablesFor(policy(steps, o), pops);
  expect(issues).toEqual([]);
  return tables;
}

/** Facts for a client address (the overlay context for CIDR rules) at a location. */
function facts(t: RuleTables, loc: GeoLocation, address?: string, asn = 0): ClientFacts {
  if (!address) return { loc, asn, ctx: EMPTY_CONTEXT };
  const p = parsePrefix(address);
  return { loc, asn, ctx: t.overlay.contextOf(t.overlay.markFor(p.family, p.bytes)) };
}

const ids = (pops: number[], list: readonly PopInfo[] = TEST_POP_INFOS) => pops.map((i) => list[i].id);

function rank(t: RuleTables, f: ClientFacts, pops: PopInfo[] = TEST_POP_INFOS) {
  const r = rankClient(t, pops, f, null);
  return { pops: ids(r.pops, pops), step: r.step, kind: r.kind, matched: r.matched };
}

describe('rankClient: precedence', () => {
  const t = build(
    [
      { cidr: { '6.0.0.0/16': ['gru'], '6.0.128.0/17': ['lon', 'fra'], '2401::/16': ['jnb'] } },
      { asn: { AS64530: ['nyc'] } },
      { subdivision: { 'AU-NSW': ['tyo'] } },
      { country: { AU: ['sfo'] } },
      { continent: { OC: ['fra'] } },
      { nearest: {} },
    ],
    { fallback: ['lon'] },
  );
  const sydney = at('syd');

  it.each<[string, ClientFacts, { pops: string[]; step: number; kind: string; matched: string }]>([
    [
      'a CIDR rule beats every later step',
      facts(t, sydney, '6.0.1.1', 64530),
      { pops: ['gru'], step: 0, kind: 'cidr', matched: '6.0.0.0/16' },
    ],
    [
      'the most specific CIDR rule of a step wins',
      facts(t, sydney, '6.0.200.1', 64530),
      { pops: ['lon', 'fra'], step: 0, kind: 'cidr', matched: '6.0.128.0/17' },
    ],
    ['an IPv6 CIDR rule', facts(t, sydney, '2401::1'), { pops: ['jnb'], step: 0, kind: 'cidr', matched: '2401::/16' }],
    [
      'outside the CIDR rules: the ASN step',
      facts(t, sydney, '6.1.0.1', 64530),
      { pops: ['nyc'], step: 1, kind: 'asn', matched: 'AS64530' },
    ],
    [
      'an unlisted ASN falls through to the subdivision',
      facts(t, sydney, '6.1.0.1', 64999),
      { pops: ['tyo'], step: 2, kind: 'subdivision', matched: 'AU-NSW' },
    ],
    [
      'no subdivision: the country',
      facts(t, at('syd', { subdivisionCode: null, subdivisionName: null })),
      { pops: ['sfo'], step: 3, kind: 'country', matched: 'AU' },
    ],
    [
      'no country rule: the continent',
      facts(t, countryOnly('NZ', 'OC')),
      { pops: ['fra'], step: 4, kind: 'continent', matched: 'OC' },
    ],
    [
      'nothing keyed applies: nearest',
      facts(t, at('fra')),
      { pops: ['fra', 'lon', 'nyc'], step: 5, kind: 'nearest', matched: '' },
    ],
    [
      'no coordinates and no keyed rule: the fallback',
      facts(t, countryOnly('DE', 'EU')),
      { pops: ['lon'], step: -1, kind: 'fallback', matched: '' },
    ],
    [
      'nothing known at all: the fallback',
      facts(t, UNKNOWN_LOCATION),
      { pops: ['lon'], step: -1, kind: 'fallback', matched: '' },
    ],
  ])('%s', (_what, f, expected) => {
    expect(rank(t, f)).toEqual(expected);
  });

  it('steps are evaluated in config order: a country step before nearest wins, after nearest it never applies', () => {
    const countryFirst = build([{ country: { DE: ['syd'] } }, { nearest: {} }]);
    const nearestFirst = build([{ nearest: {} }, { country: { DE: ['syd'] } }]);
    expect(rank(countryFirst, facts(countryFirst, at('fra')))).toMatchObject({ pops: ['syd'], kind: 'country' });
    expect(rank(nearestFirst, facts(nearestFirst, at('fra')))).toMatchObject({
      pops: ['fra', 'lon', 'nyc'],
      kind: 'nearest',
    });
    // ...unless nearest cannot apply (no coordinates): then the later country step does.
    expect(rank(nearestFirst, facts(nearestFirst, countryOnly('DE', 'EU')))).toMatchObject({
      pops: ['syd'],
      step: 1,
      kind: 'country',
    });
  });

  it('a CIDR step after a country step only decides for clients the country step leaves', () => {
    const t2 = build([{ country: { AU: ['jnb'] } }, { cidr: { '6.0.0.0/8': ['gru'] } }, { nearest: {} }]);
    expect(rank(t2, facts(t2, sydney, '6.0.0.1'))).toMatchObject({ pops: ['jnb'], step: 0 });
    expect(rank(t2, facts(t2, at('tyo'), '6.0.0.1'))).toMatchObject({ pops: ['gru'], step: 1, matched: '6.0.0.0/8' });
  });

  it('two CIDR steps: each keeps its own rules (the first step that matches decides)', () => {
    const t2 = build([{ cidr: { '10.0.0.0/8': ['syd'] } }, { nearest: {} }, { cidr: { '10.1.0.0/16': ['gru'] } }]);
    // The more specific rule belongs to a later step: the earlier step still decides.
    expect(rank(t2, facts(t2, at('fra'), '10.1.0.1'))).toMatchObject({ pops: ['syd'], step: 0, matched: '10.0.0.0/8' });
    // Unlocated client in 10.1/16 with the first step removed by ordering: the later cidr step.
    const t3 = build([{ nearest: {} }, { cidr: { '10.1.0.0/16': ['gru'] } }]);
    expect(rank(t3, facts(t3, UNKNOWN_LOCATION, '10.1.0.1'))).toMatchObject({ pops: ['gru'], step: 1, kind: 'cidr' });
  });

  it('a keyed rule whose PoPs are all unknown does not decide (the next step does)', () => {
    const { tables, issues } = tablesFor(policy([{ country: { DE: ['nowhere'] } }, { nearest: {} }]));
    expect(issues).toHaveLength(1);
    expect(rank(tables, facts(tables, at('fra')))).toMatchObject({ kind: 'nearest', pops: ['fra', 'lon', 'nyc'] });
  });
});

describe('rankClient: subdivisions, countries, continents, ASNs', () => {
  it.each<[string, GeoLocation, string[], string]>([
    ['GeoIP2 ISO code', at('sfo'), ['sfo'], 'US-CA'],
    ['DB-IP name (no ISO code)', at('sfo', { subdivisionCode: null }), ['nyc'], 'us-california'],
    ['a numeric ISO code (Tokyo 13)', at('tyo'), ['tyo'], 'JP-13'],
    ['name with different case', { ...countryOnly('DE', 'EU'), subdivisionName: 'BAVARIA' }, ['fra'], 'de-bavaria'],
  ])('%s', (_what, loc, pops, matched) => {
    const t = build(
      [{ subdivision: { 'us-ca': ['sfo'], 'US-California': ['nyc'], 'JP-13': ['tyo'], 'DE-Bavaria': ['fra'] } }],
      { fallback: ['gru'] },
    );
    expect(rank(t, facts(t, loc))).toEqual({ pops, step: 0, kind: 'subdivision', matched });
  });

  it('the ISO code takes precedence over the name; the key needs the client country', () => {
    const t = build([{ subdivision: { 'US-CA': ['sfo'], 'US-California': ['nyc'], 'GB-CA': ['lon'] } }], {
      fallback: ['gru'],
    });
    expect(rank(t, facts(t, at('sfo'))).pops).toEqual(['sfo']);
    // Same subdivision code in another country: no match.
    expect(rank(t, facts(t, at('sfo', { country: 'MX' }))).pops).toEqual(['gru']);
    // No country at all: subdivisions cannot match.
    expect(rank(t, facts(t, at('sfo', { country: null }))).pops).toEqual(['gru']);
  });

  it('country and continent keys match the client codes; unlisted ones fall through', () => {
    const t = build([{ country: { BR: ['gru'] } }, { continent: { AF: ['jnb'], AS: ['tyo'] } }], { fallback: ['fra'] });
    expect(rank(t, facts(t, at('gru')))).toMatchObject({ pops: ['gru'], matched: 'BR' });
    expect(rank(t, facts(t, at('jnb')))).toMatchObject({ pops: ['jnb'], matched: 'AF' });
    expect(rank(t, facts(t, at('bom')))).toMatchObject({ pops: ['tyo'], matched: 'AS' });
    expect(rank(t, facts(t, at('lon')))).toMatchObject({ pops: ['fra'], kind: 'fallback' });
  });

  it('an ASN rule needs a known AS number (0 = unknown)', () => {
    const t = build([{ asn: { '64500': ['syd'] } }], { fallback: ['fra'] });
    expect(rank(t, facts(t, UNKNOWN_LOCATION, undefined, 64500))).toEqual({
      pops: ['syd'],
      step: 0,
      kind: 'asn',
      matched: 'AS64500',
    });
    expect(rank(t, facts(t, UNKNOWN_LOCATION, undefined, 64501)).kind).toBe('fallback');
    expect(rank(t, facts(t, UNKNOWN_LOCATION, undefined, 0)).kind).toBe('fallback');
  });
});

describe('rankClient: nearest', () => {
  const t = build([{ nearest: {} }], { candidates: 8 });

  it.each(Object.keys(FIXTURE_PLACES))('from %s: PoPs by great-circle distance', (place) => {
    const p = FIXTURE_PLACES[place];
    expect(rank(t, facts(t, at(place))).pops).toEqual(referenceNearest(p.latitude, p.longitude, 8));
  });

  it.each([
    ['fra', ['fra', 'lon', 'nyc']],
    ['par', ['lon', 'fra', 'nyc']],
    ['syd', ['syd', 'tyo', 'jnb']],
    ['sea', ['sfo', 'nyc', 'lon']],
    ['bom', ['fra', 'tyo', 'jnb']],
    ['gru', ['gru', 'jnb', 'nyc']],
  ])('from %s the first three are %j', (place, pops) => {
    const t3 = build([{ nearest: {} }]);
    expect(rank(t3, facts(t3, at(place))).pops).toEqual(pops);
  });

  it('ties are broken by PoP index, not by list order', () => {
    const twins: PopInfo[] = [
      { id: 'a', lat: 10, lon: 10, weight: 1, spill: 0 },
      { id: 'b', lat: 0, lon: 10, weight: 1, spill: 0 },
      { id: 'c', lat: 0, lon: -10, weight: 1, spill: 0 },
      { id: 'd', lat: 10, lon: 10, weight: 1, spill: 0 },
    ];
    const mk = (steps: StepConfig[]) => {
      const { tables, issues } = tablesFor(policy(steps, { candidates: 4 }), twins);
      expect(issues).toEqual([]);
      return tables;
    };
    // (0,0): b and c are exactly equidistant; a and d share a location.
    const origin: GeoLocation = { ...UNKNOWN_LOCATION, lat: 0, lon: 0 };
    for (const steps of [[{ nearest: {} }], [{ nearest: { pops: ['d', 'c', 'b', 'a'] } }]] as StepConfig[][]) {
      const tt = mk(steps);
      expect(rank(tt, facts(tt, origin), twins).pops).toEqual(['b', 'c', 'a', 'd']);
    }
    const onTwins: GeoLocation = { ...UNKNOWN_LOCATION, lat: 10, lon: 10 };
    const tt = mk([{ nearest: { pops: ['d', 'a'] } }]);
    expect(rank(tt, facts(tt, onTwins), twins).pops).toEqual(['a', 'd']);
  });

  it('nearest.pops restricts the candidates', () => {
    const tt = build([{ nearest: { pops: ['syd', 'gru', 'lon'] } }]);
    expect(rank(tt, facts(tt, at('fra'))).pops).toEqual(['lon', 'gru', 'syd']);
  });

  it('a client without coordinates skips nearest: the next step, else the fallback', () => {
    const tt = build([{ nearest: {} }, { country: { DE: ['jnb'] } }], { fallback: ['gru', 'syd'] });
    expect(rank(tt, facts(tt, countryOnly('DE', 'EU')))).toMatchObject({ pops: ['jnb'], step: 1 });
    expect(rank(tt, facts(tt, countryOnly('FR', 'EU')))).toMatchObject({
      pops: ['gru', 'syd'],
      step: -1,
      kind: 'fallback',
    });
    // A latitude without a longitude (or NaN) is no location either.
    expect(rank(tt, facts(tt, { ...UNKNOWN_LOCATION, lat: 50 }))).toMatchObject({ kind: 'fallback' });
  });
});

describe('rankClient: the K cut', () => {
  it.each([1, 2, 3, 8])('K=%d cuts nearest, keyed lists and the fallback', (k) => {
    const t = build([{ country: { DE: ['lon', 'fra', 'nyc', 'sfo', 'tyo'] } }, { nearest: {} }], {
      candidates: k,
      fallback: POP_IDS.slice().reverse(),
    });
    expect(rank(t, facts(t, at('fra'))).pops).toEqual(['lon', 'fra', 'nyc', 'sfo', 'tyo'].slice(0, k));
    expect(rank(t, facts(t, at('syd'))).pops).toEqual(referenceNearest(-33.8688, 151.2093, k));
    expect(rank(t, facts(t, UNKNOWN_LOCATION)).pops).toEqual(POP_IDS.slice().reverse().slice(0, k));
  });
});

describe('rankClient: detail for explain', () => {
  it('nearest lists every candidate with distance and modelled RTT; the decision is still cut to K', () => {
    const t = build([{ nearest: {} }], { candidates: 2 });
    const loc = at('lon');
    const r = rankClient(t, TEST_POP_INFOS, facts(t, loc), null, true);
    expect(ids(r.pops)).toEqual(['lon', 'fra']);
    expect(r.candidates).toHaveLength(TEST_POP_INFOS.length);
    expect(ids(r.candidates!.map((c) => c.pop))).toEqual(referenceNearest(loc.lat, loc.lon, 8));
    for (const c of r.candidates!) {
      const p = TEST_POP_INFOS[c.pop];
      expect(c.distanceKm).toBeCloseTo(distanceKm(loc.lat, loc.lon, p.lat, p.lon), 9);
      expect(c.rttMs).toBeCloseTo(modelledRttMs(c.distanceKm, 1.5), 9);
      expect(c.rttSource).toBe('modelled');
    }
    // Without detail the ranking is the same.
    expect(rankClient(t, TEST_POP_INFOS, facts(t, loc), null, false)).toMatchObject({ pops: r.pops, candidates: null });
  });

  it('fallback candidates of an unlocated client have no distance and an unknown RTT', () => {
    const t = build([{ nearest: {} }], { fallback: ['fra', 'nyc'] });
    const r = rankClient(t, TEST_POP_INFOS, facts(t, UNKNOWN_LOCATION), null, true);
    expect(r.kind).toBe('fallback');
    expect(ids(r.candidates!.map((c) => c.pop))).toEqual(['fra', 'nyc']);
    for (const c of r.candidates!) {
      expect(Number.isNaN(c.distanceKm)).toBe(true);
      expect(c.rttMs).toBe(Infinity);
      expect(c.rttSource).toBe('unknown');
    }
  });
});

describe('latency step', () => {
  const rows = (o: Partial<LatencyRows> = {}): LatencyRows => ({
    byAsn: new Map(),
    byCountry: new Map(),
    pathInflation: 2,
    ...o,
  });
  const pop = (id: string) => POP_IDS.indexOf(id);

  it('without measurements ranks by modelled RTT (= nearest order)', () => {
    const t = build([{ latency: null }]);
    for (const place of ['fra', 'syd', 'sea', 'gru']) {
      const p = FIXTURE_PLACES[place];
      expect(rank(t, facts(t, at(place))).pops).toEqual(referenceNearest(p.latitude, p.longitude, 3));
    }
  });

  it('measured rows beat the model: ASN before country; the path inflation scales the model', () => {
    const r = rows({
      byAsn: new Map([[64500, new Map([[pop('syd'), 1]])]]),
      byCountry: new Map([
        [
          'DE',
          new Map([
            [pop('gru'), 2],
            [pop('syd'), 50],
          ]),
        ],
      ]),
    });
    const t = build([{ latency: null }]);
    const f = facts(t, at('fra'), undefined, 64500);
    expect(rttFor(pop('syd'), TEST_POP_INFOS[pop('syd')], f, r)).toEqual({ rttMs: 1, source: 'measured-asn' });
    expect(rttFor(pop('gru'), TEST_POP_INFOS[pop('gru')], f, r)).toEqual({ rttMs: 2, source: 'measured-country' });
    const m = rttFor(pop('lon'), TEST_POP_INFOS[pop('lon')], f, r);
    expect(m.source).toBe('modelled');
    expect(m.rttMs).toBeCloseTo(modelledRttMs(distanceKm(50.1109, 8.6821, 51.5072, -0.1276), 2), 9);
    // fra is 0 km away (modelled 0 ms), then the measured syd (1 ms) and gru (2 ms).
    expect(ids(rankClient(t, TEST_POP_INFOS, f, r).pops)).toEqual(['fra', 'syd', 'gru']);
    // From Sydney (no ASN row), the country row DE does not apply; syd is 0 ms away.
    expect(ids(rankClient(t, TEST_POP_INFOS, facts(t, at('syd')), r).pops)).toEqual(
      referenceNearest(-33.8688, 151.2093, 3),
    );
  });

  it('a latency step with no RTT for anyone (no coordinates, no rows) does not decide', () => {
    const t = build([{ latency: null }, { country: { DE: ['jnb'] } }], { fallback: ['nyc'] });
    expect(rank(t, facts(t, countryOnly('DE', 'EU')))).toMatchObject({ pops: ['jnb'], step: 1 });
  });

  it('groupByTolerance: PoPs within tolerance of the group best are equal, heaviest first', () => {
    const pops: PopInfo[] = ['a', 'b', 'c', 'd'].map((id, i) => ({
      id,
      lat: 0,
      lon: 0,
      weight: [1, 3, 2, 1][i],
      spill: 0,
    }));
    const c = (p: number, rtt: number): Candidate => ({
      pop: p,
      distanceKm: NaN,
      rttMs: rtt,
      rttSource: 'modelled',
      group: 0,
    });
    const cands = [c(0, 10), c(1, 14), c(2, 16), c(3, 40)];
    const byMs = groupByTolerance(cands, pops, 5, 0);
    expect(byMs.map((x) => [pops[x.pop].id, x.group])).toEqual([
      ['b', 0],
      ['a', 0],
      ['c', 1],
      ['d', 2],
    ]);
    const byPct = groupByTolerance(cands, pops, 0, 100);
    expect(byPct.map((x) => [pops[x.pop].id, x.group])).toEqual([
      ['b', 0],
      ['c', 0],
      ['a', 0],
      ['d', 1],
    ]);
    const none = groupByTolerance(cands, pops, 0, 0);
    expect(none.map((x) => pops[x.pop].id)).toEqual(['a', 'b', 'c', 'd']);
  });
});
