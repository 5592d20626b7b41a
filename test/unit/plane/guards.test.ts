/**
 * plane/guards.ts and the merge of busiest buckets (plane/collect.ts): one
 * limiter and one cookie checker per process, kept across reloads that do
 * not change them (the buckets are the memory of who floods), counts that
 * never go backwards, per-worker shares of the limits, and the cluster view
 * of the busiest buckets.
 */
import { describe, expect, it } from 'vitest';
import type { GuardSettings } from '../../../src/build/guards.js';
import { parseIp } from '../../../src/net/ip.js';
import { mergeBusiest } from '../../../src/plane/collect.js';
import { addGuardCounts, emptyGuardCounts, perWorkerSettings, ProcessGuards } from '../../../src/plane/guards.js';
import type { BucketView } from '../../../src/rrl/busiest.js';
import { ResponseKind, RrlAction } from '../../../src/rrl/kinds.js';
import { RRL_DEFAULTS, type RrlSettings } from '../../../src/rrl/settings.js';

const SECRET = new Uint8Array(16).fill(7);
const settings = (rrl: Partial<RrlSettings> | null, require = false): GuardSettings => ({
  rrl: rrl === null ? null : { ...RRL_DEFAULTS, tableSize: 1024, ...rrl },
  cookies: { require, secret: null, previousSecret: null },
});

/** `n` responses of one bucket at time 0; how many passed. */
function flood(g: ProcessGuards, n: number): number {
  const a = parseIp('192.0.2.1')!;
  let passed = 0;
  for (let i = 0; i < n; i++)
    if (g.current.rrl!.checkHashed(0, 4, a.bytes, 0, ResponseKind.ANSWER, 1, 1234, null, 0) === RrlAction.PASS)
      passed++;
  return passed;
}

describe('ProcessGuards', () => {
  it('keeps the limiter (and its buckets) across a reload with the same settings', () => {
    const g = new ProcessGuards(1, SECRET);
    g.update(settings({ responsesPerSecond: 10 }));
    const limiter = g.current.rrl;
    expect(flood(g, 20)).toBe(10);
    g.update(settings({ responsesPerSecond: 10 }));
    expect(g.current.rrl).toBe(limiter);
    // Still limited: the reload forgave nothing.
    expect(flood(g, 5)).toBe(0);
  });

  it('builds a new limiter when its settings change, and keeps the counts of the old one', () => {
    const g = new ProcessGuards(1, SECRET);
    g.update(settings({ responsesPerSecond: 10 }));
    flood(g, 20);
    const cookies = g.current.cookies;
    g.update(settings({ responsesPerSecond: 20 }));
    expect(flood(g, 30)).toBe(20);
    // The cookie checker did not change, so it is the same one.
    expect(g.current.cookies).toBe(cookies);
    const s = g.stats().rrl;
    expect([s.pass, s.drop + s.slip]).toEqual([30, 20]);
    expect(s.enabled).toBe(1);
    // Switched off: no limiter, the counts stay.
    g.update(settings(null));
    expect(g.current.rrl).toBeNull();
    expect(g.stats().rrl).toMatchObject({ pass: 30, enabled: 0, capacity: 0 });
  });

  it('a new cookie policy gives a new checker', () => {
    const g = new ProcessGuards(1, SECRET);
    g.update(settings({}));
    const before = g.current.cookies;
    g.update(settings({}, true));
    expect(g.current.cookies).not.toBe(before);
    expect(g.stats().cookies.enabled).toBe(1);
  });

  it('with N workers each enforces ceil(limit / N)', () => {
    const g = new ProcessGuards(3, SECRET);
    g.update(settings({ responsesPerSecond: 10 }));
    expect(flood(g, 20)).toBe(4);
    expect(
      perWorkerSettings({ ...RRL_DEFAULTS, responsesPerSecond: 200, nxdomainsPerSecond: 0, errorsPerSecond: 5 }, 2),
    ).toMatchObject({
      responsesPerSecond: 100,
      nxdomainsPerSecond: 0,
      errorsPerSecond: 3,
      nodataPerSecond: undefined,
    });
  });
});

describe('summing and merging over workers', () => {
  it('counts add up; on/off flags say whether any process has it', () => {
    const a = emptyGuardCounts();
    const b = emptyGuardCounts();
    b.rrl.pass = 5;
    b.rrl.enabled = 1;
    b.rrl.logOnly = 1;
    b.cookies.results.valid = 2;
    b.cookies.enabled = 1;
    addGuardCounts(a, b);
    addGuardCounts(a, b);
    expect([a.rrl.pass, a.rrl.enabled, a.rrl.logOnly, a.cookies.results.valid, a.cookies.enabled]).toEqual([
      10, 1, 1, 4, 1,
    ]);
  });

  it('a bucket seen by several workers is one row (by name hash: a worker that never limited it has no name): summed, limited if any limits it', () => {
    const view = (over: Partial<BucketView>): BucketView => ({
      network: '192.0.2.0/24',
      kind: 'answer',
      name: 'www.example.net.',
      qtype: 1,
      nameHash: 1234,
      responses: 100,
      limited: 0,
      limitedNow: false,
      balance: 10,
      ratePerSecond: 50,
      idleMs: 100,
      ...over,
    });
    const merged = mergeBusiest(
      [
        [view({ limited: 40, limitedNow: true, balance: -20 }), view({ network: '198.51.100.0/24', responses: 500 })],
        [view({ name: null, idleMs: 5 })],
      ],
      10,
    );
    expect(merged).toHaveLength(2);
    // Another name of the same network, kind and qtype stays a row of its own.
    expect(mergeBusiest([[view({})], [view({ name: null, nameHash: 99 })]], 10)).toHaveLength(2);
    expect(merged[0]).toMatchObject({
      network: '192.0.2.0/24',
      name: 'www.example.net.',
      responses: 200,
      limited: 40,
      limitedNow: true,
      balance: -20,
      ratePerSecond: 100,
      idleMs: 5,
    });
    expect(mergeBusiest([[view({}), view({ network: '198.51.100.0/24' })]], 1)).toHaveLength(1);
  });
});
