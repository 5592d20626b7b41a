/**
 * The control plane: everything beside the query path. It owns the running
 * snapshot and its reloads (compiled in a worker thread, swapped whole, a bad
 * config never replaces a good one), the file watchers (config, geo
 * databases, zone files, admin state file), the health monitor (the one place
 * health is decided), metrics and the admin HTTP listener. It pushes snapshots
 * and health views to a sink: the local data plane, or the cluster workers.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { compileInWorker } from './config/compile-worker.js';
import { loadConfigFile } from './config/load.js';
import { watchFiles, type FileWatcher } from './config/watch.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { explain, type ExplainContext } from './explain.js';
import { openDatabases } from './geo/open.js';
import { HealthMonitor, type PopHealth } from './health/monitor.js';
import { parseStateFile } from './health/state-file.js';
import type { Override } from './health/state-machine.js';
import type { HealthView } from './health/view.js';
import { parseHostPort } from './listen-address.js';
import { adminAccess, isLoopbackHost, type AdminAccess } from './observability/admin-access.js';
import { startAdminServer, type AdminServer } from './observability/http.js';
import { silentLogger } from './observability/logger.js';
import { createMetrics, HealthMetrics, type Collected } from './observability/metrics.js';
import { ClientLocator } from './policy/client-facts.js';
import { failOpenDecisions } from './policy/fail-open.js';
import { Runtime } from './runtime.js';
import { generateClients, type SimClient } from './simulate/clients.js';
import { renderMapPage, renderMapSvg } from './simulate/map.js';
import { simulate } from './simulate/simulate.js';
import { applyLatencyTable, buildAllRuleTables, fillReused, type Snapshot } from './snapshot.js';

/** Where snapshots and health views go. */
/** Client networks drawn on the live /map. */
const MAP_SAMPLE = 2000;

export interface PlaneSink {
  install(snapshot: Snapshot, health: HealthView): void;
  setHealth(view: HealthView): void;
  collect(): Promise<Collected>;
  /** Listeners are bound and answering. */
  listening(): boolean;
  workerRestarts?(): number;
}

export interface ReloadResult {
  ok: boolean;
  issues: ConfigIssue[];
  message: string;
  compileMs: number;
}

export interface ControlOptions {
  configFile: string;
  /** Admin listener HOST:PORT; null = none; undefined = from the config. */
  admin?: string | null;
  /** Watch files for changes (default true). */
  watch?: boolean;
  log?: Logger;
}

export class ControlPlane {
  snapshot: Snapshot;
  readonly monitor: HealthMonitor;
  readonly registry = new Registry();
  readonly healthMetrics: HealthMetrics;
  reloads = { ok: 0, failed: 0, lastError: null as ReloadResult | null };
  admin: AdminServer | null = null;
  private readonly log: Logger;
  private watcher: FileWatcher | null = null;
  private stateWatcher: FileWatcher | null = null;
  private reloading: Promise<ReloadResult> | null = null;
  private reloadAgain = false;
  private explainCtx: ExplainContext | null = null;
  private failOpen = new Map<string, number>();
  /** The admin listener's HOST:PORT (null: no admin API). */
  private readonly adminAddr: string | null;
  private access: AdminAccess;

  constructor(
    snapshot: Snapshot,
    private readonly sink: PlaneSink,
    private readonly opts: ControlOptions,
  ) {
    this.snapshot = snapshot;
    this.log = opts.log ?? silentLogger();
    this.adminAddr = opts.admin === undefined ? snapshot.config.admin.listen : opts.admin;
    // Before anything starts (workers, probes, listeners): a refused admin token stops here.
    this.access = this.checkAdminAccess(snapshot, 'start');
    this.healthMetrics = new HealthMetrics(this.registry);
    this.monitor = new HealthMonitor({
      log: this.log.child({ component: 'health' }),
      maxInFlight: snapshot.config.health.max_in_flight,
      observer: {
        probe: (pop, r) => {
          this.healthMetrics.probeDuration.observe({ pop }, r.durationMs / 1000);
          if (!r.ok) this.healthMetrics.probeFailures.inc({ pop, reason: r.reason ?? 'failed' });
        },
        transition: (pop, up) => this.healthMetrics.transitions.inc({ pop, to: up ? 'up' : 'down' }),
      },
    });
    this.monitor.update(snapshot.pops);
    this.monitor.onChange(() => this.pushHealth());
    createMetrics(
      {
        collect: () => this.sink.collect(),
        snapshot: () => this.snapshot,
        health: () => this.monitor.status(),
        failOpenDecisions: () => this.failOpen,
        reloads: () => this.reloads,
        ready: () => this.sink.listening(),
        workerRestarts: () => this.sink.workerRestarts?.() ?? 0,
      },
      this.registry,
    );
  }

  /** Start watchers and the admin listener. */
  async start(): Promise<void> {
    if (this.opts.watch !== false) {
      this.watcher = watchFiles(this.watchedFiles(), (changed) => void this.reload(`changed: ${changed.map((f) => path.basename(f)).join(', ')}`));
      this.watchStateFile();
    }
    if (this.adminAddr) {
      const { host, port } = parseHostPort(this.adminAddr);
      this.admin = await startAdminServer(host, port, {
        registry: this.registry,
        token: () => this.access.token,
        readOnlyReason: () => this.access.readOnlyReason ?? 'no admin token',
        ready: () => this.ready(),
        explain: (name, type, client) => this.explain(name, type, client),
        pops: () => this.monitor.status(),
        setOverride: (pop, o) => this.monitor.setOverride(pop, o, 'api'),
        reload: () => this.reload('admin API'),
        map: () => this.map(),
      });
      this.logAdminAccess();
    }
    this.pushHealth();
  }

  /**
   * Who may write through the admin API under `snapshot`'s config. A token
   * that is configured but unusable (unset variable, too short) is refused
   * with a ConfigError when the admin listener is not on loopback: at start
   * Meridian does not start, on reload the running config stays.
   */
  private checkAdminAccess(snapshot: Snapshot, when: 'start' | 'reload'): AdminAccess {
    const access = adminAccess(snapshot.config.admin);
    if (!access.problem || !this.adminAddr || isLoopbackHost(parseHostPort(this.adminAddr).host)) return access;
    const at = loadConfigFile(snapshot.file).locate(['admin'], snapshot.config.admin.token_env ? 'token_env' : 'token');
    throw new ConfigError([
      {
        ...at,
        message:
          `${access.problem}, and the admin API listens on ${this.adminAddr}, which is not loopback: refusing to ${when}. ` +
          `Set ${snapshot.config.admin.token_env ?? 'the token'} to a token of 16+ characters, bind the admin API to 127.0.0.1, or remove admin.token_env to serve a read-only admin API on purpose`,
      },
    ]);
  }

  /** Say at start (and when a reload changes it) whether the admin API is writable, loudly when a token is unusable. */
  private logAdminAccess(): void {
    if (!this.adminAddr) return;
    const a = this.access;
    if (a.problem) this.log.warn({ admin: this.adminAddr }, `admin API is READ-ONLY: ${a.problem}; drain, force-up/down and reload over HTTP will be refused (403)`);
    else if (a.token) this.log.info({ admin: this.adminAddr, token: a.source }, `admin API is writable (bearer token from ${a.source})`);
    else this.log.info({ admin: this.adminAddr }, `admin API is read-only: ${a.readOnlyReason}`);
  }

  /** The files whose change triggers a reload: the config, its geo databases and zone files. */
  private watchedFiles(): string[] {
    const s = this.snapshot;
    const dir = path.dirname(s.file);
    const zoneFiles = s.config.zones.filter((z) => z.file).map((z) => path.resolve(dir, z.file!));
    return [s.file, ...s.databases.map((d) => d.file), ...zoneFiles, ...(s.latencyTable ? [s.latencyTable] : [])];
  }

  private stateFile(): string | null {
    const f = this.snapshot.config.admin.state_file;
    return f ? path.resolve(path.dirname(this.snapshot.file), f) : null;
  }

  private watchStateFile(): void {
    this.stateWatcher?.close();
    const file = this.stateFile();
    if (!file) return;
    const apply = () => {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        /* a missing state file means no overrides */
      }
      const { overrides, errors } = parseStateFile(text);
      for (const e of errors) this.log.warn({ file, line: e.line }, `admin state file: ${e.message}`);
      const unknown = this.monitor.setFileOverrides(overrides);
      if (unknown.length) this.log.warn({ file, unknown }, 'admin state file names unknown PoPs');
    };
    apply();
    this.stateWatcher = watchFiles([file], apply, 100, 1000);
  }

  /** Send the current health view to the data plane and log fail-open changes. */
  private pushHealth(): void {
    const view = this.monitor.viewFor(this.snapshot.pops.map((p) => p.id));
    this.sink.setHealth(view);
    if (this.explainCtx) this.explainCtx.runtime.health = view;
    const next = failOpenDecisions(this.snapshot, view);
    for (const [record, n] of next) {
      const before = this.failOpen.get(record) ?? 0;
      if (n > 0 && before === 0) this.log.warn({ record, decisions: n }, 'fail-open: every candidate of some decisions is down; answering with the unfiltered ranking');
      if (n === 0 && before > 0) this.log.info({ record }, 'fail-open over');
    }
    this.failOpen = next;
  }

  ready(): { ready: boolean; detail: unknown } {
    const listening = this.sink.listening();
    const last = this.reloads.lastError;
    return {
      ready: listening,
      detail: {
        listening,
        config: { file: this.snapshot.file, sha256: this.snapshot.hash, loadedAt: new Date(this.snapshot.builtAt).toISOString() },
        databases: this.snapshot.databases.map((d) => ({ file: d.file, type: d.databaseType, usedFor: d.usedFor })),
        lastReloadError: last ? { message: last.message, issues: last.issues } : null,
      },
    };
  }

  private mapCache: { snapshot: Snapshot; clients: SimClient[]; epoch: number; page: string } | null = null;

  /** The live catchment map: a synthetic world sample through the running decisions and health. */
  private map(): string {
    const ctx = this.explainContext();
    const epoch = ctx.runtime.health.epoch;
    if (this.mapCache && this.mapCache.snapshot === this.snapshot && this.mapCache.epoch === epoch) return this.mapCache.page;
    const clients = this.mapCache?.snapshot === this.snapshot ? this.mapCache.clients : generateClients(ctx.locator.dbs, MAP_SAMPLE, 1);
    const report = simulate(ctx, clients);
    const page = renderMapPage(renderMapSvg(report, this.snapshot.pops, `Live catchments of ${report.record || '.'} (${new Date().toISOString().slice(0, 19)}Z)`));
    this.mapCache = { snapshot: this.snapshot, clients, epoch, page };
    return page;
  }

  private explain(name: string, type: string, client: string): unknown {
    const result = explain(this.explainContext(), name, type, client);
    const health = new Map(this.monitor.status().map((p) => [p.id, p]));
    return { ...result, health: (result.candidates ?? []).map((c) => health.get(c.pop)).filter(Boolean) as PopHealth[] };
  }

  /** Runtime, rule tables and databases for explain and the map, rebuilt when the snapshot changes. */
  private explainContext(): ExplainContext {
    if (!this.explainCtx || this.explainCtx.runtime.snapshot !== this.snapshot) {
      const s = this.snapshot;
      const city = s.databases.filter((d) => d.usedFor.includes('ipv4') || d.usedFor.includes('ipv6')).map((d) => d.file);
      const asn = s.databases.find((d) => d.usedFor.includes('asn'))?.file ?? null;
      const runtime = new Runtime(s, this.monitor.viewFor(s.pops.map((p) => p.id)));
      const tables = buildAllRuleTables(s.config, s.pops, () => undefined);
      const latency = applyLatencyTable(s.config, s.latencyTable ? { file: s.latencyTable, text: s.latencyText } : null, s.pops, tables, () => undefined);
      this.explainCtx = { runtime, tables, locator: new ClientLocator(openDatabases(city, asn)), latency };
    }
    return this.explainCtx;
  }

  /** Reload from disk (coalesced): compile off-thread, swap on success, keep running on failure. */
  reload(reason = 'request'): Promise<ReloadResult> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.doReload(reason).finally(() => {
      this.reloading = null;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload('coalesced');
      }
    });
    return this.reloading;
  }

  private async doReload(reason: string): Promise<ReloadResult> {
    const t0 = performance.now();
    try {
      // Policies whose inputs did not change keep their compiled trie: a zone edit reloads in milliseconds.
      const reusable = this.snapshot.policies.map((p) => p.key).filter((k): k is string => k !== undefined);
      const snapshot = fillReused(await compileInWorker(this.snapshot.file, reusable), this.snapshot);
      const access = this.checkAdminAccess(snapshot, 'reload');
      this.monitor.update(snapshot.pops);
      this.snapshot = snapshot;
      this.sink.install(snapshot, this.monitor.viewFor(snapshot.pops.map((p) => p.id)));
      this.explainCtx = null;
      this.pushHealth();
      this.watcher?.setFiles(this.watchedFiles());
      this.watchStateFileIfChanged();
      const accessChanged = access.token !== this.access.token || access.readOnlyReason !== this.access.readOnlyReason;
      this.access = access;
      if (accessChanged) this.logAdminAccess();
      const result: ReloadResult = { ok: true, issues: [], message: 'ok', compileMs: Math.round(performance.now() - t0) };
      this.reloads.ok++;
      this.reloads.lastError = null;
      this.log.info({ reason, compileMs: result.compileMs, sha256: snapshot.hash.slice(0, 16) }, 'config reloaded');
      return result;
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : [];
      const result: ReloadResult = { ok: false, issues, message: (err as Error).message, compileMs: Math.round(performance.now() - t0) };
      this.reloads.failed++;
      this.reloads.lastError = result;
      this.log.error({ reason, errors: result.message.split('\n') }, 'config reload failed; the running config keeps serving');
      return result;
    }
  }

  private lastStateFile: string | null = null;
  private watchStateFileIfChanged(): void {
    const f = this.stateFile();
    if (f !== this.lastStateFile && this.opts.watch !== false) {
      this.lastStateFile = f;
      this.watchStateFile();
    }
  }

  setOverride(pop: string, o: Override | null): boolean {
    return this.monitor.setOverride(pop, o, 'api');
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.stateWatcher?.close();
    this.monitor.stop();
    await this.admin?.close();
  }
}
