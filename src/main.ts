/**
 * `meridian serve`: load the config, start the server and its side services,
 * handle signals (SIGHUP reload, SIGTERM/SIGINT graceful shutdown).
 */
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './observability/logger.js';
import { MeridianServer } from './server.js';

export interface ServeOptions {
  configFile: string;
  listen?: string[];
  admin?: string;
  workers?: number;
  logLevel?: string;
}

/** Bound on graceful shutdown: stop accepting, let TCP clients finish, exit. */
const SHUTDOWN_GRACE_MS = 3000;

export async function serve(opts: ServeOptions): Promise<number> {
  const log = createLogger({ level: opts.logLevel });
  let server: MeridianServer;
  try {
    const admin = opts.admin === undefined ? undefined : opts.admin === 'off' ? null : opts.admin;
    server = await MeridianServer.start({ configFile: opts.configFile, listen: opts.listen, admin, logger: log });
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.message.split('\n')) log.error({ file: opts.configFile }, line);
      log.flush?.();
      return 1;
    }
    throw err;
  }
  logStartup(log, server);
  installSignals(log, server);
  return -1; // keep running: the listeners hold the process
}

function logStartup(log: Logger, server: MeridianServer): void {
  const s = server.runtime.snapshot;
  log.info(
    {
      config: s.file,
      zones: s.zones.map((z) => z.origin),
      geoRecords: s.geoRecords.map((g) => g.name),
      pops: s.pops.map((p) => p.id),
      listeners: server.describeListeners(),
      admin: server.adminPort !== null ? server.control.admin?.address : null,
      databases: s.databases.map((d) => ({ file: d.file, type: d.databaseType, usedFor: d.usedFor })),
      policies: s.policies.map((p) => ({ name: p.name, decisions: p.stats.decisions, nodes: p.stats.nodes4 + p.stats.nodes6, compileMs: p.stats.compileMs })),
      identity: s.identity,
      compileMs: s.compileMs,
    },
    'meridian serving',
  );
}

function installSignals(log: Logger, server: MeridianServer): void {
  process.on('SIGHUP', () => void server.reload('SIGHUP'));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS + 1000);
    force.unref();
    void server.close(SHUTDOWN_GRACE_MS).then(() => {
      log.info('stopped');
      log.flush?.();
      setTimeout(() => process.exit(0), 50).unref();
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
