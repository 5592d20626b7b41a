/**
 * The data plane: listeners, the current Runtime and this process's flood
 * protections (rate limiter, cookie checker: plane/guards.ts). Each listener
 * gets its own QueryContext (query/context.ts) and a handler that sets the
 * packet's source and output slot on it, reads the clock once per received
 * batch, and calls handleQuery. The query path only reads `this.runtime`
 * (and its `health`: the view and the scope tries computed for it) and
 * `this.guards`; the control plane (in this process or the cluster primary)
 * replaces each whole, with one assignment.
 */
import type { Logger } from 'pino';
import { QueryContext } from '../query/context.js';
import { handleQuery } from '../query/handle-query.js';
import { TCP, UDP, type Transport } from '../wire/constants.js';
import { silentLogger } from '../util/logger.js';
import { logSampledQuery } from '../observability/query-log.js';
import type { HealthView } from '../health/view.js';
import type { ScopeSet } from '../policy/current-scopes.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/listen-address.js';
import { QueryCounters } from '../query/counters.js';
import { Runtime } from '../build/runtime.js';
import type { Snapshot } from '../build/snapshot.js';
import { emptyTcpStats, listenTcp, type TcpLimits, type TcpListener, type TcpStats } from '../transport/tcp.js';
import { listenUdp, type PacketHandler, type UdpCounters, type UdpListener } from '../transport/udp.js';
import { batchAddon, listenUdpBatch, type BatchHandler } from '../transport/udp-batch.js';
import { formatIp } from '../net/ip.js';
import type { DnssecValues } from '../observability/dnssec-metrics.js';
import { retireDnssec } from './dnssec-counters.js';
import { randomCookieSecret } from '../cookie/secret.js';
import type { QueryGuards } from '../query/guards.js';
import { ProcessGuards } from './guards.js';

/** Length of one scope-sketch window. */
const SKETCH_WINDOW_MS = 5 * 60 * 1000;

export class DataPlane {
  runtime: Runtime;
  readonly counters = new QueryCounters();
  readonly tcpStats: TcpStats = emptyTcpStats();
  /** Rate limiter and cookie checker of this process, kept across reloads that do not change them. */
  readonly protection: ProcessGuards;
  udp: UdpListener[] = [];
  tcp: TcpListener[] = [];
  /** Answers per PoP of runtimes already replaced, by "record|pop" (so counters survive reloads). */
  readonly retiredPopAnswers = new Map<string, number>();
  /** DNSSEC counters of runtimes already replaced (plane/dnssec-counters.ts). */
  retiredDnssec: DnssecValues[] = [];

  private sampleEvery: number;
  private sampled = 0;
  /** Processes sharing the UDP port (cluster workers), for the batched listener's balancer. */
  readonly udpGroup: number;

  /**
   * `opts.workers`: processes sharing the UDP port (cluster workers; each enforces its share of
   * the rate limits); `opts.cookieSecret`: the secret when none is configured (the primary's, in a cluster).
   */
  constructor(
    snapshot: Snapshot,
    health?: HealthView,
    private readonly log: Logger = silentLogger(),
    opts: { workers?: number; cookieSecret?: Uint8Array } = {},
  ) {
    this.udpGroup = opts.workers ?? 1;
    this.protection = new ProcessGuards(this.udpGroup, opts.cookieSecret ?? randomCookieSecret());
    this.protection.update(snapshot.guards);
    this.runtime = new Runtime(snapshot, health);
    this.sampleEvery = snapshot.config.logging.query_sample;
    // Scope sketches cover a sliding 5-10 minutes: start a new window every 5.
    this.rotation = setInterval(() => this.runtime.sketches.rotate(), SKETCH_WINDOW_MS);
    this.rotation.unref();
  }

  private readonly rotation: NodeJS.Timeout;

  /** What the query path reads for rate limiting and cookies. */
  get guards(): QueryGuards {
    return this.protection.current;
  }

  /**
   * A batched UDP listener's handler (source as bytes, answer into the batch's output slot) and
   * what runs before each batch: the clock is read once for the whole batch.
   */
  batchHandler(): { handler: BatchHandler; startBatch: () => void } {
    const ctx = new QueryContext(this, this.counters, UDP);
    const startBatch = () => ctx.tick();
    const handler: BatchHandler = (msg, len, family, addr, addrOff, dest, destOff) => {
      ctx.source.setBytes(family, addr, addrOff);
      ctx.out = dest;
      ctx.outOffset = destOff;
      const n = handleQuery(ctx, msg, len);
      if (this.sampleEvery > 0 && ++this.sampled >= this.sampleEvery) {
        this.sampled = 0;
        const client = formatIp(family === 6 ? 6 : 4, addr.slice(addrOff, addrOff + (family === 6 ? 16 : 4)));
        logSampledQuery(this.log, msg, len, client, UDP, n > 0 ? dest.subarray(destOff, destOff + n) : null);
      }
      return n;
    };
    return { handler, startBatch };
  }

  /** A node:dgram or TCP listener's handler: source as the socket's address text, answer into its buffer. */
  handler(transport: Transport): PacketHandler {
    const ctx = new QueryContext(this, this.counters, transport);
    return (msg, len, client, out, outOffset) => {
      ctx.tick(); // one datagram or TCP message is its own batch here
      ctx.source.setText(client);
      ctx.out = out;
      ctx.outOffset = outOffset;
      const n = handleQuery(ctx, msg, len);
      if (this.sampleEvery > 0 && ++this.sampled >= this.sampleEvery) {
        this.sampled = 0;
        logSampledQuery(this.log, msg, len, client, transport, n > 0 ? out.subarray(outOffset, outOffset + n) : null);
      }
      return n;
    };
  }

  /** Swap in a runtime built from `snapshot` (one reference assignment: a query sees old or new). */
  install(snapshot: Snapshot, health?: HealthView, scopes: ScopeSet | null = null): Runtime {
    const previous = this.runtime;
    const rt = new Runtime(snapshot, health ?? previous.health.view, scopes);
    this.protection.update(snapshot.guards);
    this.runtime = rt;
    rt.presign(previous); // DNSSEC: geo answers clients used, signed again in the background
    this.sampleEvery = snapshot.config.logging.query_sample;
    this.retire(previous);
    return rt;
  }

  /**
   * Apply a health view and the scopes merged for it (null: none yet, the
   * compiled tries serve) as one health state, with one assignment; ignored
   * if the view was made for another PoP list.
   */
  setHealth(view: HealthView, scopes: ScopeSet | null = null): void {
    const rt = this.runtime;
    if (view.serving.length !== rt.snapshot.pops.length) return;
    const changed = rt.health.view !== view;
    rt.health = rt.healthState(view, scopes);
    if (changed) rt.presign(); // DNSSEC: the new answers signed in the background, not on the query path
  }

  private retire(rt: Runtime): void {
    this.retiredDnssec = retireDnssec(this.retiredDnssec, rt);
    const pops = rt.snapshot.pops;
    rt.records.forEach((rec, r) =>
      pops.forEach((p, i) => {
        const n = rt.popAnswers[r * pops.length + i];
        if (n > 0) {
          const key = `${rec.name}|${p.id}`;
          this.retiredPopAnswers.set(key, (this.retiredPopAnswers.get(key) ?? 0) + n);
        }
      }),
    );
  }

  /** Answers per "record|pop" over all runtimes so far. */
  popAnswerTotals(): Map<string, number> {
    const out = new Map(this.retiredPopAnswers);
    const rt = this.runtime;
    const pops = rt.snapshot.pops;
    rt.records.forEach((rec, r) =>
      pops.forEach((p, i) => {
        const n = rt.popAnswers[r * pops.length + i];
        if (n > 0) out.set(`${rec.name}|${p.id}`, (out.get(`${rec.name}|${p.id}`) ?? 0) + n);
      }),
    );
    return out;
  }

  /** The UDP listeners' counters, summed. */
  udpCounters(): UdpCounters {
    const sum: UdpCounters = { sendErrors: 0, handlerErrors: 0, oversized: 0 };
    for (const u of this.udp) {
      const c = u.counters();
      sum.sendErrors += c.sendErrors;
      sum.handlerErrors += c.handlerErrors;
      sum.oversized += c.oversized;
    }
    return sum;
  }

  tcpLimits(): TcpLimits {
    const t = this.runtime.snapshot.config.server.tcp;
    return {
      idleTimeout: t.idle_timeout,
      idleTimeoutUnderPressure: t.idle_timeout_under_pressure,
      pressureThreshold: t.pressure_threshold / 100,
      maxConnections: t.max_connections,
      maxConnectionsPerAddress: t.max_connections_per_address,
      maxConnectionsPerPrefix: t.max_connections_per_prefix,
      ipv4PrefixLength: t.ipv4_prefix_length,
      ipv6PrefixLength: t.ipv6_prefix_length,
      maxConnectionLifetime: t.max_connection_lifetime,
      maxMessageSize: t.max_message_size,
      maxQueriesPerConnection: t.max_queries_per_connection,
    };
  }

  /** Bind UDP and TCP on every address. */
  async bind(addresses: readonly string[]): Promise<void> {
    for (const text of addresses) {
      const { udp, tcp } = await bindPair(parseHostPort(text), this, this.tcpLimits(), this.tcpStats);
      this.udp.push(udp);
      this.tcp.push(tcp);
    }
  }

  /** How UDP is served: "batched" (native recvmmsg/sendmmsg) or "dgram". */
  get udpMode(): string {
    return batchAddon() ? 'batched' : 'dgram';
  }

  get addresses(): HostPort[] {
    return this.udp.map((u) => ({ host: u.address, port: u.port }));
  }

  describeListeners(): string[] {
    return this.addresses.map(formatHostPort);
  }

  /** Stop listening; TCP connections get `graceMs` to finish. */
  async close(graceMs = 2000): Promise<void> {
    clearInterval(this.rotation);
    await Promise.all([...this.udp.map((u) => u.close()), ...this.tcp.map((t) => t.close(graceMs))]);
    this.udp = [];
    this.tcp = [];
  }
}

/** UDP and TCP on the same port; with port 0 the TCP side follows the port UDP got. */
async function bindPair(
  hp: HostPort,
  plane: DataPlane,
  limits: TcpLimits,
  stats: TcpStats,
): Promise<{ udp: UdpListener; tcp: TcpListener }> {
  const addon = batchAddon();
  for (let attempt = 0; ; attempt++) {
    const batch = addon ? plane.batchHandler() : null;
    const udp =
      addon && batch
        ? listenUdpBatch(addon, hp.host, hp.port, batch.handler, plane.udpGroup, batch.startBatch)
        : await listenUdp(hp.host, hp.port, plane.handler(UDP));
    try {
      const tcp = await listenTcp(hp.host, udp.port, plane.handler(TCP), limits, stats);
      return { udp, tcp };
    } catch (err) {
      await udp.close();
      if (hp.port !== 0 || attempt >= 10) throw err;
    }
  }
}
