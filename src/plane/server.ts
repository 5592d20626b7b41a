/**
 * A whole Meridian instance in one process: the data plane (listeners and the
 * runtime) fed by a control plane (reloads, health, metrics, admin HTTP).
 * `meridian serve --workers 0` runs this; tests start it on port 0.
 */
import type { Logger } from 'pino';
import type { Runtime } from '../build/runtime.js';
import type { Snapshot } from '../build/snapshot.js';
import { silentLogger } from '../util/logger.js';
import { buildStartupSnapshot } from './fleet-control.js';
import type { HealthView } from '../health/view.js';
import type { ScopeSet } from '../policy/current-scopes.js';
import type { HostPort } from '../net/listen-address.js';
import type { Collected } from '../observability/metrics.js';
import type { QueryCounters } from '../query/counters.js';
import { planeCounters, sumPlanes } from './collect.js';
import { ControlPlane, type PlaneSink, type ReloadResult } from './control-plane.js';
import { DataPlane } from './data-plane.js';
import { tuneAllocator } from './memory.js';
import type { BucketView } from '../rrl/busiest.js';

export type { ReloadResult };

export interface ServerOptions {
  configFile: string;
  /** Listen addresses (HOST:PORT); default: the config's server.listen. */
  listen?: string[];
  /** Admin HTTP HOST:PORT; null disables it; default: the config's admin.listen. */
  admin?: string | null;
  /** Watch the config and geo files for changes (default true). */
  watch?: boolean;
  logger?: Logger;
  snapshot?: Snapshot;
  /** How much the start-up compile grew the process (see ControlOptions). */
  startupPeakBytes?: number;
}

export class MeridianServer implements PlaneSink {
  readonly control: ControlPlane;

  private constructor(
    readonly data: DataPlane,
    snapshot: Snapshot,
    opts: ServerOptions,
  ) {
    this.control = new ControlPlane(snapshot, this, {
      configFile: opts.configFile,
      admin: opts.admin,
      watch: opts.watch,
      log: opts.logger,
      startupPeakBytes: opts.startupPeakBytes,
    });
  }

  /** Load the config (strict: any problem throws), bind, start the side services. */
  static async start(opts: ServerOptions): Promise<MeridianServer> {
    tuneAllocator();
    const snapshot =
      opts.snapshot ??
      (await buildStartupSnapshot(opts.configFile, { guardSample: true }, opts.logger ?? silentLogger()));
    const data = new DataPlane(snapshot, undefined, opts.logger?.child({ component: 'query' }));
    const server = new MeridianServer(data, snapshot, opts);
    try {
      await data.bind(opts.listen ?? snapshot.config.server.listen);
      await server.control.start();
    } catch (err) {
      await server.close(0);
      throw err;
    }
    return server;
  }

  // PlaneSink: the local data plane (the scopes' tries are the control plane's own objects: nothing is copied).
  install(snapshot: Snapshot, health: HealthView, scopes: ScopeSet): void {
    this.data.install(snapshot, health, scopes);
  }
  setHealth(view: HealthView, scopes: ScopeSet): void {
    this.data.setHealth(view, scopes);
  }
  async collect(): Promise<Collected> {
    return sumPlanes([planeCounters(this.data)], this.data.runtime.snapshot.geoRecords);
  }
  listening(): boolean {
    return this.data.udp.length > 0;
  }
  async rrlBuckets(limit: number): Promise<BucketView[]> {
    return this.data.protection.busiest(limit);
  }

  get runtime(): Runtime {
    return this.data.runtime;
  }
  get counters(): QueryCounters {
    return this.data.counters;
  }
  get tcpStats() {
    return this.data.tcpStats;
  }
  get addresses(): HostPort[] {
    return this.data.addresses;
  }
  get adminPort(): number | null {
    return this.control.admin?.address.port ?? null;
  }
  reload(reason?: string): Promise<ReloadResult> {
    return this.control.reload(reason);
  }
  describeListeners(): string[] {
    return this.data.describeListeners();
  }

  async close(graceMs = 2000): Promise<void> {
    await this.control.close();
    await this.data.close(graceMs);
  }
}
