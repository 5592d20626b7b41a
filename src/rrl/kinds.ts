/**
 * The vocabulary of response rate limiting: what kind of response is being
 * counted (it decides the bucket's name part and which limit applies) and
 * what the limiter says to do with it. Shared by the limiter, the admin view
 * and the metrics; plain constants, no state.
 */

/**
 * Response classes (BIND's and Knot's "response types"). The bucket key is
 * (client network, kind, name, qtype) where the name and qtype depend on the kind:
 *   ANSWER    qname + qtype                    (a positive answer, CNAME included)
 *   WILDCARD  closest encloser + qtype         (answers synthesised from a wildcard, so random
 *                                               names under `*.zone` share one bucket, as BIND/Knot do)
 *   NODATA    qname, any qtype                 (the SOA-only answer is the same whatever the qtype)
 *   NXDOMAIN  the zone apex                    (random-subdomain floods share the zone's bucket)
 *   REFERRAL  the delegation point             (every name below a cut gets the same referral)
 *   ERROR     nothing: one bucket per network  (REFUSED, FORMERR, NOTIMP, SERVFAIL, BADVERS...)
 */
export const ResponseKind = {
  ANSWER: 0,
  WILDCARD: 1,
  NODATA: 2,
  NXDOMAIN: 3,
  REFERRAL: 4,
  ERROR: 5,
} as const;
export type ResponseKindCode = (typeof ResponseKind)[keyof typeof ResponseKind];
export const KIND_COUNT = 6;

/** Lower-case kind names, index = ResponseKind (admin view, logs). */
export const KIND_NAMES = ['answer', 'wildcard', 'nodata', 'nxdomain', 'referral', 'error'] as const;

/** Which kinds key on the qtype; the others count every qtype together. */
export const KIND_USES_QTYPE = [true, true, false, false, false, false] as const;
/** Which kinds key on a name; ERROR is one bucket per client network. */
export const KIND_USES_NAME = [true, true, true, true, true, false] as const;

/** What to do with a response. */
export const RrlAction = {
  /** Send it. */
  PASS: 0,
  /** Send nothing. */
  DROP: 1,
  /** Send a minimal truncated (TC=1) answer instead, so a real client retries over TCP. */
  SLIP: 2,
} as const;
export type RrlActionCode = (typeof RrlAction)[keyof typeof RrlAction];
export const ACTION_NAMES = ['pass', 'drop', 'slip'] as const;
