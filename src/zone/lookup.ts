/**
 * The per-query zone lookup (RFC 1034 4.3.2 on precomputed answers): walk the
 * qname's suffixes from the root, hashing label by label; the deepest zone
 * apex met decides the zone, a delegation point on the way gives a referral,
 * the first missing suffix gives NXDOMAIN or the wildcard of its closest
 * encloser (RFC 4592), and a full match gives the name's plan for the qtype.
 * No allocation; names outside every zone are REFUSED (never an open resolver).
 *
 * On the way it notes which suffix of the qname names the response's class
 * (LookupTrace), for response rate limiting: the zone apex for NXDOMAIN, the
 * delegation point for a referral, the closest encloser for a wildcard
 * answer, the DNAME owner below a DNAME, else the qname itself.
 */
import { QType } from '../wire/constants.js';
import type { ParsedQuery } from '../wire/query.js';
import type { NameEntry, Plan, ZoneRuntime } from './answers.js';
import { hashLabel, ROOT_HASH, type NameTable } from './name-table.js';

/**
 * Which suffix of the qname names the answer's class (RRL keys on it): its
 * hash (hashLabel from the root, as the name table computes it) and the
 * offset of its first label in the message. One per listener, reused.
 */
export class LookupTrace {
  hash = 0;
  /** Offset of the class name in the message (12 = the whole qname). */
  offset = 12;
  /** The answer was synthesised from a wildcard (RFC 4592): the class name is the closest encloser. */
  wildcard = false;

  private set(hash: number, offset: number, wildcard: boolean): void {
    this.hash = hash;
    this.offset = offset;
    this.wildcard = wildcard;
  }

  /** Record the class name; returns `plan` (so the lookup's returns stay one expression). */
  note(plan: Plan, hash: number, offset: number, wildcard = false): Plan {
    this.set(hash, offset, wildcard);
    return plan;
  }
}

function planFor(e: NameEntry, qtype: number): Plan {
  if (qtype === QType.ANY) return e.any;
  return e.plans.get(qtype) ?? e.other;
}

/**
 * The plan answering `q` (its qname at offset 12 of `msg`), or `refused`.
 * A DNAME at a proper ancestor of the qname (RFC 6672 3.2, checked on the
 * way down, before wildcards) gives that DNAME's `dname` plan.
 */
export function findPlan(
  table: NameTable<NameEntry>,
  msg: Uint8Array,
  q: ParsedQuery,
  refused: Plan,
  trace: LookupTrace,
): Plan {
  const nameEnd = 12 + q.qnameLength;
  let zone: ZoneRuntime | null = null;
  let closest: NameEntry | null = null;
  let h = ROOT_HASH;
  // Hash and offset of the zone apex and of the closest encloser so far (the root: its zero byte).
  let zoneHash = h;
  let zoneOff = nameEnd - 1;
  let closestHash = h;
  let closestOff = nameEnd - 1;
  // The root itself (labelCount 0) is looked up before the loop.
  let e = table.find(h, msg, nameEnd - 1, 1);
  if (e !== null && e.apex !== null) {
    zone = e.apex;
    closest = e;
    if (e.dname !== null && q.labelCount > 0) return trace.note(e.dname, h, nameEnd - 1);
  }
  for (let i = q.labelCount - 1; i >= 0; i--) {
    const off = q.labelOffsets[i];
    h = hashLabel(h, msg, off);
    e = table.find(h, msg, off, nameEnd - off);
    if (e === null) {
      if (zone === null) continue; // still above our zones
      const wild = closest!.wildcard;
      return wild !== null
        ? trace.note(planFor(wild, q.qtype), closestHash, closestOff, true)
        : trace.note(zone.nxdomain, zoneHash, zoneOff);
    }
    if (e.apex !== null) {
      zone = e.apex;
      zoneHash = h;
      zoneOff = off;
    } else if (zone !== null && e.referral !== null) {
      // At the delegation point itself, DS belongs to the parent side (RFC 4035 3.1.4.1).
      return trace.note(i === 0 && q.qtype === QType.DS ? e.dsPlan! : e.referral, h, off);
    }
    if (i > 0 && e.dname !== null && zone !== null) return trace.note(e.dname, h, off);
    closest = e;
    closestHash = h;
    closestOff = off;
  }
  if (zone === null || closest === null) return trace.note(refused, 0, 12);
  return trace.note(planFor(closest, q.qtype), h, 12);
}
