/**
 * Explain and the catchment map against what a serving process runs now:
 * the running snapshot and the current health view. The admin API's
 * /explain and /map call this; the control plane only tells it when the
 * snapshot or the health changes.
 *
 * The explain context (runtime, rule tables, databases the snapshot was
 * compiled from) is built once per snapshot, off the event loop. The map is a
 * synthetic world sample through the running decisions, simulated in slices,
 * rendered in a worker thread, and cached per snapshot, record and health
 * epoch: a /map loop cannot hold up DNS answers.
 */
import type { Snapshot } from '../build/snapshot.js';
import { AdminError, GeoDatabaseError } from '../errors.js';
import { generateClientsAsync, type SimClient } from '../geo/clients.js';
import type { PopHealth } from '../health/monitor.js';
import type { HealthView } from '../health/view.js';
import type { ScopeSet } from '../policy/current-scopes.js';
import { parsePrefix } from '../net/ip.js';
import { type ExplainContext, explain } from './explain.js';
import { explainContextForRunning } from './explain-context.js';
import { databaseCredit } from './map.js';
import { renderMapPageOffThread } from './map-worker.js';
import { simulateAsync } from './simulate.js';

/** Client networks drawn on the live /map. */
const MAP_SAMPLE = 2000;
/** Map pages kept per snapshot (the latest health epochs and records). */
const MAP_PAGES = 8;

export interface LiveSources {
  snapshot(): Snapshot;
  health(): HealthView;
  /** The ECS scopes merged for the current health (null entries: compiled tries). */
  scopes(): ScopeSet | null;
  /** Per-PoP health details for explain's candidates. */
  popHealth(): PopHealth[];
}

export class LiveInspection {
  private ctxFor: Snapshot | null = null;
  private ctxPromise: Promise<ExplainContext> | null = null;
  /** The context once built (its runtime follows health changes). */
  private ctx: ExplainContext | null = null;
  private mapCache: { snapshot: Snapshot; clients: Promise<SimClient[]>; pages: Map<string, Promise<string>> } | null =
    null;

  constructor(private readonly src: LiveSources) {}

  /** A new running snapshot: contexts and maps of the old one are dropped. */
  snapshotChanged(): void {
    this.ctx = null;
    this.ctxPromise = null;
    this.mapCache = null;
  }

  /** A new health view (and its scopes): explain and the map answer under it from now on. */
  healthChanged(view: HealthView, scopes: ScopeSet | null): void {
    const rt = this.ctx?.runtime;
    if (rt && view.serving.length === rt.snapshot.pops.length) rt.health = rt.healthState(view, scopes);
  }

  /** Explain for the admin API: input checked (400 on bad input), then the real query path. */
  async explain(name: string, type: string, client: string): Promise<unknown> {
    const t = type.toUpperCase();
    if (t !== 'A' && t !== 'AAAA') throw new AdminError(400, `type must be A or AAAA, not "${type.slice(0, 20)}"`);
    if (
      name.length > 253 ||
      !/^[A-Za-z0-9_*.-]+$/.test(name) ||
      name.split('.').some((l, i, all) => l.length > 63 || (l === '' && i < all.length - 1))
    ) {
      throw new AdminError(400, 'name must be a domain name (letters, digits, - _ *, labels of at most 63 characters)');
    }
    try {
      parsePrefix(client);
    } catch (err) {
      throw new AdminError(400, `client: ${(err as Error).message}`);
    }
    const result = explain(await this.context(), name, t, client);
    const health = new Map(this.src.popHealth().map((p) => [p.id, p]));
    return {
      ...result,
      health: (result.candidates ?? []).map((c) => health.get(c.pop)).filter(Boolean) as PopHealth[],
    };
  }

  /** The live catchment map page of geo record `name` (default: the first). */
  async map(name: string | undefined): Promise<string> {
    const snapshot = this.src.snapshot();
    const ctx = await this.context();
    if (this.mapCache?.snapshot !== snapshot)
      this.mapCache = { snapshot, clients: generateClientsAsync(ctx.locator.dbs, MAP_SAMPLE, 1), pages: new Map() };
    const cache = this.mapCache;
    const health = ctx.runtime.health;
    const key = `${name ?? ''}\u0000${health.view.epoch}\u0000${health.scopes === null ? 'full' : 'current'}`;
    let page = cache.pages.get(key);
    if (!page) {
      page = (async () => {
        const report = await simulateAsync(ctx, await cache.clients, name);
        return renderMapPageOffThread(
          report,
          snapshot.pops,
          `Live catchments of ${report.record || '.'} (${new Date().toISOString().slice(0, 19)}Z)`,
          databaseCredit(snapshot.databases),
        );
      })();
      // Keep the latest epochs only; a failed render is not cached.
      if (cache.pages.size >= MAP_PAGES) cache.pages.delete(cache.pages.keys().next().value!);
      cache.pages.set(key, page);
      page.catch(() => cache.pages.delete(key));
    }
    return page.catch((err: Error) => {
      throw /is not a geo record|no geo records/.test(err.message) ? new AdminError(400, err.message) : err;
    });
  }

  /** The explain context of the running snapshot, built once (a database it cannot read is a 503). */
  private context(): Promise<ExplainContext> {
    const s = this.src.snapshot();
    if (this.ctxFor !== s || !this.ctxPromise) {
      this.ctxFor = s;
      this.ctx = null;
      const building = explainContextForRunning(s, this.src.health(), this.src.scopes()).then((ctx) => {
        if (this.ctxFor === s) this.ctx = ctx;
        return ctx;
      });
      building.catch(() => {
        if (this.ctxPromise === building) this.ctxPromise = null;
      });
      this.ctxPromise = building;
    }
    return this.ctxPromise.catch((err: Error) => {
      throw err instanceof GeoDatabaseError ? new AdminError(503, err.message) : err;
    });
  }
}
