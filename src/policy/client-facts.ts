/**
 * What the policy knows about one client network, looked up the slow way
 * (explain, simulate): its location and AS number from the databases, the
 * overlay context, and the depth at which the compiler stopped splitting
 * there (which is where spill is decided). Mirrors the compiler's view
 * exactly so that re-ranking lands on the trie's decision.
 */
import { Reader } from 'maxmind';
import type { OpenedDatabases, OpenedTree } from '../geo/open.js';
import { extractAsn, extractLocation, UNKNOWN_LOCATION, type GeoLocation } from '../geo/location.js';
import { formatIp, type Prefix } from '../net/ip.js';
import type { ClientFacts, LatencyRows } from './rank.js';
import { rankClient, type Ranking } from './rank.js';
import type { PopInfo, RuleTables } from './rules.js';
import { spilledRanking, spills } from './spill.js';

export interface DatabaseHit {
  /** The database network containing the client, e.g. 1.0.0.0/16. */
  prefix: string;
  depth: number;
  file: string;
  /** Record offset in the file, or -1 when the network has no data. */
  offset: number;
}

export interface ClientView {
  facts: ClientFacts;
  city: DatabaseHit | null;
  asn: DatabaseHit | null;
  /** Depth where the compiled trie's leaf for this client can begin (max over the sources). */
  leafDepth: number;
}

function hit(tree: OpenedTree | null, p: Prefix): DatabaseHit | null {
  if (!tree) return null;
  const bits = p.family === 4 ? 32 : 128;
  const { record, depth } = tree.db.lookupRecord(tree.root, p.bytes, bits);
  const masked = new Uint8Array(p.bytes);
  for (let i = depth; i < bits; i++) masked[i >> 3] &= ~(0x80 >> (i & 7));
  return {
    prefix: `${formatIp(p.family, masked)}/${depth}`,
    depth,
    file: tree.db.file,
    offset: record > tree.db.nodeCount ? tree.db.dataOffset(record) : -1,
  };
}

/** How many leading bits of an IPv6 address follow ::ffff:0:0/96 (80 zeros, then 16 ones). */
function mappedPathMatch(bytes: Uint8Array): number {
  for (let i = 0; i < 96; i++) {
    const bit = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
    if (bit !== (i >= 80 ? 1 : 0)) return i;
  }
  return 96;
}

export class ClientLocator {
  private readonly readers = new Map<string, Reader<Record<string, unknown>>>();

  constructor(readonly dbs: OpenedDatabases) {}

  private trees(p: Prefix): { city: OpenedTree | null; asn: OpenedTree | null } {
    return p.family === 4 ? { city: this.dbs.city4, asn: this.dbs.asn4 } : { city: this.dbs.city6, asn: this.dbs.asn6 };
  }

  /** Location, AS number and overlay context of the client network `p` under `tables`. */
  view(p: Prefix, tables: RuleTables, withCity = false): ClientView {
    const { city: cityTree, asn: asnTree } = this.trees(p);
    const city = hit(cityTree, p);
    const asn = hit(asnTree, p);
    const loc: GeoLocation =
      city && city.offset >= 0 ? extractLocation(cityTree!.db, city.offset, withCity) : UNKNOWN_LOCATION;
    const asNumber = asn && asn.offset >= 0 ? extractAsn(asnTree!.db, asn.offset) : 0;
    const mark = tables.overlay.markFor(p.family, p.bytes);
    let leafDepth = Math.max(city?.depth ?? 0, asn?.depth ?? 0, tables.overlay.splitDepth(p.family, p.bytes));
    // The compiler also splits IPv6 along the path to ::ffff:0:0/96 (where IPv4 is grafted):
    // an address leaving that path at bit d has its leaf at depth d + 1 or deeper.
    if (p.family === 6) {
      const d = mappedPathMatch(p.bytes);
      if (d < 96) leafDepth = Math.max(leafDepth, d + 1);
    }
    return { facts: { loc, asn: asNumber, ctx: tables.overlay.contextOf(mark) }, city, asn, leafDepth };
  }

  /** The raw database record as the maxmind package decodes it (for explain output). */
  raw(p: Prefix): unknown {
    const tree = this.trees(p).city;
    if (!tree) return null;
    let r = this.readers.get(tree.db.file);
    if (!r) {
      r = new Reader<Record<string, unknown>>(tree.db.buf);
      this.readers.set(tree.db.file, r);
    }
    return r.get(formatIp(p.family, p.bytes));
  }
}

/** The ranking the compiler stored for this client: rank, then spill at the leaf's granularity. */
export function decide(
  view: ClientView,
  p: Prefix,
  tables: RuleTables,
  pops: readonly PopInfo[],
  latency: LatencyRows | null,
  detail: boolean,
): { ranking: Ranking; pops: number[]; spilled: boolean } {
  const ranking = rankClient(tables, pops, view.facts, latency, detail);
  const unit = Math.min(view.leafDepth, p.family === 4 ? tables.spillGranularity4 : tables.spillGranularity6);
  const first = pops[ranking.pops[0]];
  const spilled = first !== undefined && first.spill > 0 && spills(p.family, p.bytes, unit, first.id, first.spill);
  return { ranking, pops: spilled ? spilledRanking(ranking.pops) : ranking.pops, spilled };
}
