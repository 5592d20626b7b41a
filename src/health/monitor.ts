/**
 * The health monitor: the one place that decides whether a PoP may be served.
 * It schedules probes per PoP with jitter (so probes do not fire in lockstep),
 * bounds how many run at once, feeds results through the rise/fall state
 * machine, applies operator overrides (API and state file), and publishes a
 * HealthView with a new epoch on every change. State is keyed by PoP id, so a
 * config reload keeps the verdicts of PoPs that still exist.
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

export type OverrideSource = 'api' | 'file';

/** What /admin/pops and explain show per PoP. */
export interface PopHealth {
  id: string;
  checked: boolean;
  up: boolean;
  serving: boolean;
  override: Override | null;
  overrideSource: OverrideSource | null;
  lastFailure: string | null;
  since: number;
  probes: number;
  target: string | null;
}

export interface HealthObserver {
  probe?(pop: string, result: ProbeResult): void;
  transition?(pop: string, up: boolean, reason: string | null): void;
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
  configKey: string;
}

export interface MonitorOptions {
  log?: Logger;
  maxInFlight?: number;
  observer?: HealthObserver;
  /** Probe implementation (tests may inject one). */
  probe?: (check: HealthCheckConfig, target: ProbeTarget) => Promise<ProbeResult>;
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
  update(pops: readonly MonitoredPop[]): void {
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
        configKey: key,
      };
      this.entries.set(pop.id, e);
      // First probe soon, spread by jitter so a fleet of checks does not start in lockstep.
      if (checked) this.schedule(e, pop.health.interval * 1000 * pop.health.jitter * this.random());
    }
    this.changed();
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
    void this.probe(check, e.target!).then((result) => {
      this.inFlight--;
      e.inFlight = false;
      if (this.entries.get(e.pop.id) === e && !this.stopped) {
        this.apply(e, result);
        this.schedule(e, this.nextDelay(e));
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
    const before = isServing(e.state.up, this.overrideOf(e));
    const { state, changed } = observe(e.state, result.ok, result.reason, h.rise, h.fall, Date.now());
    e.state = state;
    if (!changed) return;
    this.opts.observer?.transition?.(e.pop.id, state.up, state.lastFailure);
    if (state.up) this.log.info({ pop: e.pop.id, target: e.target }, 'PoP up');
    else this.log.warn({ pop: e.pop.id, target: e.target, reason: state.lastFailure, fall: h.fall }, 'PoP down');
    if (before !== isServing(state.up, this.overrideOf(e))) this.changed();
  }

  private overrideOf(e: Entry): Override | null {
    return e.apiOverride ?? e.fileOverride;
  }

  /** Set (or clear with null) an override. Returns false for an unknown PoP. */
  setOverride(id: string, override: Override | null, source: OverrideSource): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    const before = isServing(e.state.up, this.overrideOf(e));
    if (source === 'api') e.apiOverride = override;
    else e.fileOverride = override;
    this.log.info({ pop: id, override, source }, override ? 'PoP override set' : 'PoP override cleared');
    if (before !== isServing(e.state.up, this.overrideOf(e))) this.changed();
    else this.epoch++; // explain and /admin show overrides even when serving did not flip
    return true;
  }

  /** Replace every state-file override at once (the file was rewritten). */
  setFileOverrides(overrides: ReadonlyMap<string, Override>): string[] {
    const unknown = [...overrides.keys()].filter((id) => !this.entries.has(id));
    let flipped = false;
    for (const e of this.entries.values()) {
      const before = isServing(e.state.up, this.overrideOf(e));
      e.fileOverride = overrides.get(e.pop.id) ?? null;
      if (before !== isServing(e.state.up, this.overrideOf(e))) flipped = true;
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
      serving[i] = !e || isServing(e.state.up, this.overrideOf(e)) ? 1 : 0;
    });
    return { epoch: this.epoch, serving };
  }

  status(): PopHealth[] {
    return [...this.entries.values()].map((e) => ({
      id: e.pop.id,
      checked: e.pop.health.type !== 'none',
      up: e.state.up,
      serving: isServing(e.state.up, this.overrideOf(e)),
      override: this.overrideOf(e),
      overrideSource: e.apiOverride ? 'api' : e.fileOverride ? 'file' : null,
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
