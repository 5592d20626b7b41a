/**
 * Compile a policy against the geo databases into a radix trie of decision ids
 * (docs/design.md, "Policy compiled, not interpreted"). The database trees, the ASN tree and the operator's
 * CIDR overlay are walked in step, once; every leaf is ranked (cached per
 * distinct record) and sibling leaves with the same decision are merged
 * bottom-up, so a leaf's depth is the widest sound ECS scope for its answer.
 *
 * Output is plain data (typed arrays and numbers): it can be posted to another
 * thread or process and used there as is.
 */
import type { GeoLocation } from '../geo/location.js';
import { extractAsn, extractLocation, UNKNOWN_LOCATION } from '../geo/location.js';
import type { MmdbFile } from '../geo/mmdb.js';
import type { LatencyRows } from './rank.js';
import { rankClient } from './rank.js';
import { IntMap } from '../geo/int-map.js';
import type { PopInfo, RuleTables } from './rules.js';
import { spilledRanking, spills } from './spill.js';
import { TrieBuilder, type FamilyTrie } from './trie.js';

/** One database tree for one family: where its root for that family is. */
export interface TreeSource {
  db: MmdbFile;
  /** Root node for the family (ipv4Root() for IPv4 in an IPv6 DB). */
  root: number;
}

export interface PolicySources {
  city4: TreeSource | null;
  city6: TreeSource | null;
  asn4: TreeSource | null;
  asn6: TreeSource | null;
  latency: LatencyRows | null;
}

export interface CompileStats {
  compileMs: number;
  nodes4: number;
  nodes6: number;
  /** Database leaves visited (networks), per family. */
  networks4: number;
  networks6: number;
  /** Leaves after merging, per family. */
  leaves4: number;
  leaves6: number;
  decisions: number;
  /** Distinct (record, ASN, overlay) combinations ranked. */
  ranked: number;
}

/** A compiled policy: plain data, immutable once built. */
export interface CompiledPolicy {
  name: string;
  /** Identity of the inputs (see build/policies.ts policyKey); equal keys, equal tries. */
  key?: string;
  /** A stand-in sent by a reload compile: the caller's policy with this key is reused. */
  reused?: boolean;
  /** Decision length K (slots per decision in `decisions`). */
  candidates: number;
  v4: FamilyTrie;
  v6: FamilyTrie;
  /** decisionCount x K PoP indices, -1 padded. */
  decisions: Int16Array;
  decisionCount: number;
  stats: CompileStats;
  /** Share of each family's address space per PoP index (first choice): the change guard compares these. */
  space?: { ipv4: Float64Array; ipv6: Float64Array };
}

/** Interns rankings (PoP index lists) into dense decision ids. */
class DecisionTable {
  private readonly ids = new Map<number | string, number>();
  readonly lists: number[][] = [];

  constructor(private readonly popCount: number) {}

  intern(pops: readonly number[]): number {
    // A number key while it stays exact (K digits in base popCount+1), else a string.
    let key: number | string = 0;
    for (const pop of pops) key = key * (this.popCount + 1) + pop + 1;
    if (key > Number.MAX_SAFE_INTEGER) key = pops.join(',');
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.lists.length;
      this.lists.push([...pops]);
      this.ids.set(key, id);
    }
    return id;
  }

  toArray(k: number): Int16Array {
    const out = new Int16Array(this.lists.length * k).fill(-1);
    this.lists.forEach((list, i) => list.forEach((pop, j) => (out[i * k + j] = pop)));
    return out;
  }
}

interface FamilyContext {
  family: 4 | 6;
  bits: number;
  city: TreeSource | null;
  asn: TreeSource | null;
  overlayRoot: number;
  spillGranularity: number;
}

/**
 * Compiles one policy. Per-record caches live on the instance, so one
 * compiler serves both families of a policy.
 */
export class PolicyCompiler {
  private readonly decisions: DecisionTable;
  /** Decision by city record for leaves with no ASN and no overlay (the common case), per family. */
  private readonly byCity = [new IntMap(), new IntMap()];
  /** Decision by "mark|asn|city" for the rest. */
  private readonly byTuple = new Map<string, number>();
  private readonly locations = new Map<number, GeoLocation>();
  private readonly asns = new Map<number, number>();
  private readonly prefix = new Uint8Array(16);
  private ranked = 0;
  private lastRec = -1;
  private lastFamily = 0;
  private lastId = -1;
  private networks = 0;
  private readonly anySpill: boolean;

  constructor(
    private readonly tables: RuleTables,
    private readonly pops: readonly PopInfo[],
    private readonly sources: PolicySources,
  ) {
    this.anySpill = pops.some((p) => p.spill > 0);
    this.decisions = new DecisionTable(pops.length);
  }

  compile(): CompiledPolicy {
    const t0 = performance.now();
    const o = this.tables.overlay;
    const v4 = this.family({
      family: 4,
      bits: 32,
      city: this.sources.city4,
      asn: this.sources.asn4,
      overlayRoot: o.root4,
      spillGranularity: this.tables.spillGranularity4,
    });
    const networks4 = this.networks;
    this.networks = 0;
    const v6 = this.family(
      {
        family: 6,
        bits: 128,
        city: this.sources.city6,
        asn: this.sources.asn6,
        overlayRoot: o.root6,
        spillGranularity: this.tables.spillGranularity6,
      },
      v4.trie,
    );
    const k = this.tables.candidates;
    return {
      name: this.tables.name,
      candidates: k,
      v4: v4.trie,
      v6: v6.trie,
      decisions: this.decisions.toArray(k),
      decisionCount: this.decisions.lists.length,
      stats: {
        compileMs: Math.round(performance.now() - t0),
        nodes4: v4.trie.nodes.length / 2,
        nodes6: v6.trie.nodes.length / 2,
        networks4,
        networks6: this.networks,
        leaves4: v4.leaves,
        leaves6: v6.leaves,
        decisions: this.decisions.lists.length,
        ranked: this.ranked,
      },
    };
  }

  /**
   * Compile one family. For IPv6, `mapped` (the IPv4 trie) is grafted at
   * ::ffff:0:0/96: the query path answers IPv4-mapped clients from the IPv4
   * trie, so an IPv6 scope that covers that range must see the same decisions
   * (otherwise a wide IPv6 leaf there would claim answers it does not give).
   */
  private family(fc: FamilyContext, mapped?: FamilyTrie): { trie: FamilyTrie; leaves: number } {
    const builder = new TrieBuilder();
    this.prefix.fill(0);
    const city = fc.city;
    const asn = fc.asn;
    const cityN = city ? city.db.nodeCount : 0;
    const asnN = asn ? asn.db.nodeCount : 0;
    const overlay = this.tables.overlay;
    const bits = fc.bits;
    const prefix = this.prefix;

    // On the path to ::ffff:0:0/96 (80 zero bits, 16 one bits) while `onMapped`.
    const mappedBit = (depth: number) => (depth >= 80 ? 1 : 0);

    const visit = (depth: number, c: number, a: number, ov: number, mark: number, onMapped: boolean): number => {
      if (onMapped && depth === 96) return graft(builder, mapped!);
      const cityIn = c >= 0 && c < cityN;
      const asnIn = a >= 0 && a < asnN;
      if ((!cityIn && !asnIn && !overlay.hasChildren(ov) && !onMapped) || depth === bits) {
        return this.leaf(fc, depth, cityIn ? cityN : c, asnIn ? asnN : a, mark);
      }
      const byte = depth >> 3;
      const mask = 0x80 >> (depth & 7);
      const ov0 = overlay.child(ov, 0);
      const l = visit(
        depth + 1,
        cityIn ? city!.db.record(c, 0) : c,
        asnIn ? asn!.db.record(a, 0) : a,
        ov0,
        overlay.isMarked(ov0) ? ov0 : mark,
        onMapped && mappedBit(depth) === 0,
      );
      prefix[byte] |= mask;
      const ov1 = overlay.child(ov, 1);
      const r = visit(
        depth + 1,
        cityIn ? city!.db.record(c, 1) : c,
        asnIn ? asn!.db.record(a, 1) : a,
        ov1,
        overlay.isMarked(ov1) ? ov1 : mark,
        onMapped && mappedBit(depth) === 1,
      );
      prefix[byte] &= ~mask;
      return l < 0 && l === r ? l : builder.push(l, r);
    };

    const rootMark = overlay.isMarked(fc.overlayRoot) ? fc.overlayRoot : -1;
    const root = visit(0, city ? city.root : -1, asn ? asn.root : -1, fc.overlayRoot, rootMark, mapped !== undefined);
    return { trie: builder.finish(root), leaves: builder.leaves };
  }

  /** Decision id for a leaf: `c`/`a` are record values (or -1 / nodeCount for "no data"). */
  private leaf(fc: FamilyContext, depth: number, c: number, a: number, mark: number): number {
    this.networks++;
    const base = this.decisionFor(fc, c, a, mark);
    if (!this.anySpill) return ~base;
    const first = this.decisions.lists[base][0];
    if (first === undefined || this.pops[first].spill <= 0) return ~base;
    // Spill is decided per /G block, or per database network when that is wider:
    // splitting wide networks into /G pieces would multiply the trie (IPv6 has
    // ~700k networks wider than /40).
    return ~this.spillDecision(fc, base, Math.min(depth, fc.spillGranularity));
  }

  private spillDecision(fc: FamilyContext, base: number, unit: number): number {
    const ranking = this.decisions.lists[base];
    const first = this.pops[ranking[0]];
    return spills(fc.family, this.prefix, unit, first.id, first.spill)
      ? this.decisions.intern(spilledRanking(ranking))
      : base;
  }

  private decisionFor(fc: FamilyContext, c: number, a: number, mark: number): number {
    const cityRec = fc.city && c > fc.city.db.nodeCount ? c : -1;
    const asnRec = fc.asn && a > fc.asn.db.nodeCount ? a : -1;
    if (asnRec < 0 && mark < 0) {
      // Record values are per database: keep the families apart.
      // Neighbouring leaves often carry the same record.
      if (cityRec === this.lastRec && fc.family === this.lastFamily) return this.lastId;
      const map = this.byCity[fc.family === 4 ? 0 : 1];
      let id = map.get(cityRec);
      if (id < 0) {
        id = this.rank(fc, cityRec, -1, -1);
        map.set(cityRec, id);
      }
      this.lastRec = cityRec;
      this.lastFamily = fc.family;
      this.lastId = id;
      return id;
    }
    const key = `${fc.family}|${mark}|${asnRec}|${cityRec}`;
    let id = this.byTuple.get(key);
    if (id === undefined) {
      id = this.rank(fc, cityRec, asnRec, mark);
      this.byTuple.set(key, id);
    }
    return id;
  }

  private rank(fc: FamilyContext, cityRec: number, asnRec: number, mark: number): number {
    this.ranked++;
    const loc =
      cityRec < 0 ? UNKNOWN_LOCATION : this.location(fc.city!.db, cityRec, fc.family, asnRec >= 0 || mark >= 0);
    const asn = asnRec < 0 ? 0 : this.asn(fc.asn!.db, asnRec, fc.family);
    const ctx = this.tables.overlay.contextOf(mark);
    const ranking = rankClient(this.tables, this.pops, { loc, asn, ctx }, this.sources.latency);
    return this.decisions.intern(ranking.pops);
  }

  private location(db: MmdbFile, rec: number, family: 4 | 6, revisited: boolean): GeoLocation {
    // Cached only for leaves split by ASN or overlay, which revisit a record; byCity caches the rest.
    if (!revisited) return extractLocation(db, db.dataOffset(rec));
    const key = family === 4 ? rec : -2 - rec;
    let loc = this.locations.get(key);
    if (!loc) {
      loc = extractLocation(db, db.dataOffset(rec));
      this.locations.set(key, loc);
    }
    return loc;
  }

  private asn(db: MmdbFile, rec: number, family: 4 | 6): number {
    const key = family === 4 ? rec : -2 - rec;
    let asn = this.asns.get(key);
    if (asn === undefined) {
      asn = extractAsn(db, db.dataOffset(rec));
      this.asns.set(key, asn);
    }
    return asn;
  }
}

/** Copy a finished trie's nodes into `builder` (child indices shifted); returns the grafted root. */
function graft(builder: TrieBuilder, t: FamilyTrie): number {
  if (t.root < 0) return t.root;
  let base = -1;
  for (let i = 0; i < t.nodes.length; i += 2) {
    const l = t.nodes[i];
    const r = t.nodes[i + 1];
    const at = builder.push(l, r);
    if (base < 0) base = at;
    // Children were pushed first (post-order), so their new index is old + base.
    builder.set(at, l < 0 ? l : l + base, r < 0 ? r : r + base);
  }
  return t.root + base;
}

/** Compile one policy (see PolicyCompiler). */
export function compilePolicy(tables: RuleTables, pops: readonly PopInfo[], sources: PolicySources): CompiledPolicy {
  return new PolicyCompiler(tables, pops, sources).compile();
}
