/**
 * FleetLink: this instance's connection to the fleet over NATS JetStream, the
 * only I/O of src/plane/fleet. It connects (TLS, credentials file) and keeps
 * retrying when NATS is unreachable, opens or creates the buckets
 * (keys.ts), publishes heartbeats and this instance's observations, watches
 * the buckets into a FleetModel, and derives the FleetView the health monitor
 * acts on (decide.ts), announcing changes. It degrades safely: not connected
 * at start = every PoP local (probed here, as without a fleet); connection
 * lost = the last fleet verdicts hold for the grace period, then local; back
 * = a resync from the buckets (a fresh model from fresh watches, swapped in
 * whole once caught up, so overrides never blink). It also stores and follows
 * config bundles (bundle.ts) in the object store.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
  type QueuedIterator,
} from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV, type KvOptions, type KvWatchEntry } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { FleetError } from '../../errors.js';
import type { Override } from '../../health/state-machine.js';
import { silentLogger } from '../../util/logger.js';
import { decodeBundle, encodeBundle, sha256, type ConfigBundle } from './bundle.js';
import type { FleetConfig } from './config.js';
import { FleetDecider, type FleetView } from './decide.js';
import {
  bundleObject,
  CONFIG_KEY,
  configStore,
  decodeValue,
  bundlePointerValue,
  encodeValue,
  liveBucket,
  memberKey,
  observationKey,
  opsBucket,
  overrideKey,
  type BundlePointer,
  type HeartbeatValue,
  type ObservationValue,
} from './keys.js';
import { FleetModel } from './model.js';

/** The live bucket's max_age: only cleans up after dead members (liveness is computed from ages, membership.ts). */
const LIVE_MAX_AGE_MS = 3600_000;
/** Operator overrides and config pointers keep a short audit history. */
const OPS_HISTORY = 10;
/** Published config bundles kept in the object store. */
const BUNDLES_KEPT = 10;
/** How long an operator write (override) is retried while JetStream is briefly unavailable. */
const OPS_RETRY_MS = 5000;
/** How long a resync waits for a watch to replay the bucket before it goes on anyway. */
const CATCH_UP_MS = 3000;

export interface FleetLinkOptions {
  config: FleetConfig;
  /** This instance's fleet name (config.ts fleetInstanceName). */
  instance: string;
  /** Directory that relative TLS and credentials file paths are resolved against (the config file's). */
  baseDir: string;
  /** The PoPs of the running config. */
  pops?: readonly string[];
  log?: Logger;
  software?: string;
  /**
   * false: a client of the buckets only (`meridian publish`), not a member: no
   * heartbeat, no share of probes, no observations. Default true.
   */
  member?: boolean;
}

export interface ConnectionState {
  connected: boolean;
  /** The NATS server this instance talks to (host:port), while connected. */
  server: string | null;
  /** Since when (ms, local clock) connected or disconnected. */
  since: number;
  lastError: string | null;
}

export interface ObservationInput {
  up: boolean;
  reason: string | null;
  rttMs: number | null;
  /** The probe interval of this PoP (seconds): freshness is counted in it. */
  interval: number;
}

type Listener<A extends unknown[]> = (...args: A) => void;

export class FleetLink {
  private nc: NatsConnection | null = null;
  private live: KV | null = null;
  private ops: KV | null = null;
  private store: ObjectStore | null = null;
  private objm: Objm | null = null;
  private model = new FleetModel();
  private readonly decider: FleetDecider;
  private watches: Array<QueuedIterator<KvWatchEntry>> = [];
  /** Per watched bucket: the last revision applied, for the stall check (checkWatches). */
  private watched: WatchedBucket[] = [];
  /** Bumped by every (re)sync and disconnect: watch loops of an older generation stop. */
  private generation = 0;
  private synced = false;
  /** The generation of the resync in progress (0: none). */
  private resyncing = 0;
  private closed = false;
  private pops: string[];
  private current: FleetView;
  private changeKey = '';
  /** Server clock minus local clock (ms), from the stream timestamps of our own heartbeats. */
  private offsetMs = 0;
  /** PoPs whose observation key this instance wrote (deleted when the PoP leaves its share). */
  private readonly published = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private evaluateQueued = false;
  private readonly startedAt = Date.now();
  private running = { version: null as number | null, sha256: null as string | null, error: null as string | null };
  private announcedVersion = 0;
  private conn: ConnectionState = { connected: false, server: null, since: Date.now(), lastError: null };
  private readonly log: Logger;
  private readonly listeners = {
    change: [] as Array<Listener<[FleetView]>>,
    connection: [] as Array<Listener<[ConnectionState]>>,
    bundle: [] as Array<Listener<[ConfigBundle]>>,
  };

  private constructor(private readonly opts: FleetLinkOptions) {
    this.log = opts.log ?? silentLogger();
    this.pops = [...(opts.pops ?? [])];
    this.decider = new FleetDecider(opts.config.grace_period * 1000);
    this.current = this.decide();
  }

  /** Start the link: returns at once; connecting (and retrying) goes on in the background. */
  static start(opts: FleetLinkOptions): FleetLink {
    const link = new FleetLink(opts);
    const hb = opts.config.heartbeat * 1000;
    link.timers.push(setInterval(() => void link.heartbeat(), hb).unref());
    // Expiry of members and observations is computed, so the view is re-derived on a clock too.
    link.timers.push(setInterval(() => link.evaluate(), Math.min(1000, hb / 4)).unref());
    void link.run();
    return link;
  }

  get instance(): string {
    return this.opts.instance;
  }

  /** The current fleet view (members, probers per PoP, votes, verdict sources, overrides). */
  view(): FleetView {
    return this.current;
  }

  connection(): ConnectionState {
    return { ...this.conn };
  }

  /** The config bundle pointer last seen in the bucket. */
  publishedConfig(): BundlePointer | null {
    return this.model.bundle;
  }

  /** Bucket values that did not decode (another version's writer, or damage). */
  rejectedValues(): number {
    return this.model.rejected;
  }

  /** Resolves once connected and in sync with the buckets; a FleetError (with the last connection error) after `timeoutMs`. */
  async synchronized(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced) {
      if (this.closed || Date.now() >= deadline)
        throw new FleetError(
          `cannot reach the fleet's NATS servers (${this.opts.config.servers.join(', ')}): ${this.conn.lastError ?? 'not connected'}`,
        );
      await sleep(50);
    }
  }

  onChange(fn: Listener<[FleetView]>): void {
    this.listeners.change.push(fn);
  }

  onConnection(fn: Listener<[ConnectionState]>): void {
    this.listeners.connection.push(fn);
  }

  /** Follow the published config: `fn` gets each new version once (after it is fetched and checked). */
  onBundle(fn: Listener<[ConfigBundle]>): void {
    this.listeners.bundle.push(fn);
    void this.followBundle();
  }

  /** The PoPs of the running config (after a load or reload). */
  setPops(pops: readonly string[]): void {
    this.pops = [...pops];
    this.evaluate();
  }

  /** What this instance runs, reported in its heartbeat: a published version (null: local), its sha256, and why the last one it was given failed. */
  setRunningConfig(version: number | null, configSha256: string | null, error: string | null = null): void {
    this.running = { version, sha256: configSha256, error };
    void this.heartbeat();
  }

  /**
   * Report this instance's debounced verdict after a probe of `pop`. Published
   * only while connected and only for the PoPs of this instance's share (a PoP
   * it probes because it decides locally stays local). Returns whether it was.
   */
  observe(pop: string, o: ObservationInput): boolean {
    const state = this.current.pops.find((p) => p.pop === pop);
    if (!this.synced || !this.live || !state?.probers.includes(this.instance)) return false;
    const value: ObservationValue = {
      instance: this.instance,
      pop,
      up: o.up,
      reason: o.reason,
      rtt_ms: o.rttMs,
      interval: o.interval,
      at: Date.now(),
    };
    this.published.add(pop);
    this.live
      .put(observationKey(pop, this.instance), encodeValue(value))
      .catch((err: Error) => this.log.debug({ pop, err: err.message }, 'fleet: observation not published'));
    return true;
  }

  /** Set (or clear with null) a fleet-wide override: every instance applies it from the bucket. */
  async setOverride(pop: string, override: Override | null, by: string = this.instance): Promise<void> {
    if (!this.synced || !this.ops)
      throw new FleetError(
        `not connected to the fleet (NATS): a fleet-wide override cannot be set now; use a local override`,
      );
    const key = overrideKey(pop);
    const ops = this.ops;
    // A cluster electing a new stream leader (a node just died) answers "no responders" for a moment.
    await retrying<unknown>(
      () => (override ? ops.put(key, encodeValue({ override, by, at: Date.now() })) : ops.delete(key)),
      OPS_RETRY_MS,
    );
    this.log.info({ pop, override, by }, override ? 'fleet override set' : 'fleet override cleared');
  }

  /**
   * Store `bundle` as the next config version and point the fleet at it.
   * Versions are allocated by compare-and-set on the pointer key, so two
   * concurrent publishes cannot both win: the loser gets a FleetError.
   */
  async publishBundle(bundle: ConfigBundle): Promise<BundlePointer> {
    const { ops, store } = await this.requireSynced();
    const prev = await ops.get(CONFIG_KEY);
    const prevPointer = prev && prev.operation === 'PUT' ? decodeValue(bundlePointerValue, prev.value) : null;
    const version = (prevPointer?.version ?? 0) + 1;
    const bytes = encodeBundle({ ...bundle, version });
    const object = bundleObject(version);
    await store.putBlob({ name: object, metadata: { version: String(version) } }, bytes);
    const pointer: BundlePointer = {
      version,
      object,
      sha256: sha256(bytes),
      size: bytes.length,
      published_at: Date.now(),
      published_by: bundle.published_by,
    };
    try {
      if (prev) await ops.update(CONFIG_KEY, encodeValue(pointer), prev.revision);
      else await ops.create(CONFIG_KEY, encodeValue(pointer));
    } catch (err) {
      await store.delete(object).catch(() => undefined);
      throw new FleetError(
        `another publish took version ${version} first; nothing was changed by this one, publish again (${(err as Error).message})`,
      );
    }
    if (version > BUNDLES_KEPT) await store.delete(bundleObject(version - BUNDLES_KEPT)).catch(() => undefined);
    this.log.info({ version, sha256: pointer.sha256.slice(0, 16), size: pointer.size }, 'config bundle published');
    return pointer;
  }

  /** Fetch and check the bundle a pointer names. */
  async fetchBundle(pointer: BundlePointer): Promise<ConfigBundle> {
    const { store } = await this.requireSynced();
    const bytes = await store.getBlob(pointer.object);
    if (!bytes) throw new FleetError(`config bundle ${pointer.object} is not in the object store`);
    if (sha256(bytes) !== pointer.sha256)
      throw new FleetError(`config bundle ${pointer.object} does not match its sha256`);
    const bundle = decodeBundle(bytes, pointer.version);
    if (bundle.version !== pointer.version)
      throw new FleetError(`config bundle ${pointer.object} says version ${bundle.version}`);
    return bundle;
  }

  /** Leave the fleet: remove this instance's heartbeat and observations (its share moves at once), close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.stopWatches();
    const nc = this.nc;
    if (this.synced && this.live) {
      const live = this.live;
      const keys = [memberKey(this.instance), ...[...this.published].map((p) => observationKey(p, this.instance))];
      await Promise.all(keys.map((k) => live.delete(k).catch(() => undefined)));
    }
    this.synced = false;
    await nc?.close().catch(() => undefined);
  }

  // --- connection -----------------------------------------------------------

  private connectOptions(): NodeConnectionOptions {
    const c = this.opts.config;
    const file = (f: string | undefined) => (f === undefined ? undefined : path.resolve(this.opts.baseDir, f));
    const creds = file(c.credentials);
    return {
      servers: c.servers,
      name: `meridian ${this.instance}`,
      // Once connected, reconnect for ever; the first connection is retried by run(), which close() can stop.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 250,
      timeout: 2000,
      // A silent (partitioned) server is noticed in about three heartbeats, not the client's default minutes.
      pingInterval: Math.max(1000, c.heartbeat * 1000),
      maxPingOut: 3,
      tls: c.tls
        ? { caFile: file(c.tls.ca_file), certFile: file(c.tls.cert_file), keyFile: file(c.tls.key_file) }
        : undefined,
      // Read at every (re)connect, so a rotated credentials file is picked up.
      authenticator: creds ? credsAuthenticator(() => readFileSync(creds)) : undefined,
    };
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      try {
        const nc = await connect(this.connectOptions());
        if (this.closed) {
          await nc.close();
          return;
        }
        attempt = 0;
        this.nc = nc;
        this.log.info({ server: nc.getServer() }, 'fleet: connected to NATS');
        void this.watchStatus(nc);
        void this.resync(nc);
        const err = await nc.closed();
        if (this.closed) return;
        this.setDisconnected(err ? err.message : 'connection closed');
      } catch (err) {
        // Unreachable, refused, TLS or credentials: the DNS service does not wait for NATS.
        this.setDisconnected((err as Error).message);
        const detail = { err: (err as Error).message, servers: this.opts.config.servers };
        if (attempt === 0) this.log.warn(detail, 'fleet: cannot connect to NATS; serving with local probes, retrying');
        else this.log.debug(detail, 'fleet: cannot connect to NATS');
      }
      if (!this.closed) await sleep(Math.min(5000, 500 * 2 ** attempt++));
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    // The status iterator ends when the connection closes; run() handles that.
    for await (const s of nc.status()) {
      if (this.closed || nc !== this.nc) return;
      if (s.type === 'disconnect') {
        this.setDisconnected(`disconnected from ${s.server}`);
        this.log.warn(
          { server: s.server, graceSeconds: this.opts.config.grace_period },
          'fleet: NATS lost; holding the last fleet verdicts for the grace period',
        );
      } else if (s.type === 'reconnect') {
        this.log.info({ server: s.server }, 'fleet: NATS back; resyncing');
        void this.resync(nc);
      } else if (s.type === 'error') this.log.warn({ err: String(s.error) }, 'fleet: NATS error');
    }
  }

  private setDisconnected(reason: string): void {
    this.generation++;
    this.stopWatches();
    this.synced = false;
    this.setConnection({ connected: false, server: null, since: Date.now(), lastError: reason });
    this.evaluate();
  }

  private setConnection(next: ConnectionState): void {
    const changed = next.connected !== this.conn.connected;
    this.conn = changed ? next : { ...next, since: this.conn.since };
    if (changed) this.emit(this.listeners.connection, this.connection());
  }

  private async requireSynced(): Promise<{ live: KV; ops: KV; store: ObjectStore }> {
    if (!this.synced || !this.live || !this.ops || !this.objm)
      throw new FleetError('not connected to the fleet (NATS)');
    this.store ??= await openStore(this.objm, configStore(this.opts.config.bucket), this.opts.config.replicas);
    return { live: this.live, ops: this.ops, store: this.store };
  }

  /** Open the buckets and replay them into a fresh model; retried (with backoff) while the connection is up. */
  private async resync(nc: NatsConnection): Promise<void> {
    const generation = ++this.generation;
    this.resyncing = generation;
    try {
      for (let attempt = 0; !this.closed && generation === this.generation && !nc.isClosed(); attempt++) {
        try {
          await this.sync(nc, generation);
          return;
        } catch (err) {
          // JetStream answers "not enabled", "stream not found" or times out for a moment after a
          // server restart or while a cluster elects new leaders.
          this.log.warn({ err: (err as Error).message, attempt }, 'fleet: cannot open the buckets yet; retrying');
          this.conn.lastError = (err as Error).message;
          await sleep(Math.min(2000, 250 * 2 ** attempt));
        }
      }
    } finally {
      if (this.resyncing === generation) this.resyncing = 0;
    }
  }

  private async sync(nc: NatsConnection, generation: number): Promise<void> {
    const c = this.opts.config;
    // The client's default request timeout: a cluster electing leaders can take seconds to answer.
    const js = jetstream(nc, { timeout: 5000 });
    const kvm = new Kvm(js);
    const live = await openKv(kvm, liveBucket(c.bucket), { history: 1, ttl: LIVE_MAX_AGE_MS, replicas: c.replicas });
    const ops = await openKv(kvm, opsBucket(c.bucket), { history: OPS_HISTORY, replicas: c.replicas });
    if (generation !== this.generation) return;
    this.stopWatches();
    const model = new FleetModel();
    const watched = [
      { kv: live, name: liveBucket(c.bucket), applied: 0, lastChecked: 0, behind: 0 },
      { kv: ops, name: opsBucket(c.bucket), applied: 0, lastChecked: 0, behind: 0 },
    ];
    this.watched = watched;
    await Promise.all(watched.map((w) => this.watch(w, model, generation)));
    if (generation !== this.generation) return;
    this.model = model;
    this.live = live;
    this.ops = ops;
    // The object store is opened when a bundle is first needed: the fleet view does not wait for it.
    this.store = null;
    this.objm = new Objm(js);
    this.synced = true;
    this.setConnection({ connected: true, server: nc.getServer(), since: Date.now(), lastError: null });
    this.log.info({ server: nc.getServer(), members: model.members.size }, 'fleet: in sync with the buckets');
    await this.heartbeat();
    this.evaluate();
    void this.followBundle();
  }

  /** Watch a whole bucket into `model`; resolves once the bucket's current values are in. */
  private async watch(w: WatchedBucket, model: FleetModel, generation: number): Promise<void> {
    const kv = w.kv;
    const iter = await kv.watch({ key: '>' });
    this.watches.push(iter);
    let caughtUp!: () => void;
    const done = new Promise<void>((resolve) => (caughtUp = resolve));
    const timer = setTimeout(caughtUp, CATCH_UP_MS);
    void (async () => {
      try {
        for await (const e of iter) {
          if (generation !== this.generation) break;
          const created = e.created.getTime();
          w.applied = Math.max(w.applied, e.revision);
          const k = model.apply(e.key, e.operation, e.value, created);
          if (k?.kind === 'member' && k.instance === this.instance && e.isUpdate && e.operation === 'PUT')
            this.offsetMs = created - Date.now();
          if (k?.kind === 'config' && model === this.model) void this.followBundle();
          // The last entry of the replay is the first marked as an update (KV watch semantics).
          if (e.isUpdate) caughtUp();
          this.scheduleEvaluate();
        }
      } catch (err) {
        // The consumer went away under the watch (a stream deleted, a consumer lost): start over.
        if (generation !== this.generation || this.closed || !this.nc) return;
        this.log.warn({ bucket: w.name, err: (err as Error).message }, 'fleet: a bucket watch ended; resyncing');
        if (!this.resyncing) void this.resync(this.nc);
      }
    })();
    // An empty bucket replays nothing at all.
    if ((await kv.status()).values === 0) caughtUp();
    await done;
    clearTimeout(timer);
  }

  private stopWatches(): void {
    for (const w of this.watches) w.stop();
    this.watches = [];
  }

  // --- heartbeats, evaluation, bundles --------------------------------------

  private async heartbeat(): Promise<void> {
    if (!this.synced || !this.live || this.opts.member === false) return;
    const value: HeartbeatValue = {
      instance: this.instance,
      interval: this.opts.config.heartbeat,
      started_at: this.startedAt,
      at: Date.now(),
      config_version: this.running.version,
      config_sha256: this.running.sha256,
      config_error: this.running.error,
      software: this.opts.software ?? 'meridian',
    };
    await this.live
      .put(memberKey(this.instance), encodeValue(value))
      .catch((err: Error) => this.log.debug({ err: err.message }, 'fleet: heartbeat not published'));
    await this.checkWatches();
  }

  /**
   * A watch can stall with the connection up: on a NATS cluster its consumer
   * lives on one node, and when that node dies the client only notices after
   * two missed idle heartbeats (10 s). Compare each bucket's last sequence
   * with what its watch applied: behind, and no progress for two heartbeats
   * in a row, means stalled, and the link resyncs (fresh watches).
   */
  private async checkWatches(): Promise<void> {
    if (this.resyncing) return;
    const nc = this.nc;
    const generation = this.generation;
    for (const w of this.watched) {
      let last: number;
      try {
        last = (await w.kv.status()).streamInfo.state.last_seq;
      } catch {
        continue; // JetStream busy or away: heartbeats and reconnects say so
      }
      const stuck = last > w.applied && w.applied === w.lastChecked;
      w.behind = stuck ? w.behind + 1 : 0;
      w.lastChecked = w.applied;
      if (w.behind >= 2 && nc && generation === this.generation && this.synced && !this.resyncing) {
        this.log.warn({ bucket: w.name, applied: w.applied, last }, 'fleet: a bucket watch stalled; resyncing');
        void this.resync(nc);
        return;
      }
    }
  }

  /** Call listeners; one that throws is logged, and neither stops the others nor the link. */
  private emit<A extends unknown[]>(listeners: Array<Listener<A>>, ...args: A): void {
    for (const fn of listeners) {
      try {
        fn(...args);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'fleet: a listener failed');
      }
    }
  }

  private serverNow(): number {
    return Date.now() + this.offsetMs;
  }

  private scheduleEvaluate(): void {
    if (this.evaluateQueued) return;
    this.evaluateQueued = true;
    setImmediate(() => {
      this.evaluateQueued = false;
      this.evaluate();
    });
  }

  private decide(): FleetView {
    const c = this.opts.config;
    return this.decider.decide(this.model, {
      self: this.instance,
      pops: this.pops,
      verdict: c.verdict,
      replicas: c.probe_replicas,
      staleAfter: c.stale_after,
      connected: this.synced,
      now: this.serverNow(),
    });
  }

  private evaluate(): void {
    if (this.closed) return;
    const view = this.decide();
    this.current = view;
    this.withdrawObservations(view);
    // Announce what the health monitor acts on; vote ages alone change every tick and are read on demand.
    const key = JSON.stringify([
      view.connected,
      view.live,
      view.probes,
      view.pops.map((p) => [
        p.pop,
        p.probers,
        p.source,
        p.up,
        p.override?.override ?? null,
        p.verdict.up,
        p.verdict.down,
      ]),
    ]);
    if (key === this.changeKey) return;
    this.changeKey = key;
    this.emit(this.listeners.change, view);
  }

  /** Delete this instance's observation of PoPs that left its share, so they stop voting at once. */
  private withdrawObservations(view: FleetView): void {
    if (!this.synced || !this.live) return;
    for (const pop of this.published) {
      if (view.pops.find((p) => p.pop === pop)?.probers.includes(this.instance)) continue;
      this.published.delete(pop);
      this.live.delete(observationKey(pop, this.instance)).catch(() => undefined);
    }
  }

  private async followBundle(): Promise<void> {
    const pointer = this.model.bundle;
    if (!this.listeners.bundle.length || !pointer || !this.synced) return;
    if (pointer.version === this.announcedVersion || pointer.version === this.running.version) return;
    const before = this.announcedVersion;
    this.announcedVersion = pointer.version;
    let bundle: ConfigBundle;
    try {
      bundle = await this.fetchBundle(pointer);
    } catch (err) {
      // Tried again on the next resync or publish.
      this.announcedVersion = before;
      this.log.error(
        { version: pointer.version, err: (err as Error).message },
        'fleet: cannot fetch the published config; keeping the running one',
      );
      this.setRunningConfig(
        this.running.version,
        this.running.sha256,
        `v${pointer.version}: ${(err as Error).message}`,
      );
      return;
    }
    this.emit(this.listeners.bundle, bundle);
  }
}

interface WatchedBucket {
  kv: KV;
  name: string;
  /** Highest revision the watch applied. */
  applied: number;
  /** `applied` at the previous check. */
  lastChecked: number;
  /** Consecutive checks behind the stream without progress. */
  behind: number;
}

/**
 * Bind to the bucket, and create it only when it does not exist. Binding needs
 * only the stream's leader; creating needs the cluster's meta leader, which a
 * cluster that just lost a node may still be electing. A bucket made by
 * another version with other settings is used as it is.
 */
async function openKv(kvm: Kvm, name: string, opts: Partial<KvOptions>): Promise<KV> {
  const kv = await kvm.open(name);
  try {
    await kv.status();
    return kv;
  } catch (err) {
    if (!/not found/i.test((err as Error).message)) throw err;
  }
  return kvm.create(name, opts);
}

async function openStore(objm: Objm, name: string, replicas: number): Promise<ObjectStore> {
  try {
    return await objm.open(name);
  } catch (err) {
    if (!/not found/i.test((err as Error).message)) throw err;
  }
  return objm.create(name, { replicas });
}

/** Run `fn`, again on failure (250 ms apart) until `withinMs`; then the last error, as a FleetError. */
async function retrying<T>(fn: () => Promise<T>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() + 250 > deadline)
        throw new FleetError(`the fleet's buckets did not take the write: ${(err as Error).message}`);
      await sleep(250);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
