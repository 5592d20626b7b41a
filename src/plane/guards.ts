/**
 * One process's flood protections (query/guards.ts) built from the
 * snapshot's settings (build/guards.ts) and kept across reloads: the rate
 * limiter is rebuilt only when its settings change, since its buckets are
 * its memory of who floods (a zone edit must not forgive an attacker), and
 * the cookie checker only when a secret or the policy changes. Counters of a
 * replaced limiter or checker are kept, so the metrics never go backwards.
 *
 * Cluster workers each run their own limiter; the kernel spreads datagrams
 * over them at random (the batched listener's reuseport BPF), so each
 * enforces ceil(rate / workers) per bucket and together they allow the
 * configured rate. Without a configured cookie secret, the process tree
 * shares one drawn at start (the primary hands it to its workers), so any
 * worker validates the cookies the others made.
 */
import { COOKIE_RESULT_NAMES, COOKIE_STAT_COUNT, CookieStat, ServerCookies } from '../cookie/evaluate.js';
import type { GuardCounts } from '../observability/metrics.js';
import type { GuardSettings } from '../build/guards.js';
import { busiestBuckets, type BucketView } from '../rrl/busiest.js';
import { ResponseRateLimiter, RRL_STAT_COUNT, RrlStat } from '../rrl/limiter.js';
import type { RrlSettings } from '../rrl/settings.js';
import type { QueryGuards } from '../query/guards.js';

/** Zero counts (a process without guards reports these). */
export function emptyGuardCounts(): GuardCounts {
  return {
    rrl: {
      pass: 0,
      drop: 0,
      slip: 0,
      exemptPrefix: 0,
      exemptCookie: 0,
      inserted: 0,
      reused: 0,
      evicted: 0,
      buckets: 0,
      capacity: 0,
      logOnly: 0,
      enabled: 0,
    },
    cookies: {
      results: Object.fromEntries(COOKIE_RESULT_NAMES.map((n) => [n, 0])),
      fresh: 0,
      echoed: 0,
      badcookie: 0,
      enabled: 0,
    },
  };
}

/** Add `b` into `a` (cluster sums); the on/off flags become "some process has it". */
export function addGuardCounts(a: GuardCounts, b: GuardCounts): void {
  const r = a.rrl;
  for (const k of Object.keys(r) as (keyof GuardCounts['rrl'])[]) r[k] += b.rrl[k];
  r.logOnly = Math.min(1, r.logOnly);
  r.enabled = Math.min(1, r.enabled);
  for (const [k, v] of Object.entries(b.cookies.results)) a.cookies.results[k] = (a.cookies.results[k] ?? 0) + v;
  a.cookies.fresh += b.cookies.fresh;
  a.cookies.echoed += b.cookies.echoed;
  a.cookies.badcookie += b.cookies.badcookie;
  a.cookies.enabled = Math.min(1, a.cookies.enabled + b.cookies.enabled);
}

/** The per-process share of the limits when `workers` processes split the datagrams at random. */
export function perWorkerSettings(s: RrlSettings, workers: number): RrlSettings {
  if (workers <= 1) return s;
  const share = (r: number | undefined) => (r === undefined || r === 0 ? r : Math.ceil(r / workers));
  return {
    ...s,
    responsesPerSecond: share(s.responsesPerSecond)!,
    nodataPerSecond: share(s.nodataPerSecond),
    nxdomainsPerSecond: share(s.nxdomainsPerSecond),
    referralsPerSecond: share(s.referralsPerSecond),
    errorsPerSecond: share(s.errorsPerSecond),
  };
}

export class ProcessGuards {
  /** What the query path reads (swapped whole). */
  current: QueryGuards = { rrl: null, cookies: null };
  private rrlKey = '';
  private cookieKey = '';
  private readonly retiredRrl = new Float64Array(RRL_STAT_COUNT);
  private readonly retiredCookies = new Float64Array(COOKIE_STAT_COUNT);

  /**
   * @param workers processes sharing the UDP port (their limits are split)
   * @param fallbackSecret the secret used when none is configured (shared by the process tree)
   */
  constructor(
    private readonly workers: number,
    private readonly fallbackSecret: Uint8Array,
  ) {}

  /** Apply a snapshot's settings; what did not change keeps running as it is. */
  update(settings: GuardSettings): void {
    let { rrl, cookies } = this.current;
    const rrlKey = settings.rrl === null ? '' : keyOf(settings.rrl);
    if (rrlKey !== this.rrlKey) {
      if (rrl !== null) addInto(this.retiredRrl, rrl.stats);
      rrl = settings.rrl === null ? null : new ResponseRateLimiter(perWorkerSettings(settings.rrl, this.workers));
      this.rrlKey = rrlKey;
    }
    const c = settings.cookies;
    const cookieKey = c === null ? '' : keyOf(c);
    if (cookieKey !== this.cookieKey) {
      if (cookies !== null) addInto(this.retiredCookies, cookies.stats);
      cookies =
        c === null
          ? null
          : new ServerCookies({
              secret: c.secret ?? this.fallbackSecret,
              previousSecret: c.previousSecret,
              require: c.require,
            });
      this.cookieKey = cookieKey;
    }
    if (rrl !== this.current.rrl || cookies !== this.current.cookies) this.current = { rrl, cookies };
  }

  /** Counts since start (replaced limiters and checkers included), table occupancy, on/off. */
  stats(): GuardCounts {
    const { rrl, cookies } = this.current;
    const out = emptyGuardCounts();
    const r = (i: number) => this.retiredRrl[i] + (rrl?.stats[i] ?? 0);
    Object.assign(out.rrl, {
      pass: r(RrlStat.PASS),
      drop: r(RrlStat.DROP),
      slip: r(RrlStat.SLIP),
      exemptPrefix: r(RrlStat.EXEMPT_PREFIX),
      exemptCookie: r(RrlStat.EXEMPT_COOKIE),
      inserted: r(RrlStat.INSERTED),
      reused: r(RrlStat.REUSED),
      evicted: r(RrlStat.EVICTED),
    });
    if (rrl !== null) {
      out.rrl.buckets = rrl.occupancy();
      out.rrl.capacity = rrl.capacity;
      out.rrl.logOnly = rrl.logOnly ? 1 : 0;
      out.rrl.enabled = 1;
    }
    const c = (i: number) => this.retiredCookies[i] + (cookies?.stats[i] ?? 0);
    COOKIE_RESULT_NAMES.forEach((name, i) => (out.cookies.results[name] = c(i)));
    out.cookies.fresh = c(CookieStat.REISSUED);
    out.cookies.echoed = c(CookieStat.ECHOED);
    out.cookies.badcookie = c(CookieStat.BADCOOKIE_SENT);
    out.cookies.enabled = cookies === null ? 0 : 1;
    return out;
  }

  /** The busiest buckets of this process's limiter (GET /admin/rrl); empty when RRL is off. */
  busiest(limit: number): BucketView[] {
    const rrl = this.current.rrl;
    return rrl === null ? [] : busiestBuckets(rrl, performance.now(), limit);
  }
}

function addInto(total: Float64Array, stats: Float64Array): void {
  for (let i = 0; i < total.length; i++) total[i] += stats[i];
}

/** A comparable text of settings holding byte arrays (prefixes, secrets). */
function keyOf(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}
