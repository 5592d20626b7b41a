/**
 * The flood protections the query path consults, one set per process: the
 * response rate limiter (rrl/) and the server cookie checker (cookie/). The
 * data plane builds them from the snapshot's settings and keeps them across
 * reloads that do not change them (the limiter's buckets are its memory of
 * who floods); a null member is switched off.
 */
import type { ServerCookies } from '../cookie/evaluate.js';
import type { ResponseRateLimiter } from '../rrl/limiter.js';

export interface QueryGuards {
  readonly rrl: ResponseRateLimiter | null;
  readonly cookies: ServerCookies | null;
}
