/**
 * `meridian serve`: load the config, start the server (one process, or a
 * cluster primary with N workers), handle signals: SIGHUP reloads,
 * SIGTERM/SIGINT shut down gracefully within a bound.
 */
import cluster from 'node:cluster';
import os from 'node:os';
import { runPrimary, runWorker } from './cluster.js';
import type { ControlPlane } from './control-plane.js';
import { ConfigError } from '../errors.js';
import { applyConfiguredLevel, createLogger, type Logger } from '../util/logger.js';
import { MeridianServer } from './server.js';
import { batchAddon } from '../transport/udp-batch.js';
import type { Snapshot } from '../build/snapshot.js';
import { buildStartupSnapshot } from './fleet-control.js';
import { releaseFreedMemory, tuneAllocator } from './memory.js';
import { installProcessGuard } from './process-guard.js';

export interface ServeOptions {
  configFile: string;
  listen?: string[];
  /** Admin HOST:PORT, or "off". */
  admin?: string;
  /** Worker processes; 0 = everything in one process; default: the config (auto = CPUs). */
  workers?: number;
  logLevel?: string;
  /** JSON lines, or pretty for people; default: pretty on a terminal (or MERIDIAN_LOG_FORMAT). */
  logFormat?: 'json' | 'pretty';
}

/** Bound on graceful shutdown: stop accepting, let TCP clients finish, exit. */
const SHUTDOWN_GRACE_MS = 3000;

export async function serve(opts: ServeOptions): Promise<number> {
  const log = createLogger({
    level: opts.logLevel,
    pretty: opts.logFormat === undefined ? undefined : opts.logFormat === 'pretty',
  });
  if (cluster.isWorker && process.env.MERIDIAN_WORKER === '1') {
    runWorker(log, opts.logLevel);
    return -1;
  }
  tuneAllocator();
  // Signals can come before the server is up (systemd's ExecReload, an operator's
  // kill -HUP right after a start): Node's default for SIGHUP would end the process.
  const early = holdSignalsWhileStarting(log);
  let snapshot: Snapshot;
  const rss0 = process.memoryUsage.rss();
  try {
    snapshot = await buildStartupSnapshot(opts.configFile, { guardSample: true }, log);
  } catch (err) {
    return refuse(log, opts.configFile, err);
  }
  applyConfiguredLevel(log, snapshot.config.logging.level, opts.logLevel);
  installProcessGuard(log);
  // How much the start-up compile grew the process: the first auto memory bound of the reload watchdog.
  const startupPeakBytes = Math.max(0, process.resourceUsage().maxRSS * 1024 - rss0);
  releaseFreedMemory();
  const admin = opts.admin === undefined ? undefined : opts.admin === 'off' ? null : opts.admin;
  const listen = opts.listen ?? snapshot.config.server.listen;
  const configured = snapshot.config.server.workers;
  const workers = opts.workers ?? (configured === 'auto' ? os.availableParallelism() : configured);

  try {
    if (workers === 0) {
      const server = await MeridianServer.start({
        configFile: opts.configFile,
        listen,
        admin,
        logger: log,
        snapshot,
        startupPeakBytes,
      });
      logStartup(log, snapshot, server.describeListeners(), server.control, 0);
      installSignals(log, server.control, () => server.close(SHUTDOWN_GRACE_MS), early.release());
      return -1;
    }
    const {
      control,
      sink,
      listen: bound,
    } = await runPrimary(snapshot, { configFile: opts.configFile, listen, admin, workers, log, startupPeakBytes });
    logStartup(log, snapshot, bound, control, workers);
    installSignals(
      log,
      control,
      async () => {
        await control.close();
        await sink.shutdown(SHUTDOWN_GRACE_MS);
      },
      early.release(),
    );
    return -1;
  } catch (err) {
    // A config the control plane refuses (e.g. an unusable admin token on a public admin listener).
    return refuse(log, opts.configFile, err);
  }
}

/** Log a ConfigError line by line and exit 1; anything else is rethrown. */
function refuse(log: Logger, file: string, err: unknown): number {
  if (!(err instanceof ConfigError)) throw err;
  for (const line of err.message.split('\n')) log.error({ file }, line);
  log.flush?.();
  return 1;
}

function logStartup(log: Logger, s: Snapshot, listeners: string[], control: ControlPlane, workers: number): void {
  log.info(
    {
      config: s.file,
      zones: s.zones.map((z) => z.origin),
      geoRecords: s.geoRecords.map((g) => g.name || '.'),
      pops: s.pops.map((p) => p.id),
      listeners,
      workers,
      udp: batchAddon() ? 'batched (recvmmsg/sendmmsg)' : 'node:dgram',
      admin: control.admin ? `${control.admin.address.address}:${control.admin.address.port}` : null,
      databases: s.databases.map((d) => ({ file: d.file, type: d.databaseType, usedFor: d.usedFor })),
      policies: s.policies.map((p) => ({
        name: p.name,
        decisions: p.stats.decisions,
        nodes: p.stats.nodes4 + p.stats.nodes6,
        compileMs: p.stats.compileMs,
      })),
      identity: s.identity,
      compileMs: s.compileMs,
    },
    'meridian serving',
  );
}

/**
 * Until the control plane exists: SIGHUP is remembered (one reload once the
 * server is up reads whatever the file holds then), SIGTERM/SIGINT end the
 * start at once (nothing is serving yet, nothing to drain).
 */
function holdSignalsWhileStarting(log: Logger): { release(): boolean } {
  let reloadAsked = false;
  const onHup = () => {
    reloadAsked = true;
    log.info('SIGHUP while starting: the config is reloaded once the server is up');
  };
  const onStop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopped while starting');
    log.flush?.();
    process.exit(0);
  };
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  return {
    release() {
      process.off('SIGHUP', onHup);
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      return reloadAsked;
    },
  };
}

function installSignals(log: Logger, control: ControlPlane, shutdown: () => Promise<void>, reloadAsked: boolean): void {
  process.on('SIGHUP', () => void control.reload('SIGHUP'));
  if (reloadAsked) void control.reload('SIGHUP');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS + 3000);
    force.unref();
    void shutdown().then(() => {
      log.info('stopped');
      log.flush?.();
      setTimeout(() => process.exit(0), 50).unref();
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
