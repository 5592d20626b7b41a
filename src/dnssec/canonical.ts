/**
 * RFC 4034 section 6 canonical form of an RRset, what an RRSIG covers:
 * owner lower-cased, the domain names inside the RDATA of the types listed
 * in section 6.2 lower-cased (that list as corrected by RFC 6840 section 5.1:
 * not NSEC, and HINFO has no names), the RRs sorted by their canonical RDATA
 * as left-justified unsigned octet strings, and duplicates removed
 * (section 6.3, RFC 2181 section 5).
 */
import { CLASS_IN } from './constants.js';
import { lowerInPlace, lowerNameWire, nameWireLength } from './name-wire.js';

/** An RRset as the signer takes it: uncompressed wire owner and RDATA. */
export interface RRset {
  /** Owner name, uncompressed wire form, any case. */
  owner: Uint8Array;
  type: number;
  /** Class; IN (1) when absent. */
  class?: number;
  ttl: number;
  /** One RDATA per record, uncompressed (names in RDATA are never compressed for signing). */
  rdata: readonly Uint8Array[];
}

/**
 * Where the domain names sit in the RDATA of the types whose names are
 * lower-cased (RFC 4034 section 6.2 item 3, RFC 6840 section 5.1), as a list
 * of steps: a number skips that many octets, 'name' lowers one name,
 * 'string' skips one character-string.
 */
type Step = number | 'name' | 'string';
const ONE_NAME: Step[] = ['name'];
const PREF_NAME: Step[] = [2, 'name'];
const LAYOUTS: ReadonlyMap<number, readonly Step[]> = new Map<number, readonly Step[]>([
  [2, ONE_NAME], // NS
  [3, ONE_NAME], // MD
  [4, ONE_NAME], // MF
  [5, ONE_NAME], // CNAME
  [6, ['name', 'name']], // SOA (the 20 octets of counters follow)
  [7, ONE_NAME], // MB
  [8, ONE_NAME], // MG
  [9, ONE_NAME], // MR
  [12, ONE_NAME], // PTR
  [14, ['name', 'name']], // MINFO
  [15, PREF_NAME], // MX
  [17, ['name', 'name']], // RP
  [18, PREF_NAME], // AFSDB
  [21, PREF_NAME], // RT
  [24, [18, 'name']], // SIG
  [26, [2, 'name', 'name']], // PX
  [30, ONE_NAME], // NXT
  [33, [6, 'name']], // SRV
  [35, [4, 'string', 'string', 'string', 'name']], // NAPTR
  [36, PREF_NAME], // KX
  [39, ONE_NAME], // DNAME
  [46, [18, 'name']], // RRSIG (RFC 6840 section 5.1: its signer name is lower-cased)
]);
const A6 = 38;

/**
 * The canonical RDATA of one record: a copy with the embedded names of the
 * listed types lower-cased; other types are returned as they are.
 * @throws Error for RDATA too short for its type's layout.
 */
export function canonicalRdata(type: number, rdata: Uint8Array): Uint8Array {
  const layout = type === A6 ? a6Layout(rdata) : LAYOUTS.get(type);
  if (layout === undefined) return rdata;
  const out = Buffer.from(rdata);
  let at = 0;
  for (const step of layout) {
    if (typeof step === 'number') at += step;
    else if (step === 'string') at += 1 + out[at];
    else {
      const len = nameWireLength(out, at);
      lowerInPlace(out, at, at + len);
      at += len;
    }
    if (at > out.length) throw new Error(`RDATA of type ${type} is truncated`);
  }
  return out;
}

/** A6 (RFC 2874 section 3.1): prefix length, address suffix, then a prefix name when the prefix length is not 0. */
function a6Layout(rdata: Uint8Array): Step[] {
  const prefixLength = rdata[0];
  const suffixOctets = Math.ceil((128 - prefixLength) / 8);
  return prefixLength === 0 ? [] : [1 + suffixOctets, 'name'];
}

/** Compare RDATA as left-justified unsigned octet strings, a prefix sorting first (RFC 4034 section 6.3). */
export function compareRdata(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** The canonical RDATA of every record of the set, sorted, duplicates removed. */
export function canonicalRdataSet(type: number, rdata: readonly Uint8Array[]): Uint8Array[] {
  const sorted = rdata.map((r) => canonicalRdata(type, r)).sort(compareRdata);
  return sorted.filter((r, i) => i === 0 || compareRdata(sorted[i - 1], r) !== 0);
}

/**
 * The RRs of the set in canonical wire form, concatenated as they enter the
 * RRSIG signed data (RFC 4034 section 3.1.8.1): owner | type | class |
 * original TTL | RDLENGTH | RDATA, per record, in canonical order.
 * `owner` is the (lower-cased) name to use, which for a wildcard expansion is
 * the wildcard name the validator rebuilds (RFC 4035 section 5.3.2).
 */
export function canonicalRRsetWire(rrset: RRset, originalTtl: number, owner: Uint8Array = rrset.owner): Buffer {
  const name = lowerNameWire(owner);
  const records = canonicalRdataSet(rrset.type, rrset.rdata);
  const parts: Uint8Array[] = [];
  for (const rdata of records) {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(rrset.type, 0);
    fixed.writeUInt16BE(rrset.class ?? CLASS_IN, 2);
    fixed.writeUInt32BE(originalTtl >>> 0, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    parts.push(name, fixed, rdata);
  }
  return Buffer.concat(parts);
}
