/**
 * The re-signing timer (control side): signatures are replaced before they
 * expire without a reload. After every install the timer is set for the
 * earliest moment a signed zone needs it (a static signature's refresh time,
 * or a key timing event: a rollover step publishes, activates or retires a
 * key); then the zones of the running snapshot are signed again in a worker
 * thread and the result installed like a reload (new runtimes, whose
 * on-demand signature caches start empty). A failure (a key file gone) is
 * logged and counted, the running signatures keep serving, and it is tried
 * again after RETRY_SECONDS.
 */
import { nextResign } from '../build/zone-signing.js';
import type { Snapshot } from '../build/snapshot.js';

/** After a failed re-sign, try again this much later. */
export const RETRY_SECONDS = 300;
/** setTimeout takes at most 2^31-1 ms; a later due time is reached in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface ResignStats {
  ok: number;
  failed: number;
  /** When the next re-sign is due (seconds since the epoch), null when no zone is signed. */
  nextAt: number | null;
}

export class ResignTimer {
  private timer: NodeJS.Timeout | null = null;
  readonly stats: ResignStats = { ok: 0, failed: 0, nextAt: null };

  constructor(private readonly run: () => Promise<boolean>) {}

  /** Set the timer for `snapshot` (replacing the one set before). */
  schedule(snapshot: Snapshot): void {
    this.setFor(nextResign(snapshot.dnssec ?? []));
  }

  private setFor(at: number | null): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.stats.nextAt = at;
    if (at === null) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, at * 1000 - Date.now()));
    this.timer = setTimeout(() => {
      this.timer = null;
      if (Date.now() < at * 1000) return this.setFor(at); // a step of a long wait
      void this.run().then((ok) => {
        if (ok) this.stats.ok++;
        else {
          this.stats.failed++;
          this.setFor(Math.floor(Date.now() / 1000) + RETRY_SECONDS);
        }
      });
    }, delay);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
