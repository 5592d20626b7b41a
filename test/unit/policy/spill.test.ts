/**
 * Deterministic spill (src/policy/spill.ts): which client blocks of a PoP
 * move to their next candidate.
 *
 *  - determinism: the same inputs give the same answer across calls and
 *    across fresh module instances; the answer depends only on the family,
 *    the prefix bits, the prefix length and the PoP id (never on host bits
 *    past the prefix, on the buffer's length or on earlier calls);
 *  - calibration: over 100,000 random /24s and 100,000 random /48s the
 *    spilled share is within 2 points of 5, 20, 50 and 90 %, and raising the
 *    percentage only adds blocks (a lower setting's set is a subset);
 *  - 0 % never spills, 100 % always does;
 *  - different PoP ids spill independent sets (the joint share is the
 *    product of the shares);
 *  - spilledRanking moves the first PoP to second place.
 *
 * Random networks come from a fixed-seed generator so a run is repeatable.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { spilledRanking, spillHash, spills } from '../../../src/policy/spill.js';

/** xorshift32 with a fixed seed: repeatable "random" networks without sharing code with src/. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** `n` random networks: IPv4 /24s (3 random bytes) or IPv6 /48s (6 random bytes); host bytes random too. */
function networks(family: 4 | 6, n: number, seed: number): Uint8Array[] {
  const next = rng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const b = new Uint8Array(family === 4 ? 4 : 16);
    for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
    out.push(b);
  }
  return out;
}

const N = 100_000;
const NETS = { 4: networks(4, N, 0x5eed4), 6: networks(6, N, 0x5eed6) } as const;
const LEN = { 4: 24, 6: 48 } as const;

function share(family: 4 | 6, pop: string, percent: number): number {
  let n = 0;
  for (const b of NETS[family]) if (spills(family, b, LEN[family], pop, percent)) n++;
  return n / N;
}

describe('spill: determinism', () => {
  it('the same inputs give the same answer on every call', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<4 | 6>(4, 6),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 128 }),
        fc.string({ minLength: 1, maxLength: 32 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (family, raw, l, pop, pct) => {
          const bytes = family === 4 ? raw.slice(0, 4) : raw;
          const len = family === 4 ? l % 33 : l;
          const h = spillHash(family, bytes, len, pop);
          expect(spillHash(family, Uint8Array.from(bytes), len, pop)).toBe(h);
          expect(spills(family, bytes, len, pop, pct)).toBe(spills(family, Uint8Array.from(bytes), len, pop, pct));
          // A 32-bit unsigned value.
          expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a fresh module instance computes the same hashes (no hidden state, no per-process seed)', async () => {
    const sample = networks(6, 500, 99);
    const before = sample.map((b, i) =>
      spillHash(i % 2 ? 6 : 4, i % 2 ? b : b.slice(0, 4), (i % 129) % (i % 2 ? 129 : 33), `pop${i % 7}`),
    );
    vi.resetModules();
    const fresh = await import('../../../src/policy/spill.js');
    const after = sample.map((b, i) =>
      fresh.spillHash(i % 2 ? 6 : 4, i % 2 ? b : b.slice(0, 4), (i % 129) % (i % 2 ? 129 : 33), `pop${i % 7}`),
    );
    expect(after).toEqual(before);
    // And calls in between (another PoP, another family) do not change later answers.
    for (const b of sample) fresh.spillHash(6, b, 64, 'other');
    expect(
      sample.map((b, i) =>
        spillHash(i % 2 ? 6 : 4, i % 2 ? b : b.slice(0, 4), (i % 129) % (i % 2 ? 129 : 33), `pop${i % 7}`),
      ),
    ).toEqual(before);
  });

  it('bits past the prefix length never matter (any host bits, any buffer tail)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<4 | 6>(4, 6),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 128 }),
        fc.constantFrom('fra', 'lon', 'iad', 'x'),
        (family, a, noise, l, pop) => {
          const size = family === 4 ? 4 : 16;
          const len = l % (size * 8 + 1);
          const x = a.slice(0, size);
          const y = Uint8Array.from(x);
          for (let i = len; i < size * 8; i++) {
            const bit = (noise[i >> 3] >> (7 - (i & 7))) & 1;
            y[i >> 3] = (y[i >> 3] & ~(0x80 >> (i & 7))) | (bit << (7 - (i & 7)));
          }
          expect(spillHash(family, y, len, pop)).toBe(spillHash(family, x, len, pop));
          for (const pct of [5, 20, 50, 90])
            expect(spills(family, y, len, pop, pct)).toBe(spills(family, x, len, pop, pct));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('the family, the prefix bits, the length and the PoP id each change the hash', () => {
    const x = Uint8Array.from([10, 1, 2, 0]);
    const base = spillHash(4, x, 24, 'fra');
    expect(spillHash(6, Uint8Array.from([10, 1, 2, 0, ...new Array(12).fill(0)]), 24, 'fra')).not.toBe(base); // family
    expect(spillHash(4, Uint8Array.from([10, 1, 3, 0]), 24, 'fra')).not.toBe(base); // a prefix bit
    expect(spillHash(4, Uint8Array.from([10, 1, 2, 0]), 23, 'fra')).not.toBe(base); // the length (same bits)
    expect(spillHash(4, x, 24, 'frb')).not.toBe(base); // the PoP id
    expect(spillHash(4, x, 24, 'fra2')).not.toBe(base);
    // Across many blocks: the last prefix bit flips the hash about half of the time per output bit, and always changes it.
    let differ = 0;
    for (const b of NETS[4].slice(0, 5000)) {
      const c = Uint8Array.from(b);
      c[2] ^= 1;
      if (spillHash(4, c, 24, 'fra') !== spillHash(4, b, 24, 'fra')) differ++;
    }
    expect(differ).toBe(5000);
  });
});

describe('spill: the spilled share matches the setting', () => {
  for (const family of [4, 6] as const) {
    for (const pct of [5, 20, 50, 90]) {
      it(`IPv${family} /${LEN[family]}s, ${pct} %: within 2 points over ${N.toLocaleString('en')} random networks`, () => {
        const s = share(family, 'fra', pct);
        expect(s).toBeGreaterThanOrEqual(pct / 100 - 0.02);
        expect(s).toBeLessThanOrEqual(pct / 100 + 0.02);
      });
    }
  }

  it('other PoP ids are calibrated as well', () => {
    for (const pop of ['lon', 'iad', 'sjc', 'a', 'pop-with-a-long-name_32chars____']) {
      const s = share(4, pop, 30);
      expect(s, pop).toBeGreaterThanOrEqual(0.28);
      expect(s, pop).toBeLessThanOrEqual(0.32);
    }
  });

  it('raising the percentage only adds blocks: 5 % is inside 20 %, inside 50 %, inside 90 %', () => {
    for (const family of [4, 6] as const) {
      for (const b of NETS[family].slice(0, 20_000)) {
        let was = false;
        for (const pct of [0, 5, 20, 50, 90, 100]) {
          const now = spills(family, b, LEN[family], 'iad', pct);
          if (was) expect(now).toBe(true);
          was = now;
        }
      }
    }
  });

  it('fractional percentages are honoured to a hundredth of a percent', () => {
    // 0.01 % is one bucket in 10,000; 0.5 % fifty.
    const s = share(4, 'fra', 0.5);
    expect(s).toBeGreaterThan(0.003);
    expect(s).toBeLessThan(0.007);
  });
});

describe('spill: 0 % and 100 %', () => {
  it('0 % (or less) never spills; 100 % (or more) always does', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<4 | 6>(4, 6),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 128 }),
        fc.string({ maxLength: 32 }),
        (family, raw, l, pop) => {
          const bytes = family === 4 ? raw.slice(0, 4) : raw;
          const len = family === 4 ? l % 33 : l;
          expect(spills(family, bytes, len, pop, 0)).toBe(false);
          expect(spills(family, bytes, len, pop, -5)).toBe(false);
          expect(spills(family, bytes, len, pop, 100)).toBe(true);
          expect(spills(family, bytes, len, pop, 150)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
    expect(share(4, 'fra', 0)).toBe(0);
    expect(share(6, 'fra', 100)).toBe(1);
  });
});

describe('spill: different PoPs spill independent sets', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: the sets differ and overlap like independent draws`, () => {
      const pairs: Array<[string, string, number, number]> = [
        ['fra', 'lon', 50, 50],
        ['iad', 'sjc', 20, 50],
        ['fra', 'fra2', 50, 50],
        ['a', 'b', 90, 20],
      ];
      for (const [p, q, sp, sq] of pairs) {
        let both = 0;
        let onlyP = 0;
        let onlyQ = 0;
        for (const b of NETS[family]) {
          const x = spills(family, b, LEN[family], p, sp);
          const y = spills(family, b, LEN[family], q, sq);
          if (x && y) both++;
          else if (x) onlyP++;
          else if (y) onlyQ++;
        }
        const where = `${p} ${sp} % / ${q} ${sq} %`;
        // Independent: P(both) = P(p) P(q), within 2 points.
        expect(both / N, where).toBeGreaterThanOrEqual((sp * sq) / 10_000 - 0.02);
        expect(both / N, where).toBeLessThanOrEqual((sp * sq) / 10_000 + 0.02);
        // Not the same set, nor nested.
        expect(onlyP, where).toBeGreaterThan(N / 100);
        expect(onlyQ, where).toBeGreaterThan(N / 100);
      }
    });
  }

  it('the same block in IPv4 and in IPv6 (same leading bits) spills independently', () => {
    let both = 0;
    for (const b of NETS[4]) {
      const v6 = new Uint8Array(16);
      v6.set(b.subarray(0, 3));
      if (spills(4, b, 24, 'fra', 50) && spills(6, v6, 24, 'fra', 50)) both++;
    }
    expect(both / N).toBeGreaterThan(0.23);
    expect(both / N).toBeLessThan(0.27);
  });
});

describe('spilledRanking', () => {
  it('moves the first PoP to second place and keeps the rest', () => {
    expect(spilledRanking([3, 1, 2])).toEqual([1, 3, 2]);
    expect(spilledRanking([0, 7])).toEqual([7, 0]);
    expect(spilledRanking([5, 4, 3, 2, 1, 0])).toEqual([4, 5, 3, 2, 1, 0]);
  });

  it('one or no PoP: nothing to move to', () => {
    expect(spilledRanking([3])).toEqual([3]);
    expect(spilledRanking([])).toEqual([]);
  });

  it('returns a new array and leaves its input alone', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 12 }), (list) => {
        const input = [...list];
        const out = spilledRanking(input);
        expect(input).toEqual(list);
        expect(out).not.toBe(input);
        expect(out).toHaveLength(list.length);
        expect([...out].sort((a, b) => a - b)).toEqual([...list].sort((a, b) => a - b));
        if (list.length >= 2) {
          expect(out[0]).toBe(list[1]);
          expect(out[1]).toBe(list[0]);
          expect(out.slice(2)).toEqual(list.slice(2));
          expect(spilledRanking(out)).toEqual(list); // twice is the identity
        } else expect(out).toEqual(list);
      }),
    );
  });
});
