/**
 * DNAME substitution on the query path (RFC 6672 3.2). When the qname is
 * below a DNAME owner, the answer section is assembled per query, since the
 * synthesised CNAME depends on the qname: the DNAME RR (owner written as a
 * pointer into the question), a CNAME from the qname to the substituted name
 * (its RDATA the qname's leading labels plus a pointer to the DNAME's
 * target, TTL the DNAME's, 3.1), then the answer for the new name as
 * precomputed, its qname pointers moved to the new name. DNAMEs met on the way
 * are followed the same way (up to 8), like CNAME chains inside our zones.
 * YXDOMAIN when the new name would exceed 255 octets (2.2). A new name with
 * a geo answer is not followed: the resolver asks for it itself, so the
 * tailored answer is cached with its own ECS scope (RFC 7871 7.2.1).
 *
 * Works in buffers allocated once per instance: no allocation per query.
 */
import { QType, Rcode } from '../wire/constants.js';
import { ParsedQuery, MAX_LABELS } from '../wire/query.js';
import type { Sections } from '../wire/response.js';
import type { DnameData, NameEntry, Plan } from './answers.js';
import { findPlan, LookupTrace } from './lookup.js';
import type { NameTable } from './name-table.js';

const MAX_HOPS = 8;
/** Compression pointers reach 14 bits; the assembled section stays well below. */
const MAX_POINTER = 0x3fff;

export class DnameSynthesizer {
  /** The answer section being assembled. */
  readonly answer = new Uint8Array(65535);
  answerLength = 0;
  anCount = 0;
  rcode = 0;
  /** Authority and additional to append (NXDOMAIN/NODATA SOA), or null. */
  rest: Sections | null = null;

  /** The current name, at offset 12 as findPlan expects it. */
  private readonly name = new Uint8Array(12 + 256);
  private nameLength = 0;
  private readonly sq = new ParsedQuery();
  /** The lookups of the substituted names (their class is not what RRL keys on: the DNAME owner is). */
  private readonly trace = new LookupTrace();
  /** Where the current name's octets are in the response: [0, aLen) at aOut, the rest at bOut. */
  private aOut = 0;
  private aLen = 0;
  private bOut = 0;
  /** Offset of the answer section in the response. */
  private base = 0;
  /** DO=1: each DNAME with its RRSIGs, the new name's answer in its signed variant (RFC 6672 5.3.1). */
  private signed = false;
  /** UDP: a per-name signature may be refused by the zone's signing budget. */
  private mayDefer = false;
  /** Set when the budget refused one: the caller answers TC=1 instead. */
  deferred = false;
  /** DO=1, a negative answer for the new name: its authority with the NSEC owned by the new name. */
  private readonly authority = new Uint8Array(65535);
  private readonly signedRest: Sections = {
    rcode: 0,
    aa: true,
    answer: new Uint8Array(0),
    anCount: 0,
    authority: new Uint8Array(0),
    nsCount: 0,
    additional: new Uint8Array(0),
    arCount: 0,
    additionalRequired: false,
    rest: new Uint8Array(0),
    all: new Uint8Array(0),
  };

  /** Response offset of the current name's suffix starting at octet k of it. */
  private pointer(k: number): number {
    return k < this.aLen ? this.aOut + k : this.bOut + (k - this.aLen);
  }

  private u16(v: number): void {
    this.answer[this.answerLength++] = v >> 8;
    this.answer[this.answerLength++] = v & 0xff;
  }

  private bytes(src: Uint8Array, from: number, to: number): void {
    for (let i = from; i < to; i++) this.answer[this.answerLength++] = src[i];
  }

  /**
   * Assemble the answer for query `q` (qname at offset 12 of `msg`) whose
   * lookup gave the DNAME plan `plan`. Fills answer/anCount/rcode/rest.
   */
  run(
    msg: Uint8Array,
    q: ParsedQuery,
    plan: Plan,
    table: NameTable<NameEntry>,
    refused: Plan,
    signed = false,
    mayDefer = false,
  ): void {
    this.signed = signed;
    this.mayDefer = mayDefer;
    this.deferred = false;
    this.answerLength = 0;
    this.anCount = 0;
    this.rcode = Rcode.NOERROR;
    this.rest = null;
    this.base = q.questionEnd;
    this.nameLength = q.qnameLength;
    for (let i = 0; i < q.qnameLength; i++) this.name[12 + i] = msg[12 + i];
    this.aOut = 12;
    this.aLen = q.qnameLength;
    this.bOut = 0;
    let d: DnameData = plan.dname!;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      if (!this.substitute(d)) return;
      const next = this.lookup(q.qtype, table, refused);
      if (next.dname === null) {
        this.finish(next);
        return;
      }
      d = next.dname;
    }
  }

  /** Write the DNAME and the synthesised CNAME; false (YXDOMAIN) when the new name is too long. */
  private substitute(d: DnameData): boolean {
    const ownerStart = this.nameLength - d.ownerLength;
    // The DNAME RR, its owner a pointer to the suffix of the current name.
    this.u16(0xc000 | this.pointer(ownerStart));
    const targetOut = this.base + this.answerLength + 10;
    this.bytes(d.rr, 0, d.rr.length);
    this.anCount++;
    if (this.signed) {
      // Its RRSIGs, same owner; the synthesised CNAME has none (RFC 6672 5.3.1: validators check it against the DNAME).
      for (let i = 0; i < d.rrsigs.length; i++) {
        this.u16(0xc000 | this.pointer(ownerStart));
        this.bytes(d.rrsigs[i], 0, d.rrsigs[i].length);
        this.anCount++;
      }
    }
    const newLength = ownerStart + d.target.length;
    if (newLength > 255 || targetOut > MAX_POINTER) {
      this.rcode = Rcode.YXDOMAIN;
      return false;
    }
    // CNAME: current name -> its first ownerStart octets + the DNAME target (by pointer).
    this.u16(0xc000 | this.pointer(0));
    this.u16(QType.CNAME);
    this.u16(1);
    this.u16(d.ttl >>> 16);
    this.u16(d.ttl & 0xffff);
    this.u16(ownerStart + 2);
    const rdataOut = this.base + this.answerLength;
    this.bytes(this.name, 12, 12 + ownerStart);
    this.u16(0xc000 | targetOut);
    this.anCount++;
    for (let i = 0; i < d.target.length; i++) this.name[12 + ownerStart + i] = d.target[i];
    this.nameLength = newLength;
    this.aOut = rdataOut;
    this.aLen = ownerStart;
    this.bOut = targetOut;
    return rdataOut <= MAX_POINTER;
  }

  /** Look the current name up like a query for `qtype`. */
  private lookup(qtype: number, table: NameTable<NameEntry>, refused: Plan): Plan {
    const sq = this.sq;
    let off = 12;
    let count = 0;
    while (this.name[off] !== 0 && count < MAX_LABELS) {
      sq.labelOffsets[count++] = off;
      off += this.name[off] + 1;
    }
    sq.labelCount = count;
    sq.qnameLength = this.nameLength;
    sq.qtype = qtype;
    return findPlan(table, this.name, sq, refused, this.trace);
  }

  /** `s`'s authority with the records owned by the qname pointer moved to the new name (DO=1 negative answers). */
  private moved(s: Sections): Sections {
    const src = s.authority;
    const out = this.authority;
    const owner = 0xc000 | this.pointer(0);
    let n = 0;
    for (let i = 0; i < src.length; ) {
      if (src[i] === 0xc0 && src[i + 1] === 0x0c) {
        out[n++] = owner >> 8;
        out[n++] = owner & 0xff;
        i += 2;
      } else {
        const start = i;
        while (src[i] !== 0) i += src[i] + 1;
        i++;
        for (let k = start; k < i; k++) out[n++] = src[k];
      }
      const end = i + 10 + ((src[i + 8] << 8) | src[i + 9]);
      for (let k = i; k < end; k++) out[n++] = src[k];
      i = end;
    }
    const r = this.signedRest;
    r.rcode = s.rcode;
    r.authority = out.subarray(0, n);
    r.nsCount = s.nsCount;
    r.additional = s.additional;
    r.arCount = s.arCount;
    r.additionalRequired = s.additionalRequired;
    return r;
  }

  /** Append what the new name has: its answer records (owners moved to it) and SOA, or nothing. */
  private finish(found: Plan): void {
    if (found.kind === 'refused' || found.kind === 'referral' || found.geo !== null) return; // outside our data, delegated, or client-dependent
    // DO=1: the signed variant, or the per-name denial of the new name (within the zone's signing budget
    // over UDP, else `deferred`: TC=1). Its records owned by the qname pointer move to the new name.
    let p: Sections = found;
    if (this.signed && found.signed !== null) p = found.signed;
    else if (this.signed && found.perName !== null) {
      const s = found.perName.sections(this.name, this.sq, this.mayDefer);
      if (s === null) {
        this.deferred = true;
        return;
      }
      p = s;
    }
    this.rcode = p.rcode;
    if (p !== found && p.authority.length > 0) this.rest = this.moved(p);
    else if (p.authority.length > 0 || p.additional.length > 0) this.rest = p;
    const src = p.answer;
    const owner = 0xc000 | this.pointer(0);
    for (let i = 0; i < src.length; ) {
      if (src[i] === 0xc0 && src[i + 1] === 0x0c) {
        this.u16(owner); // the precomputed answer's qname is now the substituted name
        i += 2;
      } else {
        const start = i;
        while (src[i] !== 0) i += src[i] + 1;
        this.bytes(src, start, ++i);
      }
      const end = i + 10 + ((src[i + 8] << 8) | src[i + 9]);
      this.bytes(src, i, end);
      i = end;
    }
    this.anCount += p.anCount;
  }
}
