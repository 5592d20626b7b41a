/**
 * Metrics for reload safety and process robustness, in one block next to
 * metrics.ts: the reload watchdog (a compile running, its bounds, compiles
 * terminated), the change guard (held changes, how much the last compared
 * change moved), reload failures by reason (a refused geo database among
 * them), exceptions caught by the process policy, and worker restarts with
 * their backoff. Read at scrape time from the control plane and the cluster.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReloadStatus } from '../plane/control-plane.js';

export interface SafetySources {
  reload(): ReloadStatus;
  /** Failed reloads by reason (config, geo_database, time_bound, memory_bound, other). */
  reloadFailures(): Record<string, number>;
  /** Exceptions and rejections the process policy caught and survived, summed over processes. */
  uncaught(): Promise<{ exception: number; rejection: number }>;
  /** Worker supervision (cluster mode; zeros in one process). */
  workers(): { backoffSeconds: number; failedSlots: number };
}

export function registerSafetyMetrics(src: SafetySources, register: Registry): void {
  const registers = [register];
  new Gauge({
    name: 'meridian_reload_in_progress',
    help: 'A reload compile is running (1) or not (0).',
    registers,
    collect() {
      this.set(src.reload().running ? 1 : 0);
    },
  });
  new Gauge({
    name: 'meridian_reload_running_seconds',
    help: 'How long the running reload compile has taken so far (0 when none runs); the watchdog stops it at meridian_reload_timeout_seconds.',
    registers,
    collect() {
      this.set(src.reload().running?.elapsedSeconds ?? 0);
    },
  });
  new Gauge({
    name: 'meridian_reload_timeout_seconds',
    help: 'Time bound of the current or next reload compile (reload.timeout; auto = max(60 s, 10 x the last compile)).',
    registers,
    collect() {
      this.set(src.reload().bounds.timeoutSeconds);
    },
  });
  new Gauge({
    name: 'meridian_reload_memory_limit_bytes',
    help: 'Memory bound of the current or next reload compile: growth of the process (reload.memory_limit; auto = max(1 GiB, 4 x the last compile)).',
    registers,
    collect() {
      this.set(src.reload().bounds.memoryLimitBytes);
    },
  });
  new Gauge({
    name: 'meridian_reload_last_compile_seconds',
    help: 'Duration of the last successful compile (start-up or reload).',
    registers,
    collect() {
      this.set(src.reload().lastCompile.seconds);
    },
  });
  new Gauge({
    name: 'meridian_reload_last_compile_growth_bytes',
    help: 'How much the last successful compile grew the process at its peak.',
    registers,
    collect() {
      this.set(src.reload().lastCompile.peakGrowthBytes);
    },
  });
  new Counter({
    name: 'meridian_reload_aborted_total',
    help: 'Reload compiles the watchdog terminated, by the bound they ran over (time, memory).',
    labelNames: ['bound'],
    registers,
    collect() {
      const a = src.reload().aborted;
      this.reset();
      this.inc({ bound: 'time' }, a.time);
      this.inc({ bound: 'memory' }, a.memory);
    },
  });
  new Counter({
    name: 'meridian_reload_failures_total',
    help: 'Failed reloads by reason: config, geo_database (a database refused by validation), time_bound, memory_bound, other.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(src.reloadFailures())) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'meridian_change_guard_held',
    help: 'A new configuration is held by the change guard, waiting for `meridian reload --accept` (1) or not (0).',
    registers,
    collect() {
      this.set(src.reload().held ? 1 : 0);
    },
  });
  new Counter({
    name: 'meridian_change_guard_holds_total',
    help: 'Reloads the change guard held because they moved more than reload.change_guard.max_change.',
    registers,
    collect() {
      this.reset();
      this.inc(src.reload().guardHolds);
    },
  });
  new Gauge({
    name: 'meridian_change_guard_moved_ratio',
    help: 'Share (0-1) of the sampled networks whose first-choice PoP the last compared change moved, per geo record.',
    labelNames: ['record'],
    registers,
    collect() {
      this.reset();
      for (const r of src.reload().lastChange?.records ?? []) this.set({ record: r.record || '.' }, r.movedPct / 100);
    },
  });
  new Counter({
    name: 'meridian_uncaught_errors_total',
    help: 'Exceptions (kind=exception) and promise rejections (kind=rejection) that reached the process policy: logged, counted, and the process kept serving.',
    labelNames: ['kind'],
    registers,
    async collect() {
      const u = await src.uncaught();
      this.reset();
      this.inc({ kind: 'exception' }, u.exception);
      this.inc({ kind: 'rejection' }, u.rejection);
    },
  });
  new Gauge({
    name: 'meridian_worker_restart_backoff_seconds',
    help: 'Delay before the next restart of a crashed worker (doubles per crash in a row, up to 30 s).',
    registers,
    collect() {
      this.set(src.workers().backoffSeconds);
    },
  });
  new Gauge({
    name: 'meridian_worker_slots_failed',
    help: 'Worker slots no longer restarted: their worker crashed more often in a row than the restart limit allows.',
    registers,
    collect() {
      this.set(src.workers().failedSlots);
    },
  });
}
