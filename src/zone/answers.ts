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
import type { ParsedQuery } from '../wire/query.js';
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
  /** DNSSEC: the DNAME's RRSIG RRs after their owner name (written when DO=1); empty when unsigned. */
  rrsigs: Uint8Array[];
}

const NO_BYTES = new Uint8Array(0);

/**
 * The DO=1 answer of a plan that depends on the query name (a wildcard
 * expansion, a name that does not exist): signed per name, cached and
 * bounded by the runtime (build/answer-signing.ts). Called on the query path.
 */
export interface PerNameAnswer {
  /**
   * The sections for this query name; null when a signature is needed and
   * the zone's signing budget is spent and `mayDefer` (UDP): the caller
   * answers TC=1, so a real resolver retries over TCP and a spoofed flood
   * gets nothing signed.
   */
  sections(msg: Uint8Array, q: ParsedQuery, mayDefer: boolean): Sections | null;
}

/** One RRset as it enters an answer, with what its RRSIGs are found by (DNSSEC, RFC 4035 3.1.1). */
export interface Chunk {
  /** The encoded RRs (owner 0xC00C or the full name). */
  rrs: Uint8Array[];
  /** The owner name (canonical); at a wildcard node owned by the qname, the wildcard's own name. */
  name: string;
  /** True when the owner on the wire is the query name (0xC00C). */
  atQname: boolean;
  zone: number;
  type: number;
  ttl: number;
  /** A CNAME synthesised from a DNAME carries no RRSIG (RFC 6672 5.3.1: the DNAME's proves it). */
  synthesized: boolean;
}

/**
 * What the answer builder asks to make DO=1 variants (implemented on the
 * build side, build/answer-signing.ts). Absent: no variant is made, and the
 * plans are exactly those of an unsigned server.
 */
export interface AnswerSigning {
  /** True when zone `zone` is signed. */
  signs(zone: number): boolean;
  /** The RRSIG RRs (owner bytes as given) covering RRset (name, type) of `zone`; empty when none. */
  rrsigRecords(zone: number, name: string, type: number, ownerBytes: Uint8Array, ttl: number): Uint8Array[];
  /** The compact NSEC RR at existing name `name` plus its RRSIG RRs, owner bytes as given (NODATA, RFC 9824 3.2). */
  nsecRecords(zone: number, name: string, ownerBytes: Uint8Array): Uint8Array[];
  /** A per-name signer for names of `zone` that do not exist (RFC 9824 3.1). */
  denial(zone: number, soa: Uint8Array[]): PerNameAnswer;
  /**
   * A per-name signer for a wildcard expansion: `first` owned by the query
   * name and signed per name, then `rest` (signed bytes, `restCount` RRs);
   * or, `first` null, NODATA at a wildcard with `types` (RFC 9824 3.3).
   */
  wildcard(
    zone: number,
    plan: Plan,
    first: Chunk | null,
    rest: Uint8Array,
    restCount: number,
    soa: Uint8Array[],
    types: number[],
  ): PerNameAnswer;
}

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
  /** DNSSEC: the variant with RRSIGs and denial records, for DO=1 (null: the same bytes serve both). */
  signed: Plan | null = null;
  /** DNSSEC: DO=1 answers signed per query name (wildcards, names that do not exist), when `signed` is null. */
  perName: PerNameAnswer | null = null;
  /** This is a DO=1 variant: geo tails get their RRSIG too. */
  isSigned = false;
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
/** The NSEC type (RFC 4034 4): answered at names of signed zones with DO=1. */
const NSEC_TYPE = 47;
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

const chunkBytes = (acc: readonly Chunk[]): Uint8Array => concat(acc.flatMap((c) => c.rrs));
const chunkCount = (acc: readonly Chunk[]): number => acc.reduce((n, c) => n + c.rrs.length, 0);
const isWildcardName = (name: string): boolean => name === '*' || name.startsWith('*.');

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
    private readonly signing: AnswerSigning | null = null,
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
    this.zones = zoneData.map((z, zi) => {
      const nxdomain = this.negative(zi, Rcode.NXDOMAIN, 'nxdomain');
      if (signing?.signs(zi)) nxdomain.perName = signing.denial(zi, this.signedSoa(zi));
      return { origin: z.origin, nxdomain, nodata: this.negative(zi, Rcode.NOERROR, 'nodata') };
    });
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

  /** A chunk of the answer: the RRset `set` of node `n`, written with owner `owner` (null = the qname). */
  private chunk(n: NodeBuild, owner: string | null, set: RRset, synthesized = false): Chunk {
    return {
      rrs: rrsetBytes(owner, set),
      name: owner ?? n.name,
      atQname: owner === null,
      zone: n.zone,
      type: typeCode(set.type),
      ttl: set.ttl,
      synthesized,
    };
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
  private planAt(n: NodeBuild, qtype: number, owner: string | null, seen: Set<string>, acc: Chunk[]): Plan {
    const zone = this.zones[n.zone];
    const cname = n.rrsets.get(QType.CNAME);
    if (cname && qtype !== QType.CNAME && qtype !== QType.ANY) {
      acc.push(this.chunk(n, owner, cname));
      let target = cname.data[0] as string;
      let next = this.resolve(target);
      // A DNAME on the way (RFC 6672 3.2): its RR, the synthesised CNAME, and on from the new name.
      while (next?.dname && !seen.has(target) && seen.size < MAX_CHAIN) {
        seen.add(target);
        const dname = next.dname.rrsets.get(QType.DNAME)!;
        acc.push(this.chunk(next.dname, next.dname.name, dname));
        const substituted = substituteDname(target, next.dname.name, dname.data[0] as string);
        if (substituted === null)
          return new Plan({
            rcode: Rcode.YXDOMAIN,
            aa: true,
            answer: chunkBytes(acc),
            anCount: chunkCount(acc),
            kind: 'answer',
          });
        const synthesized = { type: 'CNAME' as const, ttl: dname.ttl, data: [substituted] };
        acc.push({ ...this.chunk(next.dname, target, synthesized, true) });
        target = substituted;
        next = this.resolve(target);
      }
      if (!next || next.cut || next.dname || seen.has(target) || seen.size >= MAX_CHAIN)
        return this.positive(acc, null, false, zone);
      seen.add(target);
      if (!next.node) {
        // RFC 6604: rcode of the last name. DO=1: the chain signed, then the target's compact denial
        // (RFC 9824 3.1: NOERROR, an NSEC with NXNAME, signed at build like any static RRset).
        const plan = new Plan({
          ...this.zones[next.zone].nxdomain,
          perName: null,
          answer: chunkBytes(acc),
          anCount: chunkCount(acc),
        });
        this.signVariant(plan, acc, null, null);
        const proof = this.signing?.signs(next.zone)
          ? this.signing.nsecRecords(next.zone, target, nameToWire(target))
          : [];
        if (plan.signed !== null && proof.length > 0) {
          const authority = [...this.signedSoa(next.zone), ...proof];
          plan.signed = new Plan({
            ...plan.signed,
            rcode: Rcode.NOERROR,
            authority: concat(authority),
            nsCount: authority.length,
          });
        }
        return plan;
      }
      return this.planAt(next.node, qtype, target, seen, acc);
    }
    const set = n.rrsets.get(qtype);
    if (set) {
      acc.push(this.chunk(n, owner, set));
      return this.positive(acc, null, owner !== null, zone);
    }
    if (
      n.geo &&
      (qtype === QType.A || qtype === QType.AAAA) &&
      n.geo.types.includes(qtype === QType.A ? 'A' : 'AAAA')
    ) {
      return this.positive(acc, this.slot(n.geo, qtype, owner), owner !== null, zone, this.nodataAt(n, owner), n.zone);
    }
    if (acc.length > 0) {
      // The chain ends at a name without this type: the CNAMEs plus the SOA (RFC 2308 2.2).
      const plan = new Plan({ ...this.positive(acc, null, false, zone), authority: zone.nodata.authority, nsCount: 1 });
      this.signVariant(plan, acc, n, owner);
      return plan;
    }
    return this.nodataAt(n, owner);
  }

  /** NODATA at node `n`: the zone's shared plan, or one of the node's own when DO=1 needs its NSEC. */
  private nodataAt(n: NodeBuild, owner: string | null): Plan {
    const shared = this.zones[n.zone].nodata;
    if (!this.signing?.signs(n.zone)) return shared;
    const plan = new Plan({ ...shared, signed: null });
    this.signVariant(plan, [], n, owner);
    return plan;
  }

  private positive(
    acc: Chunk[],
    geo: GeoSlot | null,
    viaCname: boolean,
    zone: ZoneRuntime,
    empty: Plan = zone.nodata,
    zoneIndex = -1,
  ): Plan {
    const plan = new Plan({
      rcode: Rcode.NOERROR,
      aa: true,
      answer: chunkBytes(acc),
      anCount: chunkCount(acc),
      kind: 'answer',
      geo,
      geoViaCname: geo !== null && viaCname,
      empty: geo !== null ? empty : null,
    });
    this.signVariant(plan, acc, null, null, zoneIndex);
    return plan;
  }

  /** SOA and its RRSIGs, as they go into the authority section of a negative answer. */
  private signedSoa(zone: number): Uint8Array[] {
    const z = this.zoneData[zone];
    const soa = this.soaBytes[zone];
    const owner = nameToWire(z.origin);
    return [soa, ...this.signing!.rrsigRecords(zone, z.origin, QType.SOA, owner, z.negativeTtl)];
  }

  /** The answer chunks with the RRSIGs of each RRset after it; `skipFirst` leaves the first chunk's to the per-name signer. */
  private signedChunks(acc: readonly Chunk[], from: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = from; i < acc.length; i++) {
      const c = acc[i];
      out.push(...c.rrs);
      if (c.synthesized) continue;
      const ownerBytes = c.atQname ? QNAME_POINTER : nameToWire(c.name);
      out.push(...this.signing!.rrsigRecords(c.zone, c.name, c.type, ownerBytes, c.ttl));
    }
    return out;
  }

  /**
   * Give `plan` its DO=1 variant: RRSIGs after every RRset of the answer;
   * for NODATA at node `nodata` (owner `owner`, null = the qname), the SOA
   * and the compact NSEC of that name with their RRSIGs (RFC 9824 3.2).
   * Answers owned by the qname at a wildcard are signed per name instead.
   */
  private signVariant(
    plan: Plan,
    acc: readonly Chunk[],
    nodata: NodeBuild | null,
    owner: string | null,
    zoneIndex = -1,
  ): void {
    const signing = this.signing;
    const zone = acc.length > 0 ? acc[0].zone : nodata !== null ? nodata.zone : zoneIndex;
    if (signing === null || zone < 0 || !signing.signs(zone)) return;
    const wildFirst = acc.length > 0 && acc[0].atQname && isWildcardName(acc[0].name);
    const wildNodata = acc.length === 0 && nodata !== null && owner === null && isWildcardName(nodata.name);
    if (wildFirst || wildNodata) {
      const rest = this.signedChunks(acc, 1);
      const types = nodata !== null ? this.typesAt(nodata) : [];
      plan.perName = signing.wildcard(
        zone,
        plan,
        wildFirst ? acc[0] : null,
        concat(rest),
        rest.length,
        plan.nsCount > 0 ? this.signedSoa(plan.kind === 'nxdomain' ? zone : (nodata?.zone ?? zone)) : [],
        types,
      );
      return;
    }
    const answer = this.signedChunks(acc, 0);
    let authority: Uint8Array[] = [];
    if (plan.nsCount > 0) {
      const soaZone = nodata !== null ? nodata.zone : zone;
      authority = signing.signs(soaZone) ? this.signedSoa(soaZone) : [plan.authority];
      if (nodata !== null && signing.signs(nodata.zone)) {
        const ownerBytes = owner === null ? QNAME_POINTER : nameToWire(owner);
        authority.push(...signing.nsecRecords(nodata.zone, nodata.name, ownerBytes));
      }
    }
    plan.signed = new Plan({
      ...plan,
      signed: null,
      perName: null,
      isSigned: true,
      answer: concat(answer),
      anCount: answer.length,
      authority: plan.nsCount > 0 ? concat(authority) : plan.authority,
      nsCount: plan.nsCount > 0 ? authority.length : 0,
      empty: plan.empty?.signed ?? plan.empty,
    });
  }

  /**
   * A query for the NSEC type at a name of a signed zone: with DO=1 the
   * name's compact NSEC and its RRSIGs as the answer (the NODATA proof would
   * list NSEC as present); with DO=0, NODATA as an unsigned server answers.
   */
  private nsecPlan(n: NodeBuild): Plan | null {
    if (!this.signing?.signs(n.zone) || isWildcardName(n.name) || n.rrsets.has(QType.CNAME) || this.isCut(n))
      return null;
    const plan = new Plan({ ...this.zones[n.zone].nodata, signed: null });
    const answer = this.signing.nsecRecords(n.zone, n.name, QNAME_POINTER);
    plan.signed = new Plan({
      rcode: Rcode.NOERROR,
      aa: true,
      answer: concat(answer),
      anCount: answer.length,
      kind: 'answer',
      isSigned: true,
    });
    return plan;
  }

  /** The types present at a node (its RRsets and geo types), for its NSEC bitmap. */
  private typesAt(n: NodeBuild): number[] {
    const types = new Set(n.rrsets.keys());
    for (const t of n.geo?.types ?? []) types.add(QType[t]);
    return [...types];
  }

  /**
   * What the signer needs (build/zone-signing.ts): every authoritative
   * RRset of the zones, as RDATA, and every name with the types it has, for
   * its NSEC. Not delegation NS or glue (the child's data, RFC 4035 2.2).
   */
  signingInput(): SigningNode[] {
    const out: SigningNode[] = [];
    for (const n of this.nodes.values()) {
      const origin = this.zoneData[n.zone].origin;
      let below = false;
      for (let p = n.name; p !== origin && p !== ''; ) {
        p = parentName(p);
        const parent = this.nodes.get(p);
        if (parent !== undefined && parent.zone === n.zone && this.isCut(parent)) below = true;
      }
      if (below) continue;
      const cut = this.isCut(n);
      const rrsets = [...n.rrsets.entries()]
        .filter(([code]) => !cut || code === QType.DS)
        .map(([code, set]) => ({
          type: code,
          ttl: set.ttl,
          rdata: rrsetBytes(n.name, set).map((rr) => rrRdata(rr)),
        }));
      out.push({ name: n.name, zone: n.zone, types: this.typesAt(n), rrsets });
    }
    // CNAME targets inside our zones that do not exist: their compact denial is static too.
    const dangling = new Set<string>();
    for (const n of this.nodes.values()) {
      const cname = n.rrsets.get(QType.CNAME);
      if (!cname) continue;
      const target = cname.data[0] as string;
      const r = this.resolve(target);
      if (r !== null && r.node === null && r.cut === null && r.dname === null && !dangling.has(target)) {
        dangling.add(target);
        out.push({ name: target, zone: r.zone, types: null, rrsets: [] });
      }
    }
    return out;
  }

  private anyPlan(n: NodeBuild): Plan {
    const type = ANY_PREFERENCE.find((t) => n.rrsets.has(t)) ?? n.rrsets.keys().next().value;
    if (n.geo && (type === undefined || type !== QType.CNAME)) {
      return this.planAt(n, n.geo.types.includes('A') ? QType.A : QType.AAAA, null, new Set(), []);
    }
    if (type === undefined) return this.nodataAt(n, null);
    return this.positive([this.chunk(n, null, n.rrsets.get(type)!)], null, false, this.zones[n.zone]);
  }

  /** At a delegation point: the DS RRset the parent holds, or NODATA (RFC 4035 3.1.4.1). */
  private dsPlan(cut: NodeBuild): Plan {
    const ds = cut.rrsets.get(QType.DS);
    return ds
      ? this.positive([this.chunk(cut, null, ds)], null, false, this.zones[cut.zone])
      : this.nodataAt(cut, null);
  }

  /** The plan for names below a DNAME owner: the query path substitutes per query. */
  private dnamePlan(n: NodeBuild): Plan | null {
    const set = n.rrsets.get(QType.DNAME);
    if (!set) return null;
    const target = set.data[0] as string;
    const rr = encodeRR(null, 'DNAME', set.ttl, target).subarray(QNAME_POINTER.length);
    const wire = nameToWire(n.name);
    const rrsigs = this.signing?.signs(n.zone)
      ? this.signing
          .rrsigRecords(n.zone, n.name, QType.DNAME, QNAME_POINTER, set.ttl)
          .map((r) => r.subarray(QNAME_POINTER.length))
      : [];
    return new Plan({
      rcode: Rcode.NOERROR,
      aa: true,
      kind: 'dname',
      dname: { ownerLength: wire.length, target: nameToWire(target), ttl: set.ttl, rr, rrsigs },
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
    const nsBytes = rrsetBytes(cut.name, ns);
    const plan = new Plan({
      rcode: Rcode.NOERROR,
      aa: false,
      authority: concat(nsBytes),
      nsCount: ns.data.length,
      additional: concat(glue),
      arCount: glue.length,
      additionalRequired: glue.length > 0,
      kind: 'referral',
    });
    if (this.signing?.signs(cut.zone)) {
      // RFC 4035 3.1.4: the DS RRset and its RRSIGs, or the NSEC proving there is none (an insecure delegation).
      const owner = nameToWire(cut.name);
      const ds = cut.rrsets.get(QType.DS);
      const proof = ds
        ? [...rrsetBytes(cut.name, ds), ...this.signing.rrsigRecords(cut.zone, cut.name, QType.DS, owner, ds.ttl)]
        : this.signing.nsecRecords(cut.zone, cut.name, owner);
      const authority = [...nsBytes, ...proof];
      plan.signed = new Plan({
        ...plan,
        signed: null,
        isSigned: true,
        authority: concat(authority),
        nsCount: authority.length,
      });
    }
    return plan;
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
      const nsec = this.nsecPlan(n);
      if (nsec !== null) plans.set(NSEC_TYPE, nsec);
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

/** The RDATA of an encoded RR (owner uncompressed or a 2-octet pointer). */
function rrRdata(rr: Uint8Array): Uint8Array {
  let at = 0;
  while (rr[at] !== 0 && (rr[at] & 0xc0) !== 0xc0) at += rr[at] + 1;
  at += rr[at] === 0 ? 1 : 2;
  return rr.subarray(at + 10);
}

/** One name of a zone as the signer sees it (AnswerBuilder.signingInput). */
export interface SigningNode {
  name: string;
  zone: number;
  /** Types present at the name (the NSEC bitmap, with RRSIG and NSEC added); null for a CNAME target that does not exist (NXNAME). */
  types: number[] | null;
  /** The RRsets to sign: every one but a delegation's NS (DS is the parent's); none below a cut. */
  rrsets: { type: number; ttl: number; rdata: Uint8Array[] }[];
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
