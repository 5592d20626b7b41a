/**
 * The latency step's building blocks, on hand-made inputs:
 *
 *  - modelledRttMs (2 x km / 200 km per ms x path inflation) and rttFor's
 *    precedence per PoP: measured-cidr > measured-asn > measured-country >
 *    modelled > unknown, each PoP on its own;
 *  - latencyOrder / groupByTolerance: groups formed from each group's best RTT
 *    (not chained), max(tolerance_ms, tolerance_pct of the best), inside a
 *    group heaviest weight first, then RTT, then PoP index; groups numbered;
 *  - the latency table parsers (CSV, JSON, by extension): happy paths, every
 *    error with its exact `file:line`, and the shipped sample table.
 *
 * Expected values are worked out by hand in the comments next to them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { distanceKm, modelledRttMs } from '../../../src/geo/distance.js';
import { UNKNOWN_LOCATION, type GeoLocation } from '../../../src/geo/location.js';
import { parsePrefix } from '../../../src/net/ip.js';
import {
  parseLatencyCsv,
  parseLatencyJson,
  parseLatencyTable,
  type LatencyRow,
} from '../../../src/policy/latency-table.js';
import { EMPTY_CONTEXT, PrefixOverlay } from '../../../src/policy/overlay.js';
import {
  groupByTolerance,
  latencyOrder,
  rankClient,
  rttFor,
  type Candidate,
  type ClientFacts,
  type LatencyRows,
} from '../../../src/policy/rank.js';
import type { PopInfo } from '../../../src/policy/rules.js';
import { ROOT } from '../../helpers/server.js';
import { POP_IDS, policy, referenceKm, tablesFor, TEST_POP_INFOS } from './support.js';
import { at } from './support.js';

const pop = (id: string) => POP_IDS.indexOf(id);

function rows(
  o: {
    asn?: Record<number, Record<string, number>>;
    country?: Record<string, Record<string, number>>;
    inflation?: number;
  } = {},
): LatencyRows {
  const toMap = (r: Record<string, number>) => new Map(Object.entries(r).map(([id, v]) => [pop(id), v]));
  return {
    byAsn: new Map(Object.entries(o.asn ?? {}).map(([k, v]) => [Number(k), toMap(v)])),
    byCountry: new Map(Object.entries(o.country ?? {}).map(([k, v]) => [k, toMap(v)])),
    pathInflation: o.inflation ?? 1.5,
  };
}

/** An overlay holding measured-RTT rows by CIDR: [prefix, pop id, rtt]. */
function rttOverlay(entries: Array<[string, string, number]>): PrefixOverlay {
  const o = new PrefixOverlay();
  for (const [text, id, rttMs] of entries)
    o.insert(parsePrefix(text), text, { kind: 'rtt', pop: pop(id), rttMs, prefix: text });
  return o;
}

function factsAt(o: PrefixOverlay, address: string, loc: GeoLocation, asn = 0): ClientFacts {
  const p = parsePrefix(address);
  return { loc, asn, ctx: o.contextOf(o.markFor(p.family, p.bytes)) };
}

// ---------------------------------------------------------------------------
// The model and the per-PoP source precedence
// ---------------------------------------------------------------------------

describe('modelledRttMs', () => {
  it('is there and back through fibre at 200 km/ms, times the path inflation', () => {
    expect(modelledRttMs(0, 1.5)).toBe(0);
    expect(modelledRttMs(1000, 1)).toBe(10); // 2 x 1000 / 200
    expect(modelledRttMs(1000, 1.5)).toBe(15);
    expect(modelledRttMs(200, 2.5)).toBe(5);
    expect(modelledRttMs(10_000, 1.6)).toBeCloseTo(160, 9);
  });

  it('Frankfurt to London with the default inflation (1.5) is about 9.5 ms', () => {
    const km = referenceKm(50.1109, 8.6821, 51.5072, -0.1276);
    expect(km).toBeGreaterThan(630);
    expect(km).toBeLessThan(645);
    expect(modelledRttMs(distanceKm(50.1109, 8.6821, 51.5072, -0.1276), 1.5)).toBeCloseTo((2 * km * 1.5) / 200, 6);
  });
});

describe('rttFor: the most specific source wins, per PoP', () => {
  // nyc: a /24 row (7) and a /16 row (20); lon: only a /16 row (30).
  const overlay = rttOverlay([
    ['1.0.0.0/16', 'nyc', 20],
    ['1.0.1.0/24', 'nyc', 7],
    ['1.0.0.0/16', 'lon', 30],
  ]);
  const table = rows({
    asn: { 64500: { nyc: 50, lon: 9, sfo: 11 } },
    country: { DE: { nyc: 60, lon: 70, tyo: 80, sfo: 90 } },
    inflation: 2,
  });
  const frankfurt = at('fra');
  const modelled = (id: string, loc: GeoLocation, inflation: number) =>
    modelledRttMs(distanceKm(loc.lat, loc.lon, TEST_POP_INFOS[pop(id)].lat, TEST_POP_INFOS[pop(id)].lon), inflation);
  const rtt = (id: string, f: ClientFacts, r: LatencyRows | null = table) =>
    rttFor(pop(id), TEST_POP_INFOS[pop(id)], f, r);

  it('measured-cidr > measured-asn > measured-country > modelled, each PoP separately', () => {
    const f = factsAt(overlay, '1.0.1.5', frankfurt, 64500);
    expect(rtt('nyc', f)).toEqual({ rttMs: 7, source: 'measured-cidr' }); // beats the /16, the AS and the country rows
    expect(rtt('lon', f)).toEqual({ rttMs: 30, source: 'measured-cidr' }); // the /16 row, inherited below it
    expect(rtt('sfo', f)).toEqual({ rttMs: 11, source: 'measured-asn' }); // beats the country row (90)
    expect(rtt('tyo', f)).toEqual({ rttMs: 80, source: 'measured-country' });
    const fra = rtt('fra', f);
    expect(fra.source).toBe('modelled');
    expect(fra.rttMs).toBe(0); // the client sits on the PoP
    const syd = rtt('syd', f);
    expect(syd.source).toBe('modelled');
    expect(syd.rttMs).toBeCloseTo(modelled('syd', frankfurt, 2), 9); // the table's path inflation
  });

  it('outside the /24 the /16 row applies; outside every prefix the AS and country rows do', () => {
    expect(rtt('nyc', factsAt(overlay, '1.0.2.1', frankfurt, 64500))).toEqual({ rttMs: 20, source: 'measured-cidr' });
    const outside = factsAt(overlay, '1.1.0.1', frankfurt, 64500);
    expect(rtt('nyc', outside)).toEqual({ rttMs: 50, source: 'measured-asn' });
    expect(rtt('lon', outside)).toEqual({ rttMs: 9, source: 'measured-asn' });
    expect(rtt('tyo', outside)).toEqual({ rttMs: 80, source: 'measured-country' });
  });

  it('AS rows need a known AS (0 = unknown); country rows need a country', () => {
    const noAsn = factsAt(overlay, '1.1.0.1', frankfurt, 0);
    expect(rtt('lon', noAsn)).toEqual({ rttMs: 70, source: 'measured-country' });
    expect(rtt('sfo', noAsn)).toEqual({ rttMs: 90, source: 'measured-country' });
    const otherAsn = factsAt(overlay, '1.1.0.1', frankfurt, 64999);
    expect(rtt('sfo', otherAsn)).toEqual({ rttMs: 90, source: 'measured-country' });
    const noCountry = factsAt(overlay, '1.1.0.1', { ...frankfurt, country: null }, 0);
    expect(rtt('tyo', noCountry).source).toBe('modelled');
    // A French client does not get the DE rows.
    expect(rtt('tyo', factsAt(overlay, '2.0.0.1', at('par'), 0)).source).toBe('modelled');
  });

  it('without coordinates: measured rows still apply, everything else is unknown (Infinity)', () => {
    const countryOnly: GeoLocation = { ...UNKNOWN_LOCATION, country: 'DE', continent: 'EU' };
    const f = factsAt(overlay, '11.0.0.1', countryOnly, 0);
    expect(rtt('tyo', f)).toEqual({ rttMs: 80, source: 'measured-country' });
    expect(rtt('fra', f)).toEqual({ rttMs: Infinity, source: 'unknown' });
    const nothing: ClientFacts = { loc: UNKNOWN_LOCATION, asn: 0, ctx: EMPTY_CONTEXT };
    for (const id of POP_IDS) expect(rtt(id, nothing)).toEqual({ rttMs: Infinity, source: 'unknown' });
    // ... but a CIDR row still counts for an unlocated client.
    expect(rtt('nyc', { ...nothing, ctx: factsAt(overlay, '1.0.1.1', UNKNOWN_LOCATION).ctx })).toEqual({
      rttMs: 7,
      source: 'measured-cidr',
    });
  });

  it('without a table (rows = null) only CIDR rows and the model (inflation 1.5) are used', () => {
    const f = factsAt(overlay, '1.0.1.5', frankfurt, 64500);
    expect(rtt('nyc', f, null)).toEqual({ rttMs: 7, source: 'measured-cidr' });
    const sfo = rtt('sfo', f, null);
    expect(sfo.source).toBe('modelled');
    expect(sfo.rttMs).toBeCloseTo(modelled('sfo', frankfurt, 1.5), 9);
  });

  it('the latency step ranks with the same RTTs explain shows (the compiler fast path agrees with rttFor)', () => {
    const { tables, issues } = tablesFor(
      policy([{ latency: { tolerance_ms: 0, tolerance_pct: 0 } }], { candidates: 8 }),
    );
    expect(issues).toEqual([]);
    const f = factsAt(overlay, '1.0.1.5', frankfurt, 64500);
    const fast = rankClient(tables, TEST_POP_INFOS, f, table, false);
    const detailed = rankClient(tables, TEST_POP_INFOS, f, table, true);
    expect(fast.pops).toEqual(detailed.pops);
    // By RTT: fra 0 (modelled), nyc 7 (cidr), sfo 11 (asn), lon 30 (cidr), tyo 80 (country), then the modelled rest.
    const byRtt = POP_IDS.map((id) => ({ id, rtt: rtt(id, f).rttMs })).sort(
      (a, b) => a.rtt - b.rtt || pop(a.id) - pop(b.id),
    );
    expect(fast.pops.map((i) => POP_IDS[i])).toEqual(byRtt.map((x) => x.id));
    expect(fast.pops.slice(0, 5).map((i) => POP_IDS[i])).toEqual(['fra', 'nyc', 'sfo', 'lon', 'tyo']);
    for (const c of detailed.candidates!)
      expect({ rttMs: c.rttMs, source: c.rttSource }).toEqual(rtt(POP_IDS[c.pop], f));
  });
});

// ---------------------------------------------------------------------------
// Tolerance groups
// ---------------------------------------------------------------------------

describe('latencyOrder / groupByTolerance', () => {
  // PoP index: id (weight)
  const W: PopInfo[] = [
    { id: 'a', lat: 0, lon: 0, weight: 1, spill: 0 },
    { id: 'b', lat: 0, lon: 0, weight: 3, spill: 0 },
    { id: 'c', lat: 0, lon: 0, weight: 2, spill: 0 },
    { id: 'd', lat: 0, lon: 0, weight: 1, spill: 0 },
    { id: 'e', lat: 0, lon: 0, weight: 1, spill: 0 },
  ];
  const idx = (id: string) => W.findIndex((p) => p.id === id);

  interface Case {
    what: string;
    /** The step's PoP list (ids, in list order) with each one's RTT. */
    rtts: Array<[string, number]>;
    ms: number;
    pct: number;
    order: string[];
    groups: number[];
  }

  const CASES: Case[] = [
    {
      what: 'no tolerance: only equal RTTs group; inside, heaviest first',
      rtts: [
        ['a', 30],
        ['b', 10],
        ['c', 20],
        ['d', 10],
        ['e', 40],
      ],
      ms: 0,
      pct: 0,
      order: ['b', 'd', 'c', 'a', 'e'],
      groups: [0, 0, 1, 2, 3],
    },
    {
      what: 'tolerance_ms 5: the limit is inclusive and groups do not chain (19 is within 5 of 15, not of the best 10)',
      rtts: [
        ['a', 10],
        ['b', 14],
        ['c', 15],
        ['d', 19],
        ['e', 21],
      ],
      ms: 5,
      pct: 0,
      // group 0 = RTT <= 15: b (w3), c (w2), a (w1); group 1 from d = 19, limit 24: d, e (equal weight: lower RTT first)
      order: ['b', 'c', 'a', 'd', 'e'],
      groups: [0, 0, 0, 1, 1],
    },
    {
      what: 'tolerance_pct 50: each group is measured from its own best',
      rtts: [
        ['a', 100],
        ['b', 140],
        ['c', 151],
        ['d', 200],
        ['e', 240],
      ],
      ms: 0,
      pct: 50,
      // group 0: <= 150 (a, b); group 1 from c = 151: <= 226.5 (c, d); group 2: e
      order: ['b', 'a', 'c', 'd', 'e'],
      groups: [0, 0, 1, 1, 2],
    },
    {
      what: 'max(tolerance_ms, tolerance_pct of the best): ms wins for a low best, pct for a high one',
      rtts: [
        ['a', 50],
        ['b', 61],
        ['c', 60],
        ['d', 200],
        ['e', 219],
      ],
      ms: 10,
      pct: 10,
      // best 50: +max(10, 5) = 60 -> a, c; best 61: +max(10, 6.1) = 71 -> b; best 200: +max(10, 20) = 220 -> d, e
      order: ['c', 'a', 'b', 'd', 'e'],
      groups: [0, 0, 1, 2, 2],
    },
    {
      what: 'ties inside a group: weight, then RTT, then PoP index',
      rtts: [
        ['a', 5],
        ['b', 50],
        ['c', 50],
        ['d', 5],
        ['e', 3],
      ],
      ms: 100,
      pct: 0,
      order: ['b', 'c', 'e', 'a', 'd'],
      groups: [0, 0, 0, 0, 0],
    },
    {
      what: 'equal RTT and weight: PoP index decides, not the position in the step list',
      rtts: [
        ['e', 10],
        ['c', 10],
        ['a', 10],
      ],
      ms: 0,
      pct: 0,
      order: ['c', 'a', 'e'],
      groups: [0, 0, 0],
    },
    {
      what: 'a heavier PoP outside the tolerance does not jump the queue',
      rtts: [
        ['a', 10],
        ['b', 16],
      ],
      ms: 5,
      pct: 0,
      order: ['a', 'b'],
      groups: [0, 1],
    },
    {
      what: 'an unknown RTT (Infinity) with a percentage tolerance: last, in a group of its own',
      rtts: [
        ['b', Infinity],
        ['a', 10],
        ['c', 12],
      ],
      ms: 0,
      pct: 10,
      // a (10): limit 11; c (12): limit 13.2; b (Infinity): limit Infinity
      order: ['a', 'c', 'b'],
      groups: [0, 1, 2],
    },
    {
      what: 'a single PoP',
      rtts: [['d', 42]],
      ms: 5,
      pct: 10,
      order: ['d'],
      groups: [0],
    },
  ];

  for (const c of CASES) {
    it(c.what, () => {
      const list = c.rtts.map(([id]) => idx(id));
      const rtts = c.rtts.map(([, r]) => r);
      const { order, groups } = latencyOrder(list, rtts, W, c.ms, c.pct);
      expect(order.map((i) => W[i].id)).toEqual(c.order);
      expect(groups).toEqual(c.groups);
      // groupByTolerance: the same order, each candidate keeps its fields and gets its group.
      const cands: Candidate[] = c.rtts.map(([id, r]) => ({
        pop: idx(id),
        distanceKm: r * 7,
        rttMs: r,
        rttSource: 'modelled',
        group: -1,
      }));
      const grouped = groupByTolerance(cands, W, c.ms, c.pct);
      expect(grouped.map((g) => [W[g.pop].id, g.group])).toEqual(c.order.map((id, i) => [id, c.groups[i]]));
      for (const g of grouped) {
        const orig = cands.find((x) => x.pop === g.pop)!;
        expect(g).toEqual({ ...orig, group: g.group });
      }
      // The input is not modified.
      expect(cands.every((x) => x.group === -1)).toBe(true);
    });
  }

  it('groups are numbered 0, 1, 2... in order and never decrease', () => {
    const list = [0, 1, 2, 3, 4];
    const { groups } = latencyOrder(list, [1, 2, 40, 80, 81], W, 1, 0);
    expect(groups).toEqual([0, 0, 1, 2, 2]);
  });

  it('the scratch buffers are reused safely: a long list after a short one', () => {
    const many: PopInfo[] = Array.from({ length: 150 }, (_, i) => ({
      id: `p${i}`,
      lat: 0,
      lon: 0,
      weight: 1,
      spill: 0,
    }));
    const list = many.map((_, i) => i).reverse(); // 149, 148, ... 0
    const rtts = list.map((i) => 1000 - i * 5); // PoP i has RTT 1000 - 5i: the higher the index, the faster
    const { order, groups } = latencyOrder(list, rtts, many, 0, 0);
    expect(order).toEqual(list);
    expect(groups).toEqual(list.map((_, k) => k));
    expect(latencyOrder([0, 1], [5, 5], W, 0, 0).order).toEqual([1, 0]); // b (w3) before a
  });

  it('an unknown RTT (Infinity) among known ones with tolerance_pct 0 (the default) terminates', async () => {
    // A client without coordinates that has a measured row for some PoPs (a
    // country row for a country-only database record, a CIDR row for an
    // unlocated network) ranks known RTTs with Infinity ones. Run in a child
    // process: a non-terminating call would hang the test worker.
    const r = await isolated(`
      const { latencyOrder } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/policy/rank.ts')).href)});
      const pops = [{ id: 'a', lat: 0, lon: 0, weight: 1, spill: 0 }, { id: 'b', lat: 0, lon: 0, weight: 1, spill: 0 }];
      console.log(JSON.stringify(latencyOrder([0, 1], [10, Infinity], pops, 5, 0)));
    `);
    expect(r.timedOut, 'latencyOrder([a, b], [10, Infinity], tolerance_ms 5, tolerance_pct 0) never returned').toBe(
      false,
    );
    expect(JSON.parse(r.stdout)).toEqual({ order: [0, 1], groups: [0, 1] });
  });
});

/** Run an ES module snippet under tsx in a child process; it is killed after `timeoutMs`. */
function isolated(code: string, timeoutMs = 15_000): Promise<{ timedOut: boolean; stdout: string; stderr: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-latency-'));
  const file = path.join(dir, 'snippet.mts');
  writeFileSync(file, code);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file],
      { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        rmSync(dir, { recursive: true, force: true });
        resolve({ timedOut: err !== null && (err as { killed?: boolean }).killed === true, stdout, stderr });
      },
    );
  });
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

const F = '/etc/meridian/latency.csv';
const J = '/etc/meridian/latency.json';

/** Rows as plain data for comparisons. */
function plain(rs: LatencyRow[]) {
  return rs.map((r) => ({
    client:
      r.client.kind === 'cidr'
        ? `cidr ${r.client.text}`
        : r.client.kind === 'asn'
          ? `asn ${r.client.asn}`
          : `country ${r.client.country}`,
    pop: r.pop,
    rttMs: r.rttMs,
    samples: r.samples,
    line: r.line,
  }));
}

function errorOf(f: () => unknown): Error & { code?: string; file?: string; line?: number } {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('parseLatencyCsv', () => {
  it('rows with comments, blank lines, optional samples, case-insensitive keys, CRLF and spaces', () => {
    const text = [
      '# exported 2026-11-20', // 1
      '', // 2
      'Client, POP ,rtt_ms,Samples', // 3
      'DE,fra,12.5,100', // 4
      'AS64500,lon,9,', // 5
      '1.0.1.0/24,nyc,7,3   # trailing comment', // 6
      '   ', // 7
      '2a01:db8::/32,tyo,300,0\r', // 8
      'de , syd , 250 ,  7', // 9
      'as64501,gru,0,1', // 10
      '203.0.113.7,jnb,60000,12', // 11 (a bare address is a /32)
      '',
    ].join('\n');
    const parsed = parseLatencyCsv(text, F);
    expect(plain(parsed)).toEqual([
      { client: 'country DE', pop: 'fra', rttMs: 12.5, samples: 100, line: 4 },
      { client: 'asn 64500', pop: 'lon', rttMs: 9, samples: null, line: 5 },
      { client: 'cidr 1.0.1.0/24', pop: 'nyc', rttMs: 7, samples: 3, line: 6 },
      { client: 'cidr 2a01:db8::/32', pop: 'tyo', rttMs: 300, samples: 0, line: 8 },
      { client: 'country DE', pop: 'syd', rttMs: 250, samples: 7, line: 9 },
      { client: 'asn 64501', pop: 'gru', rttMs: 0, samples: 1, line: 10 },
      { client: 'cidr 203.0.113.7/32', pop: 'jnb', rttMs: 60000, samples: 12, line: 11 },
    ]);
    const cidr = parsed[2].client;
    expect(
      cidr.kind === 'cidr' && { family: cidr.prefix.family, length: cidr.prefix.length, bytes: [...cidr.prefix.bytes] },
    ).toEqual({ family: 4, length: 24, bytes: [1, 0, 1, 0] });
  });

  it('columns in any order; without a samples column samples is null; a header-only table is empty', () => {
    expect(plain(parseLatencyCsv('rtt_ms,client,pop\n5,FR,lon\n', F))).toEqual([
      { client: 'country FR', pop: 'lon', rttMs: 5, samples: null, line: 2 },
    ]);
    expect(parseLatencyCsv('client,pop,rtt_ms,samples\n', F)).toEqual([]);
    expect(parseLatencyCsv('# nothing yet\nclient,pop,rtt_ms\n# still nothing\n', F)).toEqual([]);
  });

  const ERRORS: Array<[string, string, string]> = [
    ['an empty file', '', `${F}:1: empty table (no header)`],
    ['only comments', '# a\n\n# b\n', `${F}:1: empty table (no header)`],
    [
      'a header without rtt_ms (line 3 after comments)',
      '# latency\n\nclient,pop,latency\nDE,fra,1\n',
      `${F}:3: header must name client, pop, rtt_ms (and optionally samples); got "client,pop,latency"`,
    ],
    [
      'a data line first (no header)',
      'DE,fra,12\n',
      `${F}:1: header must name client, pop, rtt_ms (and optionally samples); got "DE,fra,12"`,
    ],
    ['too few columns', 'client,pop,rtt_ms,samples\nDE,fra,1,2\nFR,lon,3\n', `${F}:3: expected 4 columns, got 3`],
    ['too many columns', 'client,pop,rtt_ms\n# ok\nDE,fra,1,2\n', `${F}:3: expected 3 columns, got 4`],
    [
      'a client that is neither CIDR, AS nor country',
      'client,pop,rtt_ms\nDE1,fra,1\n',
      `${F}:2: client "DE1" is not a CIDR prefix, an AS number (AS64500) or a country code ('DE1' is not an IPv4 or IPv6 prefix)`,
    ],
    [
      'a CIDR client with host bits set',
      'client,pop,rtt_ms\nDE,fra,1\n\n10.0.0.1/8,lon,2\n',
      `${F}:4: client "10.0.0.1/8" is not a CIDR prefix, an AS number (AS64500) or a country code ('10.0.0.1/8' has host bits set past /8)`,
    ],
    [
      'a CIDR client with a bad length',
      'client,pop,rtt_ms\n10.0.0.0/33,lon,2\n',
      `${F}:2: client "10.0.0.0/33" is not a CIDR prefix, an AS number (AS64500) or a country code ('10.0.0.0/33': prefix length must be 0-32)`,
    ],
    [
      'an empty client',
      'client,pop,rtt_ms\n,lon,2\n',
      `${F}:2: client "" is not a CIDR prefix, an AS number (AS64500) or a country code ('' is not an IPv4 or IPv6 prefix)`,
    ],
    ['a missing pop', 'client,pop,rtt_ms\nDE,,2\n', `${F}:2: missing pop`],
    [
      'an RTT that is not a number',
      'client,pop,rtt_ms\nDE,fra,1\nFR,lon,fast\n',
      `${F}:3: rtt_ms "fast" is not a number of milliseconds (0-60000)`,
    ],
    [
      'a negative RTT',
      'client,pop,rtt_ms\nDE,fra,-1\n',
      `${F}:2: rtt_ms "-1" is not a number of milliseconds (0-60000)`,
    ],
    [
      'an RTT over a minute',
      'client,pop,rtt_ms\nDE,fra,60001\n',
      `${F}:2: rtt_ms "60001" is not a number of milliseconds (0-60000)`,
    ],
    ['fractional samples', 'client,pop,rtt_ms,samples\nDE,fra,1,1.5\n', `${F}:2: samples "1.5" is not a whole number`],
    ['negative samples', 'client,pop,rtt_ms,samples\nDE,fra,1,-3\n', `${F}:2: samples "-3" is not a whole number`],
    [
      'non-numeric samples',
      'client,pop,rtt_ms,samples\n# x\nDE,fra,1,many\n',
      `${F}:3: samples "many" is not a whole number`,
    ],
  ];

  for (const [what, text, message] of ERRORS) {
    it(`${what} -> ${message.slice(F.length + 1)}`, () => {
      const err = errorOf(() => parseLatencyCsv(text, F));
      expect(err.message).toBe(message);
      expect(err.code).toBe('MERIDIAN_ERR_LATENCY_TABLE');
      expect(err.file).toBe(F);
      expect(err.line).toBe(Number(message.slice(F.length + 1).split(':')[0]));
    });
  }

  it('an empty rtt_ms cell is an error (a missing measurement is not 0 ms)', () => {
    // `Number('')` is 0: an export with a blank RTT would make that PoP the fastest of all.
    const err = errorOf(() => parseLatencyCsv('client,pop,rtt_ms,samples\nDE,fra,12,5\nDE,lon,,5\n', F));
    expect(err.message).toBe(`${F}:3: missing rtt_ms`);
  });
});

describe('parseLatencyJson', () => {
  it('an array of rows; each row\'s line is the line of its "client"', () => {
    const text = `[
  {"client": "CL", "pop": "gru", "rtt_ms": 71, "samples": 1840},
  {
    "pop": "sin",
    "client": "203.0.113.0/24",
    "rtt_ms": 34
  },
  {"client": "AS64500", "pop": "lon", "rtt_ms": "9", "samples": 5000}
]`;
    expect(plain(parseLatencyJson(text, J))).toEqual([
      { client: 'country CL', pop: 'gru', rttMs: 71, samples: 1840, line: 2 },
      { client: 'cidr 203.0.113.0/24', pop: 'sin', rttMs: 34, samples: null, line: 5 },
      { client: 'asn 64500', pop: 'lon', rttMs: 9, samples: 5000, line: 8 },
    ]);
    expect(parseLatencyJson('[]', J)).toEqual([]);
    expect(
      plain(parseLatencyJson('[{"client":"DE","pop":"fra","rtt_ms":1},{"client":"FR","pop":"lon","rtt_ms":2}]', J)).map(
        (r) => r.line,
      ),
    ).toEqual([1, 1]);
  });

  it('a JSON syntax error names the line it is on', () => {
    const text =
      '[\n  {"client": "DE", "pop": "fra", "rtt_ms": 12},\n  {"client": "FR" "pop": "lon", "rtt_ms": 9}\n]\n';
    const err = errorOf(() => parseLatencyJson(text, J));
    expect(err.message).toMatch(new RegExp(`^${J.replace(/\./g, '\\.')}:3: JSON: `));
    expect(err.line).toBe(3);
  });

  it('a JSON syntax error on an unexpected token names its line too', () => {
    // An unquoted value on line 4. (Node 20 reports this one without a "position").
    const text =
      '[\n  {"client": "DE", "pop": "fra", "rtt_ms": 12},\n  {"client": "FR", "pop": "lon",\n   "rtt_ms": fast}\n]\n';
    const err = errorOf(() => parseLatencyJson(text, J));
    expect(err.message).toMatch(/^\S+:\d+: JSON: /);
    expect(err.message.startsWith(`${J}:4: JSON: `), err.message).toBe(true);
  });

  it('not an array -> line 1', () => {
    expect(errorOf(() => parseLatencyJson('{"client": "DE", "pop": "fra", "rtt_ms": 1}', J)).message).toBe(
      `${J}:1: expected a JSON array of {client, pop, rtt_ms, samples?}`,
    );
    expect(errorOf(() => parseLatencyJson('\n\n"rows"', J)).message).toBe(
      `${J}:1: expected a JSON array of {client, pop, rtt_ms, samples?}`,
    );
  });

  it("row errors name the row's line", () => {
    const text =
      '[\n  {"client": "DE", "pop": "fra", "rtt_ms": 12},\n  {"client": "FR", "pop": "lon", "rtt_ms": "fast"}\n]';
    expect(errorOf(() => parseLatencyJson(text, J)).message).toBe(
      `${J}:3: rtt_ms "fast" is not a number of milliseconds (0-60000)`,
    );
    const noRtt = '[\n  {"client": "DE", "pop": "fra", "rtt_ms": 12},\n\n  {"client": "FR", "pop": "lon"}\n]';
    expect(errorOf(() => parseLatencyJson(noRtt, J)).message).toBe(`${J}:4: missing rtt_ms`);
    const badClient = '[\n  {"client": "XYZ", "pop": "fra", "rtt_ms": 12}\n]';
    expect(errorOf(() => parseLatencyJson(badClient, J)).message).toBe(
      `${J}:2: client "XYZ" is not a CIDR prefix, an AS number (AS64500) or a country code ('XYZ' is not an IPv4 or IPv6 prefix)`,
    );
    const noPop = '[\n  {"client": "DE", "rtt_ms": 12}\n]';
    expect(errorOf(() => parseLatencyJson(noPop, J)).message).toBe(`${J}:2: missing pop`);
    const badSamples =
      '[\n  {"client": "DE", "pop": "fra", "rtt_ms": 12},\n  {"client": "DE", "pop": "lon", "rtt_ms": 12, "samples": 2.5}\n]';
    expect(errorOf(() => parseLatencyJson(badSamples, J)).message).toBe(`${J}:3: samples "2.5" is not a whole number`);
  });

  it('a null rtt_ms is an error (a missing measurement is not 0 ms)', () => {
    // `Number(null)` is 0.
    const text =
      '[\n  {"client": "DE", "pop": "fra", "rtt_ms": 12},\n  {"client": "DE", "pop": "lon", "rtt_ms": null}\n]';
    expect(errorOf(() => parseLatencyJson(text, J)).message).toBe(`${J}:3: missing rtt_ms`);
  });

  it('an element that is not an object, or has no "client", is reported at its own line', () => {
    const notObject = '[\n  42,\n  {"client": "DE", "pop": "fra", "rtt_ms": 12}\n]';
    const e1 = errorOf(() => parseLatencyJson(notObject, J));
    expect(e1.message).toBe(`${J}:2: element 0 is not an object`);
    const noClient =
      '[\n  {"client": "DE", "pop": "fra", "rtt_ms": 12},\n  {"pop": "lon", "rtt_ms": 9},\n  {"client": "FR", "pop": "lon", "rtt_ms": 5}\n]';
    const e2 = errorOf(() => parseLatencyJson(noClient, J));
    expect(e2.message).toBe(`${J}:3: missing client`);
  });
});

describe('parseLatencyTable: by extension', () => {
  it('.json (any case) is JSON, anything else CSV', () => {
    const json = '[{"client": "DE", "pop": "fra", "rtt_ms": 1}]';
    const csv = 'client,pop,rtt_ms\nDE,fra,1\n';
    const want = [{ client: 'country DE', pop: 'fra', rttMs: 1, samples: null, line: 1 }];
    expect(plain(parseLatencyTable(json, '/x/t.json'))).toEqual(want);
    expect(plain(parseLatencyTable(json, '/x/T.JSON'))).toEqual(want);
    expect(plain(parseLatencyTable(csv, '/x/t.csv'))).toEqual([{ ...want[0], line: 2 }]);
    expect(plain(parseLatencyTable(csv, '/x/table'))).toEqual([{ ...want[0], line: 2 }]);
    // A JSON text in a .csv file is read as CSV (and fails at its first line).
    expect(errorOf(() => parseLatencyTable(json, '/x/t.csv')).message).toMatch(
      /^\/x\/t\.csv:1: header must name client, pop, rtt_ms/,
    );
    expect(errorOf(() => parseLatencyTable(csv, '/x/t.json')).message).toMatch(/^\/x\/t\.json:1: JSON: /);
  });
});

describe('the shipped sample table', () => {
  it('config/latency-sample.csv parses into its seven rows', () => {
    const file = path.join(ROOT, 'config', 'latency-sample.csv');
    expect(plain(parseLatencyTable(readFileSync(file, 'utf8'), file))).toEqual([
      { client: 'country CL', pop: 'gru', rttMs: 71, samples: 1840, line: 14 },
      { client: 'country CL', pop: 'sjc', rttMs: 88, samples: 920, line: 15 },
      { client: 'country CL', pop: 'iad', rttMs: 118, samples: 410, line: 16 },
      { client: 'country ZA', pop: 'lon', rttMs: 148, samples: 2210, line: 18 },
      { client: 'country ZA', pop: 'fra', rttMs: 162, samples: 1730, line: 19 },
      { client: 'cidr 203.0.113.0/24', pop: 'sin', rttMs: 34, samples: 650, line: 21 },
      { client: 'cidr 203.0.113.0/24', pop: 'nrt', rttMs: 96, samples: 240, line: 22 },
    ]);
  });
});
