/**
 * Metrics for reload safety and process robustness, in one block next to
 * metrics.ts: the reload watchdog (a compile running, its bounds, compiles
 * terminated), the change guard (held changes, how much the last compared
 * change moved), reload failures by reason (a refused geo database among
 * them), exceptions caught by the process policy, and worker restarts with
 * their backoff. Read at scrape time from the control plane and the cluster.
 */
import type { Registry } from 'prom-client';
import { type MetricSpec, registerSpecs } from './metric-spec.js';

/** What the reload metrics read of the control plane's reload state (plane/control-plane.ts ReloadStatus). */
export interface ReloadView {
  running: { elapsedSeconds: number } | null;
  bounds: { timeoutSeconds: number; memoryLimitBytes: number };
  lastCompile: { seconds: number; peakGrowthBytes: number };
  aborted: { time: number; memory: number };
  held: unknown | null;
  guardHolds: number;
  lastChange: { records: readonly { record: string; movedPct: number }[] } | null;
}

export interface SafetySources {
  reload(): ReloadView;
  /** Failed reloads by reason (config, geo_database, time_bound, memory_bound, other). */
  reloadFailures(): Record<string, number>;
  /** Exceptions and rejections the process policy caught and survived, summed over processes. */
  uncaught(): Promise<{ exception: number; rejection: number }>;
  /** Worker supervision (cluster mode; zeros in one process). */
  workers(): { backoffSeconds: number; failedSlots: number };
}

const SAFETY_METRICS: MetricSpec<SafetySources>[] = [
  {
    name: 'meridian_reload_in_progress',
    help: 'A reload compile is running (1) or not (0).',
    type: 'gauge',
    read: (s) => (s.reload().running ? 1 : 0),
  },
  {
    name: 'meridian_reload_running_seconds',
    help: 'How long the running reload compile has taken so far (0 when none runs); the watchdog stops it at meridian_reload_timeout_seconds.',
    type: 'gauge',
    read: (s) => s.reload().running?.elapsedSeconds ?? 0,
  },
  {
    name: 'meridian_reload_timeout_seconds',
    help: 'Time bound of the current or next reload compile (reload.timeout; auto = max(60 s, 10 x the last compile)).',
    type: 'gauge',
    read: (s) => s.reload().bounds.timeoutSeconds,
  },
  {
    name: 'meridian_reload_memory_limit_bytes',
    help: 'Memory bound of the current or next reload compile: growth of the process (reload.memory_limit; auto = max(1 GiB, 4 x the last compile)).',
    type: 'gauge',
    read: (s) => s.reload().bounds.memoryLimitBytes,
  },
  {
    name: 'meridian_reload_last_compile_seconds',
    help: 'Duration of the last successful compile (start-up or reload).',
    type: 'gauge',
    read: (s) => s.reload().lastCompile.seconds,
  },
  {
    name: 'meridian_reload_last_compile_growth_bytes',
    help: 'How much the last successful compile grew the process at its peak.',
    type: 'gauge',
    read: (s) => s.reload().lastCompile.peakGrowthBytes,
  },
  {
    name: 'meridian_reload_aborted_total',
    help: 'Reload compiles the watchdog terminated, by the bound they ran over (time, memory).',
    type: 'counter',
    labels: ['bound'],
    read: (s) => [
      [{ bound: 'time' }, s.reload().aborted.time],
      [{ bound: 'memory' }, s.reload().aborted.memory],
    ],
  },
  {
    name: 'meridian_reload_failures_total',
    help: 'Failed reloads by reason: config, geo_database (a database refused by validation), time_bound, memory_bound, other.',
    type: 'counter',
    labels: ['reason'],
    read: (s) => Object.entries(s.reloadFailures()).map(([reason, n]) => [{ reason }, n] as const),
  },
  {
    name: 'meridian_change_guard_held',
    help: 'A new configuration is held by the change guard, waiting for `meridian reload --accept` (1) or not (0).',
    type: 'gauge',
    read: (s) => (s.reload().held ? 1 : 0),
  },
  {
    name: 'meridian_change_guard_holds_total',
    help: 'Reloads the change guard held because they moved more than reload.change_guard.max_change.',
    type: 'counter',
    read: (s) => s.reload().guardHolds,
  },
  {
    name: 'meridian_change_guard_moved_ratio',
    help: 'Share (0-1) of the sampled networks whose first-choice PoP the last compared change moved, per geo record.',
    type: 'gauge',
    labels: ['record'],
    read: (s) =>
      (s.reload().lastChange?.records ?? []).map((r) => [{ record: r.record || '.' }, r.movedPct / 100] as const),
  },
  {
    name: 'meridian_uncaught_errors_total',
    help: 'Exceptions (kind=exception) and promise rejections (kind=rejection) that reached the process policy: logged, counted, and the process kept serving.',
    type: 'counter',
    labels: ['kind'],
    read: async (s) => {
      const u = await s.uncaught();
      return [
        [{ kind: 'exception' }, u.exception],
        [{ kind: 'rejection' }, u.rejection],
      ];
    },
  },
  {
    name: 'meridian_worker_restart_backoff_seconds',
    help: 'Delay before the next restart of a crashed worker (doubles per crash in a row, up to 30 s).',
    type: 'gauge',
    read: (s) => s.workers().backoffSeconds,
  },
  {
    name: 'meridian_worker_slots_failed',
    help: 'Worker slots no longer restarted: their worker crashed more often in a row than the restart limit allows.',
    type: 'gauge',
    read: (s) => s.workers().failedSlots,
  },
];

export function registerSafetyMetrics(src: SafetySources, register: Registry): void {
  registerSpecs(register, SAFETY_METRICS, () => src);
}
