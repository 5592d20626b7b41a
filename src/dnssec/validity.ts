/**
 * Signature validity as a pure function of "now": inception an hour in the
 * past for resolvers whose clocks run behind, an expiration a lifetime
 * ahead less a per-RRset jitter (so the signatures made together at load
 * do not all come due together), and the moment to re-sign, `refresh`
 * before expiry. The defaults follow Knot DNS (rrsig-lifetime 14 days,
 * refreshed 7 days before expiry).
 */

const HOUR = 3600;
const DAY = 86400;

export interface ValidityPolicy {
  /** Seconds from signing to expiration (before jitter). */
  lifetime: number;
  /** Re-sign this many seconds before expiration. */
  refresh: number;
  /** Inception this many seconds before signing, for clock skew. */
  inceptionOffset: number;
  /** Expirations are spread over this many seconds below `lifetime`. */
  jitter: number;
}

export const DEFAULT_VALIDITY: Readonly<ValidityPolicy> = {
  lifetime: 14 * DAY,
  refresh: 7 * DAY,
  inceptionOffset: HOUR,
  jitter: DAY,
};

/** The times of one signature, in seconds since the epoch (not yet reduced to 32 bits). */
export interface SignatureWindow {
  inception: number;
  expiration: number;
  /** When this signature must be replaced. */
  refreshAt: number;
}

/**
 * The window of a signature made at `now` (seconds). `jitterSeed` (any
 * 32-bit number, e.g. {@link jitterSeed} of the owner and type) picks the
 * expiration within the jitter, deterministically.
 */
export function signatureWindow(now: number, policy: ValidityPolicy, seed = 0): SignatureWindow {
  const t = Math.floor(now);
  const spread = policy.jitter > 0 ? (seed >>> 0) % (policy.jitter + 1) : 0;
  const expiration = t + policy.lifetime - spread;
  return { inception: t - policy.inceptionOffset, expiration, refreshAt: expiration - policy.refresh };
}

/** True when a signature expiring at `expiration` (seconds) is due for re-signing at `now`. */
export function needsRefresh(expiration: number, now: number, policy: ValidityPolicy): boolean {
  return now >= expiration - policy.refresh;
}

/** FNV-1a over the owner (case-folded) and type: a stable per-RRset seed for {@link signatureWindow}. */
export function jitterSeed(owner: Uint8Array, type: number): number {
  let h = 0x811c9dc5;
  const step = (b: number) => {
    h = Math.imul(h ^ b, 0x01000193);
  };
  for (let i = 0; i < owner.length; i++) step(owner[i] | 0x20);
  step(type >> 8);
  step(type & 0xff);
  return h >>> 0;
}

/**
 * Problems with a policy, each a sentence for a config error; empty when it
 * is usable. `maxTtl` is the largest TTL the zone signs: a signature must
 * outlive the copies resolvers cache after the last refresh.
 */
export function checkValidityPolicy(policy: ValidityPolicy, maxTtl = 0): string[] {
  const problems: string[] = [];
  const { lifetime, refresh, inceptionOffset, jitter } = policy;
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isInteger(value) || value < 0)
      problems.push(`${name} must be a whole number of seconds >= 0, not ${value}`);
  }
  // RFC 4034 section 3.1.5: times are compared in serial arithmetic, so a window must stay below 2^31 seconds (68 years).
  if (lifetime + inceptionOffset >= 2 ** 31)
    problems.push('lifetime plus inception offset must be under 68 years (RFC 4034 section 3.1.5)');
  if (refresh + jitter >= lifetime)
    problems.push(`refresh (${refresh} s) plus jitter (${jitter} s) must be less than the lifetime (${lifetime} s)`);
  if (refresh <= maxTtl)
    problems.push(
      `refresh (${refresh} s) must exceed the largest TTL signed (${maxTtl} s), or cached answers outlive their signatures`,
    );
  return problems;
}
