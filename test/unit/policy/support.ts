import type { GeoLocation } from '../../../src/geo/location.js';
/**
 * Shared test support for the policy tests and the scope property test:
 * policy configs built by hand, rule tables and compiled policies on the
 * fixture databases, and an independent reference ("oracle") that knows, from
 * geo-data/fixture-networks.ts alone, which decision every address must get
 * and which decisions a whole prefix contains.
 *
 * The oracle shares no code with src/: its own CIDR arithmetic (bigint), its
 * own haversine and its own nearest-K ranking (ties by PoP index).
 */
import {
  FIXTURE_NETWORKS,
  FIXTURE_PLACES,
  fixtureFamily,
  type FixtureNetwork,
} from '../../../geo-data/fixture-networks.js';
import type { PolicyConfig, StepConfig } from '../../../src/build/config/schema.js';
import { openDatabases } from '../../../src/geo/open.js';
import { compilePolicy, type CompiledPolicy } from '../../../src/policy/compile.js';
import { buildRuleTables, type PopInfo, type RuleTables } from '../../../src/policy/rules.js';
import { decisionOf, depthOf, lookup, type FamilyTrie } from '../../../src/policy/trie.js';
import { ASN_DB, CITY_DB, DBIP_V4, DBIP_V6, TEST_POPS } from '../../helpers/configs.js';

// ---------------------------------------------------------------------------
// Policies, tables, compiled policies
// ---------------------------------------------------------------------------

/** PoP ids in config order (their index is the PoP index). */
export const POP_IDS = Object.keys(TEST_POPS);

export const TEST_POP_INFOS: PopInfo[] = Object.entries(TEST_POPS).map(([id, p]) => ({
  id,
  lat: p.lat,
  lon: p.lon,
  weight: 1,
  spill: 0,
}));

export function policy(steps: StepConfig[], o: { candidates?: number; fallback?: string[] } = {}): PolicyConfig {
  return {
    candidates: o.candidates ?? 3,
    steps,
    fallback: o.fallback,
    spill_granularity_v4: 20,
    spill_granularity_v6: 40,
  };
}

export interface Issue {
  path: ReadonlyArray<string | number>;
  message: string;
}

export function tablesFor(
  p: PolicyConfig,
  pops: readonly PopInfo[] = TEST_POP_INFOS,
  name = 'p',
): { tables: RuleTables; issues: Issue[] } {
  const issues: Issue[] = [];
  const tables = buildRuleTables(name, p, pops, ['policies', name], (path, message) => issues.push({ path, message }));
  return { tables, issues };
}

/** CIDR rules of the scope property tests: nested, overlapping the fixture networks, both families. */
export const SCOPE_RULES: Record<string, string[]> = {
  '1.1.128.0/17': ['syd'],
  '3.64.0.0/10': ['tyo', 'gru'],
  '6.0.0.0/12': ['jnb'],
  '9.0.0.0/24': ['lon', 'fra', 'nyc'],
  '2a01:db8::/32': ['jnb'],
  '2600:0:8000::/33': ['lon'],
  '2400::/15': ['gru'],
};

/** The scope tests' policy (SCOPE_RULES, then nearest, fallback fra, nyc; K=3) and its reference for the oracle. */
export const SCOPE_POLICY = policy([{ cidr: SCOPE_RULES }, { nearest: {} }], { fallback: ['fra', 'nyc'] });
export const SCOPE_REFERENCE: ReferencePolicy = {
  cidrRules: Object.entries(SCOPE_RULES).map(([prefix, pops]) => ({ prefix, pops })),
  rank: nearestThenFallback(['fra', 'nyc']),
  candidates: 3,
};

/** Weights and spill for the latency/spill tests, by PoP id (the rest weigh 1 and never spill). */
export const TUNING: Record<string, { weight: number; spill: number }> = {
  fra: { weight: 3, spill: 30 },
  lon: { weight: 2, spill: 10 },
  nyc: { weight: 1, spill: 50 },
  tyo: { weight: 1, spill: 100 },
};

/** TEST_POPS in order with TUNING applied. */
export const TUNED_POPS: PopInfo[] = Object.entries(TEST_POPS).map(([id, p]) => ({
  id,
  lat: p.lat,
  lon: p.lon,
  weight: TUNING[id]?.weight ?? 1,
  spill: TUNING[id]?.spill ?? 0,
}));

export type DbLayout = 'city' | 'dbip';

export function compileFixture(
  p: PolicyConfig,
  o: { layout?: DbLayout; asn?: boolean; files?: string[] } = {},
): CompiledPolicy {
  const { tables, issues } = tablesFor(p);
  if (issues.length > 0) throw new Error(`policy issues: ${JSON.stringify(issues)}`);
  const files = o.files ?? ((o.layout ?? 'city') === 'city' ? [CITY_DB] : [DBIP_V4, DBIP_V6]);
  const dbs = openDatabases(files, o.asn ? ASN_DB : null);
  return compilePolicy(tables, TEST_POP_INFOS, {
    city4: dbs.city4,
    city6: dbs.city6,
    asn4: dbs.asn4,
    asn6: dbs.asn6,
    latency: null,
  });
}

/** The PoP ids of decision `id`. */
export function decisionPops(c: CompiledPolicy, id: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < c.candidates; i++) {
    const pop = c.decisions[id * c.candidates + i];
    if (pop >= 0) out.push(TEST_POP_INFOS[pop].id);
  }
  return out;
}

/** Trie lookup of a full address: decision (as PoP ids joined by ',') and leaf depth. */
export function trieLookup(
  c: CompiledPolicy,
  family: 4 | 6,
  bytes: Uint8Array,
): { decision: string; depth: number; id: number } {
  const packed = lookup(family === 4 ? c.v4 : c.v6, bytes, 0, bytes.length);
  return { decision: decisionPops(c, decisionOf(packed)).join(','), depth: depthOf(packed), id: decisionOf(packed) };
}

/** Every decision id below the subtree at `depth` on the path of `bytes` (depth 0 = whole trie). */
export function trieDecisionsUnder(trie: FamilyTrie, bytes: Uint8Array, depth: number): Set<number> {
  let ref = trie.root;
  for (let d = 0; d < depth; d++) {
    if (ref < 0) return new Set([~ref]);
    ref = trie.nodes[ref * 2 + ((bytes[d >> 3] >> (7 - (d & 7))) & 1)];
  }
  const out = new Set<number>();
  const stack = [ref];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (r < 0) out.add(~r);
    else stack.push(trie.nodes[r * 2], trie.nodes[r * 2 + 1]);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Addresses as bigints
// ---------------------------------------------------------------------------

export function bitsOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

export function bytesToBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function bigToBytes(v: bigint, family: 4 | 6): Uint8Array {
  const n = family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function parseV4(text: string): bigint {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`bad IPv4 ${text}`);
  return parts.reduce((a, p) => (a << 8n) | BigInt(p), 0n);
}

function parseV6(text: string): bigint {
  let s = text;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    // Embedded IPv4 (::ffff:a.b.c.d): rewrite as two hex groups.
    const v = parseV4(tail);
    s = `${s.slice(0, lastColon + 1)}${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 ${text}`);
  const h = halves[0] ? halves[0].split(':') : [];
  const r = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - h.length - r.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) throw new Error(`bad IPv6 ${text}`);
  let v = 0n;
  for (const g of [...h, ...new Array<string>(fill).fill('0'), ...r]) v = (v << 16n) | BigInt(parseInt(g, 16));
  return v;
}

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  len: number;
}

export function cidr(text: string): Cidr {
  const [addr, l] = text.split('/');
  const family = addr.includes(':') ? 6 : 4;
  const base = family === 4 ? parseV4(addr) : parseV6(addr);
  const len = l === undefined ? bitsOf(family) : Number(l);
  return { family, base, len };
}

export function addrOf(text: string): { family: 4 | 6; bytes: Uint8Array } {
  const c = cidr(text);
  return { family: c.family, bytes: bigToBytes(c.base, c.family) };
}

/** Last address of a prefix. */
export function lastOf(c: Cidr): bigint {
  const host = BigInt(bitsOf(c.family) - c.len);
  return c.base | ((1n << host) - 1n);
}

/** The prefix of length `len` containing `a`. */
export function prefixOf(a: bigint, len: number, family: 4 | 6): Cidr {
  const host = BigInt(bitsOf(family) - len);
  return { family, base: (a >> host) << host, len };
}

export function contains(c: Cidr, a: bigint): boolean {
  return a >= c.base && a <= lastOf(c);
}

export function formatCidr(c: Cidr): string {
  const b = bigToBytes(c.base, c.family);
  if (c.family === 4) return `${[...b].join('.')}/${c.len}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return `${groups.join(':')}/${c.len}`;
}

// ---------------------------------------------------------------------------
// The reference ranking and the oracle
// ---------------------------------------------------------------------------

/** What the oracle knows about a network's record. */
export interface OracleLoc {
  country: string | null;
  continent: string | null;
  subdivisionIso: string | null;
  subdivisionName: string | null;
  lat: number | null;
  lon: number | null;
  place: string | null;
}

const R = 6371.0088;
export function referenceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The k nearest PoPs (ids) to a point among `ids` (default all), ties by PoP index. */
export function referenceNearest(lat: number, lon: number, k: number, ids: readonly string[] = POP_IDS): string[] {
  return [...ids]
    .map((id) => ({ id, idx: POP_IDS.indexOf(id), km: referenceKm(lat, lon, TEST_POPS[id].lat, TEST_POPS[id].lon) }))
    .sort((a, b) => a.km - b.km || a.idx - b.idx)
    .slice(0, k)
    .map((x) => x.id);
}

/** A reference policy: CIDR rules first (most specific wins), then `rank` on the location and ASN. */
export interface ReferencePolicy {
  cidrRules?: Array<{ prefix: string; pops: string[] }>;
  rank: (loc: OracleLoc | null, asn: number | null) => string[];
  candidates: number;
}

export function nearestThenFallback(fallback: string[], k = 3): ReferencePolicy['rank'] {
  return (loc) =>
    loc && loc.lat !== null && loc.lon !== null ? referenceNearest(loc.lat, loc.lon, k) : fallback.slice(0, k);
}

interface OracleNet {
  c: Cidr;
  loc: OracleLoc | null;
  asn: number | null;
}

function locOf(n: FixtureNetwork): OracleLoc {
  if (n.place) {
    const p = FIXTURE_PLACES[n.place];
    return {
      country: p.country,
      continent: p.continent,
      subdivisionIso: p.subdivisionIso || null,
      subdivisionName: p.subdivisionName || null,
      lat: p.latitude,
      lon: p.longitude,
      place: p.id,
    };
  }
  return {
    country: n.countryOnly?.country ?? null,
    continent: n.countryOnly?.continent ?? null,
    subdivisionIso: null,
    subdivisionName: null,
    lat: null,
    lon: null,
    place: null,
  };
}

/**
 * The networks a compiled family trie sees, per database layout:
 * - city.mmdb (IPv6 file): IPv4 networks live under ::/96 and are aliased at
 *   ::ffff:0:0/96; ::1/128 therefore also appears as the IPv4 host 0.0.0.1.
 * - DB-IP pair: each file holds only its own family.
 */
export function oracleNetworks(layout: DbLayout, family: 4 | 6): Array<{ cidr: string; network: FixtureNetwork }> {
  const v4 = FIXTURE_NETWORKS.filter((n) => fixtureFamily(n.cidr) === 4);
  const v6 = FIXTURE_NETWORKS.filter((n) => fixtureFamily(n.cidr) === 6);
  if (layout === 'dbip') return (family === 4 ? v4 : v6).map((n) => ({ cidr: n.cidr, network: n }));
  const loopback = FIXTURE_NETWORKS.find((n) => n.cidr === '::1/128')!;
  if (family === 4)
    return [...v4.map((n) => ({ cidr: n.cidr, network: n })), { cidr: '0.0.0.1/32', network: loopback }];
  const out = v6.map((n) => ({ cidr: n.cidr, network: n }));
  // ::/96 holds the IPv4 networks as IPv6 addresses; the ::ffff:0:0/96 alias is
  // not listed here because Meridian answers that range from the IPv4 trie (the Oracle delegates it).
  for (const n of [...v4, { ...loopback, cidr: '0.0.0.1/32' }]) {
    const c = cidr(n.cidr);
    out.push({ cidr: formatCidr({ family: 6, base: c.base, len: c.len + 96 }), network: n });
  }
  return out;
}

/** ::ffff:0:0, the start of the IPv4-mapped range. */
export const MAPPED_BASE = 0xffffn << 32n;

export class Oracle {
  private readonly nets: OracleNet[];
  private readonly asnNets: OracleNet[];
  private readonly rules: Array<{ c: Cidr; pops: string[] }>;
  /** Sorted addresses where the decision may change. */
  readonly boundaries: bigint[];
  /** IPv6 oracles answer ::ffff:0:0/96 with the IPv4 oracle, as the server does (RFC 4291 2.5.5.2). */
  private readonly mapped: Oracle | null;

  constructor(
    readonly family: 4 | 6,
    readonly policy: ReferencePolicy,
    layout: DbLayout = 'city',
    withAsn = false,
  ) {
    this.nets = oracleNetworks(layout, family).map(({ cidr: text, network }) => ({
      c: cidr(text),
      loc: locOf(network),
      asn: null,
    }));
    // asn.mmdb holds only networks with an ASN (same ::/96 layout as city.mmdb).
    this.asnNets = withAsn
      ? oracleNetworks('city', family)
          .filter(({ network }) => network.asn !== null)
          .map(({ cidr: text, network }) => ({ c: cidr(text), loc: null, asn: network.asn }))
      : [];
    this.rules = (policy.cidrRules ?? [])
      .map((r) => ({ c: cidr(r.prefix), pops: r.pops }))
      .filter((r) => r.c.family === family);
    const set = new Set<bigint>([0n]);
    const top = (1n << BigInt(bitsOf(family))) - 1n;
    for (const c of [...this.nets.map((n) => n.c), ...this.asnNets.map((n) => n.c), ...this.rules.map((r) => r.c)]) {
      set.add(c.base);
      const end = lastOf(c);
      if (end < top) set.add(end + 1n);
    }
    this.mapped = family === 6 ? new Oracle(4, policy, layout, withAsn) : null;
    if (this.mapped) {
      set.add(MAPPED_BASE);
      set.add(MAPPED_BASE + (1n << 32n));
      for (const b of this.mapped.boundaries) set.add(MAPPED_BASE + b);
    }
    this.boundaries = [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private mostSpecific<T extends { c: Cidr }>(list: T[], a: bigint): number {
    let best = -1;
    for (let i = 0; i < list.length; i++) {
      const n = list[i];
      if (contains(n.c, a) && (best < 0 || n.c.len > list[best].c.len)) best = i;
    }
    return best;
  }

  /** Decisions by (rule, ASN network, database network): ranking is the slow part. */
  private readonly cache = new Map<string, string[]>();

  /** Location record of the database network containing `a` (null: no data). */
  locationAt(a: bigint): OracleLoc | null {
    const i = this.mostSpecific(this.nets, a);
    return i < 0 ? null : this.nets[i].loc;
  }

  /** The decision (PoP ids, at most K) for one address. */
  decisionAt(a: bigint): string[] {
    if (this.mapped && a >= MAPPED_BASE && a < MAPPED_BASE + (1n << 32n))
      return this.mapped.decisionAt(a - MAPPED_BASE);
    const rule = this.mostSpecific(this.rules, a);
    if (rule >= 0) return this.rules[rule].pops.slice(0, this.policy.candidates);
    const asnIndex = this.mostSpecific(this.asnNets, a);
    const netIndex = this.mostSpecific(this.nets, a);
    const key = `${asnIndex}|${netIndex}`;
    let d = this.cache.get(key);
    if (!d) {
      const asn = asnIndex < 0 ? null : this.asnNets[asnIndex].asn;
      d = this.policy.rank(netIndex < 0 ? null : this.nets[netIndex].loc, asn).slice(0, this.policy.candidates);
      this.cache.set(key, d);
    }
    return d;
  }

  /**
   * Every distinct decision (joined by ',') inside prefix `c`: the decision is
   * constant between boundaries. Stops once `limit` decisions are found.
   */
  decisionsIn(c: Cidr, limit = Infinity): Set<string> {
    const lo = c.base;
    const hi = lastOf(c);
    const out = new Set<string>([this.decisionAt(lo).join(',')]);
    for (const b of this.boundaries) {
      if (out.size >= limit) break;
      if (b > lo && b <= hi) out.add(this.decisionAt(b).join(','));
    }
    return out;
  }

  /** The widest prefix around `a` with a single decision: the scope a merged trie must return. */
  expectedScope(a: bigint): number {
    return this.widestUniform(a, (c) => this.decisionsIn(c, 2).size === 1);
  }

  /**
   * The widest prefix around `a` in which every address gets the same
   * answer, `answerOf(decision)` naming the answer a decision gives now: the
   * scope of the current answer (issue 15), from the decisions alone.
   */
  expectedAnswerScope(a: bigint, answerOf: (decision: string[]) => string): number {
    return this.widestUniform(a, (c) => {
      const answers = new Set([...this.decisionsIn(c)].map((d) => answerOf(d.split(','))));
      return answers.size === 1;
    });
  }

  /** The shortest prefix length around `a` for which `uniform` holds (it is monotone in the length: binary search). */
  private widestUniform(a: bigint, uniform: (c: Cidr) => boolean): number {
    let lo = 0;
    let hi = bitsOf(this.family);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (uniform(prefixOf(a, mid, this.family))) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Every leaf of a family trie: its prefix and decision id. */
export function trieLeaves(trie: FamilyTrie, family: 4 | 6): Array<{ prefix: Cidr; id: number }> {
  const bits = BigInt(bitsOf(family));
  const out: Array<{ prefix: Cidr; id: number }> = [];
  const walk = (ref: number, base: bigint, len: number) => {
    if (ref < 0) {
      out.push({ prefix: { family, base, len }, id: ~ref });
      return;
    }
    walk(trie.nodes[ref * 2], base, len + 1);
    walk(trie.nodes[ref * 2 + 1], base | (1n << (bits - BigInt(len) - 1n)), len + 1);
  };
  walk(trie.root, 0n, 0);
  return out;
}

/**
 * Check a compiled family trie against the oracle, leaf by leaf: every leaf's
 * prefix holds exactly the leaf's decision (soundness) and its parent prefix
 * holds more than one (maximality: the merge left nothing mergeable).
 * Returns a list of problems (empty when the trie is right).
 */
export function verifyTrie(c: CompiledPolicy, family: 4 | 6, oracle: Oracle): string[] {
  const problems: string[] = [];
  for (const { prefix, id } of trieLeaves(family === 4 ? c.v4 : c.v6, family)) {
    const decision = decisionPops(c, id).join(',');
    const inside = oracle.decisionsIn(prefix);
    if (inside.size !== 1 || !inside.has(decision)) {
      problems.push(`${formatCidr(prefix)}: trie says ${decision}, the prefix holds ${[...inside].join(' | ')}`);
    }
    if (prefix.len > 0 && oracle.decisionsIn(prefixOf(prefix.base, prefix.len - 1, family), 2).size < 2) {
      problems.push(`${formatCidr(prefix)}: not merged with its sibling (the parent prefix has one decision)`);
    }
  }
  return problems;
}

/** A GeoIP2-style location at a fixture place (fields overridable). */
export function at(place: string, o: Partial<GeoLocation> = {}): GeoLocation {
  const p = FIXTURE_PLACES[place];
  return {
    country: p.country,
    continent: p.continent,
    subdivisionCode: p.subdivisionIso || null,
    subdivisionName: p.subdivisionName || null,
    lat: p.latitude,
    lon: p.longitude,
    city: p.city,
    ...o,
  };
}
