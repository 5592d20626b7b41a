/**
 * compilePolicy on the fixture databases: every fixture network gets its
 * expected decision, sibling leaves with equal decisions are merged (the leaf
 * depth is the widest sound scope), CIDR rules split the trie exactly where
 * they apply, unlocatable and country-only networks follow the fallback and
 * country rules, the DB-IP two-file layout decides like city.mmdb, and ASN
 * rules work, including an ASN tree deeper than the city tree.
 *
 * Every compiled trie is also checked leaf by leaf against the independent
 * oracle in support.ts (soundness and maximality of every leaf).
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_NETWORKS, FIXTURE_PLACES, fixtureFamily } from '../../../geo-data/fixture-networks.js';
import { writeMmdb } from '../../../geo-data/mmdb-writer.js';
import type { StepConfig } from '../../../src/build/config/schema.js';
import { openDatabases } from '../../../src/geo/open.js';
import { compilePolicy, type CompiledPolicy } from '../../../src/policy/compile.js';
import { CITY_DB, DBIP_V4 } from '../../helpers/configs.js';
import { tempDir } from '../../helpers/server.js';
import {
  addrOf,
  bigToBytes,
  cidr,
  compileFixture,
  contains,
  decisionPops,
  formatCidr,
  lastOf,
  nearestThenFallback,
  Oracle,
  policy,
  referenceNearest,
  tablesFor,
  TEST_POP_INFOS,
  trieDecisionsUnder,
  trieLeaves,
  trieLookup,
  verifyTrie,
  type Cidr,
  type DbLayout,
  type ReferencePolicy,
} from './support.js';

const NEAREST = policy([{ nearest: {} }], { fallback: ['fra', 'nyc'] });
const nearestRef: ReferencePolicy = { rank: nearestThenFallback(['fra', 'nyc']), candidates: 3 };

/** First, middle and last address of a fixture network, skipping nested networks. */
function probes(text: string): Array<{ family: 4 | 6; bytes: Uint8Array; addr: bigint }> {
  const c = cidr(text);
  const nested = FIXTURE_NETWORKS.map((n) => cidr(n.cidr)).filter(
    (o) => o.family === c.family && o.len > c.len && contains(c, o.base),
  );
  const last = lastOf(c);
  return [c.base, c.base + (last - c.base) / 2n, last]
    .filter((a) => !nested.some((o) => contains(o, a)))
    .map((a) => ({ family: c.family, addr: a, bytes: bigToBytes(a, c.family) }));
}

function lookupText(c: CompiledPolicy, address: string) {
  const { family, bytes } = addrOf(address);
  return trieLookup(c, family, bytes);
}

describe('compilePolicy: nearest on city.mmdb', () => {
  const compiled = compileFixture(NEAREST);

  it.each(FIXTURE_NETWORKS.map((n) => [n.cidr, n.place ?? '(none)'] as const))(
    '%s (%s) gets its nearest PoPs and the widest sound scope',
    (text, place) => {
      const family = fixtureFamily(text);
      const oracle = new Oracle(family, nearestRef);
      for (const p of probes(text)) {
        const got = trieLookup(compiled, family, p.bytes);
        if (place !== '(none)') {
          const pl = FIXTURE_PLACES[place];
          expect(got.decision, formatCidr({ family, base: p.addr, len: 0 })).toBe(
            referenceNearest(pl.latitude, pl.longitude, 3).join(','),
          );
        } else {
          expect(got.decision).toBe('fra,nyc');
        }
        expect(got.decision).toBe(oracle.decisionAt(p.addr).join(','));
        expect(got.depth).toBe(oracle.expectedScope(p.addr));
        // A scope is never wider than what the data allows, never narrower than the DB network it sits in
        // (the fixture city networks are all at most /16 in IPv4, and nothing more specific than the data).
        expect(got.depth).toBeLessThanOrEqual(family === 4 ? 32 : 128);
      }
    },
  );

  it('merges 1.0.0.0/16 fra, 1.1.0.0/16 muc, 1.2.0.0/15 fra and 1.4.0.0/14 ber (same decision) into one /13', () => {
    const ids = ['1.0.0.1', '1.1.200.1', '1.2.0.1', '1.3.255.255', '1.4.0.1', '1.7.255.255'].map((a) =>
      lookupText(compiled, a),
    );
    for (const r of ids) {
      expect(r.decision).toBe('fra,lon,nyc');
      expect(r.id).toBe(ids[0].id);
      expect(r.depth).toBe(13);
    }
    expect(ids[0].depth).toBeLessThan(16);
    // The rest of 1.0.0.0/8 has no data: fallback, a different decision.
    expect(lookupText(compiled, '1.8.0.1').decision).toBe('fra,nyc');
  });

  it('London inside Paris: same decision (lon,fra,nyc), so 2.0.0.0/8 is one leaf', () => {
    for (const a of ['2.0.0.1', '2.10.0.1', '2.10.255.255', '2.255.255.255'])
      expect(lookupText(compiled, a)).toMatchObject({ decision: 'lon,fra,nyc', depth: 8 });
  });

  it('New York and San Francisco halves of 3.0.0.0/8 stay apart at /9', () => {
    expect(lookupText(compiled, '3.0.0.1')).toMatchObject({ decision: 'nyc,sfo,lon', depth: 9 });
    expect(lookupText(compiled, '3.128.0.1')).toMatchObject({ decision: 'sfo,nyc,tyo', depth: 9 });
  });

  it('the unlocatable 12.0.0.0/16 and the country-only 11.0.0.0/16 get the fallback, merged with the no-data space around them', () => {
    for (const a of ['11.0.0.1', '12.0.0.1', '10.0.0.1', '13.0.0.1'])
      expect(lookupText(compiled, a).decision).toBe('fra,nyc');
    expect(lookupText(compiled, '12.0.0.1').depth).toBeLessThan(16);
    expect(lookupText(compiled, '11.0.0.1').depth).toBeLessThan(16);
    expect(lookupText(compiled, '11.0.0.1').id).toBe(lookupText(compiled, '12.0.0.1').id);
  });

  it('IPv6 networks and the IPv4 data city.mmdb keeps under ::/96 and ::ffff:0:0/96', () => {
    expect(lookupText(compiled, '2a01::1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 16 });
    expect(lookupText(compiled, '2401:ffff::1')).toMatchObject({ decision: 'syd,tyo,jnb', depth: 16 });
    expect(lookupText(compiled, '::1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 128 });
    expect(lookupText(compiled, '::ffff:6.0.0.1')).toMatchObject({ decision: 'syd,tyo,jnb', depth: 96 + 16 });
    expect(lookupText(compiled, '::6.0.0.1')).toMatchObject({ decision: 'syd,tyo,jnb', depth: 96 + 16 });
    expect(lookupText(compiled, '3fff::1').decision).toBe('fra,nyc');
  });

  it('the sibling of every leaf holds a different decision (walking the trie)', () => {
    for (const family of [4, 6] as const) {
      const trie = family === 4 ? compiled.v4 : compiled.v6;
      for (const { prefix, id } of trieLeaves(trie, family)) {
        if (prefix.len === 0) continue;
        const bytes = bigToBytes(prefix.base, family);
        // Flip the last bit of the prefix: the sibling subtree.
        const sib = Uint8Array.from(bytes);
        const bit = prefix.len - 1;
        sib[bit >> 3] ^= 0x80 >> (bit & 7);
        const under = trieDecisionsUnder(trie, sib, prefix.len);
        expect(under.size === 1 && under.has(id), `${formatCidr(prefix)} sibling is all decision ${id}`).toBe(false);
      }
    }
  });

  it('leaf by leaf against the oracle: sound and maximal (IPv4 and IPv6)', () => {
    expect(verifyTrie(compiled, 4, new Oracle(4, nearestRef))).toEqual([]);
    expect(verifyTrie(compiled, 6, new Oracle(6, nearestRef))).toEqual([]);
  });

  it('stats are consistent with the tries', () => {
    const s = compiled.stats;
    const leaves4 = trieLeaves(compiled.v4, 4);
    const leaves6 = trieLeaves(compiled.v6, 6);
    expect(s.leaves4).toBe(leaves4.length);
    expect(s.leaves6).toBe(leaves6.length);
    // A full binary trie: one more leaf than inner nodes.
    expect(s.nodes4).toBe(s.leaves4 - 1);
    expect(s.nodes6).toBe(s.leaves6 - 1);
    expect(compiled.v4.nodes.length).toBe(s.nodes4 * 2);
    // Merging only removes leaves: at least one database leaf per merged leaf
    // (the IPv6 trie also carries the IPv4 trie grafted at ::ffff:0:0/96).
    expect(s.networks4).toBeGreaterThanOrEqual(s.leaves4);
    expect(s.networks6 + s.leaves4).toBeGreaterThanOrEqual(s.leaves6);
    const used = new Set([...leaves4, ...leaves6].map((l) => l.id));
    expect(s.decisions).toBe(compiled.decisionCount);
    expect(used.size).toBe(compiled.decisionCount);
    expect(compiled.decisions.length).toBe(compiled.decisionCount * compiled.candidates);
    expect(s.ranked).toBeGreaterThanOrEqual(s.decisions);
    expect(s.compileMs).toBeGreaterThanOrEqual(0);
    expect(compiled.name).toBe('p');
    expect(compiled.candidates).toBe(3);
    // Distinct decisions: one per distinct nearest-3 list of the fixture places, plus the fallback.
    const lists = new Set(
      Object.values(FIXTURE_PLACES).map((p) => referenceNearest(p.latitude, p.longitude, 3).join(',')),
    );
    expect(compiled.decisionCount).toBe(lists.size + 1);
  });

  it('is deterministic: the same input compiles to the same trie', () => {
    const again = compileFixture(NEAREST);
    expect(again.v4).toEqual(compiled.v4);
    expect(again.v6).toEqual(compiled.v6);
    expect(again.decisions).toEqual(compiled.decisions);
  });

  it('K=1 merges more: every German network plus London/Paris split only where the first PoP changes', () => {
    const k1 = compileFixture(policy([{ nearest: {} }], { candidates: 1, fallback: ['fra', 'nyc'] }));
    const ref: ReferencePolicy = { rank: nearestThenFallback(['fra', 'nyc'], 1), candidates: 1 };
    expect(verifyTrie(k1, 4, new Oracle(4, ref))).toEqual([]);
    expect(verifyTrie(k1, 6, new Oracle(6, ref))).toEqual([]);
    expect(k1.stats.leaves4).toBeLessThanOrEqual(compiled.stats.leaves4);
    // The fallback [fra] now equals the German decision [fra]: 1.0.0.0/13 merges into the no-data space around it.
    expect(lookupText(k1, '1.0.0.1').depth).toBeLessThan(13);
  });
});

describe('compilePolicy: CIDR rules split the trie exactly where they apply', () => {
  const base = compileFixture(NEAREST);
  const rules = { '1.1.128.0/17': ['syd'], '2a01:db8::/32': ['tyo'] };
  const ruled = compileFixture(policy([{ cidr: rules }, { nearest: {} }], { fallback: ['fra', 'nyc'] }));
  const ref: ReferencePolicy = {
    ...nearestRef,
    cidrRules: Object.entries(rules).map(([prefix, pops]) => ({ prefix, pops })),
  };

  it('inside a rule narrower than the DB network: the rule decision, scope = the rule length', () => {
    expect(lookupText(ruled, '1.1.128.0')).toMatchObject({ decision: 'syd', depth: 17 });
    expect(lookupText(ruled, '1.1.255.255')).toMatchObject({ decision: 'syd', depth: 17 });
    expect(lookupText(ruled, '2a01:db8:ffff::1')).toMatchObject({ decision: 'tyo', depth: 32 });
  });

  it('the rest of the DB network keeps its decision with the scope the split leaves it', () => {
    expect(lookupText(ruled, '1.1.0.1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 17 });
    expect(lookupText(ruled, '1.0.0.1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 16 });
    expect(lookupText(ruled, '1.2.0.1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 15 });
    expect(lookupText(ruled, '1.4.0.1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 14 });
    expect(lookupText(ruled, '2a01::1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 21 });
    expect(lookupText(ruled, '2a01:db9::1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 32 });
    expect(lookupText(ruled, '2a01:8000::1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 17 });
  });

  it('nowhere else: outside the merged region around each rule the trie is unchanged', () => {
    // The IPv4 rules also reach into IPv6 where IPv4 is grafted: ::ffff:1.0.0.0/109.
    const regions = [cidr('1.0.0.0/13'), cidr('2a01::/16'), cidr('::ffff:100:0/109')];
    for (const family of [4, 6] as const) {
      const outside = (l: { prefix: Cidr }) =>
        !regions.some((r) => r.family === family && (contains(l.prefix, r.base) || contains(r, l.prefix.base)));
      const a = trieLeaves(family === 4 ? base.v4 : base.v6, family).filter(outside);
      const b = trieLeaves(family === 4 ? ruled.v4 : ruled.v6, family).filter(outside);
      expect(a.length).toBeGreaterThan(10);
      const show = (c: CompiledPolicy, ls: typeof a) =>
        ls.map((l) => `${formatCidr(l.prefix)} ${decisionPops(c, l.id).join(',')}`);
      expect(show(ruled, b)).toEqual(show(base, a));
    }
  });

  it('leaf by leaf against the oracle', () => {
    expect(verifyTrie(ruled, 4, new Oracle(4, ref))).toEqual([]);
    expect(verifyTrie(ruled, 6, new Oracle(6, ref))).toEqual([]);
  });

  it('a rule that repeats the decision around it is merged away (no split at all)', () => {
    const same = compileFixture(
      policy(
        [
          { cidr: { '2.5.0.0/16': ['lon', 'fra', 'nyc'], '2a02:1::/32': ['lon', 'fra', 'nyc', 'syd'] } },
          { nearest: {} },
        ],
        { fallback: ['fra', 'nyc'] },
      ),
    );
    expect(same.v4).toEqual(base.v4);
    expect(same.v6).toEqual(base.v6);
    expect(lookupText(same, '2.5.0.1')).toMatchObject({ decision: 'lon,fra,nyc', depth: 8 });
  });

  it('a rule wider than the DB network overrides it and the no-data space it covers', () => {
    const wide = { '6.0.0.0/12': ['jnb'], '2400::/15': ['gru'] };
    const c = compileFixture(policy([{ cidr: wide }, { nearest: {} }], { fallback: ['fra', 'nyc'] }));
    const r: ReferencePolicy = {
      ...nearestRef,
      cidrRules: Object.entries(wide).map(([prefix, pops]) => ({ prefix, pops })),
    };
    expect(lookupText(c, '6.0.0.1')).toMatchObject({ decision: 'jnb', depth: 12 });
    expect(lookupText(c, '6.15.0.1')).toMatchObject({ decision: 'jnb', depth: 12 });
    expect(lookupText(c, '2401::1')).toMatchObject({ decision: 'gru', depth: 15 });
    expect(verifyTrie(c, 4, new Oracle(4, r))).toEqual([]);
    expect(verifyTrie(c, 6, new Oracle(6, r))).toEqual([]);
  });

  it('nested rules and a host route', () => {
    const nested = { '5.0.0.0/8': ['gru'], '5.1.0.0/16': ['lon'], '5.1.2.3/32': ['jnb'], '::/0': ['sfo'] };
    const c = compileFixture(policy([{ cidr: nested }, { nearest: {} }], { fallback: ['fra', 'nyc'] }));
    const r: ReferencePolicy = {
      ...nearestRef,
      cidrRules: Object.entries(nested).map(([prefix, pops]) => ({ prefix, pops })),
    };
    expect(lookupText(c, '5.0.0.1').decision).toBe('gru');
    expect(lookupText(c, '5.1.2.3')).toMatchObject({ decision: 'jnb', depth: 32 });
    expect(lookupText(c, '5.1.2.2')).toMatchObject({ decision: 'lon', depth: 32 });
    // ::/0 covers IPv6 except ::ffff:0:0/96, which answers like IPv4: 2a01::/16 leaves
    // that path at its third bit, so its leaf is ::/0 cut to /3.
    expect(lookupText(c, '2a01::1')).toMatchObject({ decision: 'sfo', depth: 3 });
    expect(lookupText(c, '::ffff:5.1.2.3')).toMatchObject({ decision: 'jnb', depth: 128 });
    expect(verifyTrie(c, 4, new Oracle(4, r))).toEqual([]);
    expect(verifyTrie(c, 6, new Oracle(6, r))).toEqual([]);
  });
});

describe('compilePolicy: country rules and the country-only network', () => {
  const steps: StepConfig[] = [{ country: { DE: ['lon', 'syd'] } }, { nearest: {} }];
  const c = compileFixture(policy(steps, { fallback: ['gru'] }));
  const ref: ReferencePolicy = {
    candidates: 3,
    rank: (loc) =>
      loc?.country === 'DE'
        ? ['lon', 'syd']
        : loc && loc.lat !== null
          ? referenceNearest(loc.lat, loc.lon!, 3)
          : ['gru'],
  };

  it('11.0.0.0/16 (country DE, no coordinates) follows the DE rule like the placed German networks', () => {
    expect(lookupText(c, '11.0.0.1')).toMatchObject({ decision: 'lon,syd', depth: 16 });
    expect(lookupText(c, '11.0.0.1').id).toBe(lookupText(c, '1.0.0.1').id);
    expect(lookupText(c, '127.0.0.1').decision).toBe('lon,syd');
    expect(lookupText(c, '12.0.0.1').decision).toBe('gru');
    expect(lookupText(c, '2a01::1').decision).toBe('lon,syd');
  });

  it('leaf by leaf against the oracle', () => {
    expect(verifyTrie(c, 4, new Oracle(4, ref))).toEqual([]);
    expect(verifyTrie(c, 6, new Oracle(6, ref))).toEqual([]);
  });
});

describe('compilePolicy: the DB-IP two-file layout decides like city.mmdb', () => {
  const city = compileFixture(NEAREST, { layout: 'city' });
  const dbip = compileFixture(NEAREST, { layout: 'dbip' });

  it.each(FIXTURE_NETWORKS.map((n) => [n.cidr] as const))('%s', (text) => {
    for (const p of probes(text)) {
      const a = trieLookup(city, p.family, p.bytes);
      const b = trieLookup(dbip, p.family, p.bytes);
      expect(b.decision).toBe(a.decision);
      // The two layouts differ only around ::1 / 0.0.0.1 and ::/96 (IPv4 inside the IPv6 file).
      if (text !== '::1/128') expect(b.depth).toBe(a.depth);
    }
  });

  it.each<[DbLayout]>([['dbip']])('leaf by leaf against the oracle (%s layout)', (layout) => {
    expect(verifyTrie(dbip, 4, new Oracle(4, nearestRef, layout))).toEqual([]);
    expect(verifyTrie(dbip, 6, new Oracle(6, nearestRef, layout))).toEqual([]);
  });

  it('subdivision rules by name work on DB-IP (state1) and by ISO code on city.mmdb', () => {
    const byName = policy([{ subdivision: { 'DE-Bavaria': ['syd'], 'US-CA': ['gru'] } }, { nearest: {} }], {
      fallback: ['fra', 'nyc'],
    });
    const d = compileFixture(byName, { layout: 'dbip' });
    const g = compileFixture(byName, { layout: 'city' });
    expect(lookupText(d, '1.1.0.1').decision).toBe('syd');
    expect(lookupText(g, '1.1.0.1').decision).toBe('syd'); // GeoIP2 has the name too
    expect(lookupText(g, '3.128.0.1').decision).toBe('gru');
    expect(lookupText(d, '3.128.0.1').decision).toBe('sfo,nyc,tyo'); // DB-IP has no ISO code: US-CA never matches
  });

  it('continent rules work on DB-IP (continent derived from the country)', () => {
    const p = policy([{ continent: { OC: ['jnb'], SA: ['syd'] } }, { nearest: {} }], { fallback: ['fra', 'nyc'] });
    const d = compileFixture(p, { layout: 'dbip' });
    expect(lookupText(d, '6.0.0.1').decision).toBe('jnb');
    expect(lookupText(d, '2800::1').decision).toBe('syd');
    expect(lookupText(d, '1.0.0.1').decision).toBe('fra,lon,nyc');
  });
});

describe('compilePolicy: ASN rules', () => {
  const steps: StepConfig[] = [{ asn: { AS64500: ['syd'], '64599': ['jnb'] } }, { nearest: {} }];
  const c = compileFixture(policy(steps, { fallback: ['fra', 'nyc'] }), { asn: true });
  const ref: ReferencePolicy = {
    candidates: 3,
    rank: (loc, asn) =>
      asn === 64500 ? ['syd'] : asn === 64599 ? ['jnb'] : nearestThenFallback(['fra', 'nyc'])(loc, asn),
  };

  it('AS64500 networks go to syd, AS64599 (country-only, no coordinates) to jnb, others by distance', () => {
    for (const a of ['1.0.0.1', '1.1.0.1', '1.3.255.255', '2a01::1']) expect(lookupText(c, a).decision, a).toBe('syd');
    expect(lookupText(c, '1.0.0.1').depth).toBe(14); // 1.0.0.0/14 is all AS64500
    expect(lookupText(c, '1.4.0.1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 14 });
    expect(lookupText(c, '11.0.0.1')).toMatchObject({ decision: 'jnb', depth: 16 });
    expect(lookupText(c, '127.0.0.1').decision).toBe('fra,lon,nyc'); // no ASN
  });

  it('leaf by leaf against the oracle', () => {
    expect(verifyTrie(c, 4, new Oracle(4, ref, 'city', true))).toEqual([]);
    expect(verifyTrie(c, 6, new Oracle(6, ref, 'city', true))).toEqual([]);
  });

  describe('an ASN database more specific than the city database', () => {
    const dir = tempDir('meridian-asn-');
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'asn.mmdb');
    writeFileSync(
      file,
      writeMmdb({
        ipVersion: 6,
        recordSize: 24,
        databaseType: 'GeoLite2-ASN',
        buildEpoch: 1,
        ipv4Aliases: true,
        networks: [
          { cidr: '1.0.128.0/17', data: { autonomous_system_number: 65000 } },
          { cidr: '6.0.0.0/24', data: { autonomous_system_number: 65001 } },
          { cidr: '2a01:0:0:1::/64', data: { autonomous_system_number: 65000 } },
        ],
      }),
    );

    it('splits the city network where the ASN rule applies, and only there', () => {
      const { tables, issues } = tablesFor(
        policy([{ asn: { AS65000: ['gru'], AS65001: ['syd', 'tyo', 'jnb'] } }, { nearest: {} }], {
          fallback: ['fra', 'nyc'],
        }),
      );
      expect(issues).toEqual([]);
      const dbs = openDatabases([CITY_DB], file);
      const c2 = compilePolicy(tables, TEST_POP_INFOS, {
        city4: dbs.city4,
        city6: dbs.city6,
        asn4: dbs.asn4,
        asn6: dbs.asn6,
        latency: null,
      });
      expect(lookupText(c2, '1.0.128.1')).toMatchObject({ decision: 'gru', depth: 17 });
      expect(lookupText(c2, '1.0.0.1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 17 });
      expect(lookupText(c2, '1.1.0.1')).toMatchObject({ decision: 'fra,lon,nyc', depth: 16 });
      expect(lookupText(c2, '2a01:0:0:1::5')).toMatchObject({ decision: 'gru', depth: 64 });
      expect(lookupText(c2, '2a01:0:0:2::5')).toMatchObject({ decision: 'fra,lon,nyc', depth: 63 });
      // AS65001's rule repeats what nearest says for Sydney: no split at all.
      expect(lookupText(c2, '6.0.0.1')).toMatchObject({ decision: 'syd,tyo,jnb', depth: 16 });
      const base = compileFixture(NEAREST);
      const outside = (l: { prefix: Cidr }) =>
        !contains(cidr('1.0.0.0/13'), l.prefix.base) && !contains(l.prefix, cidr('1.0.0.0/13').base);
      expect(
        trieLeaves(c2.v4, 4)
          .filter(outside)
          .map((l) => formatCidr(l.prefix)),
      ).toEqual(
        trieLeaves(base.v4, 4)
          .filter(outside)
          .map((l) => formatCidr(l.prefix)),
      );
    });
  });
});

describe('compilePolicy: without a database for a family', () => {
  it('an IPv4-only configuration answers IPv6 clients with the fallback, except IPv4-mapped ones', () => {
    const { tables } = tablesFor(NEAREST);
    const dbs = openDatabases([DBIP_V4], null);
    const c = compilePolicy(tables, TEST_POP_INFOS, {
      city4: dbs.city4,
      city6: null,
      asn4: null,
      asn6: null,
      latency: null,
    });
    // 2a01::/16 leaves the path to ::ffff:0:0/96 at its third bit: the fallback leaf is /3.
    expect(lookupText(c, '2a01::1')).toMatchObject({ decision: 'fra,nyc', depth: 3 });
    // ::ffff:6.0.0.1 is the IPv4 client 6.0.0.1: the IPv4 trie is grafted there.
    expect(lookupText(c, '::ffff:6.0.0.1').decision).toBe('syd,tyo,jnb');
    expect(lookupText(c, '6.0.0.1').decision).toBe('syd,tyo,jnb');
  });
});
