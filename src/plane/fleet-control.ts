/**
 * The control plane's side of the fleet (issue 14): started when the local
 * config has a `fleet:` section, in the single process or the cluster primary
 * (never in a worker). It connects the FleetLink (plane/fleet) to the health
 * monitor: the link's view decides which PoPs this instance probes (its share)
 * and hands the fleet's verdicts and overrides to the monitor, which builds
 * the same HealthView as without a fleet; the monitor's debounced probe
 * verdicts go back to the link as observations. It also carries fleet-wide
 * overrides (admin API, state file), follows published configs through the
 * control plane's reload path (`fleet.config: follow`), keeps the per-host
 * sections of the local file over a followed bundle, and answers
 * /admin/fleet, explain's votes and the fleet metrics.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { loadConfigFile } from '../build/config/load.js';
import type { MeridianConfig } from '../build/config/schema.js';
import { resolveIdentity, resolveServerId } from '../build/pops.js';
import { type BuildOptions, buildSnapshotFromFile, type Snapshot } from '../build/snapshot.js';
import { FleetError } from '../errors.js';
import type { FleetVerdict, HealthMonitor, PopHealth } from '../health/monitor.js';
import type { Override } from '../health/state-machine.js';
import { registerFleetMetrics } from '../observability/fleet-metrics.js';
import { meridianVersion } from '../util/version.js';
import { type FleetConfig, fleetInstanceName, fleetStateDir } from './fleet/config.js';
import type { FleetView } from './fleet/decide.js';
import { ConfigFollower, readCurrent } from './fleet/follow.js';
import { FleetLink } from './fleet/link.js';

/** What a followed bundle never overrides: the sections that belong to the host (docs/fleet.md). */
export const HOST_SECTIONS = [
  'server.listen',
  'server.identity',
  'server.workers',
  'admin',
  'health.source_address',
  'fleet',
] as const;

export type OverrideScope = 'fleet' | 'local';

/** What FleetControl needs of the control plane. */
export interface FleetHost {
  monitor: HealthMonitor;
  registry: Registry;
  log: Logger;
  snapshot(): Snapshot;
  /** Run `file` through the reload path (compile in the worker, change guard, swap). */
  reloadFrom(file: string, reason: string): Promise<{ ok: boolean; held?: { id: string }; message: string }>;
}

/** The local config file: what `--config` names, whatever version of a published config runs. */
export interface LocalConfig {
  file: string;
  config: MeridianConfig;
}

/**
 * The config a server starts from. With `fleet.config: follow` and a
 * followed version recorded in the state directory, that version (with the
 * local file's host sections); otherwise the local file. Returns the file to
 * build and the local config.
 */
export async function startupConfigFile(configFile: string): Promise<{ file: string; local: LocalConfig | null }> {
  let config: MeridianConfig;
  try {
    config = loadConfigFile(configFile).config;
  } catch {
    return { file: configFile, local: null }; // the build reports the problems, with positions
  }
  const local = { file: configFile, config };
  if (config.fleet?.config !== 'follow') return { file: configFile, local };
  const current = await readCurrent(fleetStateDir(config.fleet, configFile));
  return { file: current?.file ?? configFile, local };
}

/**
 * Build the snapshot a server starts with (startupConfigFile). A followed
 * version that no longer builds here (a database gone) is logged and the
 * local file is used instead: Meridian starts rather than not at all.
 */
export async function buildStartupSnapshot(configFile: string, opts: BuildOptions, log: Logger): Promise<Snapshot> {
  const { file, local } = await startupConfigFile(configFile);
  if (local && file !== configFile) {
    try {
      return localizeSnapshot(buildSnapshotFromFile(file, opts), local);
    } catch (err) {
      log.error(
        { file, err: (err as Error).message.split('\n').slice(0, 3) },
        'fleet: the followed config version does not build here; starting from the local config file',
      );
    }
  }
  return buildSnapshotFromFile(configFile, opts);
}

/**
 * `snapshot` with the host sections of the local config: a followed bundle
 * is the fleet's config, but where this host listens, what it calls itself,
 * its admin API, the address it probes from and its fleet connection stay
 * its own. Relative paths of the
 * admin section (the state file) stay relative to the local file.
 */
export function localizeSnapshot(snapshot: Snapshot, local: LocalConfig): Snapshot {
  if (snapshot.file === local.file) return snapshot;
  const l = local.config;
  const dir = path.dirname(local.file);
  const admin = { ...l.admin, state_file: l.admin.state_file && path.resolve(dir, l.admin.state_file) };
  const server = {
    ...snapshot.config.server,
    listen: l.server.listen,
    identity: l.server.identity,
    workers: l.server.workers,
  };
  const health = { ...snapshot.config.health, source_address: l.health.source_address };
  const config = { ...snapshot.config, server, admin, health, fleet: l.fleet };
  return {
    ...snapshot,
    config,
    identity: resolveIdentity(l.server.identity),
    // server_id "identity" names this host, not the publisher.
    serverId: resolveServerId(config),
  };
}

/** `by` of a fleet override set through this instance. */
const byApi = (instance: string) => `${instance} (admin API)`;
const byFile = (instance: string) => `${instance} (state file)`;

export class FleetControl {
  readonly link: FleetLink;
  readonly instance: string;
  private readonly fleet: FleetConfig;
  private follower: ConfigFollower | null = null;
  private readonly stateDir: string;
  /** The state file's fleet-scoped lines as last read, and the changes not yet written to the fleet. */
  private fileOverrides = new Map<string, Override>();
  private readonly pendingFile = new Map<string, Override | null>();
  private flushing = false;
  private readonly log: Logger;

  constructor(
    private readonly local: LocalConfig,
    private readonly host: FleetHost,
  ) {
    this.fleet = local.config.fleet!;
    this.log = host.log.child({ component: 'fleet' });
    this.instance = fleetInstanceName(this.fleet, resolveIdentity(local.config.server.identity));
    this.stateDir = fleetStateDir(this.fleet, local.file);
    const snapshot = host.snapshot();
    this.link = FleetLink.start({
      config: this.fleet,
      instance: this.instance,
      baseDir: path.dirname(local.file),
      pops: snapshot.pops.map((p) => p.id),
      log: this.log,
      software: `meridian ${meridianVersion()}`,
    });
    this.link.onChange((view) => this.applyView(view));
    this.link.onConnection((c) => {
      if (c.connected) this.flushFileOverrides();
    });
    this.applyView(this.link.view());
    this.log.info(
      {
        instance: this.instance,
        servers: this.fleet.servers,
        config: this.fleet.config,
        replicas: this.fleet.probe_replicas,
      },
      'fleet: joining; every PoP is probed here until the fleet answers',
    );
    registerFleetMetrics(host.registry, {
      connected: () => this.link.connection().connected,
      view: () => this.link.view(),
      runningVersion: () => this.follower?.current()?.version ?? null,
      publishedVersion: () => this.link.publishedConfig()?.version ?? null,
      following: () => this.fleet.config === 'follow',
      rejectedValues: () => this.link.rejectedValues(),
    });
  }

  /** Start following published configs (`config: follow`); `file` is the config file running now. */
  async follow(): Promise<void> {
    const snapshot = this.host.snapshot();
    if (this.fleet.config !== 'follow') {
      this.link.setRunningConfig(null, snapshot.hash);
      return;
    }
    const current = await readCurrent(this.stateDir);
    const running = current && current.file === snapshot.file ? current : null;
    this.link.setRunningConfig(running?.version ?? null, snapshot.hash);
    this.follower = new ConfigFollower(this.link, {
      stateDir: this.stateDir,
      running,
      log: this.log,
      apply: async (file, bundle) => {
        const r = await this.host.reloadFrom(file, `fleet config v${bundle.version}`);
        if (r.ok) return { sha256: this.host.snapshot().hash };
        if (r.held)
          throw new FleetError(
            `held by the change guard on this host (change ${r.held.id}); accept it here with meridian reload --accept ${r.held.id}`,
          );
        throw new FleetError(r.message);
      },
    });
  }

  /** A followed snapshot with this host's sections (HOST_SECTIONS). */
  localize(snapshot: Snapshot): Snapshot {
    return localizeSnapshot(snapshot, this.local);
  }

  /** A new snapshot runs (start, reload, accepted change): new PoPs, and the config this instance reports. */
  configApplied(snapshot: Snapshot, accepted = false): void {
    this.link.setPops(snapshot.pops.map((p) => p.id));
    if (accepted && this.follower) {
      void this.follower.adopt(snapshot.file, snapshot.hash);
      return;
    }
    if (!this.follower) this.link.setRunningConfig(null, snapshot.hash);
  }

  /** The fleet's view into the monitor: this instance's share to probe, the verdicts and overrides to apply. */
  private applyView(view: FleetView): void {
    const verdicts = new Map<string, FleetVerdict>();
    for (const p of view.pops)
      verdicts.set(p.pop, {
        source: p.source,
        up: p.up,
        override: p.override?.override ?? null,
        overrideBy: p.override?.by ?? null,
      });
    this.host.monitor.setProbeSet(new Set(view.probes));
    this.host.monitor.setFleetVerdicts(verdicts);
  }

  /** A debounced probe verdict of this instance (published only for its share). */
  observed(pop: string, o: { up: boolean; reason: string | null; rttMs: number | null; interval: number }): void {
    this.link.observe(pop, o);
  }

  /**
   * Set or clear an override. `fleet` (the default) writes it to the fleet's
   * bucket and every instance applies it; `local` applies here only (and wins
   * here). Returns false for an unknown PoP; throws FleetError when the fleet
   * cannot be reached.
   */
  async setOverride(pop: string, override: Override | null, scope: OverrideScope): Promise<boolean> {
    if (!this.host.snapshot().pops.some((p) => p.id === pop)) return false;
    if (scope === 'local') return this.host.monitor.setOverride(pop, override, 'api');
    await this.link.setOverride(pop, override, byApi(this.instance));
    return true;
  }

  /**
   * The state file's fleet-scoped lines. The file is read as a list of
   * commands: a line added or changed sets that fleet override, a line
   * removed clears the fleet override this instance's file set (not one set
   * since by someone else). Changes made while NATS is away are written when
   * it is back.
   */
  setFileOverrides(next: ReadonlyMap<string, Override>): void {
    for (const [pop, o] of next) if (this.fileOverrides.get(pop) !== o) this.pendingFile.set(pop, o);
    for (const pop of this.fileOverrides.keys()) if (!next.has(pop)) this.pendingFile.set(pop, null);
    this.fileOverrides = new Map(next);
    this.flushFileOverrides();
  }

  private flushFileOverrides(): void {
    if (this.flushing || !this.pendingFile.size || !this.link.connection().connected) return;
    this.flushing = true;
    void (async () => {
      try {
        for (const [pop, o] of [...this.pendingFile]) {
          const current = this.link.view().pops.find((p) => p.pop === pop)?.override ?? null;
          // A removed line clears only what this file set.
          if (o !== null || current?.by === byFile(this.instance))
            await this.link.setOverride(pop, o, byFile(this.instance));
          if (this.pendingFile.get(pop) === o) this.pendingFile.delete(pop);
        }
      } catch (err) {
        this.log.warn(
          { err: (err as Error).message },
          'fleet: state file overrides not written yet; again on reconnect',
        );
      } finally {
        this.flushing = false;
      }
    })();
  }

  /** Each PoP's fleet detail for explain and /admin/pops: rule, probers, votes behind the state. */
  decorate(status: PopHealth[]): PopHealth[] {
    const view = this.link.view();
    const pops = new Map(view.pops.map((p) => [p.pop, p]));
    return status.map((s) => {
      const p = pops.get(s.id);
      if (!p || !s.fleet) return s;
      return {
        ...s,
        fleet: {
          ...s.fleet,
          rule: p.rule,
          probers: p.probers,
          verdict: p.verdict.state,
          votesUp: p.verdict.up,
          votesDown: p.verdict.down,
          votes: p.verdict.votes,
        },
      };
    });
  }

  /** GET /admin/fleet: the connection, members with their config version, who probes which PoP, each PoP's votes. */
  status(): unknown {
    const view = this.link.view();
    const connection = this.link.connection();
    const published = this.link.publishedConfig();
    const probedBy = (m: string) => view.pops.filter((p) => p.probers.includes(m)).map((p) => p.pop);
    return {
      instance: this.instance,
      connection: { ...connection, since: new Date(connection.since).toISOString() },
      rule: this.fleet.verdict,
      probeReplicas: this.fleet.probe_replicas,
      config: {
        mode: this.fleet.config,
        running: { version: this.follower?.current()?.version ?? null, file: this.host.snapshot().file },
        published: published ? { ...published, published_at: new Date(published.published_at).toISOString() } : null,
      },
      members: view.members.map((m) => ({
        instance: m.instance,
        alive: m.alive,
        self: m.self,
        lastSeenSeconds: Math.max(0, (view.at - m.seenAt) / 1000),
        configVersion: m.configVersion,
        configSha256: m.configSha256,
        configError: m.configError,
        software: m.software,
        probes: probedBy(m.instance),
      })),
      live: view.live,
      probes: view.probes,
      pops: view.pops.map((p) => ({
        pop: p.pop,
        rule: p.rule,
        probers: p.probers,
        source: p.source,
        up: p.up,
        verdict: p.verdict.state,
        votesUp: p.verdict.up,
        votesDown: p.verdict.down,
        votes: p.verdict.votes,
        override: p.override
          ? { override: p.override.override, by: p.override.by, since: new Date(p.override.setAt).toISOString() }
          : null,
      })),
    };
  }

  /** Leave the fleet: this instance's heartbeat and observations are removed, so its share moves at once. */
  async close(): Promise<void> {
    await this.follower?.settled();
    await this.link.close();
  }
}
