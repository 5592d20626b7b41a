/**
 * HealthMonitor (src/health/monitor.ts) with an injected probe and random
 * source, on fake timers: no sockets. Covers state kept across update(),
 * forgotten and new PoPs, override precedence (API over state file), the
 * HealthView order and epoch, bounded probe concurrency, and the fleet's
 * inputs (probe set, fleet verdicts and overrides, the observer hook).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HealthCheckConfig } from '../../../src/build/config/schema.js';
import { HealthMonitor, type MonitoredPop } from '../../../src/health/monitor.js';
import type { ProbeResult, ProbeTarget } from '../../../src/health/probes.js';

const INTERVAL_MS = 1000;

function check(o: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return {
    type: 'http',
    path: '/',
    method: 'GET',
    expect_status: [200],
    tls_verify: true,
    interval: INTERVAL_MS / 1000,
    timeout: 0.5,
    rise: 2,
    fall: 2,
    initial: 'up',
    jitter: 0,
    ...o,
  };
}

/** PoP `id` probed at 10.0.0.<n> (the probe identifies PoPs by target address). */
function pop(id: string, n: number, o: Partial<HealthCheckConfig> = {}): MonitoredPop {
  return { id, health: check(o), ipv4: [`10.0.0.${n}`], ipv6: [] };
}

/**
 * A scripted probe: each target answers ok/fail per `results` (default ok);
 * in `hold` mode every probe stays pending until released.
 */
class FakeProber {
  results = new Map<string, { ok: boolean; reason: string | null }>();
  calls = new Map<string, number>();
  hold = false;
  inFlight = 0;
  maxInFlight = 0;
  pending: Array<{ address: string; resolve: (r: ProbeResult) => void }> = [];

  readonly probe = (_check: HealthCheckConfig, target: ProbeTarget): Promise<ProbeResult> => {
    this.calls.set(target.address, (this.calls.get(target.address) ?? 0) + 1);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const result = (): ProbeResult => {
      this.inFlight--;
      const r = this.results.get(target.address) ?? { ok: true, reason: null };
      return { ...r, durationMs: 1 };
    };
    if (!this.hold) return Promise.resolve(result());
    return new Promise((resolve) => this.pending.push({ address: target.address, resolve: () => resolve(result()) }));
  };

  fail(n: number, reason = 'timeout'): void {
    this.results.set(`10.0.0.${n}`, { ok: false, reason });
  }
  succeed(n: number): void {
    this.results.delete(`10.0.0.${n}`);
  }
  count(n: number): number {
    return this.calls.get(`10.0.0.${n}`) ?? 0;
  }
  /** Release the oldest pending probe (optionally only one for address 10.0.0.<n>). */
  release(n?: number): boolean {
    const i = n === undefined ? 0 : this.pending.findIndex((p) => p.address === `10.0.0.${n}`);
    if (i < 0 || i >= this.pending.length) return false;
    const [p] = this.pending.splice(i, 1);
    p.resolve({ ok: true, reason: null, durationMs: 0 });
    return true;
  }
}

const byId = (m: HealthMonitor, id: string) => m.status().find((p) => p.id === id);
/** Let due timers fire and probe promises settle. */
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

let prober: FakeProber;
let monitor: HealthMonitor;

beforeEach(() => {
  vi.useFakeTimers();
  prober = new FakeProber();
});
afterEach(() => {
  monitor?.stop();
  vi.useRealTimers();
});

function makeMonitor(maxInFlight = 64): HealthMonitor {
  monitor = new HealthMonitor({ probe: prober.probe, random: () => 0.5, maxInFlight });
  return monitor;
}

describe('HealthMonitor: verdicts from probes', () => {
  it('new PoPs start at `initial`; unchecked PoPs are always up', () => {
    const m = makeMonitor();
    m.update([
      pop('a', 1, { initial: 'up' }),
      pop('b', 2, { initial: 'down' }),
      pop('c', 3, { type: 'none', initial: 'down' }),
    ]);
    expect(byId(m, 'a')).toMatchObject({ checked: true, up: true, serving: true, probes: 0, target: '10.0.0.1:80' });
    expect(byId(m, 'b')).toMatchObject({ checked: true, up: false, serving: false, probes: 0 });
    expect(byId(m, 'c')).toMatchObject({ checked: false, up: true, serving: true, target: null });
    expect([...m.viewFor(['a', 'b', 'c']).serving]).toEqual([1, 0, 1]);
  });

  it('probes drive the verdict through fall and rise; unchecked PoPs are never probed', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1, { fall: 2, rise: 2 }), pop('c', 3, { type: 'none' })]);
    await tick();
    expect(prober.count(1)).toBe(1);
    prober.fail(1, 'status 503');
    await tick(INTERVAL_MS);
    expect(byId(m, 'a')).toMatchObject({ up: true, lastFailure: 'status 503' });
    await tick(INTERVAL_MS);
    expect(byId(m, 'a')).toMatchObject({ up: false, serving: false, lastFailure: 'status 503', probes: 3 });
    prober.succeed(1);
    await tick(INTERVAL_MS);
    expect(byId(m, 'a')?.up).toBe(false);
    await tick(INTERVAL_MS);
    expect(byId(m, 'a')).toMatchObject({ up: true, serving: true, lastFailure: null });
    expect(prober.count(3)).toBe(0);
  });

  it('probes a PoP at `target` and `port` when given, else its first address on 80/443', () => {
    const m = makeMonitor();
    m.update([
      pop('a', 1, { target: '10.9.9.9', port: 8080 }),
      pop('b', 2, { type: 'https' }),
      pop('c', 3, { type: 'tcp', port: 22 }),
      { id: 'v6', health: check(), ipv4: [], ipv6: ['2001:db8::1'] },
    ]);
    expect(m.status().map((p) => p.target)).toEqual(['10.9.9.9:8080', '10.0.0.2:443', '10.0.0.3:22', '2001:db8::1:80']);
  });
});

describe('HealthMonitor.update: state across reloads', () => {
  it('keeps the verdict, failure reason and overrides of PoPs that still exist (same or changed check)', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1, { fall: 1 }), pop('b', 2)]);
    prober.fail(1, 'refused');
    await tick();
    expect(byId(m, 'a')).toMatchObject({ up: false, lastFailure: 'refused' });
    m.setOverride('b', 'drain', 'api');

    // Same check: nothing changes.
    m.update([pop('a', 1, { fall: 1 }), pop('b', 2)]);
    expect(byId(m, 'a')).toMatchObject({ up: false, lastFailure: 'refused' });
    expect(byId(m, 'b')).toMatchObject({ serving: false, override: 'drain', overrideSource: 'api' });

    // Changed check (new path, rise): the verdict is kept, not reset to `initial`.
    m.update([pop('a', 1, { fall: 1, path: '/health', rise: 3 }), pop('b', 2, { interval: 2 })]);
    expect(byId(m, 'a')).toMatchObject({ up: false, serving: false, lastFailure: 'refused' });
    expect(byId(m, 'b')).toMatchObject({ serving: false, override: 'drain' });
    expect([...m.viewFor(['a', 'b']).serving]).toEqual([0, 0]);
  });

  it('a kept PoP under a changed check follows the new thresholds', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1, { fall: 1 })]);
    prober.fail(1);
    await tick();
    expect(byId(m, 'a')?.up).toBe(false);
    m.update([pop('a', 1, { fall: 1, rise: 3 })]);
    prober.succeed(1);
    await tick(); // the changed check probes again soon
    await tick(INTERVAL_MS);
    expect(byId(m, 'a')?.up).toBe(false);
    await tick(INTERVAL_MS);
    expect(byId(m, 'a')?.up).toBe(true);
  });

  it('forgets removed PoPs (and stops probing them); a PoP added back starts at `initial` without its old override', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1, { fall: 1 }), pop('b', 2)]);
    prober.fail(1);
    await tick();
    m.setOverride('a', 'force-down', 'api');
    m.update([pop('b', 2)]);
    expect(m.status().map((p) => p.id)).toEqual(['b']);
    const before = prober.count(1);
    await tick(5 * INTERVAL_MS);
    expect(prober.count(1)).toBe(before);
    expect(prober.count(2)).toBeGreaterThanOrEqual(5);

    prober.succeed(1);
    m.update([pop('a', 1, { fall: 1 }), pop('b', 2)]);
    expect(byId(m, 'a')).toMatchObject({
      up: true,
      serving: true,
      override: null,
      overrideSource: null,
      lastFailure: null,
      probes: 0,
    });
  });

  it('new PoPs in a reload start at their own `initial`', () => {
    const m = makeMonitor();
    m.update([pop('a', 1)]);
    m.update([pop('a', 1), pop('n1', 5, { initial: 'down' }), pop('n2', 6, { initial: 'up' })]);
    expect(byId(m, 'n1')).toMatchObject({ up: false, serving: false });
    expect(byId(m, 'n2')).toMatchObject({ up: true, serving: true });
  });

  it('a probe still in flight for a removed PoP does not touch the PoP added back under that id', async () => {
    const m = makeMonitor();
    prober.hold = true;
    m.update([pop('a', 1, { fall: 1 })]);
    await tick();
    expect(prober.pending).toHaveLength(1);
    m.update([]);
    prober.fail(1, 'timeout');
    m.update([pop('a', 1, { fall: 1 })]);
    expect(prober.release()).toBe(true); // the old entry's probe settles (failed)
    await tick();
    expect(byId(m, 'a')).toMatchObject({ up: true, probes: 0, lastFailure: null });
  });
});

describe('HealthMonitor overrides: API over state file', () => {
  it('API override wins over the file; clearing it falls back to the file, then to the probe verdict', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1, { fall: 1 }), pop('b', 2)]);
    expect(m.setFileOverrides(new Map([['a', 'drain']]))).toEqual([]);
    expect(byId(m, 'a')).toMatchObject({ serving: false, override: 'drain', overrideSource: 'file' });

    expect(m.setOverride('a', 'force-up', 'api')).toBe(true);
    expect(byId(m, 'a')).toMatchObject({ serving: true, override: 'force-up', overrideSource: 'api' });

    // A rewritten state file does not displace the API override.
    m.setFileOverrides(new Map([['a', 'force-down']]));
    expect(byId(m, 'a')).toMatchObject({ serving: true, override: 'force-up', overrideSource: 'api' });

    m.setOverride('a', null, 'api');
    expect(byId(m, 'a')).toMatchObject({ serving: false, override: 'force-down', overrideSource: 'file' });

    m.setFileOverrides(new Map());
    expect(byId(m, 'a')).toMatchObject({ serving: true, override: null, overrideSource: null });
  });

  it('force-up serves a PoP whose probes fail; drain and force-down hide a healthy one', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1, { fall: 1 }), pop('b', 2), pop('c', 3)]);
    prober.fail(1);
    await tick();
    m.setOverride('a', 'force-up', 'api');
    m.setOverride('b', 'drain', 'api');
    m.setOverride('c', 'force-down', 'file');
    expect(m.status().map((p) => [p.id, p.up, p.serving])).toEqual([
      ['a', false, true],
      ['b', true, false],
      ['c', true, false],
    ]);
    expect([...m.viewFor(['a', 'b', 'c']).serving]).toEqual([1, 0, 0]);
  });

  it('setFileOverrides replaces every file override at once and returns the unknown PoPs', () => {
    const m = makeMonitor();
    m.update([pop('a', 1), pop('b', 2)]);
    m.setFileOverrides(
      new Map([
        ['a', 'drain'],
        ['b', 'drain'],
      ]),
    );
    const unknown = m.setFileOverrides(
      new Map([
        ['b', 'force-down'],
        ['zzz', 'drain'],
        ['yyy', 'force-up'],
      ]),
    );
    expect(unknown.sort()).toEqual(['yyy', 'zzz']);
    expect(byId(m, 'a')).toMatchObject({ override: null, serving: true });
    expect(byId(m, 'b')).toMatchObject({ override: 'force-down', overrideSource: 'file', serving: false });
  });

  it('setOverride on an unknown PoP returns false and changes nothing', () => {
    const m = makeMonitor();
    m.update([pop('a', 1)]);
    const epoch = m.epoch;
    expect(m.setOverride('nope', 'drain', 'api')).toBe(false);
    expect(m.setOverride('nope', 'drain', 'file')).toBe(false);
    expect(m.epoch).toBe(epoch);
  });
});

describe('HealthMonitor.viewFor: order and epoch', () => {
  it('gives one flag per id in the order asked; ids it does not know are serving', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1, { fall: 1 }), pop('b', 2), pop('c', 3, { initial: 'down' })]);
    prober.fail(1);
    await tick();
    expect([...m.viewFor(['c', 'a', 'b']).serving]).toEqual([0, 0, 1]);
    expect([...m.viewFor(['b', 'unknown', 'c', 'a']).serving]).toEqual([1, 1, 0, 0]);
    expect(m.viewFor([]).serving).toHaveLength(0);
  });

  it('bumps the epoch on update, on every serving flip and on every override call; not on a probe that changes nothing', async () => {
    const m = makeMonitor();
    const changes: number[] = [];
    m.onChange(() => changes.push(m.epoch));
    const e0 = m.epoch;
    m.update([pop('a', 1, { fall: 2, rise: 1 }), pop('b', 2)]);
    const e1 = m.epoch;
    expect(e1).toBeGreaterThan(e0);
    expect(m.viewFor(['a']).epoch).toBe(e1);

    await tick(); // healthy probes: nothing changes
    await tick(INTERVAL_MS);
    expect(m.epoch).toBe(e1);

    prober.fail(1);
    await tick(INTERVAL_MS); // first failure: still up (fall 2)
    expect(m.epoch).toBe(e1);
    await tick(INTERVAL_MS); // second failure: down
    const e2 = m.epoch;
    expect(e2).toBeGreaterThan(e1);
    expect(m.viewFor(['a', 'b'])).toEqual({ epoch: e2, serving: new Uint8Array([0, 1]) });

    // Override that flips serving, and one that does not (a is already out): both bump.
    m.setOverride('b', 'drain', 'api');
    const e3 = m.epoch;
    expect(e3).toBeGreaterThan(e2);
    m.setOverride('a', 'drain', 'api');
    const e4 = m.epoch;
    expect(e4).toBeGreaterThan(e3);

    prober.succeed(1);
    await tick(INTERVAL_MS); // a comes back up (rise 1) but stays drained: serving does not flip
    expect(byId(m, 'a')).toMatchObject({ up: true, serving: false });
    expect([...m.viewFor(['a', 'b']).serving]).toEqual([0, 0]);

    m.setOverride('a', null, 'api');
    expect([...m.viewFor(['a', 'b']).serving]).toEqual([1, 0]);
    expect(m.epoch).toBeGreaterThan(e4);
    // onChange listeners saw every serving flip (update, a down, b drained, a undrained).
    expect(changes.length).toBeGreaterThanOrEqual(4);
    expect(changes).toEqual([...changes].sort((x, y) => x - y));
  });
});

describe('HealthMonitor: bounded probe concurrency', () => {
  it('with maxInFlight 2 and 10 PoPs whose probes hang until released, never more than 2 run at once, and every PoP gets probed', async () => {
    const m = makeMonitor(2);
    prober.hold = true;
    const pops = Array.from({ length: 10 }, (_, i) => pop(`p${i}`, i + 1));
    m.update(pops);
    await tick();
    expect(prober.inFlight).toBe(2);
    expect(prober.pending).toHaveLength(2);
    // Time passes with both slots stuck: nobody else starts.
    await tick(5 * INTERVAL_MS);
    expect(prober.inFlight).toBe(2);
    expect(prober.maxInFlight).toBe(2);

    // Release one at a time; each release lets exactly one more start.
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 10; i++) {
      for (const p of prober.pending) seen.add(p.address);
      prober.release();
      await tick();
      expect(prober.inFlight).toBeLessThanOrEqual(2);
    }
    expect(seen.size).toBe(10);
    expect(prober.maxInFlight).toBe(2);
    for (let n = 1; n <= 10; n++) expect(prober.count(n)).toBeGreaterThanOrEqual(1);
  });

  it('with slots free again, queued probes run without waiting for another interval', async () => {
    const m = makeMonitor(1);
    prober.hold = true;
    m.update([pop('a', 1), pop('b', 2), pop('c', 3)]);
    await tick();
    expect(prober.pending.map((p) => p.address)).toEqual(['10.0.0.1']);
    prober.release();
    await tick();
    expect(prober.pending.map((p) => p.address)).toEqual(['10.0.0.2']);
    prober.release();
    await tick();
    expect(prober.pending.map((p) => p.address)).toEqual(['10.0.0.3']);
  });

  it('a reload while every slot is busy does not stall probing (queued entries of replaced or removed PoPs)', async () => {
    const m = makeMonitor(1);
    prober.hold = true;
    m.update([pop('x', 1), pop('b', 2, { fall: 1 })]);
    await tick();
    // x holds the only slot, b waits in the queue.
    expect(prober.pending.map((p) => p.address)).toEqual(['10.0.0.1']);
    // Reload: x is removed, b's check changes (so b gets a fresh entry, queued again behind the busy slot).
    m.update([pop('b', 2, { fall: 1, path: '/health' })]);
    await tick();
    prober.hold = false;
    prober.fail(2, 'refused');
    prober.release(1); // x's probe settles: the slot is free
    await tick(10 * INTERVAL_MS);
    // b must be probed (and, failing with fall 1, go down) within a few intervals.
    expect(prober.count(2)).toBeGreaterThanOrEqual(1);
    expect(byId(m, 'b')).toMatchObject({ up: false, lastFailure: 'refused' });
  });

  it('stop() cancels every scheduled probe', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1), pop('b', 2)]);
    await tick();
    const a = prober.count(1);
    m.stop();
    await tick(10 * INTERVAL_MS);
    expect(prober.count(1)).toBe(a);
  });
});

describe('HealthMonitor in a fleet: probe set and fleet verdicts', () => {
  const verdict = (
    up: boolean | null,
    o: { override?: 'drain' | 'force-up' | 'force-down'; source?: 'fleet' | 'held' | 'local' } = {},
  ) =>
    ({
      source: o.source ?? (up === null ? 'local' : 'fleet'),
      up,
      override: o.override ?? null,
      overrideBy: o.override ? 'ns1 (admin API)' : null,
    }) as const;

  it('only the PoPs of the probe set are probed; one leaving keeps its state, one joining is probed soon', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1), pop('b', 2)]);
    m.setProbeSet(new Set(['a']));
    await tick(3 * INTERVAL_MS);
    expect(prober.count(1)).toBeGreaterThanOrEqual(3);
    expect(prober.count(2)).toBeLessThanOrEqual(1); // at most the first probe, scheduled before the set came
    const b = prober.count(2);
    await tick(3 * INTERVAL_MS);
    expect(prober.count(2)).toBe(b);
    m.setProbeSet(new Set(['b']));
    const a = prober.count(1);
    await tick(INTERVAL_MS);
    expect(prober.count(2)).toBeGreaterThan(b);
    await tick(3 * INTERVAL_MS);
    expect(prober.count(1)).toBeLessThanOrEqual(a + 1);
    m.setProbeSet(null);
    await tick(2 * INTERVAL_MS);
    expect(prober.count(1)).toBeGreaterThan(a + 1);
  });

  it("the fleet's verdict replaces this instance's own; the view changes only when a serving flag flips", async () => {
    const m = makeMonitor();
    m.update([pop('a', 1), pop('b', 2)]);
    await tick();
    const epoch = m.viewFor(['a', 'b']).epoch;
    expect(
      m.setFleetVerdicts(
        new Map([
          ['a', verdict(true)],
          ['b', verdict(true)],
        ]),
      ),
    ).toBe(false);
    expect(m.viewFor(['a', 'b']).epoch).toBe(epoch);
    expect(
      m.setFleetVerdicts(
        new Map([
          ['a', verdict(false)],
          ['b', verdict(true)],
        ]),
      ),
    ).toBe(true);
    expect([...m.viewFor(['a', 'b']).serving]).toEqual([0, 1]);
    // Its own probes say up, the fleet says down: down it is, and both are shown.
    expect(byId(m, 'a')).toMatchObject({ up: false, serving: false, fleet: { source: 'fleet', localUp: true } });
  });

  it('a fleet override applies unless a local one is set, which wins and is shown as such', async () => {
    const m = makeMonitor();
    m.update([pop('a', 1)]);
    await tick();
    m.setFleetVerdicts(new Map([['a', verdict(true, { override: 'drain' })]]));
    expect(byId(m, 'a')).toMatchObject({
      serving: false,
      override: 'drain',
      overrideSource: 'fleet',
      overrideBy: 'ns1 (admin API)',
    });
    m.setOverride('a', 'force-up', 'api');
    expect(byId(m, 'a')).toMatchObject({
      serving: true,
      override: 'force-up',
      overrideSource: 'api',
      overrideBy: null,
    });
    m.setOverride('a', null, 'api');
    expect(byId(m, 'a')).toMatchObject({ serving: false, overrideSource: 'fleet' });
  });

  it("a PoP turning local starts this instance's rise/fall from the last fleet verdict", async () => {
    const m = makeMonitor();
    m.update([pop('a', 1, { fall: 2, rise: 2 })]);
    m.setProbeSet(new Set());
    m.setFleetVerdicts(new Map([['a', verdict(false)]]));
    expect(byId(m, 'a')).toMatchObject({ up: false, fleet: { localUp: true, probing: false } });
    // NATS lost past the grace period: local, and probed here; no flip to up on the hand-over.
    m.setFleetVerdicts(new Map([['a', verdict(null)]]));
    m.setProbeSet(new Set(['a']));
    expect(byId(m, 'a')).toMatchObject({
      up: false,
      serving: false,
      fleet: { source: 'local', localUp: false, probing: true },
    });
    await tick(); // one success: not yet up (rise 2)
    expect(byId(m, 'a')).toMatchObject({ up: false, probes: 1 });
    await tick(INTERVAL_MS);
    expect(byId(m, 'a')?.up).toBe(true);
  });

  it('every probe reports the debounced verdict to the observer (what a prober publishes)', async () => {
    const seen: Array<{ pop: string; up: boolean; reason: string | null }> = [];
    monitor = new HealthMonitor({
      probe: prober.probe,
      random: () => 0.5,
      observer: { observed: (p, o) => seen.push({ pop: p, up: o.up, reason: o.reason }) },
    });
    monitor.update([pop('a', 1, { fall: 2 })]);
    prober.fail(1, 'refused');
    await tick(2 * INTERVAL_MS);
    expect(seen.slice(0, 2)).toEqual([
      { pop: 'a', up: true, reason: 'refused' },
      { pop: 'a', up: false, reason: 'refused' },
    ]);
    expect(seen.at(-1)).toEqual({ pop: 'a', up: false, reason: 'refused' });
  });
});
