/**
 * A running Meridian instance in one process: the current Runtime behind one
 * reference (swapped whole on reload), UDP and TCP listeners on each address,
 * and the side channels (reloads, health, admin HTTP) that feed it. The query
 * path only ever reads `this.runtime`.
 */
import type { Logger } from 'pino';
import { compileInWorker } from './config/compile-worker.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { handleQuery } from './handle-query.js';
import { formatHostPort, parseHostPort, type HostPort } from './listen-address.js';
import { silentLogger } from './observability/logger.js';
import { QueryCounters } from './observability/counters.js';
import { Runtime } from './runtime.js';
import { buildSnapshotFromFile, type Snapshot } from './snapshot.js';
import { listenTcp, type TcpListener, type TcpStats } from './transport/tcp.js';
import { listenUdp, type PacketHandler, type UdpListener } from './transport/udp.js';

export interface ServerOptions {
  configFile: string;
  /** Listen addresses (HOST:PORT); default: the config's server.listen. */
  listen?: string[];
  logger?: Logger;
  /** An already compiled snapshot for the first start (cluster workers, tests). */
  snapshot?: Snapshot;
}

export interface ReloadResult {
  ok: boolean;
  issues: ConfigIssue[];
  message: string;
  compileMs: number;
}

export class MeridianServer {
  runtime!: Runtime;
  readonly counters = new QueryCounters();
  readonly tcpStats: TcpStats = { open: 0, accepted: 0, rejected: 0 };
  udp: UdpListener[] = [];
  tcp: TcpListener[] = [];
  readonly log: Logger;
  /** Successful and failed reloads, and the last error (served by /readyz). */
  reloads = { ok: 0, failed: 0, lastOkAt: 0, lastError: null as ReloadResult | null };
  private readonly swapListeners: Array<(rt: Runtime, previous: Runtime | null) => void> = [];
  private reloading: Promise<ReloadResult> | null = null;
  private reloadAgain = false;

  private constructor(readonly options: ServerOptions) {
    this.log = options.logger ?? silentLogger();
  }

  /** Load the config (strict: any problem throws), bind the listeners. */
  static async start(options: ServerOptions): Promise<MeridianServer> {
    const server = new MeridianServer(options);
    server.install(options.snapshot ?? buildSnapshotFromFile(options.configFile));
    await server.bindAll(options.listen ?? server.runtime.snapshot.config.server.listen);
    return server;
  }

  /** Called with every new runtime (and the one it replaces). */
  onSwap(fn: (rt: Runtime, previous: Runtime | null) => void): void {
    this.swapListeners.push(fn);
  }

  /** Replace the runtime with one built from `snapshot`, keeping the health view if the PoPs match. */
  install(snapshot: Snapshot): Runtime {
    const previous = this.runtime ?? null;
    const rt = new Runtime(snapshot, previous?.health);
    this.runtime = rt;
    for (const fn of this.swapListeners) fn(rt, previous);
    return rt;
  }

  readonly handler: PacketHandler = (msg, len, client, transport) => handleQuery(msg, len, client, transport, this.runtime, this.counters);

  private async bindAll(addresses: readonly string[]): Promise<void> {
    const tcpLimits = () => {
      const t = this.runtime.snapshot.config.server.tcp;
      return { idleTimeout: t.idle_timeout, maxConnections: t.max_connections, maxMessageSize: t.max_message_size, maxQueriesPerConnection: t.max_queries_per_connection };
    };
    for (const text of addresses) {
      const hp = parseHostPort(text);
      const { udp, tcp } = await bindPair(hp, this.handler, tcpLimits(), this.tcpStats);
      this.udp.push(udp);
      this.tcp.push(tcp);
    }
  }

  /** The bound addresses, e.g. for tests that listen on port 0. */
  get addresses(): HostPort[] {
    return this.udp.map((u) => ({ host: u.address, port: u.port }));
  }

  /**
   * Re-read, validate and compile the config off the query path, then swap.
   * A bad config never replaces the running one. Concurrent calls coalesce.
   */
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
      const snapshot = await compileInWorker(this.options.configFile);
      this.install(snapshot);
      const result = { ok: true, issues: [], message: 'ok', compileMs: Math.round(performance.now() - t0) };
      this.reloads.ok++;
      this.reloads.lastOkAt = Date.now();
      this.reloads.lastError = null;
      this.log.info({ reason, compileMs: result.compileMs, hash: snapshot.hash.slice(0, 12) }, 'config reloaded');
      return result;
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : [];
      const result = { ok: false, issues, message: (err as Error).message, compileMs: Math.round(performance.now() - t0) };
      this.reloads.failed++;
      this.reloads.lastError = result;
      this.log.error({ reason, errors: result.message.split('\n') }, 'config reload failed; keeping the running config');
      return result;
    }
  }

  /** Stop listening; TCP connections get `graceMs` to finish. */
  async close(graceMs = 2000): Promise<void> {
    await Promise.all([...this.udp.map((u) => u.close()), ...this.tcp.map((t) => t.close(graceMs))]);
    this.udp = [];
    this.tcp = [];
  }

  describeListeners(): string[] {
    return this.udp.map((u) => formatHostPort({ host: u.address, port: u.port }));
  }
}

/** UDP and TCP on the same port; with port 0 the TCP side follows the port UDP got. */
async function bindPair(hp: HostPort, handler: PacketHandler, limits: Parameters<typeof listenTcp>[3], stats: TcpStats): Promise<{ udp: UdpListener; tcp: TcpListener }> {
  for (let attempt = 0; ; attempt++) {
    const udp = await listenUdp(hp.host, hp.port, handler);
    try {
      const tcp = await listenTcp(hp.host, udp.port, handler, limits, stats);
      return { udp, tcp };
    } catch (err) {
      await udp.close();
      if (hp.port !== 0 || attempt >= 10) throw err;
    }
  }
}
