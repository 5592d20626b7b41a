/**
 * buildRuleTables: a policy's config becomes steps of PoP indices; every bad
 * cross-reference is reported with its config path and the rest still builds.
 */
import { describe, expect, it } from 'vitest';
import type { StepConfig } from '../../../src/build/config/schema.js';
import { POP_IDS, policy, tablesFor, TEST_POP_INFOS } from './support.js';

const idx = (...ids: string[]) => ids.map((id) => POP_IDS.indexOf(id));

describe('buildRuleTables: a valid policy', () => {
  it('turns every step kind into PoP indices, in order', () => {
    const { tables, issues } = tablesFor(
      policy(
        [
          { cidr: { '192.0.2.0/24': ['syd'], '2001:db8::/32': ['gru', 'jnb'] } },
          { asn: { AS64500: ['fra'], '64510': ['nyc', 'sfo'], as64520: ['tyo'] } },
          { subdivision: { 'US-CA': ['sfo'], 'de-Hesse': ['fra'] } },
          { country: { de: ['fra', 'lon'], AU: ['syd'] } },
          { continent: { oc: ['syd'], SA: ['gru'] } },
          { nearest: { pops: ['lon', 'fra'] } },
          { nearest: null },
          { latency: { tolerance_ms: 5, tolerance_pct: 10 } },
          { latency: null },
        ],
        { candidates: 2, fallback: ['nyc', 'fra'] },
      ),
    );
    expect(issues).toEqual([]);
    expect(tables.name).toBe('p');
    expect(tables.candidates).toBe(2);
    expect(tables.fallback).toEqual(idx('nyc', 'fra'));
    expect(tables.spillGranularity4).toBe(20);
    expect(tables.spillGranularity6).toBe(40);
    expect(tables.steps.map((s) => s.kind)).toEqual([
      'cidr',
      'asn',
      'subdivision',
      'country',
      'continent',
      'nearest',
      'nearest',
      'latency',
      'latency',
    ]);
    const [cidrStep, asn, sub, country, continent, nearest, nearestAll, latency, latencyAll] = tables.steps;
    expect(cidrStep).toEqual({ kind: 'cidr', count: 2 });
    expect(tables.overlay.size).toBe(2);
    expect(asn).toEqual({
      kind: 'asn',
      map: new Map([
        [64500, idx('fra')],
        [64510, idx('nyc', 'sfo')],
        [64520, idx('tyo')],
      ]),
    });
    // Subdivision keys are case-insensitive: stored lower-case.
    expect(sub).toEqual({
      kind: 'subdivision',
      map: new Map([
        ['us-ca', idx('sfo')],
        ['de-hesse', idx('fra')],
      ]),
    });
    // Country and continent codes upper-cased.
    expect(country).toEqual({
      kind: 'country',
      map: new Map([
        ['DE', idx('fra', 'lon')],
        ['AU', idx('syd')],
      ]),
    });
    expect(continent).toEqual({
      kind: 'continent',
      map: new Map([
        ['OC', idx('syd')],
        ['SA', idx('gru')],
      ]),
    });
    expect(nearest).toEqual({ kind: 'nearest', pops: idx('lon', 'fra') });
    expect(nearestAll).toEqual({ kind: 'nearest', pops: TEST_POP_INFOS.map((_, i) => i) });
    expect(latency).toEqual({
      kind: 'latency',
      pops: TEST_POP_INFOS.map((_, i) => i),
      toleranceMs: 5,
      tolerancePct: 10,
    });
    expect(latencyAll).toEqual({
      kind: 'latency',
      pops: TEST_POP_INFOS.map((_, i) => i),
      toleranceMs: 0,
      tolerancePct: 0,
    });
  });

  it('without a fallback, every PoP in config order is the fallback', () => {
    const { tables, issues } = tablesFor(policy([{ nearest: {} }]));
    expect(issues).toEqual([]);
    expect(tables.fallback).toEqual(TEST_POP_INFOS.map((_, i) => i));
  });

  it('CIDR rules go into the overlay with their step index and normalised prefix text', () => {
    const { tables } = tablesFor(
      policy([
        { country: { DE: ['fra'] } },
        { cidr: { '2001:DB8:0:0::/48': ['lon'] } },
        { cidr: { '10.0.0.0/8': ['syd'] } },
      ]),
    );
    const v6 = tables.overlay.markFor(6, Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 1, ...new Array(9).fill(0)]));
    expect([...tables.overlay.contextOf(v6).cidr]).toEqual([[1, { pops: idx('lon'), prefix: '2001:db8::/48' }]]);
    const v4 = tables.overlay.markFor(4, Uint8Array.from([10, 1, 2, 3]));
    expect([...tables.overlay.contextOf(v4).cidr]).toEqual([[2, { pops: idx('syd'), prefix: '10.0.0.0/8' }]]);
  });
});

describe('buildRuleTables: problems are reported with their config path', () => {
  const at = (...path: Array<string | number>) => ['policies', 'p', ...path];

  it.each<[string, StepConfig[], { fallback?: string[] }, Array<[Array<string | number>, RegExp]>]>([
    [
      'an unknown PoP in a country rule',
      [{ country: { DE: ['fra', 'ams'] } }],
      {},
      [[at('steps', 0, 'country', 'DE', 1), /unknown PoP "ams"/]],
    ],
    [
      'an unknown PoP in nearest.pops',
      [{ country: { DE: ['fra'] } }, { nearest: { pops: ['lon', 'xyz'] } }],
      {},
      [[at('steps', 1, 'nearest', 'pops', 1), /unknown PoP "xyz"/]],
    ],
    [
      'an unknown PoP in latency.pops',
      [{ latency: { pops: ['nope'], tolerance_ms: 0, tolerance_pct: 0 } }],
      {},
      [[at('steps', 0, 'latency', 'pops', 0), /unknown PoP "nope"/]],
    ],
    [
      'an unknown PoP in a CIDR rule',
      [{ cidr: { '10.0.0.0/8': ['syd', 'mars'] } }],
      {},
      [[at('steps', 0, 'cidr', '10.0.0.0/8', 1), /unknown PoP "mars"/]],
    ],
    [
      'an unknown PoP in an ASN rule',
      [{ asn: { AS1: ['fra', 'atl'] } }],
      {},
      [[at('steps', 0, 'asn', 'AS1', 1), /unknown PoP "atl"/]],
    ],
    [
      'an unknown PoP in a subdivision rule',
      [{ subdivision: { 'US-CA': ['lax'] } }],
      {},
      [[at('steps', 0, 'subdivision', 'US-CA', 0), /unknown PoP "lax"/]],
    ],
    [
      'an unknown PoP in a continent rule',
      [{ continent: { EU: ['ams'] } }],
      {},
      [[at('steps', 0, 'continent', 'EU', 0), /unknown PoP "ams"/]],
    ],
    [
      'an unknown PoP in the fallback',
      [{ nearest: {} }],
      { fallback: ['fra', 'zzz'] },
      [[at('fallback', 1), /unknown PoP "zzz"/]],
    ],
    [
      'a PoP listed twice',
      [{ country: { DE: ['fra', 'lon', 'fra'] } }],
      {},
      [[at('steps', 0, 'country', 'DE', 2), /PoP "fra" listed twice/]],
    ],
    [
      'a CIDR with host bits set',
      [{ cidr: { '10.0.0.1/8': ['syd'] } }],
      {},
      [[at('steps', 0, 'cidr', '10.0.0.1/8'), /host bits set/]],
    ],
    [
      'a CIDR with a bad length',
      [{ cidr: { '10.0.0.0/33': ['syd'] } }],
      {},
      [[at('steps', 0, 'cidr', '10.0.0.0/33'), /prefix length must be 0-32/]],
    ],
    [
      'an IPv6 CIDR with a bad length',
      [{ cidr: { '2001:db8::/129': ['syd'] } }],
      {},
      [[at('steps', 0, 'cidr', '2001:db8::/129'), /prefix length must be 0-128/]],
    ],
    [
      'a CIDR that is not an address',
      [{ cidr: { 'example.net/24': ['syd'] } }],
      {},
      [[at('steps', 0, 'cidr', 'example.net/24'), /not an IPv4 or IPv6 prefix/]],
    ],
    ['AS0', [{ asn: { AS0: ['fra'] } }], {}, [[at('steps', 0, 'asn', 'AS0'), /not an AS number/]]],
    [
      'an AS number above 32 bits',
      [{ asn: { '4294967296': ['fra'] } }],
      {},
      [[at('steps', 0, 'asn', '4294967296'), /not an AS number/]],
    ],
    ['a non-numeric ASN', [{ asn: { ASX: ['fra'] } }], {}, [[at('steps', 0, 'asn', 'ASX'), /not an AS number/]]],
    ['a negative ASN', [{ asn: { 'AS-1': ['fra'] } }], {}, [[at('steps', 0, 'asn', 'AS-1'), /not an AS number/]]],
    [
      'a three-letter country',
      [{ country: { DEU: ['fra'] } }],
      {},
      [[at('steps', 0, 'country', 'DEU'), /"DEU" is not a valid ISO country code/]],
    ],
    [
      'a country with a digit',
      [{ country: { D1: ['fra'] } }],
      {},
      [[at('steps', 0, 'country', 'D1'), /not a valid ISO country code/]],
    ],
    [
      'an empty country',
      [{ country: { '': ['fra'] } }],
      {},
      [[at('steps', 0, 'country', ''), /not a valid ISO country code/]],
    ],
    [
      'the same country twice (case-insensitive)',
      [{ country: { de: ['fra'], DE: ['lon'] } }],
      {},
      [[at('steps', 0, 'country', 'DE'), /duplicate ISO country code "DE"/]],
    ],
    [
      'an unknown continent',
      [{ continent: { XX: ['fra'] } }],
      {},
      [[at('steps', 0, 'continent', 'XX'), /not a valid continent code/]],
    ],
    [
      'a subdivision without a country',
      [{ subdivision: { California: ['sfo'] } }],
      {},
      [[at('steps', 0, 'subdivision', 'California'), /not a valid subdivision/]],
    ],
    [
      'a subdivision with a 3-letter country',
      [{ subdivision: { 'USA-CA': ['sfo'] } }],
      {},
      [[at('steps', 0, 'subdivision', 'USA-CA'), /not a valid subdivision/]],
    ],
  ])('%s', (_what, steps, o, expected) => {
    const { issues } = tablesFor(policy(steps, o));
    expect(issues.map((i) => i.path)).toEqual(expected.map(([p]) => p));
    issues.forEach((issue, i) => expect(issue.message).toMatch(expected[i][1]));
  });

  it('reports every problem, not just the first, and keeps the valid parts', () => {
    const { tables, issues } = tablesFor(
      policy(
        [
          { cidr: { '10.0.0.1/8': ['syd'], '10.1.0.0/16': ['gru', 'nope'] } },
          { country: { DEU: ['fra'], AU: ['syd'] } },
        ],
        { fallback: ['x'] },
      ),
    );
    expect(issues.map((i) => i.path)).toEqual([
      ['policies', 'p', 'steps', 0, 'cidr', '10.0.0.1/8'],
      ['policies', 'p', 'steps', 0, 'cidr', '10.1.0.0/16', 1],
      ['policies', 'p', 'steps', 1, 'country', 'DEU'],
      ['policies', 'p', 'fallback', 0],
    ]);
    expect(tables.steps[0]).toEqual({ kind: 'cidr', count: 1 });
    expect(tables.steps[1]).toEqual({ kind: 'country', map: new Map([['AU', idx('syd')]]) });
  });

  it('a policy with no PoPs is reported at the policy path', () => {
    const { issues } = tablesFor(policy([{ nearest: {} }]), []);
    expect(issues).toEqual([{ path: ['policies', 'p'], message: 'no PoPs are defined' }]);
  });
});
