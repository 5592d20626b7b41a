/**
 * The per-query zone lookup (RFC 1034 4.3.2 on precomputed answers): walk the
 * qname's suffixes from the root, hashing label by label; the deepest zone
 * apex met decides the zone, a delegation point on the way gives a referral,
 * the first missing suffix gives NXDOMAIN or the wildcard of its closest
 * encloser (RFC 4592), and a full match gives the name's plan for the qtype.
 * No allocation; names outside every zone are REFUSED (never an open resolver).
 */
import { QType } from '../wire/constants.js';
import type { ParsedQuery } from '../wire/query.js';
import type { NameEntry, Plan, ZoneRuntime } from './answers.js';
import { hashLabel, ROOT_HASH, type NameTable } from './name-table.js';

function planFor(e: NameEntry, qtype: number): Plan {
  if (qtype === QType.ANY) return e.any;
  return e.plans.get(qtype) ?? e.other;
}

/**
 * The plan answering `q` (its qname at offset 12 of `msg`), or `refused`.
 * A DNAME at a proper ancestor of the qname (RFC 6672 3.2, checked on the
 * way down, before wildcards) gives that DNAME's `dname` plan.
 */
export function findPlan(table: NameTable<NameEntry>, msg: Uint8Array, q: ParsedQuery, refused: Plan): Plan {
  const nameEnd = 12 + q.qnameLength;
  let zone: ZoneRuntime | null = null;
  let closest: NameEntry | null = null;
  let h = ROOT_HASH;
  // The root itself (labelCount 0) is looked up before the loop.
  let e = table.find(h, msg, nameEnd - 1, 1);
  if (e !== null && e.apex !== null) {
    zone = e.apex;
    closest = e;
    if (e.dname !== null && q.labelCount > 0) return e.dname;
  }
  for (let i = q.labelCount - 1; i >= 0; i--) {
    const off = q.labelOffsets[i];
    h = hashLabel(h, msg, off);
    e = table.find(h, msg, off, nameEnd - off);
    if (e === null) {
      if (zone === null) continue; // still above our zones
      const wild = closest!.wildcard;
      return wild !== null ? planFor(wild, q.qtype) : zone.nxdomain;
    }
    if (e.apex !== null) zone = e.apex;
    else if (zone !== null && e.referral !== null) {
      // At the delegation point itself, DS belongs to the parent side (RFC 4035 3.1.4.1).
      return i === 0 && q.qtype === QType.DS ? e.dsPlan! : e.referral;
    }
    if (i > 0 && e.dname !== null && zone !== null) return e.dname;
    closest = e;
  }
  if (zone === null || closest === null) return refused;
  return planFor(closest, q.qtype);
}
