/**
 * The control plane: everything beside the query path. It owns the running
 * snapshot and its reloads (compiled in a worker thread, swapped whole, a bad
 * config never replaces a good one), the file watchers (config, geo
 * databases, zone files, admin state file), the health monitor (the one place
 * health is decided), the ECS scopes of the current answers (merged off the
 * event loop when health changes, scope-keeper.ts), metrics and the admin
 * HTTP listener. It pushes snapshots and health views, each view with the
 * scopes merged for it, to a sink: the local data plane, or the cluster workers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { type ChangeReport, compareSnapshotsAsync, formatChangeReport } from '../build/change-guard.js';
import { type CompileBounds, compileInWorker } from '../build/compile-worker.js';
import { loadConfigFile } from '../build/config/load.js';
import type { MeridianConfig } from '../build/config/schema.js';
import { fillReused, sampleKey } from '../build/policies.js';
import type { Snapshot } from '../build/snapshot.js';
import { AdminError, type ConfigIssue, ConfigError, ReloadBoundError } from '../errors.js';
import { databaseIdentity } from '../geo/open.js';
import { HealthMonitor } from '../health/monitor.js';
import { parseStateFile } from '../health/state-file.js';
import type { Override } from '../health/state-machine.js';
import type { HealthView } from '../health/view.js';
import type { PopHealth } from '../health/monitor.js';
import type { ScopeSet } from '../policy/current-scopes.js';
import { registerScopeMetrics } from '../observability/scope-metrics.js';
import { LiveInspection } from '../inspect/live.js';
import { parseHostPort } from '../net/listen-address.js';
import { type Collected, createMetrics, HealthMetrics } from '../observability/metrics.js';
import { registerSafetyMetrics } from '../observability/safety-metrics.js';
import { failOpenDecisions } from '../policy/fail-open.js';
import { silentLogger } from '../util/logger.js';
import { type AdminAccess, adminAccess, isLoopbackHost } from './admin-access.js';
import { type AdminServer, startAdminServer } from './admin-http.js';
import type { BucketView } from '../rrl/busiest.js';
import { FleetControl, type LocalConfig, type OverrideScope } from './fleet-control.js';
import { releaseFreedMemory } from './memory.js';
import { ResignTimer } from './resign.js';
import { resignInWorker } from '../build/resign-worker.js';
import { ScopeKeeper } from './scope-keeper.js';
import { type FileWatcher, watchFiles } from './watch.js';

/**
 * Where snapshots and health views go: the local data plane, or the cluster
 * workers. A view always travels with the scopes merged for it (or null
 * entries where the compiled tries serve until a merge is done).
 */
export interface PlaneSink {
  install(snapshot: Snapshot, health: HealthView, scopes: ScopeSet): void;
  setHealth(view: HealthView, scopes: ScopeSet): void;
  collect(): Promise<Collected>;
  /** Listeners are bound and answering. */
  listening(): boolean;
  workerRestarts?(): number;
  /** Worker supervision state (cluster mode): restarts, backoff, slots given up. */
  workerState?(): { restarts: number; backoffSeconds: number; failedSlots: number };
  /** The busiest response-rate-limiting buckets of the data plane(s), merged. */
  rrlBuckets?(limit: number): Promise<BucketView[]>;
}

export interface ReloadResult {
  ok: boolean;
  /** Set when the change guard held the new configuration instead of applying it. */
  held?: ChangeReport;
  issues: ConfigIssue[];
  message: string;
  compileMs: number;
}

/** Reload state: a running compile and its bounds, the held change, watchdog counts. */
export interface ReloadStatus {
  running: { reason: string; startedAt: string; elapsedSeconds: number; growthBytes: number } | null;
  bounds: { timeoutSeconds: number; memoryLimitBytes: number };
  lastCompile: { seconds: number; peakGrowthBytes: number };
  aborted: { time: number; memory: number };
  held: { id: string; since: string; reason: string; report: ChangeReport; accept: string } | null;
  guardHolds: number;
  lastChange: ChangeReport | null;
}

/** reload.timeout: auto = max(60 s, 10 x the last successful compile). */
const AUTO_TIMEOUT_FLOOR_MS = 60_000;
const AUTO_TIMEOUT_FACTOR = 10;
/** reload.memory_limit: auto = max(1 GiB, 4 x the last successful compile's growth). */
const AUTO_MEMORY_FLOOR = 1024 * 1048576;
const AUTO_MEMORY_FACTOR = 4;

/** The `reload` section of the config file on disk, or null when it does not load (the compile will say why). */
function peekReloadSettings(file: string): MeridianConfig['reload'] | null {
  try {
    return loadConfigFile(file).config.reload;
  } catch {
    return null;
  }
}

/** Why a reload failed, for meridian_reload_failures_total. */
function failureReason(err: unknown): string {
  if (err instanceof ReloadBoundError) return `${err.bound}_bound`;
  if (err instanceof ConfigError)
    return err.issues.some((i) => /^geo\.(databases|asn_database)/.test(i.path)) ? 'geo_database' : 'config';
  return 'other';
}

export interface ControlOptions {
  configFile: string;
  /** Admin listener HOST:PORT; null = none; undefined = from the config. */
  admin?: string | null;
  /** Watch files for changes (default true). */
  watch?: boolean;
  log?: Logger;
  /** How much the start-up compile grew the process (the first auto memory bound is a multiple of it). */
  startupPeakBytes?: number;
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
  private failOpen = new Map<string, number>();
  /** The ECS scopes of the current answers, merged in a worker thread when health changes. */
  private readonly scopes: ScopeKeeper;
  /** /explain and /map against the running snapshot and health (inspect/live.ts). */
  private readonly live = new LiveInspection({
    snapshot: () => this.snapshot,
    health: () => this.monitor.viewFor(this.snapshot.pops.map((p) => p.id)),
    scopes: () => this.scopes.current,
    popHealth: () => this.popStatus(),
  });
  private running: { reason: string; startedAt: number; bounds: CompileBounds; growthBytes: number } | null = null;
  private held: {
    snapshot: Snapshot;
    access: AdminAccess;
    report: ChangeReport;
    since: number;
    reason: string;
  } | null = null;
  private lastChange: ChangeReport | null = null;
  private guardHolds = 0;
  private readonly aborted = { time: 0, memory: 0 };
  private readonly failures: Record<string, number> = {
    config: 0,
    geo_database: 0,
    time_bound: 0,
    memory_bound: 0,
    other: 0,
  };
  /** The last successful compile (the watchdog's auto bounds are multiples of it). */
  private lastCompile: { ms: number; peakBytes: number };
  /** The admin listener's HOST:PORT (null: no admin API). */
  private readonly adminAddr: string | null;
  private access: AdminAccess;
  /** The fleet side (docs/fleet.md): only with a `fleet:` section in the local config file. */
  readonly fleet: FleetControl | null;

  constructor(
    snapshot: Snapshot,
    private readonly sink: PlaneSink,
    private readonly opts: ControlOptions,
  ) {
    this.snapshot = snapshot;
    this.lastCompile = { ms: snapshot.compileMs, peakBytes: opts.startupPeakBytes ?? 0 };
    this.log = opts.log ?? silentLogger();
    this.adminAddr = opts.admin === undefined ? snapshot.config.admin.listen : opts.admin;
    // Before anything starts (workers, probes, listeners): a refused admin token stops here.
    this.access = this.checkAdminAccess(snapshot, 'start');
    this.healthMetrics = new HealthMetrics(this.registry);
    this.scopes = new ScopeKeeper({
      log: this.log.child({ component: 'scopes' }),
      // A merge finished for the view still current: install it with its scopes (one health state).
      onReady: (view, scopes) => {
        this.sink.setHealth(view, scopes);
        this.live.healthChanged(view, scopes);
      },
    });
    this.monitor = new HealthMonitor({
      log: this.log.child({ component: 'health' }),
      maxInFlight: snapshot.config.health.max_in_flight,
      observer: {
        probe: (pop, r) => {
          this.healthMetrics.probeDuration.observe({ pop }, r.durationMs / 1000);
          if (!r.ok) this.healthMetrics.probeFailures.inc({ pop, reason: r.reason ?? 'failed' });
        },
        transition: (pop, up) => this.healthMetrics.transitions.inc({ pop, to: up ? 'up' : 'down' }),
        observed: (pop, o) => this.fleet?.observed(pop, o),
      },
    });
    this.monitor.update(snapshot.pops, snapshot.config.health.source_address);
    this.monitor.onChange(() => this.pushHealth());
    const local = this.localConfig(snapshot);
    this.fleet = local.config.fleet
      ? new FleetControl(local, {
          monitor: this.monitor,
          registry: this.registry,
          log: this.log,
          snapshot: () => this.snapshot,
          reloadFrom: (file, reason) => this.reload(reason, file),
        })
      : null;
    createMetrics(
      {
        collect: () => this.collectOnce(),
        snapshot: () => this.snapshot,
        health: () => this.monitor.status(),
        failOpenDecisions: () => this.failOpen,
        reloads: () => this.reloads,
        ready: () => this.sink.listening(),
        workerRestarts: () => this.sink.workerRestarts?.() ?? 0,
        resign: () => this.resign.stats,
      },
      this.registry,
    );
    registerScopeMetrics(() => this.scopes.stats(), this.registry);
    registerSafetyMetrics(
      {
        reload: () => this.reloadStatus(),
        reloadFailures: () => this.failures,
        uncaught: async () => (await this.collectOnce()).uncaught,
        workers: () => this.sink.workerState?.() ?? { restarts: 0, backoffSeconds: 0, failedSlots: 0 },
      },
      this.registry,
    );
    this.resign.schedule(snapshot);
  }

  /** DNSSEC: signatures replaced before they expire, without a reload (plane/resign.ts). */
  readonly resign = new ResignTimer(() => this.resignNow());

  /** Sign the running zones again (off-thread) and install the result; false (logged) when it failed. */
  private async resignNow(): Promise<boolean> {
    const current = this.snapshot;
    try {
      const snapshot = await resignInWorker(current);
      if (this.snapshot !== current) return true; // a reload replaced it meanwhile, signed afresh
      this.snapshot = snapshot;
      const view = this.monitor.viewFor(snapshot.pops.map((p) => p.id));
      this.sink.install(snapshot, view, this.scopes.update(snapshot, view));
      this.live.snapshotChanged();
      this.pushHealth();
      this.resign.schedule(snapshot);
      this.log.info({ next: this.resign.stats.nextAt }, 'DNSSEC zones re-signed');
      releaseFreedMemory();
      return true;
    } catch (err) {
      this.log.error(
        { errors: (err as Error).message.split('\n') },
        'DNSSEC re-signing failed; the running signatures keep serving (retried in 5 minutes)',
      );
      return false;
    }
  }

  private collecting: Promise<Collected> | null = null;

  /** The local config file (`--config`): the running snapshot's, unless it runs a followed fleet config. */
  private localConfig(snapshot: Snapshot): LocalConfig {
    const file = path.resolve(this.opts.configFile);
    if (path.resolve(snapshot.file) === file) return { file, config: snapshot.config };
    return { file, config: loadConfigFile(file).config };
  }

  /** Every PoP's health, with the fleet's votes behind it in a fleet (/admin/pops, explain). */
  popStatus(): PopHealth[] {
    const status = this.monitor.status();
    return this.fleet ? this.fleet.decorate(status) : status;
  }

  /** One data-plane collection per scrape, shared by every metric that needs it. */
  private collectOnce(): Promise<Collected> {
    this.collecting ??= this.sink.collect().finally(() => setTimeout(() => (this.collecting = null), 0));
    return this.collecting;
  }

  /** Start watchers and the admin listener. */
  async start(): Promise<void> {
    if (this.opts.watch !== false) {
      this.watcher = watchFiles(
        this.watchedFiles(),
        (changed) => void this.reload(`changed: ${changed.map((f) => path.basename(f)).join(', ')}`),
      );
      this.watchStateFile();
    }
    if (this.adminAddr) {
      const { host, port } = parseHostPort(this.adminAddr);
      this.admin = await startAdminServer(host, port, {
        registry: this.registry,
        token: () => this.access.token,
        readOnlyReason: () => this.access.readOnlyReason ?? 'no admin token',
        ready: () => this.ready(),
        explain: (name, type, client) => this.live.explain(name, type, client),
        pops: () => this.popStatus(),
        setOverride: (pop, o, scope) => this.setOverride(pop, o, scope),
        fleet: this.fleet ? () => this.fleet!.status() : undefined,
        reload: () => this.reload('admin API'),
        reloadStatus: () => this.reloadStatus(),
        accept: (id) => this.acceptHeld(id),
        map: (name) => this.live.map(name),
        rrl: async (limit) => this.rrlView(limit),
      });
      this.logAdminAccess();
    }
    this.pushHealth();
    await this.fleet?.follow();
    // The first scopes of the current answers (listeners already answer, with full-ranking scopes meanwhile).
    await this.scopes.settled();
  }

  /** Resolves once the scopes of the current health state are merged and installed (tests, benchmarks). */
  scopesSettled(): Promise<void> {
    return this.scopes.settled();
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
    if (a.problem)
      this.log.warn(
        { admin: this.adminAddr },
        `admin API is READ-ONLY: ${a.problem}; drain, force-up/down and reload over HTTP will be refused (403)`,
      );
    else if (a.token)
      this.log.info(
        { admin: this.adminAddr, token: a.source },
        `admin API is writable (bearer token from ${a.source})`,
      );
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
      const { overrides, errors, local } = parseStateFile(text);
      for (const e of errors) this.log.warn({ file, line: e.line }, `admin state file: ${e.message}`);
      // In a fleet, lines apply fleet-wide unless they say "local" (docs/fleet.md).
      const here = this.fleet ? new Map([...overrides].filter(([pop]) => local.has(pop))) : overrides;
      this.fleet?.setFileOverrides(new Map([...overrides].filter(([pop]) => !local.has(pop))));
      const unknown = this.monitor.setFileOverrides(here);
      if (unknown.length) this.log.warn({ file, unknown }, 'admin state file names unknown PoPs');
    };
    apply();
    this.stateWatcher = watchFiles([file], apply, 100, 1000);
  }

  /**
   * Send the current health view to the data plane at once, with the scopes
   * kept for it (merged tries of the same groupings) or the compiled tries
   * where a merge is needed (it runs in the background; failover never waits
   * for it), and log fail-open changes.
   */
  private pushHealth(): void {
    const view = this.monitor.viewFor(this.snapshot.pops.map((p) => p.id));
    const scopes = this.scopes.update(this.snapshot, view);
    this.sink.setHealth(view, scopes);
    this.live.healthChanged(view, scopes);
    const next = failOpenDecisions(this.snapshot, view);
    for (const [record, n] of next) {
      const before = this.failOpen.get(record) ?? 0;
      if (n > 0 && before === 0)
        this.log.warn(
          { record, decisions: n },
          'fail-open: every candidate of some decisions is down; answering with the unfiltered ranking',
        );
      if (n === 0 && before > 0) this.log.info({ record }, 'fail-open over');
    }
    this.failOpen = next;
  }

  ready(): { ready: boolean; detail: unknown } {
    const listening = this.sink.listening();
    const last = this.reloads.lastError;
    const r = this.reloadStatus();
    return {
      ready: listening,
      detail: {
        listening,
        config: {
          file: this.snapshot.file,
          sha256: this.snapshot.hash,
          loadedAt: new Date(this.snapshot.builtAt).toISOString(),
        },
        databases: this.snapshot.databases.map((d) => ({ file: d.file, type: d.databaseType, usedFor: d.usedFor })),
        reload: {
          running: r.running,
          bounds: r.bounds,
          aborted: r.aborted,
          held: r.held
            ? { id: r.held.id, since: r.held.since, worst: r.held.report.worst, accept: r.held.accept }
            : null,
        },
        lastReloadError: last ? { message: last.message, issues: last.issues } : null,
        workers: this.sink.workerState?.() ?? null,
      },
    };
  }

  /**
   * Reload from disk (coalesced): compile off-thread, swap on success, keep
   * running on failure. With `file`, from that config file instead of the
   * running one (a followed fleet config): after any reload under way, never
   * coalesced into it.
   */
  reload(reason = 'request', file?: string): Promise<ReloadResult> {
    if (this.reloading && file !== undefined)
      return this.reloading.then(
        () => this.reload(reason, file),
        () => this.reload(reason, file),
      );
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.doReload(reason, file ?? this.snapshot.file).finally(() => {
      this.reloading = null;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload('coalesced');
      }
    });
    return this.reloading;
  }

  /**
   * The watchdog's bounds for a compile: reload.timeout / reload.memory_limit
   * of the config being loaded when it parses (so an operator can raise a
   * bound in the same edit), else of the running config.
   */
  compileBounds(r: MeridianConfig['reload'] = this.snapshot.config.reload): CompileBounds {
    const last = this.lastCompile;
    return {
      timeoutMs:
        r.timeout === 'auto' ? Math.max(AUTO_TIMEOUT_FLOOR_MS, AUTO_TIMEOUT_FACTOR * last.ms) : r.timeout * 1000,
      memoryBytes:
        r.memory_limit === 'auto' ? Math.max(AUTO_MEMORY_FLOOR, AUTO_MEMORY_FACTOR * last.peakBytes) : r.memory_limit,
    };
  }

  private async doReload(reason: string, file: string): Promise<ReloadResult> {
    const t0 = performance.now();
    const bounds = this.compileBounds(peekReloadSettings(file) ?? undefined);
    const running = { reason, startedAt: Date.now(), bounds, growthBytes: 0 };
    this.running = running;
    try {
      // Policies whose inputs did not change keep their compiled trie: a zone edit reloads in milliseconds;
      // databases validated before are not walked again; the guard's sample is kept for the same databases.
      const current = this.snapshot;
      const reusable = current.policies.map((p) => p.key).filter((k): k is string => k !== undefined);
      const outcome = await compileInWorker(file, {
        reusable,
        validated: current.databases.map(databaseIdentity),
        sampleOf: current.guardSample
          ? sampleKey(current.databases, current.config.reload.change_guard.sample)
          : undefined,
        bounds,
        onProgress: (g) => (running.growthBytes = g),
      });
      // A followed fleet config keeps this host's own sections (fleet-control.ts HOST_SECTIONS).
      const compiled = fillReused(outcome.snapshot, current);
      const snapshot = this.fleet ? this.fleet.localize(compiled) : compiled;
      this.lastCompile = { ms: outcome.ms, peakBytes: outcome.peakBytes };
      // A config whose admin token is refused fails here, before the guard (it never runs).
      const access = this.checkAdminAccess(snapshot, 'reload');
      const guard = current.config.reload.change_guard;
      if (guard.enabled) {
        const report = await compareSnapshotsAsync(current, snapshot, {
          maxChange: guard.max_change,
          examples: guard.examples,
        });
        this.lastChange = report;
        // An accepted held change may have replaced the running snapshot meanwhile: compare again next time.
        if (this.snapshot !== current)
          return this.doReload(`${reason} (again: the running config changed meanwhile)`, file);
        if (report.over) return this.hold(reason, snapshot, access, report, t0);
      }
      return this.apply(snapshot, access, reason, t0, 'config reloaded');
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : [];
      const result: ReloadResult = {
        ok: false,
        issues,
        message: (err as Error).message,
        compileMs: Math.round(performance.now() - t0),
      };
      if (err instanceof ReloadBoundError) this.aborted[err.bound]++;
      const why = failureReason(err);
      this.failures[why] = (this.failures[why] ?? 0) + 1;
      this.reloads.failed++;
      this.reloads.lastError = result;
      this.log.error(
        { reason, errors: result.message.split('\n') },
        'config reload failed; the running config keeps serving',
      );
      return result;
    } finally {
      this.running = null;
    }
  }

  /** Swap in a compiled snapshot (a reload that passed the guard, or an accepted held change). */
  private apply(
    snapshot: Snapshot,
    access: AdminAccess,
    reason: string,
    t0: number,
    what: string,
    accepted = false,
  ): ReloadResult {
    this.monitor.update(snapshot.pops, snapshot.config.health.source_address);
    this.snapshot = snapshot;
    this.held = null;
    const view = this.monitor.viewFor(snapshot.pops.map((p) => p.id));
    this.sink.install(snapshot, view, this.scopes.update(snapshot, view));
    this.live.snapshotChanged();
    this.pushHealth();
    this.fleet?.configApplied(snapshot, accepted);
    this.watcher?.setFiles(this.watchedFiles());
    this.watchStateFileIfChanged();
    this.resign.schedule(snapshot);
    const accessChanged = access.token !== this.access.token || access.readOnlyReason !== this.access.readOnlyReason;
    this.access = access;
    if (accessChanged) this.logAdminAccess();
    const result: ReloadResult = { ok: true, issues: [], message: 'ok', compileMs: Math.round(performance.now() - t0) };
    this.reloads.ok++;
    this.reloads.lastError = null;
    this.log.info({ reason, compileMs: result.compileMs, sha256: snapshot.hash.slice(0, 16) }, what);
    // What the compile and the old runtime freed goes back to the system (glibc keeps it otherwise).
    releaseFreedMemory();
    return result;
  }

  /** Keep a change that moves too much until the operator accepts it (or a newer reload replaces it). */
  private hold(
    reason: string,
    snapshot: Snapshot,
    access: AdminAccess,
    report: ChangeReport,
    t0: number,
  ): ReloadResult {
    this.held = { snapshot, access, report, since: Date.now(), reason };
    this.guardHolds++;
    const message = `change held by the change guard: ${formatChangeReport(report)}`;
    this.log.warn(
      {
        reason,
        change: report.id,
        worst: report.worst,
        accept: `meridian reload --accept ${report.id}  (or POST /admin/reload?accept=${report.id})`,
      },
      'reload held: the new configuration moves more clients than reload.change_guard.max_change allows; the running config keeps serving',
    );
    for (const line of formatChangeReport(report).split('\n')) this.log.warn({ change: report.id }, line);
    return { ok: false, held: report, issues: [], message, compileMs: Math.round(performance.now() - t0) };
  }

  /** Apply the held change `id` (what the operator reviewed). Throws AdminError when there is none or it differs. */
  acceptHeld(id: string): ReloadResult {
    const held = this.held;
    if (!held) throw new AdminError(409, 'no change is held');
    if (held.report.id !== id) throw new AdminError(409, `the held change is ${held.report.id}, not ${id}`);
    this.log.warn({ change: id, worst: held.report.worst }, 'held change accepted by the operator');
    return this.apply(held.snapshot, held.access, `accepted ${id}`, performance.now(), 'held change applied', true);
  }

  /** GET /admin/rrl: whether RRL runs, how, and its busiest buckets (limited ones first). */
  private async rrlView(limit: number): Promise<object> {
    const r = this.snapshot.config.rrl;
    return {
      enabled: r.enabled,
      logOnly: r.log_only,
      responsesPerSecond: r.responses_per_second,
      window: r.window,
      slip: r.slip,
      buckets: (await this.sink.rrlBuckets?.(limit)) ?? [],
    };
  }

  /** Reload state for /readyz, GET /admin/reload and metrics. */
  reloadStatus(): ReloadStatus {
    const r = this.running;
    const h = this.held;
    const bounds = r?.bounds ?? this.compileBounds();
    return {
      running: r
        ? {
            reason: r.reason,
            startedAt: new Date(r.startedAt).toISOString(),
            elapsedSeconds: (Date.now() - r.startedAt) / 1000,
            growthBytes: r.growthBytes,
          }
        : null,
      bounds: { timeoutSeconds: bounds.timeoutMs / 1000, memoryLimitBytes: bounds.memoryBytes },
      lastCompile: { seconds: this.lastCompile.ms / 1000, peakGrowthBytes: this.lastCompile.peakBytes },
      aborted: { ...this.aborted },
      held: h
        ? {
            id: h.report.id,
            since: new Date(h.since).toISOString(),
            reason: h.reason,
            report: h.report,
            accept: `POST /admin/reload?accept=${h.report.id}`,
          }
        : null,
      guardHolds: this.guardHolds,
      lastChange: this.lastChange,
    };
  }

  private lastStateFile: string | null = null;
  private watchStateFileIfChanged(): void {
    const f = this.stateFile();
    if (f !== this.lastStateFile && this.opts.watch !== false) {
      this.lastStateFile = f;
      this.watchStateFile();
    }
  }

  /**
   * An override through the admin API. In a fleet the scope is `fleet` unless
   * `local` is asked for (a FleetError when the fleet cannot be reached);
   * without one every override is local. False for an unknown PoP.
   */
  async setOverride(pop: string, o: Override | null, scope: OverrideScope | null = null): Promise<boolean> {
    if (!this.fleet) {
      if (scope === 'fleet') throw new AdminError(400, 'scope=fleet needs a fleet: section in the config');
      return this.monitor.setOverride(pop, o, 'api');
    }
    return this.fleet.setOverride(pop, o, scope ?? 'fleet');
  }

  async close(): Promise<void> {
    this.resign.stop();
    this.watcher?.close();
    this.stateWatcher?.close();
    this.monitor.stop();
    await this.fleet?.close();
    await this.scopes.close();
    await this.admin?.close();
  }
}
