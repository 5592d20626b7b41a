/**
 * Keeps the ECS scopes of the running snapshot in step with health (issue
 * 15): for each health view, the compiled tries merged by the answer each
 * client gets under it (policy/current-scopes.ts), merged in a worker thread
 * (build/scope-merge-worker.ts), never on the DNS event loop.
 *
 * On a health change (update) the decisions are classified at once, which is
 * cheap, and every (record, type) whose grouping has merged tries kept from
 * before (the same partition: a flap that changes no current answer, a state
 * seen recently, a reload that kept the compiled policy) gets them at once.
 * The rest is served by the compiled full-ranking tries, which are sound under
 * every view, only narrower; failover is never delayed by a merge. The
 * missing groupings are merged in the background, one request at a time, and
 * handed to `onReady` only if they still belong to the current view (a
 * newer change supersedes them; they are kept for when that state returns).
 *
 * Memory: merged tries are 30-40 MB per grouping on DB-IP. Kept are those of
 * the current view, plus other groupings, most recently used first, up to
 * KEEP_BYTES; tries of a policy the snapshot no longer has are dropped.
 */
import type { Logger } from 'pino';
import type { Snapshot } from '../build/snapshot.js';
import { type MergeJob, ScopeMergeThread } from '../build/scope-merge-worker.js';
import type { HealthView } from '../health/view.js';
import {
  type Grouping,
  groupingsOf,
  type MergedScopes,
  mergedBytes,
  policyIdentity,
  type ScopeSet,
} from '../policy/current-scopes.js';
import {
  MERGE_BUCKETS,
  type MergeOutcome,
  type RecordScopes,
  type ScopeStats,
} from '../observability/scope-metrics.js';
import { silentLogger } from '../util/logger.js';

/**
 * Merged tries kept beyond the current view's, most recently used first: on
 * DB-IP (about 33 MB per grouping) the last other state, typically "all
 * up" while a PoP is down, so a recovery costs no merge.
 */
export const KEEP_BYTES = 64 * 1024 * 1024;

export interface ScopeKeeperOptions {
  /** The scopes of the current view are complete (merged in the background): install them with it. */
  onReady(view: HealthView, scopes: ScopeSet): void;
  log?: Logger;
  /** Bytes of kept non-current tries (default KEEP_BYTES). */
  keepBytes?: number;
}

interface Target {
  snapshot: Snapshot;
  view: HealthView;
  groupings: Array<Grouping | null>;
}

export class ScopeKeeper {
  private readonly thread = new ScopeMergeThread();
  private readonly log: Logger;
  /** Merged tries by grouping key, least recently used first (Map order). */
  private readonly kept = new Map<string, MergedScopes>();
  private target: Target | null = null;
  private currentSet: ScopeSet | null = null;
  private running = false;
  private closed = false;
  private readonly outcomes: Record<MergeOutcome, number> = { merged: 0, reused: 0, superseded: 0, failed: 0 };
  private readonly duration = { cumulative: MERGE_BUCKETS.map(() => 0), sum: 0, count: 0 };
  /** Groupings whose merge failed for this target (not retried until health or the snapshot changes). */
  private failed = new Set<string>();
  /** Waiting for the current target's merges to end (settled()). */
  private waiters: Array<() => void> = [];

  constructor(private readonly opts: ScopeKeeperOptions) {
    this.log = opts.log ?? silentLogger();
  }

  /** The scopes handed out last (for /explain's runtime and for tests). */
  get current(): ScopeSet | null {
    return this.currentSet;
  }

  /**
   * The scopes for `view` of `snapshot`, now: merged tries where kept, the
   * compiled tries elsewhere while the missing merges run in the background.
   */
  update(snapshot: Snapshot, view: HealthView): ScopeSet {
    const t = this.target;
    if (t && t.snapshot === snapshot && t.view.epoch === view.epoch && this.currentSet) return this.currentSet;
    const target: Target = { snapshot, view, groupings: groupingsOf(snapshot, view) };
    this.target = target;
    this.failed = new Set();
    if (t?.snapshot !== snapshot) this.dropForeign(snapshot);
    const set = this.setFor(target);
    for (const key of this.keysOf(target)) if (this.kept.has(key)) this.outcomes.reused++;
    this.currentSet = set;
    this.evict();
    this.schedule();
    return set;
  }

  /**
   * Resolves when the current view's scopes are complete (merged, or failed
   * and left to the compiled tries) or after `timeoutMs`, whichever is first.
   * Nothing waits for it on a health change; the server waits at start so
   * that it answers with the scopes of the current answers from the first
   * second on (the listeners answer meanwhile, with full-ranking scopes).
   */
  settled(timeoutMs = 10_000): Promise<void> {
    if (this.isSettled()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private isSettled(): boolean {
    return this.closed || !this.target || (!this.running && this.missing(this.target).length === 0);
  }

  private wake(): void {
    if (!this.isSettled()) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Stop the merge thread. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.thread.close();
  }

  stats(): ScopeStats {
    const t = this.target;
    const records: RecordScopes[] = [];
    if (t) {
      const set = this.currentSet;
      const policyOf = new Map(t.snapshot.policyNames.map((n, i) => [n, t.snapshot.policies[i]]));
      t.snapshot.geoRecords.forEach((g, r) => {
        const policy = policyOf.get(g.policy)!;
        (['A', 'AAAA'] as const).forEach((type, i) => {
          if (!g.types.includes(type)) return;
          const e = set?.entries[2 * r + i] ?? null;
          // No grouping for a current-scope record: every decision answers differently, the compiled trie is it.
          const basis = e !== null || (t.groupings[2 * r + i] === null && g.scopes !== 'full_ranking');
          const b = basis ? 'current' : 'full_ranking';
          records.push(
            { record: g.name, type, family: 'ipv4', basis: b, scopes: e ? e.leaves4 : policy.stats.leaves4 },
            { record: g.name, type, family: 'ipv6', basis: b, scopes: e ? e.leaves6 : policy.stats.leaves6 },
          );
        });
      });
    }
    let bytes = 0;
    for (const m of this.kept.values()) bytes += mergedBytes(m);
    return {
      records,
      pending: t ? this.missing(t).length : 0,
      outcomes: { ...this.outcomes },
      duration: { cumulative: [...this.duration.cumulative], sum: this.duration.sum, count: this.duration.count },
      bytes,
    };
  }

  /** Distinct grouping keys of a target. */
  private keysOf(t: Target): Set<string> {
    return new Set(t.groupings.filter((g): g is Grouping => g !== null).map((g) => g.key));
  }

  /** The target's groupings that have no merged tries yet (one per key). */
  private missing(t: Target): Grouping[] {
    const out = new Map<string, Grouping>();
    for (const g of t.groupings) if (g && !this.kept.has(g.key) && !this.failed.has(g.key)) out.set(g.key, g);
    return [...out.values()];
  }

  /** The set for a target from the kept tries (touching them: most recently used last). */
  private setFor(t: Target): ScopeSet {
    const entries = t.groupings.map((g) => {
      const m = g ? this.kept.get(g.key) : undefined;
      if (!g || !m) return null;
      this.kept.delete(g.key);
      this.kept.set(g.key, m);
      return m;
    });
    return { epoch: t.view.epoch, entries };
  }

  /** Start merging what the current target misses, unless a merge is running (its end reschedules). */
  private schedule(): void {
    if (this.running || this.closed) return;
    const t = this.target;
    if (!t) return;
    const missing = this.missing(t);
    if (missing.length === 0) return;
    const jobs: MergeJob[] = missing.map((g) => {
      const policy = t.snapshot.policies[g.policy];
      return {
        key: g.key,
        policyKey: policyIdentity(policy),
        v4: policy.v4,
        v6: policy.v6,
        classOf: g.classes.classOf,
        representative: g.classes.representative,
        count: g.classes.count,
      };
    });
    this.running = true;
    const t0 = performance.now();
    this.thread.merge(jobs).then(
      ({ results, ms }) => {
        this.running = false;
        this.observe((performance.now() - t0) / 1000);
        for (const m of results) this.kept.set(m.key, m);
        this.finish(
          jobs.map((j) => j.key),
          ms,
        );
      },
      (err: Error) => {
        this.running = false;
        this.outcomes.failed += jobs.length;
        // Full-ranking scopes keep serving (sound); the next health change tries again.
        if (this.target === t) for (const j of jobs) this.failed.add(j.key);
        if (!this.closed)
          this.log.error({ err: err.message }, 'scope merge failed: serving full-ranking ECS scopes meanwhile');
        this.schedule();
        this.wake();
      },
    );
  }

  /** A merge request is done: install if the current view is now complete, count, go on with what is missing. */
  private finish(keys: string[], threadMs: number): void {
    const t = this.target;
    if (this.closed || !t) return;
    const wanted = this.keysOf(t);
    for (const k of keys) this.outcomes[wanted.has(k) ? 'merged' : 'superseded']++;
    if (keys.some((k) => wanted.has(k))) {
      const set = this.setFor(t);
      this.currentSet = set;
      this.log.debug(
        { epoch: t.view.epoch, merged: keys.length, threadMs: Math.round(threadMs), pending: this.missing(t).length },
        'ECS scopes of the current answers merged',
      );
      this.opts.onReady(t.view, set);
    }
    this.evict();
    this.schedule();
    this.wake();
  }

  private observe(seconds: number): void {
    const d = this.duration;
    MERGE_BUCKETS.forEach((b, i) => {
      if (seconds <= b) d.cumulative[i]++;
    });
    d.sum += seconds;
    d.count++;
  }

  /** Drop tries of policies `snapshot` does not have (a reload recompiled them). */
  private dropForeign(snapshot: Snapshot): void {
    const live = new Set(snapshot.policies.map(policyIdentity));
    for (const [key, m] of this.kept) if (!live.has(m.policyKey)) this.kept.delete(key);
  }

  /** Keep the current view's tries and, most recently used first, others up to the byte budget. */
  private evict(): void {
    const t = this.target;
    const pinned = t ? this.keysOf(t) : new Set<string>();
    let spare = this.opts.keepBytes ?? KEEP_BYTES;
    for (const [key, m] of [...this.kept].reverse()) {
      if (pinned.has(key)) continue;
      const size = mergedBytes(m);
      if (size <= spare) spare -= size;
      else this.kept.delete(key);
    }
  }
}
