/**
 * Multi-core mode (`serve --workers N`): N worker processes (node:cluster)
 * share the UDP and TCP listeners and run only the data plane. The primary
 * runs the control plane: it compiles snapshots, monitors health, merges the
 * ECS scopes of the current answers, serves the admin API, and pushes
 * snapshots and health views with their scopes to every worker (IPC with V8
 * serialization, so the tries travel as typed arrays; each worker is sent
 * only the merged tries it does not hold, scope-ipc.ts). /metrics asks every
 * worker for its counters and sums them. A crashed worker is restarted with
 * the current snapshot and counted.
 */
import cluster, { type Worker } from 'node:cluster';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { Snapshot } from '../build/snapshot.js';
import { allServing, type HealthView } from '../health/view.js';
import type { ScopeSet } from '../policy/current-scopes.js';
import { formatHostPort, parseHostPort } from '../net/listen-address.js';
import { type Collected, type ProcessMetrics, processRegistry } from '../observability/metrics.js';
import { applyConfiguredLevel } from '../util/logger.js';
import { cookieSecretFromHex, randomCookieSecret } from '../cookie/secret.js';
import { mergeBusiest, type PlaneCounters, planeCounters, sumPlanes } from './collect.js';
import type { BucketView } from '../rrl/busiest.js';
import { ControlPlane, type PlaneSink } from './control-plane.js';
import { DataPlane } from './data-plane.js';
import { releaseFreedMemory, tuneAllocator } from './memory.js';
import { installProcessGuard, uncaughtCounts } from './process-guard.js';
import { ScopeShipper, ScopeStore, type WireScopes } from './scope-ipc.js';

type ToWorker =
  | { type: 'snapshot'; snapshot: Snapshot; health: HealthView; scopes: WireScopes; listen: string[] }
  | { type: 'health'; hash: string; health: HealthView; scopes: WireScopes }
  | { type: 'collect'; id: number; rrlLimit?: number }
  | { type: 'shutdown'; graceMs: number };

// A worker answers 'collect' with its PlaneCounters (collect.ts), the same report the single process makes.
type FromWorker =
  | { type: 'ready' }
  | { type: 'listening'; addresses: string[] }
  | { type: 'listen-failed'; message: string }
  | { type: 'counters'; id: number; data: PlaneCounters };

const COLLECT_TIMEOUT_MS = 1000;

/** How the primary hands its drawn cookie secret to the workers it forks (their environment, never a file). */
const COOKIE_SECRET_ENV = 'MERIDIAN_GENERATED_COOKIE_SECRET';

/** The primary's drawn cookie secret, in a worker (undefined: draw one, which only a lone process should). */
function workerCookieSecret(): Uint8Array | undefined {
  const hex = process.env[COOKIE_SECRET_ENV];
  delete process.env[COOKIE_SECRET_ENV];
  return hex ? cookieSecretFromHex(hex) : undefined;
}

/**
 * Worker restarts: a worker that dies within MIN_UPTIME_MS of its start is a
 * crash in a row (it cannot bind, it fails on every snapshot...). Each one
 * doubles the delay before the next fork, from RESTART_BASE_MS up to
 * RESTART_MAX_MS; after MAX_CRASHES_IN_A_ROW the slot is given up (counted in
 * meridian_worker_slots_failed). A worker that ran longer resets the streak.
 */
const MIN_UPTIME_MS = 10_000;
const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;
const MAX_CRASHES_IN_A_ROW = 8;

/** Delay before restarting after `streak` crashes in a row (0 for a worker that ran a while). */
export function restartDelayMs(streak: number): number {
  return streak <= 0 ? 0 : Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (streak - 1));
}

/** The primary's view of the workers: a PlaneSink that fans out to them. */
export class ClusterSink implements PlaneSink {
  private snapshot: Snapshot;
  private health: HealthView;
  private scopes: ScopeSet;
  /** Per worker id: which merged tries it holds. */
  private readonly shippers = new Map<number, ScopeShipper>();
  private readonly listeningWorkers = new Set<number>();
  private restarts = 0;
  private streak = 0;
  private backoffMs = 0;
  private failedSlots = 0;
  private readonly startedAt = new Map<number, number>();
  private shuttingDown = false;
  private collectId = 0;
  private readonly pending = new Map<number, { results: PlaneCounters[]; expect: number; done: () => void }>();
  onListening: ((addresses: string[]) => void) | null = null;
  onFailed: ((message: string) => void) | null = null;
  /**
   * The cookie secret when none is configured: drawn once here and handed to every worker
   * (restarted ones too), so each validates the cookies the others made.
   */
  private readonly cookieSecret = Buffer.from(randomCookieSecret()).toString('hex');

  constructor(
    snapshot: Snapshot,
    health: HealthView,
    private readonly workers: number,
    private readonly listen: string[],
    private readonly log: Logger,
  ) {
    this.snapshot = snapshot;
    this.health = health;
    this.scopes = { epoch: health.epoch, entries: [] };
  }

  start(): void {
    cluster.schedulingPolicy = cluster.SCHED_NONE; // workers accept TCP themselves; UDP is one shared socket
    cluster.setupPrimary({ serialization: 'advanced' });
    cluster.on('message', (worker, msg: FromWorker) => this.onMessage(worker, msg));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    for (let i = 0; i < this.workers; i++) this.fork();
  }

  private onExit(worker: Worker, code: number, signal: string): void {
    this.listeningWorkers.delete(worker.id);
    this.shippers.delete(worker.id);
    const uptime = Date.now() - (this.startedAt.get(worker.id) ?? 0);
    this.startedAt.delete(worker.id);
    if (this.shuttingDown) return;
    this.streak = uptime < MIN_UPTIME_MS ? this.streak + 1 : 0;
    if (this.streak > MAX_CRASHES_IN_A_ROW) {
      this.failedSlots++;
      this.log.error(
        { worker: worker.id, code, signal, crashesInARow: this.streak, failedSlots: this.failedSlots },
        'worker keeps crashing: not restarting it',
      );
      if (this.failedSlots >= this.workers) {
        this.log.fatal('every worker slot has failed: nothing answers queries; exiting');
        this.log.flush?.();
        process.exit(1);
      }
      this.streak = 0;
      return;
    }
    this.backoffMs = restartDelayMs(this.streak);
    this.restarts++;
    this.log.error(
      { worker: worker.id, pid: worker.process.pid, code, signal, uptimeMs: uptime, restartInMs: this.backoffMs },
      'worker died; restarting it',
    );
    setTimeout(() => {
      if (!this.shuttingDown) this.fork();
    }, this.backoffMs);
  }

  private fork(): void {
    const w = cluster.fork({
      MERIDIAN_WORKER: '1',
      MERIDIAN_WORKERS: String(this.workers),
      [COOKIE_SECRET_ENV]: this.cookieSecret,
    });
    this.startedAt.set(w.id, Date.now());
  }

  workerState(): { restarts: number; backoffSeconds: number; failedSlots: number } {
    return { restarts: this.restarts, backoffSeconds: this.backoffMs / 1000, failedSlots: this.failedSlots };
  }

  private send(w: Worker, msg: ToWorker): void {
    if (w.isConnected()) w.send(msg);
  }

  private each(msg: (w: Worker) => ToWorker): void {
    for (const w of Object.values(cluster.workers ?? {})) if (w) this.send(w, msg(w));
  }

  /** The current scopes for worker `w`: only the merged tries it does not hold yet travel. */
  private scopesFor(w: Worker): WireScopes {
    let shipper = this.shippers.get(w.id);
    if (!shipper) this.shippers.set(w.id, (shipper = new ScopeShipper()));
    return shipper.pack(this.scopes);
  }

  private onMessage(worker: Worker, msg: FromWorker): void {
    switch (msg.type) {
      case 'ready':
        this.send(worker, {
          type: 'snapshot',
          snapshot: this.snapshot,
          health: this.health,
          scopes: this.scopesFor(worker),
          listen: this.listen,
        });
        break;
      case 'listening':
        this.listeningWorkers.add(worker.id);
        if (this.listeningWorkers.size === this.workers) this.onListening?.(msg.addresses);
        break;
      case 'listen-failed':
        this.onFailed?.(msg.message);
        break;
      case 'counters': {
        const p = this.pending.get(msg.id);
        if (p) {
          p.results.push(msg.data);
          if (p.results.length >= p.expect) p.done();
        }
        break;
      }
    }
  }

  install(snapshot: Snapshot, health: HealthView, scopes: ScopeSet): void {
    this.snapshot = snapshot;
    this.health = health;
    this.scopes = scopes;
    this.each((w) => ({ type: 'snapshot', snapshot, health, scopes: this.scopesFor(w), listen: this.listen }));
  }

  setHealth(view: HealthView, scopes: ScopeSet): void {
    this.health = view;
    this.scopes = scopes;
    this.each((w) => ({ type: 'health', hash: this.snapshot.hash, health: view, scopes: this.scopesFor(w) }));
  }

  listening(): boolean {
    return this.listeningWorkers.size > 0;
  }

  workerRestarts(): number {
    return this.restarts;
  }

  async collect(): Promise<Collected> {
    // The primary's own caught errors count too (it runs the control plane).
    return sumPlanes(await this.gather(), this.snapshot.geoRecords, uncaughtCounts());
  }

  /** Every worker's busiest RRL buckets, merged (GET /admin/rrl). */
  async rrlBuckets(limit: number): Promise<BucketView[]> {
    return mergeBusiest(
      (await this.gather(limit)).map((p) => p.rrlBusiest ?? []),
      limit,
    );
  }

  /** Every live worker's report (with its busiest RRL buckets when `rrlLimit` is given). */
  private async gather(rrlLimit?: number): Promise<PlaneCounters[]> {
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
    const id = ++this.collectId;
    const results: PlaneCounters[] = [];
    // Wait for every live worker, but never longer than the timeout: a stuck worker must not stall scrapes.
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve();
      };
      const timer = setTimeout(finish, COLLECT_TIMEOUT_MS);
      this.pending.set(id, { results, expect: live.length, done: finish });
      if (live.length === 0) finish();
      for (const w of live) this.send(w, { type: 'collect', id, rrlLimit });
    });
    return results;
  }

  shutdown(graceMs: number): Promise<void> {
    this.shuttingDown = true;
    this.each(() => ({ type: 'shutdown', graceMs }));
    return new Promise((resolve) => {
      const check = () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve();
      };
      cluster.on('exit', check);
      check();
      setTimeout(() => {
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
        resolve();
      }, graceMs + 2000).unref();
    });
  }
}

/**
 * Workers bind their own SO_REUSEPORT UDP sockets (batched mode), so "port 0"
 * must become one concrete port first, or each worker would get its own.
 */
async function resolvePorts(listen: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const text of listen) {
    const hp = parseHostPort(text);
    if (hp.port !== 0) {
      out.push(text);
      continue;
    }
    const probe = await freePortPair(hp.host);
    out.push(formatHostPort({ host: hp.host, port: probe }));
  }
  return out;
}

/** A port free for both UDP and TCP on `host` (bound briefly, then released). */
async function freePortPair(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, host, () => resolve(udp.address().port));
    });
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    });
    udp.close();
    if (ok) return port;
  }
  throw new Error(`no free port on ${host}`);
}

/** Run the primary: control plane + workers. Resolves once every worker listens. */
export async function runPrimary(
  snapshot: Snapshot,
  opts: {
    configFile: string;
    listen: string[];
    admin?: string | null;
    workers: number;
    log: Logger;
    startupPeakBytes?: number;
  },
): Promise<{ control: ControlPlane; sink: ClusterSink; listen: string[] }> {
  const listen = await resolvePorts(opts.listen);
  const sink = new ClusterSink(snapshot, allServing(snapshot.pops.length), opts.workers, listen, opts.log);
  const control = new ControlPlane(snapshot, sink, {
    configFile: opts.configFile,
    admin: opts.admin,
    log: opts.log,
    startupPeakBytes: opts.startupPeakBytes,
  });
  const listening = new Promise<string[]>((resolve, reject) => {
    sink.onListening = resolve;
    sink.onFailed = (m) => reject(new Error(m));
  });
  sink.start();
  await listening;
  await control.start();
  return { control, sink, listen };
}

/** Run a worker: wait for the snapshot, bind the shared listeners, answer. */
export function runWorker(log: Logger, logLevel: string | undefined): void {
  tuneAllocator();
  installProcessGuard(log);
  let plane: DataPlane | null = null;
  // The merged scope tries the primary sent; every message says which to keep.
  const scopes = new ScopeStore();
  const processMetrics = processRegistry();
  const send = (m: FromWorker) => process.send?.(m);
  process.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'snapshot': {
        const set = scopes.unpack(msg.scopes);
        if (plane) {
          plane.install(msg.snapshot, msg.health, set);
          releaseFreedMemory();
          return;
        }
        applyConfiguredLevel(log, msg.snapshot.config.logging.level, logLevel);
        plane = new DataPlane(msg.snapshot, msg.health, log.child({ component: 'query', worker: cluster.worker?.id }), {
          workers: Number(process.env.MERIDIAN_WORKERS ?? 1) || 1,
          cookieSecret: workerCookieSecret(),
        });
        plane.setHealth(msg.health, set);
        plane.bind(msg.listen).then(
          () => send({ type: 'listening', addresses: plane!.describeListeners() }),
          (err: Error) => {
            send({ type: 'listen-failed', message: err.message });
            process.exit(1);
          },
        );
        break;
      }
      case 'health': {
        // Always unpacked: the primary counts on this worker holding what it sent.
        const set = scopes.unpack(msg.scopes);
        if (plane && plane.runtime.snapshot.hash === msg.hash) plane.setHealth(msg.health, set);
        break;
      }
      case 'collect':
        if (plane) {
          const counters = planeCounters(plane, msg.rrlLimit);
          void processMetrics
            .getMetricsAsJSON()
            .then((metrics) =>
              send({ type: 'counters', id: msg.id, data: { ...counters, process: metrics as ProcessMetrics } }),
            );
        }
        break;
      case 'shutdown':
        void (plane?.close(msg.graceMs) ?? Promise.resolve()).then(() => process.exit(0));
        break;
    }
  });
  // The primary decides shutdown; a stray SIGINT from the terminal's process group must not kill a worker early.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  send({ type: 'ready' });
}
