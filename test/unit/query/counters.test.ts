/**
 * Hot-path counters and the HyperLogLog fragmentation sketches
 * (src/query/counters.ts, src/util/hll.ts): estimate accuracy, union of the two
 * windows, rotation, and the counter folding used for cluster aggregation.
 */
import { describe, expect, it } from 'vitest';
import {
  COUNTED_QTYPES,
  COUNTED_RCODES,
  QueryCounters,
  counterValues,
  rcodeSlot,
} from '../../../src/query/counters.js';
import { HLL_BITS, ScopeSketches, hllAdd, hllEstimate, scopeHash } from '../../../src/util/hll.js';

const HLL_SIZE = 1 << HLL_BITS;

/** IPv4 /24 number n (distinct for n < 2^24) as address bytes. */
function v4(n: number): Uint8Array {
  return new Uint8Array([(n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, 0]);
}
/** IPv6 /48 number n as address bytes. */
function v6(n: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 0x2a;
  b[1] = 0x01;
  b[2] = (n >>> 24) & 0xff;
  b[3] = (n >>> 16) & 0xff;
  b[4] = (n >>> 8) & 0xff;
  b[5] = n & 0xff;
  return b;
}

function sketchOf(hashes: Iterable<number>): Uint8Array {
  const regs = new Uint8Array(HLL_SIZE);
  for (const h of hashes) hllAdd(regs, 0, h);
  return regs;
}

function* v4Hashes(from: number, to: number, scope = 24): Generator<number> {
  for (let n = from; n < to; n++) yield scopeHash(1, v4(n), 0, 4, scope);
}

describe('HyperLogLog estimate of distinct scope prefixes', () => {
  it('an empty sketch estimates 0', () => {
    expect(hllEstimate([new Uint8Array(HLL_SIZE)])).toBe(0);
    expect(new ScopeSketches(1).estimate(0)).toBe(0);
  });

  // 2^10 registers give a standard error of about 3.2 % (1.04 / sqrt(1024)): a
  // single estimate is outside 5 % for roughly one data set in eight even with
  // an ideal hash. So: the RMS error over 10 independent data sets must be
  // within 5 %, the bias small, and no single estimate beyond ~3.7 sigma (12 %).
  const DATASETS = 10;
  function accuracy(
    n: number,
    hashesOf: (set: number) => Iterable<number>,
  ): { rms: number; bias: number; worst: number } {
    const errs = Array.from({ length: DATASETS }, (_, k) => hllEstimate([sketchOf(hashesOf(k))]) / n - 1);
    const rms = Math.sqrt(errs.reduce((a, e) => a + e * e, 0) / errs.length);
    const bias = errs.reduce((a, e) => a + e, 0) / errs.length;
    return { rms, bias, worst: Math.max(...errs.map(Math.abs)) };
  }

  it.each([1_000, 10_000, 100_000])(
    'IPv4 /24 prefixes: %i distinct estimated within 5 % (RMS over 10 data sets)',
    (n) => {
      const r = accuracy(n, (k) => v4Hashes(k * 200_000, k * 200_000 + n));
      expect(r.rms).toBeLessThan(0.05);
      expect(Math.abs(r.bias)).toBeLessThan(0.03);
      expect(r.worst).toBeLessThan(0.12);
    },
  );

  it.each([1_000, 10_000, 100_000])(
    'IPv6 /48 prefixes: %i distinct estimated within 5 % (RMS over 10 data sets)',
    (n) => {
      const r = accuracy(n, function* (k) {
        for (let i = 0; i < n; i++) yield scopeHash(2, v6(k * 1_000_000 + i), 0, 16, 48);
      });
      expect(r.rms).toBeLessThan(0.05);
      expect(Math.abs(r.bias)).toBeLessThan(0.03);
      expect(r.worst).toBeLessThan(0.12);
    },
  );

  it('the estimate grows with the number of distinct prefixes (orders of magnitude apart)', () => {
    const e1 = hllEstimate([sketchOf(v4Hashes(0, 1_000))]);
    const e2 = hllEstimate([sketchOf(v4Hashes(0, 10_000))]);
    const e3 = hllEstimate([sketchOf(v4Hashes(0, 100_000))]);
    expect(e1).toBeGreaterThan(900);
    expect(e1).toBeLessThan(1_100);
    expect(e2 / e1).toBeGreaterThan(8);
    expect(e3 / e2).toBeGreaterThan(8);
  });

  it('repeats do not count: 10k distinct prefixes seen 5 times each estimate like 10k', () => {
    const regs = new Uint8Array(HLL_SIZE);
    for (let round = 0; round < 5; round++) for (const h of v4Hashes(0, 10_000)) hllAdd(regs, 0, h);
    expect(hllEstimate([regs])).toBe(hllEstimate([sketchOf(v4Hashes(0, 10_000))]));
  });

  it('scopeHash depends only on the first `scope` bits (and family and scope)', () => {
    const a = new Uint8Array([1, 2, 3, 4]);
    const b = new Uint8Array([1, 2, 3, 200]);
    const c = new Uint8Array([1, 2, 0b11110000, 0]);
    const d = new Uint8Array([1, 2, 0b11111111, 9]);
    expect(scopeHash(1, a, 0, 4, 24)).toBe(scopeHash(1, b, 0, 4, 24));
    expect(scopeHash(1, a, 0, 4, 32)).not.toBe(scopeHash(1, b, 0, 4, 32));
    expect(scopeHash(1, c, 0, 4, 20)).toBe(scopeHash(1, d, 0, 4, 20));
    expect(scopeHash(1, c, 0, 4, 21)).not.toBe(scopeHash(1, d, 0, 4, 24));
    // Same bits, different scope or family: different cache entries.
    expect(scopeHash(1, a, 0, 4, 16)).not.toBe(scopeHash(1, a, 0, 4, 24));
    expect(scopeHash(1, a, 0, 4, 16)).not.toBe(scopeHash(2, a, 0, 4, 16));
    // Reads at an offset (the ECS option inside a packet).
    const packet = new Uint8Array([9, 9, 9, 1, 2, 3, 77]);
    expect(scopeHash(1, packet, 3, 4, 24)).toBe(scopeHash(1, a, 0, 4, 24));
  });
});

describe('ScopeSketches: two rotating windows per record', () => {
  it('the estimate is the union of both windows (overlap not double counted)', () => {
    const s = new ScopeSketches(2);
    for (const h of v4Hashes(0, 6_000)) s.add(0, h);
    s.rotate();
    for (const h of v4Hashes(3_000, 10_000)) s.add(0, h); // 3k overlap with the previous window
    // The union equals a single sketch over the same 10k distinct items.
    expect(s.estimate(0)).toBe(hllEstimate([sketchOf(v4Hashes(0, 10_000))]));
    expect(Math.abs(s.estimate(0) - 10_000) / 10_000).toBeLessThan(0.12);
  });

  it('records are independent', () => {
    const s = new ScopeSketches(3);
    for (const h of v4Hashes(0, 5_000)) s.add(1, h);
    expect(s.estimate(0)).toBe(0);
    expect(s.estimate(2)).toBe(0);
    expect(s.estimate(1)).toBe(hllEstimate([sketchOf(v4Hashes(0, 5_000))]));
  });

  it('rotate clears the older window: after two rotations old items are gone', () => {
    const s = new ScopeSketches(1);
    for (const h of v4Hashes(0, 8_000)) s.add(0, h);
    s.rotate();
    // Still counted: the previous window is part of the estimate.
    expect(s.estimate(0)).toBe(hllEstimate([sketchOf(v4Hashes(0, 8_000))]));
    for (const h of v4Hashes(100_000, 101_000)) s.add(0, h);
    expect(s.estimate(0)).toBe(hllEstimate([sketchOf([...v4Hashes(0, 8_000), ...v4Hashes(100_000, 101_000)])]));
    s.rotate();
    // The 8k window was cleared; only the 1k window remains.
    expect(s.estimate(0)).toBe(hllEstimate([sketchOf(v4Hashes(100_000, 101_000))]));
    s.rotate();
    expect(s.estimate(0)).toBe(0);
    expect(s.regs.every((r) => r === 0)).toBe(true);
  });

  it('rotate clears only the window that becomes current, for every record', () => {
    const s = new ScopeSketches(2);
    for (const h of v4Hashes(0, 2_000)) {
      s.add(0, h);
      s.add(1, h);
    }
    s.rotate();
    const [, prev0] = [s.sketchesOf(0)[s.current], s.sketchesOf(0)[s.current ^ 1]];
    expect(s.sketchesOf(0)[s.current].every((r) => r === 0)).toBe(true);
    expect(s.sketchesOf(1)[s.current].every((r) => r === 0)).toBe(true);
    expect(prev0.some((r) => r !== 0)).toBe(true);
  });
});

describe('QueryCounters', () => {
  it('countQuery buckets by transport, qtype (unknown types as "other") and rcode', () => {
    const c = new QueryCounters();
    c.countQuery(0, 1, 0); // udp A NOERROR
    c.countQuery(1, 28, 3); // tcp AAAA NXDOMAIN
    c.countQuery(0, 65, 0); // udp HTTPS
    c.countQuery(0, 99, 0); // udp SPF(99) -> other
    c.countQuery(0, 1, 6); // YXDOMAIN
    c.countQuery(0, 1, 16); // BADVERS
    c.countQuery(0, 1, 9); // NOTAUTH -> counted as SERVFAIL slot
    const at = (t: number, qtype: string, rcode: string) =>
      c.queries[
        (t * COUNTED_QTYPES.length + COUNTED_QTYPES.indexOf(qtype as never)) * COUNTED_RCODES.length +
          COUNTED_RCODES.indexOf(rcode as never)
      ];
    expect(at(0, 'A', 'NOERROR')).toBe(1);
    expect(at(1, 'AAAA', 'NXDOMAIN')).toBe(1);
    expect(at(0, 'HTTPS', 'NOERROR')).toBe(1);
    expect(at(0, 'other', 'NOERROR')).toBe(1);
    expect(at(0, 'A', 'YXDOMAIN')).toBe(1);
    expect(at(0, 'A', 'BADVERS')).toBe(1);
    expect(c.queries.reduce((a, b) => a + b, 0)).toBe(7);
    expect([0, 1, 2, 3, 4, 5, 6, 16].map(rcodeSlot)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('add() sums counters and arrays but not the open-connections gauge', () => {
    const a = new QueryCounters();
    const b = new QueryCounters();
    a.truncated = 2;
    b.truncated = 3;
    b.ecs[1] = 4;
    a.tcpConnectionsOpen = 1;
    b.tcpConnectionsOpen = 7;
    a.add(counterValues(b));
    expect(a.truncated).toBe(5);
    expect(a.ecs[1]).toBe(4);
    expect(a.tcpConnectionsOpen).toBe(1);
    // counterValues copies: later changes to b do not leak into the copy.
    const snap = counterValues(b);
    b.ecs[1] = 100;
    expect((snap.ecs as Float64Array)[1]).toBe(4);
  });
});
