/**
 * DNSSEC in the runtime (each process): the DO=1 parts of the answers.
 * Static RRSIGs and NSECs come from the snapshot (signed once at build);
 * what depends on the query lives here, signed on first use and kept in
 * bounded, counted caches (dnssec/signature-cache.ts):
 *
 * - names that do not exist: RFC 9824 compact denial, per query name;
 * - wildcard expansions: signed as an exact match of the query name;
 * - geo answer sets: one signature per distinct set (owner, type, TTL,
 *   addresses), shared by every decision and health epoch that gives it.
 *
 * The caches are bounded, so a random-subdomain flood costs signatures, not
 * memory; each miss is counted. Keys are loaded from the files the snapshot
 * names (private keys never cross IPC). Signatures made here are valid a
 * full lifetime from now; the control plane rebuilds the runtime before the
 * static ones are due (plane/resign.ts), which also empties these caches.
 */
import { loadKeyPair } from '../dnssec/key-files.js';
import { lowerNameWire } from '../dnssec/name-wire.js';
import { BoundedCache, type CacheCounters } from '../dnssec/signature-cache.js';
import { RRType } from '../dnssec/constants.js';
import { ZoneSigner } from '../dnssec/zone-signer.js';
import { encodeRecords, type GeoAnswer } from '../policy/geo-answer.js';
import { Rcode } from '../wire/constants.js';
import type { ParsedQuery } from '../wire/query.js';
import type { Sections } from '../wire/response.js';
import { type AnswerSigning, type Chunk, type GeoSlot, Plan, type PerNameAnswer } from '../zone/answers.js';
import { nameToWire } from '../zone/names.js';
import type { ZoneData } from '../zone/build.js';
import type { HealthView } from '../health/view.js';
import type { GeoAnswers } from '../policy/geo-answer.js';
import type { SignedZone } from './zone-signing.js';

/** Geo answers pre-signed per event-loop turn in the background (small, so queries are not held up). */
const PRESIGN_BATCH = 32;

const QNAME = Uint8Array.of(0xc0, 0x0c);

/** Kinds of signatures made at run time (the `kind` label of meridian_dnssec_signatures_total). */
export const RUNTIME_KINDS = ['geo', 'denial', 'wildcard'] as const;
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];

/** One encoded RR: owner bytes as given, class IN. */
export function encodeRecord(owner: Uint8Array, type: number, ttl: number, rdata: Uint8Array): Uint8Array {
  return encodeRecords(owner, type, ttl, [rdata]);
}

/** The RDATA of each RR of an encoded RR list (owners uncompressed or 2-octet pointers). */
export function rdatasOf(bytes: Uint8Array, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    while (bytes[at] !== 0 && (bytes[at] & 0xc0) !== 0xc0) at += bytes[at] + 1;
    at += bytes[at] === 0 ? 1 : 2;
    const len = (bytes[at + 8] << 8) | bytes[at + 9];
    out.push(bytes.subarray(at + 10, at + 10 + len));
    at += 10 + len;
  }
  return out;
}

/** A geo tail with its RRSIGs appended. */
export interface SignedTail {
  bytes: Uint8Array;
  count: number;
}

/** Runtime DNSSEC state of one signed zone. */
class SignedZoneRuntime {
  readonly denials: BoundedCache<Plan>;
  readonly geo: BoundedCache<Uint8Array[]>;
  /** Run-time signatures by kind (RUNTIME_KINDS order). */
  readonly made = new Float64Array(RUNTIME_KINDS.length);
  /** Earliest expiration of the signatures made here (seconds), Infinity when none. */
  expiresAt = Infinity;
  /** Geo answer sets signed on the query path. */
  inlineGeo = 0;
  /** UDP queries answered TC=1 because the signing budget was spent (RFC 9824 denials, wildcard expansions). */
  budgetExceeded = 0;
  /** Token bucket of per-name signatures: `budget` a second, up to one second's worth at once. */
  private tokens: number;
  private refilledAt = 0;

  constructor(
    readonly index: number,
    readonly data: SignedZone,
    readonly zone: ZoneData,
    /** null when the key files could not be loaded again: answers signed on demand go out unsigned (counted). */
    readonly signer: ZoneSigner | null,
  ) {
    this.denials = new BoundedCache(data.denialCacheSize);
    this.geo = new BoundedCache(data.geoCacheSize);
    this.tokens = data.signingBudget;
  }

  /**
   * May a per-name signature be made now? Always over TCP (`mayDefer`
   * false) and without a budget (0); over UDP while the bucket has tokens,
   * else counted and false (the caller answers TC=1). Reads the clock only
   * here, on a cache miss.
   */
  maySign(mayDefer: boolean): boolean {
    const budget = this.data.signingBudget;
    if (budget === 0 || !mayDefer) return true;
    const now = performance.now();
    this.tokens = Math.min(budget, this.tokens + ((now - this.refilledAt) * budget) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens--;
      return true;
    }
    this.budgetExceeded++;
    return false;
  }

  /** RRSIG RDATAs over (owner, type, ttl, rdatas), made now. */
  sign(kind: RuntimeKind, owner: Uint8Array, type: number, ttl: number, rdata: Uint8Array[]): Uint8Array[] {
    if (this.signer === null) return [];
    const signed = this.signer.sign({ owner, type, ttl, rdata }, Math.floor(Date.now() / 1000));
    this.made[RUNTIME_KINDS.indexOf(kind)] += signed.rrsigs.length;
    if (signed.expiration < this.expiresAt) this.expiresAt = signed.expiration;
    return signed.rrsigs;
  }

  /** The compact NSEC of the (lower-cased) name and its RRSIGs as RRs owned by the query name. */
  nsecAtQname(kind: RuntimeKind, name: Uint8Array, types: readonly number[] | null): Uint8Array[] {
    if (this.signer === null) return [];
    const nsec = this.signer.nsec(name, types, this.zone.negativeTtl, Math.floor(Date.now() / 1000));
    this.made[RUNTIME_KINDS.indexOf(kind)] += nsec.rrsigs.length;
    if (nsec.expiration < this.expiresAt) this.expiresAt = nsec.expiration;
    const ttl = this.zone.negativeTtl;
    return [
      encodeRecord(QNAME, RRType.NSEC, ttl, nsec.rdata),
      ...nsec.rrsigs.map((r) => encodeRecord(QNAME, RRType.RRSIG, ttl, r)),
    ];
  }
}

/** The query name of `msg`, lower-cased, as a cache key and as wire bytes. */
function qnameOf(msg: Uint8Array, q: ParsedQuery): { key: string; wire: Buffer } {
  const wire = lowerNameWire(msg.subarray(12, 12 + q.qnameLength));
  return { key: wire.toString('latin1'), wire };
}

/** RFC 9824 3.1: NOERROR, the SOA, and an NSEC owned by the query name with NXNAME (per name, cached). */
class DenialAnswer implements PerNameAnswer {
  constructor(
    private readonly z: SignedZoneRuntime,
    private readonly soa: Uint8Array[],
  ) {}

  sections(msg: Uint8Array, q: ParsedQuery, mayDefer: boolean): Sections | null {
    const { key, wire } = qnameOf(msg, q);
    const hit = this.z.denials.get(key);
    if (hit !== undefined) return hit;
    if (!this.z.maySign(mayDefer)) return null;
    const authority = [...this.soa, ...this.z.nsecAtQname('denial', wire, null)];
    const plan = new Plan({
      rcode: Rcode.NOERROR,
      aa: true,
      authority: Buffer.concat(authority),
      nsCount: authority.length,
      kind: 'nxdomain',
      isSigned: true,
    });
    this.z.denials.set(key, plan);
    return plan;
  }
}

/** A wildcard expansion signed as the query name (labels = its labels; RFC 9824 3.3 for NODATA). */
class WildcardAnswer implements PerNameAnswer {
  private readonly rdata: Uint8Array[];

  constructor(
    private readonly z: SignedZoneRuntime,
    private readonly id: number,
    private readonly plan: Plan,
    private readonly first: Chunk | null,
    private readonly rest: Uint8Array,
    private readonly restCount: number,
    private readonly soa: Uint8Array[],
    private readonly types: number[],
  ) {
    this.rdata = first === null ? [] : rdatasOf(Buffer.concat(first.rrs), first.rrs.length);
  }

  sections(msg: Uint8Array, q: ParsedQuery, mayDefer: boolean): Sections | null {
    const { key, wire } = qnameOf(msg, q);
    const cacheKey = `${this.id}|${key}`;
    const hit = this.z.denials.get(cacheKey);
    if (hit !== undefined) return hit;
    if (!this.z.maySign(mayDefer)) return null;
    const p = this.plan;
    let plan: Plan;
    if (this.first !== null) {
      const f = this.first;
      const rrsigs = this.z
        .sign('wildcard', wire, f.type, f.ttl, this.rdata)
        .map((r) => encodeRecord(QNAME, RRType.RRSIG, f.ttl, r));
      const answer = [...f.rrs, ...rrsigs];
      plan = new Plan({
        ...p,
        signed: null,
        perName: null,
        isSigned: true,
        answer: Buffer.concat([...answer, this.rest]),
        anCount: answer.length + this.restCount,
        authority: p.nsCount > 0 ? Buffer.concat(this.soa) : p.authority,
        nsCount: p.nsCount > 0 ? this.soa.length : 0,
      });
    } else {
      const authority = [...this.soa, ...this.z.nsecAtQname('wildcard', wire, this.types)];
      plan = new Plan({
        ...p,
        signed: null,
        perName: null,
        isSigned: true,
        authority: Buffer.concat(authority),
        nsCount: authority.length,
      });
    }
    this.z.denials.set(cacheKey, plan);
    return plan;
  }
}

/** What the metrics read of one runtime's DNSSEC state. */
export interface SigningStats {
  zone: string;
  made: Float64Array;
  signingSeconds: number;
  denialCache: CacheCounters & { entries: number };
  geoCache: CacheCounters & { entries: number };
  /** Earliest expiration of every signature this runtime serves, seconds since the epoch. */
  expiresAt: number;
  keyLoadFailed: boolean;
  /** Geo answer sets signed on the query path (not pre-signed in time). */
  inlineGeo: number;
  /** UDP queries answered TC=1 past the signing budget. */
  budgetExceeded: number;
}

export class RuntimeSigning implements AnswerSigning {
  private readonly zones: Array<SignedZoneRuntime | null>;
  private nextId = 0;
  /** Geo tails served unsigned because the zone's keys could not be loaded in this process. */
  unsignedFallbacks = 0;
  /** Geo answer sets signed on the query path (first use, not pre-signed in time): the counted fallback. */
  get inlineGeoSignings(): number {
    return this.zones.reduce((n, z) => n + (z?.inlineGeo ?? 0), 0);
  }
  /** Per geo record: a wildcard name (its answers are signed per query name). */
  private readonly wildGeo: boolean[];
  /** (slot id -> decisions) whose geo answer was asked with DO=1: what to pre-sign after a health change. */
  readonly used = new Map<number, Set<number>>();

  constructor(
    signed: ReadonlyArray<SignedZone | null>,
    zones: readonly ZoneData[],
    /** Geo record index -> its zone index. */
    private readonly geoZone: readonly number[],
    private readonly geoNames: readonly string[],
  ) {
    this.wildGeo = geoNames.map((n) => n === '*' || n.startsWith('*.'));
    this.zones = signed.map((s, i) => {
      if (s === null) return null;
      let signer: ZoneSigner | null = null;
      try {
        signer = new ZoneSigner(
          nameToWire(s.origin),
          s.keyFiles.map((f) => loadKeyPair(f)),
          s.validity,
        );
      } catch {
        signer = null; // checked by the compile a moment ago; if the files went away, say so in the metrics
      }
      return new SignedZoneRuntime(i, s, zones[i], signer);
    });
  }

  /** True when some zone is signed. */
  get any(): boolean {
    return this.zones.some((z) => z !== null);
  }

  signs(zone: number): boolean {
    return this.zones[zone] != null;
  }

  rrsigRecords(zone: number, name: string, type: number, ownerBytes: Uint8Array, ttl: number): Uint8Array[] {
    const sigs = this.zones[zone]?.data.rrsigs[`${name}|${type}`] ?? [];
    return sigs.map((r) => encodeRecord(ownerBytes, RRType.RRSIG, ttl, r));
  }

  nsecRecords(zone: number, name: string, ownerBytes: Uint8Array): Uint8Array[] {
    const z = this.zones[zone];
    const nsec = z?.data.nsec[name];
    if (z == null || nsec === undefined) return [];
    const ttl = z.zone.negativeTtl;
    return [
      encodeRecord(ownerBytes, RRType.NSEC, ttl, nsec[0]),
      ...nsec.slice(1).map((r) => encodeRecord(ownerBytes, RRType.RRSIG, ttl, r)),
    ];
  }

  denial(zone: number, soa: Uint8Array[]): PerNameAnswer {
    return new DenialAnswer(this.zones[zone]!, soa);
  }

  wildcard(
    zone: number,
    plan: Plan,
    first: Chunk | null,
    rest: Uint8Array,
    restCount: number,
    soa: Uint8Array[],
    types: number[],
  ): PerNameAnswer {
    return new WildcardAnswer(this.zones[zone]!, this.nextId++, plan, first, rest, restCount, soa, types);
  }

  /**
   * The geo tail of `ans` with its RRSIGs. Memoised on the answer (one per
   * decision and health epoch); behind it a cache by the RRset itself, so a
   * set seen under another decision or before a health change is not signed
   * again. A set never seen is signed here, once (counted as kind "geo").
   */
  geoTail(slot: GeoSlot, ans: GeoAnswer, decision: number, background = false): SignedTail {
    const memo = ans.signed as SignedTail | null;
    if (memo !== null) return memo;
    if (this.wildGeo[slot.record]) return { bytes: ans.bytes, count: ans.count }; // see wildcardGeoTail
    let decisions = this.used.get(slot.id);
    if (decisions === undefined) this.used.set(slot.id, (decisions = new Set()));
    decisions.add(decision);
    const zi = this.geoZone[slot.record];
    const z = this.zones[zi];
    if (z == null) return { bytes: ans.bytes, count: ans.count };
    const rdatas = rdatasOf(ans.bytes, ans.count);
    const ttl = ttlOf(ans.bytes, slot.owner.length);
    const key = `${slot.record}|${slot.qtype}|${ttl}|${rdatas.map((r) => Buffer.from(r).toString('hex')).join(',')}`;
    let rrsigs = z.geo.get(key);
    if (rrsigs === undefined) {
      if (!background) z.inlineGeo++;
      rrsigs = z.sign('geo', nameToWire(this.geoNames[slot.record]), slot.qtype, ttl, rdatas);
      if (rrsigs.length === 0) this.unsignedFallbacks++;
      else z.geo.set(key, rrsigs);
    }
    const records = rrsigs.map((r) => encodeRecord(slot.owner, RRType.RRSIG, ttl, r));
    const tail = { bytes: Buffer.concat([ans.bytes, ...records]), count: ans.count + records.length };
    ans.signed = tail;
    return tail;
  }

  /** True when geo slot `slot` belongs to a wildcard geo record (signed per query name). */
  perNameGeo(slot: GeoSlot): boolean {
    return this.wildGeo[slot.record];
  }

  /**
   * The tail of a geo answer of a wildcard geo record (`*.cdn` answering
   * `x.cdn`), signed as the query name like any wildcard expansion
   * (RFC 9824 3.3): per query name and answer set, kept in the geo cache.
   */
  wildcardGeoTail(slot: GeoSlot, ans: GeoAnswer, msg: Uint8Array, q: ParsedQuery): SignedTail {
    const z = this.zones[this.geoZone[slot.record]];
    if (z == null) return { bytes: ans.bytes, count: ans.count };
    const { key, wire } = qnameOf(msg, q);
    const rdatas = rdatasOf(ans.bytes, ans.count);
    const ttl = ttlOf(ans.bytes, slot.owner.length);
    const cacheKey = `${key}|${slot.qtype}|${ttl}|${rdatas.map((r) => Buffer.from(r).toString('hex')).join(',')}`;
    let rrsigs = z.geo.get(cacheKey);
    if (rrsigs === undefined) {
      rrsigs = z.sign('wildcard', wire, slot.qtype, ttl, rdatas);
      if (rrsigs.length > 0) z.geo.set(cacheKey, rrsigs);
    }
    const records = rrsigs.map((r) => encodeRecord(slot.owner, RRType.RRSIG, ttl, r));
    return { bytes: Buffer.concat([ans.bytes, ...records]), count: ans.count + records.length };
  }

  /**
   * After a health change (or a re-sign), sign in the background the geo
   * answers that DO=1 clients asked for under the previous view, a few per
   * event-loop turn, so the query path finds them signed: no signing storm
   * when a PoP goes down. Stops when the view changes again (the next call
   * takes over). `used` may come from the runtime this one replaces.
   */
  presign(
    slots: readonly GeoSlot[],
    geo: GeoAnswers,
    current: () => HealthView,
    used: ReadonlyMap<number, ReadonlySet<number>> = this.used,
  ): void {
    const health = current();
    const work: Array<[GeoSlot, number]> = [];
    for (const [id, decisions] of used) for (const d of decisions) if (slots[id]) work.push([slots[id], d]);
    let i = 0;
    const step = () => {
      if (current() !== health) return;
      for (const end = Math.min(i + PRESIGN_BATCH, work.length); i < end; i++) {
        const [slot, d] = work[i];
        const ans = geo.get(slot, d, health);
        if (ans.count > 0) this.geoTail(slot, ans, d, true);
      }
      if (i < work.length) setImmediate(step);
    };
    if (work.length > 0) setImmediate(step);
  }

  /** Per signed zone, what the metrics read. */
  stats(): SigningStats[] {
    const out: SigningStats[] = [];
    for (const z of this.zones) {
      if (z === null) continue;
      out.push({
        zone: z.data.origin,
        made: z.made,
        signingSeconds: z.signer?.counters.seconds ?? 0,
        denialCache: { ...z.denials.counters, entries: z.denials.size },
        geoCache: { ...z.geo.counters, entries: z.geo.size },
        expiresAt: Math.min(z.data.expiresAt, z.expiresAt),
        keyLoadFailed: z.signer === null,
        inlineGeo: z.inlineGeo,
        budgetExceeded: z.budgetExceeded,
      });
    }
    return out;
  }
}

/** The TTL of the first RR of an encoded list whose owner is `ownerLength` octets. */
function ttlOf(bytes: Uint8Array, ownerLength: number): number {
  const o = ownerLength + 4;
  return ((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]) >>> 0;
}
