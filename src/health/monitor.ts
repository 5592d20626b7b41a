/**
 * The health monitor: the one place that decides whether a PoP may be served.
 * It schedules probes per PoP with jitter (so probes do not fire in lockstep),
 * bounds how many run at once, feeds results through the rise/fall state
 * machine, applies operator overrides (API and state file), and publishes a
 * HealthView with a new epoch on every change. State is keyed by PoP id, so a
 * config reload keeps the verdicts of PoPs that still exist.
 *
 * In a fleet (plane/fleet) two more inputs, and the same one output: the
 * probe set (only this instance's share of PoPs is probed; the others keep
 * their state and lose their timer) and the fleet verdicts (a PoP's fleet or
 * held verdict replaces this instance's own, and a fleet-wide override applies
 * unless a local one is set). The view is rebuilt only when a serving flag
 * flips, so the query path pays nothing for the fleet.
 */
import type { Logger } from 'pino';
import type { HealthCheckConfig } from '../build/config/schema.js';
import { silentLogger } from '../util/logger.js';
import { runProbe, probeTarget, type ProbeResult, type ProbeTarget } from './probes.js';
import { initialState, isServing, observe, type CheckState, type Override } from './state-machine.js';
import type { HealthView } from './view.js';

export interface MonitoredPop {
  id: string;
  health: HealthCheckConfig;
  ipv4: string[];
  ipv6: string[];
}

/** Where an override in force comes from: this instance's API or state file, or the fleet. */
export type OverrideSource = 'api' | 'file' | 'fleet';

/** Where a PoP's up/down comes from in a fleet (plane/fleet/hold.ts): the fleet's verdict, a held one, or local probes. */
export type VerdictSource = 'fleet' | 'held' | 'local';

/** The fleet's word on one PoP. */
export interface FleetVerdict {
  source: VerdictSource;
  /** The fleet's (or held) verdict; null when this instance's own probes decide (`local`). */
  up: boolean | null;
  /** A fleet-wide override, and who set it. */
  override: Override | null;
  overrideBy: string | null;
}

/** One prober's vote on a PoP, as /admin/pops and explain show it. */
export interface FleetVote {
  instance: string;
  up: boolean;
  reason: string | null;
  rttMs: number | null;
  ageMs: number;
  /** Only fresh votes count (plane/fleet/verdict.ts). */
  fresh: boolean;
}

/** A PoP's fleet side: the monitor fills the first three, the control plane adds the votes behind the verdict. */
export interface PopFleetDetail {
  source: VerdictSource;
  localUp: boolean;
  probing: boolean;
  rule?: string | number;
  probers?: string[];
  verdict?: 'up' | 'down' | 'unknown';
  votesUp?: number;
  votesDown?: number;
  votes?: FleetVote[];
}

/** What /admin/pops and explain show per PoP. */
export interface PopHealth {
  id: string;
  checked: boolean;
  /** The verdict that decides: the fleet's when it has one, else this instance's probes. */
  up: boolean;
  serving: boolean;
  override: Override | null;
  overrideSource: OverrideSource | null;
  /** Who set a fleet-wide override (instance and client). */
  overrideBy?: string | null;
  /** In a fleet: where `up` comes from, this instance's own probe verdict, and whether it probes the PoP. */
  fleet?: PopFleetDetail;
  lastFailure: string | null;
  since: number;
  probes: number;
  target: string | null;
}

export interface HealthObserver {
  probe?(pop: string, result: ProbeResult): void;
  transition?(pop: string, up: boolean, reason: string | null): void;
  /** After every probe: the debounced verdict (what a fleet prober publishes). */
  observed?(pop: string, o: { up: boolean; reason: string | null; rttMs: number | null; interval: number }): void;
}

interface Entry {
  pop: MonitoredPop;
  state: CheckState;
  target: ProbeTarget | null;
  timer: NodeJS.Timeout | null;
  inFlight: boolean;
  queued: boolean;
  apiOverride: Override | null;
  fileOverride: Override | null;
  fleet: FleetVerdict | null;
  configKey: string;
}

export interface MonitorOptions {
  log?: Logger;
  maxInFlight?: number;
  observer?: HealthObserver;
  /** Probe implementation (tests may inject one). */
  probe?: (check: HealthCheckConfig, target: ProbeTarget, source?: string) => Promise<ProbeResult>;
  random?: () => number;
}

export class HealthMonitor {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners: Array<() => void> = [];
  private readonly queue: Entry[] = [];
  private inFlight = 0;
  private stopped = false;
  /** Bumped on every serving change; HealthViews carry it. */
  epoch = 1;
  private readonly log: Logger;
  private readonly maxInFlight: number;
  private readonly probe: NonNullable<MonitorOptions['probe']>;
  private readonly random: () => number;
  /** health.source_address: probes are sent from it. */
  private sourceAddress: string | undefined;
  /** The PoPs this instance probes (its fleet share); null = every checked PoP, as without a fleet. */
  private probeSet: ReadonlySet<string> | null = null;

  constructor(private readonly opts: MonitorOptions = {}) {
    this.log = opts.log ?? silentLogger();
    this.maxInFlight = opts.maxInFlight ?? 64;
    this.probe = opts.probe ?? runProbe;
    this.random = opts.random ?? Math.random;
  }

  /** Called after every change of any PoP's serving flag. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  private changed(): void {
    this.epoch++;
    for (const fn of this.listeners) fn();
  }

  /** Take a new PoP list (config load or reload). Known PoPs keep their state and overrides. */
  update(pops: readonly MonitoredPop[], sourceAddress?: string): void {
    this.sourceAddress = sourceAddress;
    const keep = new Set(pops.map((p) => p.id));
    for (const [id, e] of this.entries) {
      if (!keep.has(id)) {
        if (e.timer) clearTimeout(e.timer);
        this.entries.delete(id);
      }
    }
    for (const pop of pops) {
      const key = JSON.stringify([pop.health, pop.ipv4[0], pop.ipv6[0]]);
      const checked = pop.health.type !== 'none';
      const old = this.entries.get(pop.id);
      if (old && old.configKey === key) {
        old.pop = pop;
        continue;
      }
      if (old?.timer) clearTimeout(old.timer);
      const state = old ? old.state : initialState(!checked || pop.health.initial === 'up', Date.now());
      const e: Entry = {
        pop,
        state: checked ? state : { ...state, up: true },
        target: checked ? probeTarget(pop.health, pop) : null,
        timer: null,
        inFlight: false,
        queued: false,
        apiOverride: old?.apiOverride ?? null,
        fileOverride: old?.fileOverride ?? null,
        fleet: old?.fleet ?? null,
        configKey: key,
      };
      this.entries.set(pop.id, e);
      // First probe soon, spread by jitter so a fleet of checks does not start in lockstep.
      if (this.probes(e)) this.schedule(e, this.firstDelay(e));
    }
    this.changed();
  }

  /** Whether this instance probes the PoP: checked, and in its share (or no fleet). */
  private probes(e: Entry): boolean {
    return e.target !== null && (this.probeSet === null || this.probeSet.has(e.pop.id));
  }

  private firstDelay(e: Entry): number {
    return e.pop.health.interval * 1000 * e.pop.health.jitter * this.random();
  }

  /**
   * Probe only these PoPs (a fleet share; null: all). A PoP leaving the set
   * keeps its state and loses its timer; one joining starts from the fleet's
   * verdict (so a new prober does not report a stale state) and is probed soon.
   */
  setProbeSet(ids: ReadonlySet<string> | null): void {
    this.probeSet = ids;
    for (const e of this.entries.values()) {
      const probing = this.probes(e);
      if (!probing && e.timer) {
        clearTimeout(e.timer);
        e.timer = null;
      } else if (probing && !e.timer && !e.inFlight && !e.queued) {
        this.seed(e, e.fleet?.up ?? null);
        this.schedule(e, this.firstDelay(e));
      }
    }
  }

  /** Start this instance's own rise/fall from a known verdict (no flip on a hand-over). */
  private seed(e: Entry, up: boolean | null): void {
    if (up === null || e.target === null || e.state.up === up) return;
    e.state = { ...e.state, up, streak: 0, since: Date.now() };
  }

  /**
   * Take the fleet's verdicts and overrides (null: no fleet). A PoP whose
   * verdict turns local starts its own rise/fall from the last fleet verdict.
   * Returns whether a serving flag flipped.
   */
  setFleetVerdicts(verdicts: ReadonlyMap<string, FleetVerdict> | null): boolean {
    let flipped = false;
    for (const e of this.entries.values()) {
      const before = this.serving(e);
      const prev = e.fleet;
      e.fleet = verdicts?.get(e.pop.id) ?? null;
      if (prev?.up != null && e.fleet?.up == null) this.seed(e, prev.up);
      if (before !== this.serving(e)) flipped = true;
    }
    if (flipped) this.changed();
    return flipped;
  }

  private schedule(e: Entry, delayMs: number): void {
    if (this.stopped) return;
    if (e.timer) clearTimeout(e.timer);
    e.timer = setTimeout(() => this.fire(e), Math.max(0, delayMs));
    e.timer.unref();
  }

  private nextDelay(e: Entry): number {
    const h = e.pop.health;
    return h.interval * 1000 * (1 + h.jitter * (this.random() * 2 - 1));
  }

  private fire(e: Entry): void {
    e.timer = null;
    if (this.entries.get(e.pop.id) !== e || this.stopped) return;
    if (this.inFlight >= this.maxInFlight) {
      // Bounded concurrency: wait for a slot instead of piling up sockets.
      if (!e.queued) {
        e.queued = true;
        this.queue.push(e);
      }
      return;
    }
    this.start(e);
  }

  private start(e: Entry): void {
    e.inFlight = true;
    this.inFlight++;
    const check = e.pop.health;
    void this.probe(check, e.target!, this.sourceAddress).then((result) => {
      this.inFlight--;
      e.inFlight = false;
      if (this.entries.get(e.pop.id) === e && !this.stopped) {
        this.apply(e, result);
        if (this.probes(e)) this.schedule(e, this.nextDelay(e));
      }
      // Hand the freed slot to the next queued entry that is still current
      // (entries of PoPs removed or re-configured by a reload are skipped).
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        next.queued = false;
        if (this.entries.get(next.pop.id) === next && !this.stopped) {
          this.start(next);
          break;
        }
      }
    });
  }

  private apply(e: Entry, result: ProbeResult): void {
    this.opts.observer?.probe?.(e.pop.id, result);
    const h = e.pop.health;
    const before = this.serving(e);
    const { state, changed } = observe(e.state, result.ok, result.reason, h.rise, h.fall, Date.now());
    e.state = state;
    this.opts.observer?.observed?.(e.pop.id, {
      up: state.up,
      reason: result.reason,
      rttMs: result.ok ? result.durationMs : null,
      interval: h.interval,
    });
    if (!changed) return;
    this.opts.observer?.transition?.(e.pop.id, state.up, state.lastFailure);
    if (state.up) this.log.info({ pop: e.pop.id, target: e.target }, 'PoP up');
    else this.log.warn({ pop: e.pop.id, target: e.target, reason: state.lastFailure, fall: h.fall }, 'PoP down');
    if (before !== this.serving(e)) this.changed();
  }

  /** A local override (API, then state file) wins over the fleet's. */
  private overrideOf(e: Entry): Override | null {
    return e.apiOverride ?? e.fileOverride ?? e.fleet?.override ?? null;
  }

  /** The verdict that decides: the fleet's (or held) one, else this instance's probes. */
  private upOf(e: Entry): boolean {
    return e.fleet?.up ?? e.state.up;
  }

  private serving(e: Entry): boolean {
    return isServing(this.upOf(e), this.overrideOf(e));
  }

  /** Set (or clear with null) a local override. Returns false for an unknown PoP. */
  setOverride(id: string, override: Override | null, source: Exclude<OverrideSource, 'fleet'>): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    const before = this.serving(e);
    if (source === 'api') e.apiOverride = override;
    else e.fileOverride = override;
    this.log.info({ pop: id, override, source }, override ? 'PoP override set' : 'PoP override cleared');
    if (before !== this.serving(e)) this.changed();
    else this.epoch++; // explain and /admin show overrides even when serving did not flip
    return true;
  }

  /** Replace every state-file override at once (the file was rewritten). */
  setFileOverrides(overrides: ReadonlyMap<string, Override>): string[] {
    const unknown = [...overrides.keys()].filter((id) => !this.entries.has(id));
    let flipped = false;
    for (const e of this.entries.values()) {
      const before = this.serving(e);
      e.fileOverride = overrides.get(e.pop.id) ?? null;
      if (before !== this.serving(e)) flipped = true;
    }
    this.log.info({ overrides: Object.fromEntries(overrides), unknown }, 'admin state file applied');
    if (flipped) this.changed();
    return unknown;
  }

  /** The serving flags in the order of `ids` (a snapshot's PoP order). */
  viewFor(ids: readonly string[]): HealthView {
    const serving = new Uint8Array(ids.length);
    ids.forEach((id, i) => {
      const e = this.entries.get(id);
      serving[i] = !e || this.serving(e) ? 1 : 0;
    });
    return { epoch: this.epoch, serving };
  }

  status(): PopHealth[] {
    return [...this.entries.values()].map((e) => ({
      id: e.pop.id,
      checked: e.pop.health.type !== 'none',
      up: this.upOf(e),
      serving: this.serving(e),
      override: this.overrideOf(e),
      overrideSource: e.apiOverride ? 'api' : e.fileOverride ? 'file' : e.fleet?.override ? 'fleet' : null,
      ...(this.probeSet === null && e.fleet === null
        ? {}
        : {
            overrideBy: e.apiOverride || e.fileOverride ? null : (e.fleet?.overrideBy ?? null),
            fleet: { source: e.fleet?.source ?? 'local', localUp: e.state.up, probing: this.probes(e) },
          }),
      lastFailure: e.state.lastFailure,
      since: e.state.since,
      probes: e.state.probes,
      target: e.target ? `${e.target.address}:${e.target.port}` : null,
    }));
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
  }
}
