/**
 * Precompute every answer the zones can give, as wire bytes (RFC 1034 4.3.2):
 * per name and qtype the sections of a positive answer, NODATA, a CNAME chain
 * chased inside our zones, a referral with glue, or a wildcard synthesis; per
 * zone NXDOMAIN. Owner names equal to the qname are written as a pointer to
 * the question (0xC00C), so one encoding serves every spelling of the qname
 * and every name a wildcard covers. Answers that depend on the client (geo
 * records) leave a GeoSlot for the policy stage to fill per query.
 */
import { QType, Rcode } from '../wire/constants.js';
import { joinSections, type Sections } from '../wire/response.js';
import { encodeRR as encodeOwned, encodeRRAtQname } from '../wire/rr.js';
import type { GeoRecordData, ZoneData } from './build.js';
import { isSubdomain, nameToWire, parentName } from './names.js';
import { isStaticType, typeCode, type RecordType, type ZoneRecord } from './types.js';

/** Where a geo record's addresses go into an answer. Plain data; the policy stage keeps the caches. */
export interface GeoSlot {
  /** Dense id over all slots of a runtime. */
  id: number;
  /** Index into the snapshot's geo records. */
  record: number;
  qtype: 1 | 28;
  /** Owner name bytes: 0xC00C, or the full name after a CNAME. */
  owner: Uint8Array;
}

export type PlanKind = 'answer' | 'nodata' | 'nxdomain' | 'referral' | 'refused' | 'dname';

/**
 * A DNAME the query path substitutes through (RFC 6672): the qname is below
 * the owner, so the answer is the DNAME, a CNAME synthesised per query and
 * whatever the new name has. Plain data; see zone/dname.ts.
 */
export interface DnameData {
  /** Wire length of the owner name (the qname's last `ownerLength` octets are the owner). */
  ownerLength: number;
  /** The DNAME target, lower-case wire form. */
  target: Uint8Array;
  /** TTL of the DNAME, also the synthesised CNAME's (RFC 6672 3.1). */
  ttl: number;
  /** The DNAME RR after its owner name: TYPE, CLASS, TTL, RDLENGTH, RDATA. */
  rr: Uint8Array;
}

const NO_BYTES = new Uint8Array(0);

/**
 * One precomputed answer. A class with every field set in one order, so the
 * query path's property reads stay monomorphic (plain object spreads would
 * give V8 several shapes for the same role).
 */
export class Plan implements Sections {
  rcode = 0;
  aa = false;
  answer: Uint8Array = NO_BYTES;
  anCount = 0;
  authority: Uint8Array = NO_BYTES;
  nsCount = 0;
  additional: Uint8Array = NO_BYTES;
  arCount = 0;
  additionalRequired = false;
  kind: PlanKind = 'answer';
  /** Client-dependent tail of the answer section, or null. */
  geo: GeoSlot | null = null;
  /** The geo tail is reached through a CNAME (RFC 7871 7.2.1: with ECS, answer only the CNAME). */
  geoViaCname = false;
  /** NODATA sections for when the geo tail has no address of the family. */
  empty: Plan | null = null;
  /** Set on a `dname` plan: substitute the qname through this DNAME. */
  dname: DnameData | null = null;
  rest: Uint8Array = NO_BYTES;
  all: Uint8Array = NO_BYTES;

  constructor(fields: Partial<Plan> & { rcode: number; kind: PlanKind }) {
    Object.assign(this, fields);
    const joined = joinSections(this);
    this.rest = joined.rest;
    this.all = joined.all;
  }
}

export interface ZoneRuntime {
  origin: string;
  nxdomain: Plan;
  nodata: Plan;
}

/** A name that exists in one of our zones (with data, or as an empty non-terminal). */
export interface NameEntry {
  name: string;
  /** Lower-case wire form, the NameTable key. */
  wire: Uint8Array;
  /** Set when this name is the apex of a zone we serve. */
  apex: ZoneRuntime | null;
  /** Set when this name is a delegation point: the referral. */
  referral: Plan | null;
  /** At a delegation point, DS is answered by the parent side (RFC 4035 3.1.4.1): the DS RRset or NODATA. */
  dsPlan: Plan | null;
  /** Set when this name owns a DNAME: the plan for names below it (RFC 6672). */
  dname: Plan | null;
  /** The entry for "*.<name>", if that wildcard exists. */
  wildcard: NameEntry | null;
  plans: Map<number, Plan>;
  /** Plan for any other qtype (NODATA, or the CNAME chain). */
  other: Plan;
  /** RFC 8482: one RRset for ANY. */
  any: Plan;
}

interface RRset {
  type: RecordType;
  ttl: number;
  data: unknown[];
}

interface NodeBuild {
  name: string;
  zone: number;
  /** By type code. */
  rrsets: Map<number, RRset>;
  geo: GeoRecordData | null;
}

/** RFC 8482 pick for ANY: the first of these the name has, else its first RRset. */
const ANY_PREFERENCE: number[] = ['CNAME', 'A', 'AAAA', 'MX', 'TXT', 'SRV', 'CAA', 'PTR', 'NS', 'SOA'].map((t) =>
  typeCode(t as RecordType),
);
const QNAME_POINTER = Uint8Array.of(0xc0, 0x0c);
const MAX_CHAIN = 8;

/**
 * Encode one RR; owner null = pointer to the question name. Structured types
 * go through dns-packet; the others carry their wire RDATA (hex) as it is.
 */
function encodeRR(owner: string | null, type: RecordType, ttl: number, data: unknown): Uint8Array {
  if (isStaticType(type))
    return owner === null ? encodeRRAtQname({ type, ttl, data }) : encodeOwned({ name: owner, type, ttl, data });
  const rdata = Buffer.from(data as string, 'hex');
  const head = Buffer.alloc(10);
  head.writeUInt16BE(typeCode(type), 0);
  head.writeUInt16BE(1, 2); // class IN
  head.writeUInt32BE(ttl, 4);
  head.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner === null ? QNAME_POINTER : nameToWire(owner), head, rdata]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

function rrsetBytes(owner: string | null, set: RRset): Uint8Array[] {
  return set.data.map((d) => encodeRR(owner, set.type, set.ttl, d));
}

/** Builds the NameEntry set for a snapshot's zones. */
export class AnswerBuilder {
  private readonly nodes = new Map<string, NodeBuild>();
  private readonly zones: ZoneRuntime[];
  private readonly soaBytes: Uint8Array[];
  readonly slots: GeoSlot[] = [];
  private readonly slotIndex = new Map<string, GeoSlot>();

  constructor(
    private readonly zoneData: readonly ZoneData[],
    geo: readonly GeoRecordData[],
    geoIndex: (g: GeoRecordData) => number,
  ) {
    zoneData.forEach((z, zi) => {
      for (const r of z.records) this.add(r, zi);
      this.ensure(z.origin, zi);
    });
    for (const g of geo) this.ensure(g.name, g.zone).geo = g;
    this.geoIndex = geoIndex;
    // Empty non-terminals: every ancestor up to the apex exists (RFC 8020 / RFC 4592 2.2.2).
    for (const node of [...this.nodes.values()]) {
      const origin = zoneData[node.zone].origin;
      for (let n = node.name; n !== origin && n !== ''; ) {
        n = parentName(n);
        this.ensure(n, node.zone);
      }
    }
    this.soaBytes = zoneData.map((z) => encodeRR(z.origin, 'SOA', z.negativeTtl, z.soa));
    this.zones = zoneData.map((z, zi) => ({
      origin: z.origin,
      nxdomain: this.negative(zi, Rcode.NXDOMAIN, 'nxdomain'),
      nodata: this.negative(zi, Rcode.NOERROR, 'nodata'),
    }));
  }

  private readonly geoIndex: (g: GeoRecordData) => number;

  private ensure(name: string, zone: number): NodeBuild {
    let n = this.nodes.get(name);
    if (!n) {
      n = { name, zone, rrsets: new Map(), geo: null };
      this.nodes.set(name, n);
    } else if (this.zoneData[zone].origin.length > this.zoneData[n.zone].origin.length) {
      n.zone = zone; // the more specific zone owns the name
    }
    return n;
  }

  private add(r: ZoneRecord, zone: number): void {
    const n = this.ensure(r.name, zone);
    const code = typeCode(r.type);
    this.codes.add(code);
    const set = n.rrsets.get(code);
    if (set) {
      set.data.push(r.data);
      set.ttl = Math.min(set.ttl, r.ttl); // RFC 2181 5.2: one TTL per RRset
    } else n.rrsets.set(code, { type: r.type, ttl: r.ttl, data: [r.data] });
  }

  /** Every type code some record of these zones has (a CNAME plans an answer for each). */
  private readonly codes = new Set<number>();

  private negative(zone: number, rcode: number, kind: PlanKind): Plan {
    return new Plan({ rcode, aa: true, authority: this.soaBytes[zone], nsCount: 1, kind });
  }

  private isCut(n: NodeBuild): boolean {
    return n.rrsets.has(QType.NS) && n.name !== this.zoneData[n.zone].origin;
  }

  private slot(record: GeoRecordData, qtype: 1 | 28, owner: string | null): GeoSlot {
    const key = `${record.zone}|${record.name}|${qtype}|${owner ?? ''}`;
    let s = this.slotIndex.get(key);
    if (!s) {
      s = {
        id: this.slots.length,
        record: this.geoIndex(record),
        qtype,
        owner: owner === null ? QNAME_POINTER : nameToWire(owner),
      };
      this.slots.push(s);
      this.slotIndex.set(key, s);
    }
    return s;
  }

  /**
   * Build-time mirror of the hot-path lookup, on strings (used to chase CNAME
   * targets): the node answering `name`, the delegation or the DNAME on the way.
   */
  private resolve(
    name: string,
  ): { node: NodeBuild | null; zone: number; cut: NodeBuild | null; dname: NodeBuild | null } | null {
    let zone = -1;
    this.zoneData.forEach((z, i) => {
      if (isSubdomain(name, z.origin) && (zone < 0 || z.origin.length > this.zoneData[zone].origin.length)) zone = i;
    });
    if (zone < 0) return null;
    const origin = this.zoneData[zone].origin;
    const labels = origin === '' ? name.split('.') : name.slice(0, name.length - origin.length - 1).split('.');
    let current = origin;
    let closest = this.nodes.get(origin)!;
    for (let i = labels.length - 1; i >= 0 && name !== origin; i--) {
      current = current === '' ? labels[i] : `${labels[i]}.${current}`;
      const n = this.nodes.get(current);
      if (!n) {
        const wild = this.nodes.get(closest.name === '' ? '*' : `*.${closest.name}`);
        return { node: wild ?? null, zone, cut: null, dname: null };
      }
      if (this.isCut(n)) return { node: n, zone, cut: n, dname: null };
      if (i > 0 && n.rrsets.has(QType.DNAME)) return { node: null, zone, cut: null, dname: n };
      closest = n;
    }
    if (name !== origin && closest === this.nodes.get(origin) && closest.rrsets.has(QType.DNAME))
      return { node: null, zone, cut: null, dname: closest };
    return { node: closest, zone, cut: null, dname: null };
  }

  /** The answer for `qtype` at node `n`, the qname's owner being `owner` (null = the qname itself). */
  private planAt(n: NodeBuild, qtype: number, owner: string | null, seen: Set<string>, acc: Uint8Array[]): Plan {
    const zone = this.zones[n.zone];
    const cname = n.rrsets.get(QType.CNAME);
    if (cname && qtype !== QType.CNAME && qtype !== QType.ANY) {
      acc.push(...rrsetBytes(owner, cname));
      let target = cname.data[0] as string;
      let next = this.resolve(target);
      // A DNAME on the way (RFC 6672 3.2): its RR, the synthesised CNAME, and on from the new name.
      while (next?.dname && !seen.has(target) && seen.size < MAX_CHAIN) {
        seen.add(target);
        const dname = next.dname.rrsets.get(QType.DNAME)!;
        acc.push(...rrsetBytes(next.dname.name, dname));
        const substituted = substituteDname(target, next.dname.name, dname.data[0] as string);
        if (substituted === null)
          return new Plan({
            rcode: Rcode.YXDOMAIN,
            aa: true,
            answer: concat(acc),
            anCount: acc.length,
            kind: 'answer',
          });
        acc.push(encodeRR(target, 'CNAME', dname.ttl, substituted));
        target = substituted;
        next = this.resolve(target);
      }
      if (!next || next.cut || next.dname || seen.has(target) || seen.size >= MAX_CHAIN)
        return this.positive(acc, null, false, zone);
      seen.add(target);
      if (!next.node) {
        return new Plan({ ...this.zones[next.zone].nxdomain, answer: concat(acc), anCount: acc.length }); // RFC 6604: rcode of the last name
      }
      return this.planAt(next.node, qtype, target, seen, acc);
    }
    const set = n.rrsets.get(qtype);
    if (set) {
      acc.push(...rrsetBytes(owner, set));
      return this.positive(acc, null, owner !== null, zone);
    }
    if (
      n.geo &&
      (qtype === QType.A || qtype === QType.AAAA) &&
      n.geo.types.includes(qtype === QType.A ? 'A' : 'AAAA')
    ) {
      return this.positive(acc, this.slot(n.geo, qtype, owner), owner !== null, zone);
    }
    if (acc.length > 0) {
      // The chain ends at a name without this type: the CNAMEs plus the SOA (RFC 2308 2.2).
      return new Plan({ ...this.positive(acc, null, false, zone), authority: zone.nodata.authority, nsCount: 1 });
    }
    return zone.nodata;
  }

  private positive(acc: Uint8Array[], geo: GeoSlot | null, viaCname: boolean, zone: ZoneRuntime): Plan {
    return new Plan({
      rcode: Rcode.NOERROR,
      aa: true,
      answer: concat(acc),
      anCount: acc.length,
      kind: 'answer',
      geo,
      geoViaCname: geo !== null && viaCname,
      empty: geo !== null ? zone.nodata : null,
    });
  }

  private anyPlan(n: NodeBuild): Plan {
    const type = ANY_PREFERENCE.find((t) => n.rrsets.has(t)) ?? n.rrsets.keys().next().value;
    if (n.geo && (type === undefined || type !== QType.CNAME)) {
      return this.planAt(n, n.geo.types.includes('A') ? QType.A : QType.AAAA, null, new Set(), []);
    }
    if (type === undefined) return this.zones[n.zone].nodata;
    return this.positive(rrsetBytes(null, n.rrsets.get(type)!), null, false, this.zones[n.zone]);
  }

  /** At a delegation point: the DS RRset the parent holds, or NODATA (RFC 4035 3.1.4.1). */
  private dsPlan(cut: NodeBuild): Plan {
    const ds = cut.rrsets.get(QType.DS);
    return ds ? this.positive(rrsetBytes(null, ds), null, false, this.zones[cut.zone]) : this.zones[cut.zone].nodata;
  }

  /** The plan for names below a DNAME owner: the query path substitutes per query. */
  private dnamePlan(n: NodeBuild): Plan | null {
    const set = n.rrsets.get(QType.DNAME);
    if (!set) return null;
    const target = set.data[0] as string;
    const rr = encodeRR(null, 'DNAME', set.ttl, target).subarray(QNAME_POINTER.length);
    const wire = nameToWire(n.name);
    return new Plan({
      rcode: Rcode.NOERROR,
      aa: true,
      kind: 'dname',
      dname: { ownerLength: wire.length, target: nameToWire(target), ttl: set.ttl, rr },
    });
  }

  private referral(cut: NodeBuild): Plan {
    const ns = cut.rrsets.get(QType.NS)!;
    const glue: Uint8Array[] = [];
    for (const target of ns.data as string[]) {
      if (!isSubdomain(target, cut.name)) continue; // only in-bailiwick glue is needed (RFC 9471)
      const t = this.nodes.get(target);
      for (const type of [QType.A, QType.AAAA]) {
        const set = t?.rrsets.get(type);
        if (set) glue.push(...rrsetBytes(target, set));
      }
    }
    return new Plan({
      rcode: Rcode.NOERROR,
      aa: false,
      authority: concat(rrsetBytes(cut.name, ns)),
      nsCount: ns.data.length,
      additional: concat(glue),
      arCount: glue.length,
      additionalRequired: glue.length > 0,
      kind: 'referral',
    });
  }

  /** Every name entry, wired up (apex, wildcard, referral, plans). */
  build(): NameEntry[] {
    const entries = new Map<string, NameEntry>();
    for (const n of this.nodes.values()) {
      const zone = this.zones[n.zone];
      const isApex = n.name === zone.origin;
      const plans = new Map<number, Plan>();
      // A CNAME's answer depends on what its target has for the qtype: plan every type the zones hold.
      const types = n.rrsets.has(QType.CNAME) ? this.codes : n.rrsets.keys();
      for (const type of types) plans.set(type, this.planAt(n, type, null, new Set([n.name]), []));
      if (n.geo)
        for (const t of n.geo.types) plans.set(QType[t], this.planAt(n, QType[t], null, new Set([n.name]), []));
      const cut = !isApex && this.isCut(n);
      entries.set(n.name, {
        name: n.name,
        wire: nameToWire(n.name),
        apex: isApex ? zone : null,
        referral: cut ? this.referral(n) : null,
        dsPlan: cut ? this.dsPlan(n) : null,
        dname: this.dnamePlan(n),
        wildcard: null,
        plans,
        other: this.planAt(n, 0, null, new Set([n.name]), []),
        any: this.anyPlan(n),
      });
    }
    for (const e of entries.values()) e.wildcard = entries.get(e.name === '' ? '*' : `*.${e.name}`) ?? null;
    return [...entries.values()];
  }
}

/**
 * RFC 6672 2.2: replace the `owner` suffix of `name` with `target`; null
 * when the result is longer than 255 octets (the server answers YXDOMAIN).
 */
export function substituteDname(name: string, owner: string, target: string): string | null {
  const prefix = owner === '' ? name : name.slice(0, name.length - owner.length - 1);
  const result = target === '' ? prefix : `${prefix}.${target}`;
  return Buffer.byteLength(result) + 2 > 255 ? null : result;
}
