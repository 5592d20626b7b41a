/**
 * Key timing metadata (the `Created:`, `Publish:`, `Activate:` ... lines
 * of a BIND .private file, dnssec-keygen -P/-A/-I/-D, dnssec-settime) and
 * what a key does at a given moment: published in the DNSKEY RRset,
 * signing, listed in CDS/CDNSKEY. Rollovers are driven by these dates.
 */

/** The timing fields in the order BIND writes them. */
export const TIMING_FIELDS = [
  'Created',
  'Publish',
  'Activate',
  'Revoke',
  'Inactive',
  'Delete',
  'SyncPublish',
  'SyncDelete',
] as const;
export type TimingField = (typeof TIMING_FIELDS)[number];

/** Seconds since the epoch per field that is set. */
export type KeyTiming = Partial<Record<TimingField, number>>;

export interface KeyState {
  /** In the DNSKEY RRset. */
  published: boolean;
  /** Makes RRSIGs. */
  signing: boolean;
  /** Past its Revoke date (RFC 5011); Meridian does not set the REVOKE bit itself. */
  revoked: boolean;
  /** In CDS/CDNSKEY (between SyncPublish and SyncDelete). */
  inCds: boolean;
}

const reached = (t: number | undefined, now: number) => t !== undefined && t <= now;

/**
 * The state of a key at `now` (seconds). A key without Publish or Activate
 * (a v1.2 file, like the RFC examples) is published and signing, as BIND
 * treats such legacy keys. Otherwise it is published from Publish (or
 * Activate, which implies it) until Delete, and signs from Activate until
 * Inactive.
 */
export function keyStateAt(timing: KeyTiming, now: number): KeyState {
  const legacy = timing.Publish === undefined && timing.Activate === undefined;
  const deleted = reached(timing.Delete, now);
  const published = !deleted && (legacy || reached(timing.Publish, now) || reached(timing.Activate, now));
  const signing = !reached(timing.Inactive, now) && (legacy || reached(timing.Activate, now));
  return {
    published,
    signing,
    revoked: reached(timing.Revoke, now),
    inCds: reached(timing.SyncPublish, now) && !reached(timing.SyncDelete, now),
  };
}

/**
 * The next moment after `now` at which some key of the set changes state
 * (when to rebuild the DNSKEY RRset and re-sign), or undefined.
 */
export function nextTimingEvent(timings: readonly KeyTiming[], now: number): number | undefined {
  let next: number | undefined;
  for (const timing of timings) {
    for (const field of TIMING_FIELDS) {
      const t = timing[field];
      if (field !== 'Created' && t !== undefined && t > now && (next === undefined || t < next)) next = t;
    }
  }
  return next;
}
