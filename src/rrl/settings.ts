/**
 * RRL settings as the limiter takes them (already parsed: the config layer
 * turns `rate_limit:` YAML into this), their defaults and range checks.
 * The defaults follow BIND where BIND has one (window 15 s, slip 2, the
 * per-kind limits default to responses_per_second) and the prefixes.
 */
import { KIND_COUNT, ResponseKind } from './kinds.js';
import type { AddressPrefix } from './prefix-set.js';

export interface RrlSettings {
  /** Responses per second per bucket for answers (ANSWER, WILDCARD); 0 = not limited. */
  responsesPerSecond: number;
  /** Per bucket for NODATA; defaults to responsesPerSecond. */
  nodataPerSecond?: number;
  /** Per (network, zone) bucket for NXDOMAIN; defaults to responsesPerSecond. */
  nxdomainsPerSecond?: number;
  /** Per (network, delegation) bucket for referrals; defaults to responsesPerSecond. */
  referralsPerSecond?: number;
  /** Per network for error responses; defaults to responsesPerSecond. */
  errorsPerSecond?: number;
  /**
   * Seconds of debt a bucket can run up (BIND's `window`): the balance floor is
   * -window x rate, so a source that stops flooding is limited for up to this
   * long afterwards, and a bucket idle for longer starts afresh.
   */
  windowSeconds: number;
  /** Every Nth limited response is sent truncated instead of dropped; 0 never, 1 always. */
  slip: number;
  /** Client network = source address cut to this prefix. */
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  /** Sources never limited. */
  exempt: readonly AddressPrefix[];
  /** Decide and count, never enforce (size the limits before turning them on). */
  logOnly: boolean;
  /** Buckets in the table (rounded up to a power of two); memory is fixed by this. */
  tableSize: number;
}

export const RRL_DEFAULTS: RrlSettings = {
  responsesPerSecond: 200,
  windowSeconds: 15,
  slip: 2,
  ipv4PrefixLength: 24,
  ipv6PrefixLength: 56,
  exempt: [],
  logOnly: false,
  tableSize: 131072,
};

/** Bounds of each numeric setting (inclusive), for the config schema and the constructor. */
export const RRL_BOUNDS = {
  perSecond: [0, 1_000_000],
  windowSeconds: [1, 3600],
  slip: [0, 10],
  ipv4PrefixLength: [0, 32],
  ipv6PrefixLength: [0, 128],
  tableSize: [1024, 1 << 24],
} as const;

/** Per-kind limits (responses per second), index = ResponseKind. */
export function ratesByKind(s: RrlSettings): Float64Array {
  const r = new Float64Array(KIND_COUNT);
  const base = s.responsesPerSecond;
  r[ResponseKind.ANSWER] = base;
  r[ResponseKind.WILDCARD] = base;
  r[ResponseKind.NODATA] = s.nodataPerSecond ?? base;
  r[ResponseKind.NXDOMAIN] = s.nxdomainsPerSecond ?? base;
  r[ResponseKind.REFERRAL] = s.referralsPerSecond ?? base;
  r[ResponseKind.ERROR] = s.errorsPerSecond ?? base;
  return r;
}

/** Throw a RangeError naming the first setting out of bounds. */
export function checkSettings(s: RrlSettings): void {
  const within = (name: string, v: number | undefined, [lo, hi]: readonly [number, number]) => {
    if (v === undefined) return;
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new RangeError(`rate limit ${name} must be an integer ${lo}-${hi}, got ${v}`);
  };
  within('responses_per_second', s.responsesPerSecond, RRL_BOUNDS.perSecond);
  within('nodata_per_second', s.nodataPerSecond, RRL_BOUNDS.perSecond);
  within('nxdomains_per_second', s.nxdomainsPerSecond, RRL_BOUNDS.perSecond);
  within('referrals_per_second', s.referralsPerSecond, RRL_BOUNDS.perSecond);
  within('errors_per_second', s.errorsPerSecond, RRL_BOUNDS.perSecond);
  within('window', s.windowSeconds, RRL_BOUNDS.windowSeconds);
  within('slip', s.slip, RRL_BOUNDS.slip);
  within('ipv4_prefix_length', s.ipv4PrefixLength, RRL_BOUNDS.ipv4PrefixLength);
  within('ipv6_prefix_length', s.ipv6PrefixLength, RRL_BOUNDS.ipv6PrefixLength);
  within('table_size', s.tableSize, RRL_BOUNDS.tableSize);
}
