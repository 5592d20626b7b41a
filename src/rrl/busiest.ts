/**
 * The admin view of the rate limiter: the buckets that matter right now,
 * most limited first, in words an operator reads (network, kind, name, qtype,
 * responses, how many were limited, the balance). Runs on an admin request,
 * never on the query path; the limiter keeps the raw numbers.
 */
import { formatIp } from '../net/ip.js';
import { KIND_NAMES } from './kinds.js';
import type { RawBucket, ResponseRateLimiter } from './limiter.js';

export interface BucketView {
  /** The client network, e.g. 192.0.2.0/24. */
  network: string;
  kind: (typeof KIND_NAMES)[number];
  /** The class name (qname, zone, delegation or closest encloser) when it was recorded as the bucket started being limited. */
  name: string | null;
  qtype: number | null;
  /** The class name's hash: with network, kind and qtype it names the bucket in every worker (the name may be unrecorded). */
  nameHash: number;
  /** Responses counted since the bucket was created. */
  responses: number;
  /** Of those, dropped or slipped (would have been, in log-only mode). */
  limited: number;
  /** True when the balance is below zero now. */
  limitedNow: boolean;
  /** Current balance in responses (negative: debt to pay off before answers flow again). */
  balance: number;
  /** Average responses per second over the bucket's life. */
  ratePerSecond: number;
  /** Milliseconds since the last response counted. */
  idleMs: number;
}

/** The `limit` buckets seen within the window, limited ones first, then by how much they were limited and used. */
export function busiestBuckets(limiter: ResponseRateLimiter, nowMs: number, limit = 20): BucketView[] {
  const raw = limiter.activeBuckets(nowMs);
  raw.sort(
    (x, y) => Number(y.balance < 0) - Number(x.balance < 0) || y.limited - x.limited || y.responses - x.responses,
  );
  return raw.slice(0, limit).map((b) => view(b, nowMs));
}

function view(b: RawBucket, nowMs: number): BucketView {
  const lifeSeconds = Math.max(1, (b.lastSeenMs - b.firstSeenMs) / 1000);
  return {
    network: `${formatIp(b.family, b.network)}/${b.prefixLength}`,
    kind: KIND_NAMES[b.kind],
    name: b.name === null ? null : wireNameText(b.name),
    qtype: b.qtype,
    nameHash: b.nameHash,
    responses: b.responses,
    limited: b.limited,
    limitedNow: b.balance < 0,
    balance: Math.round(b.balance * 10) / 10,
    ratePerSecond: Math.round((b.responses / lifeSeconds) * 10) / 10,
    idleMs: Math.max(0, nowMs - b.lastSeenMs),
  };
}

/** Presentation form of a wire-format name (RFC 1035 5.1 escapes for dots and non-printable bytes). */
export function wireNameText(wire: Uint8Array): string {
  let out = '';
  let p = 0;
  while (p < wire.length && wire[p] !== 0) {
    const len = wire[p];
    for (let i = p + 1; i <= p + len && i < wire.length; i++) {
      const c = wire[i];
      if (c === 0x2e || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
      else if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, '0')}`;
      else out += String.fromCharCode(c);
    }
    out += '.';
    p += len + 1;
  }
  return out === '' ? '.' : out;
}
