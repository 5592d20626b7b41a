/**
 * The decision trie (lookup walks, truncated ECS addresses, packing), the
 * CIDR overlay the compiler walks in step with the databases, deterministic
 * spill, and the health-filtered geo answers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allServing } from '../../../src/health/view.js';
import { parsePrefix } from '../../../src/net/ip.js';
import { GeoAnswers, type GeoRecordRuntime } from '../../../src/policy/geo-answer.js';
import { PrefixOverlay } from '../../../src/policy/overlay.js';
import { spilledRanking, spillHash, spills } from '../../../src/policy/spill.js';
import { decisionOf, depthOf, DEPTH_BITS, lookup, TrieBuilder, type FamilyTrie } from '../../../src/policy/trie.js';
import type { CompiledPolicy } from '../../../src/policy/compile.js';
import type { GeoSlot } from '../../../src/zone/answers.js';

describe('trie lookup', () => {
  // 0xxx -> decision 0; 10xx -> decision 1; 11xx -> decision 2 (depths 1, 2, 2)
  function small(): FamilyTrie {
    const b = new TrieBuilder();
    const right = b.push(~1, ~2);
    return b.finish(b.push(~0, right));
  }

  it.each([
    [[0x00], 0, 1],
    [[0x7f], 0, 1],
    [[0x80], 1, 2],
    [[0xbf], 1, 2],
    [[0xc0], 2, 2],
    [[0xff], 2, 2],
  ])('%j -> decision %d at depth %d', (bytes, decision, depth) => {
    const packed = lookup(small(), Uint8Array.from(bytes), 0, bytes.length);
    expect(decisionOf(packed)).toBe(decision);
    expect(depthOf(packed)).toBe(depth);
    expect(packed).toBe((decision << DEPTH_BITS) | depth);
  });

  it('reads at an offset and treats bytes past `len` as zero (a truncated ECS address)', () => {
    const buf = Uint8Array.from([0xff, 0xff, 0xc0, 0xff]);
    expect(depthOf(lookup(small(), buf, 2, 1))).toBe(2);
    expect(decisionOf(lookup(small(), buf, 2, 1))).toBe(2);
    // len 0: every bit reads as 0, whatever the buffer holds.
    expect(decisionOf(lookup(small(), buf, 0, 0))).toBe(0);
  });

  it('a root leaf answers every address at depth 0', () => {
    const b = new TrieBuilder();
    const t = b.finish(~7);
    expect(b.leaves).toBe(1);
    expect(lookup(t, Uint8Array.from([1, 2, 3, 4]), 0, 4)).toBe(7 << DEPTH_BITS);
  });

  it('a 128-deep path and large decision ids round-trip through the packing', () => {
    const b = new TrieBuilder();
    let ref = b.push(~123456, ~654321); // depth 128 leaves
    for (let d = 126; d >= 0; d--) ref = b.push(ref, ~1);
    const t = b.finish(ref);
    expect(b.leaves).toBe(129);
    const zeros = new Uint8Array(16);
    expect(decisionOf(lookup(t, zeros, 0, 16))).toBe(123456);
    expect(depthOf(lookup(t, zeros, 0, 16))).toBe(128);
    const one = new Uint8Array(16);
    one[15] = 1;
    expect(decisionOf(lookup(t, one, 0, 16))).toBe(654321);
    one[0] = 0x80;
    expect(lookup(t, one, 0, 16)).toBe((1 << DEPTH_BITS) | 1);
  });

  it('grows past its initial capacity', () => {
    const b = new TrieBuilder();
    let ref = ~0;
    for (let i = 0; i < 5000; i++) ref = b.push(ref, ~((i % 3) + 1));
    const t = b.finish(ref);
    expect(t.nodes.length).toBe(10_000);
  });
});

describe('PrefixOverlay', () => {
  const o = new PrefixOverlay();
  const p = (t: string) => parsePrefix(t);
  o.insert(p('10.0.0.0/8'), '10.0.0.0/8', { kind: 'cidr', step: 0, pops: [1] });
  o.insert(p('10.1.0.0/16'), '10.1.0.0/16', { kind: 'cidr', step: 0, pops: [2] });
  o.insert(p('10.1.0.0/16'), '10.1.0.0/16', { kind: 'rtt', pop: 3, rttMs: 12, prefix: '10.1.0.0/16' });
  o.insert(p('10.1.2.0/24'), '10.1.2.0/24', { kind: 'cidr', step: 4, pops: [5] });
  o.insert(p('2001:db8::/32'), '2001:db8::/32', { kind: 'cidr', step: 0, pops: [6] });

  it('counts entries', () => expect(o.size).toBe(5));

  it('the context of an address merges every prefix on its path, the most specific winning per step', () => {
    const ctx = (a: string) => {
      const x = p(a);
      return o.contextOf(o.markFor(x.family, x.bytes));
    };
    expect([...ctx('10.200.0.1').cidr]).toEqual([[0, { pops: [1], prefix: '10.0.0.0/8' }]]);
    expect([...ctx('10.1.9.9').cidr]).toEqual([[0, { pops: [2], prefix: '10.1.0.0/16' }]]);
    expect([...ctx('10.1.9.9').rtt]).toEqual([[3, { rttMs: 12, prefix: '10.1.0.0/16' }]]);
    expect([...ctx('10.1.2.3').cidr].sort()).toEqual([
      [0, { pops: [2], prefix: '10.1.0.0/16' }],
      [4, { pops: [5], prefix: '10.1.2.0/24' }],
    ]);
    expect([...ctx('10.1.2.3').rtt]).toEqual([[3, { rttMs: 12, prefix: '10.1.0.0/16' }]]);
    expect(ctx('11.0.0.1').cidr.size).toBe(0);
    expect([...ctx('2001:db8:1::1').cidr]).toEqual([[0, { pops: [6], prefix: '2001:db8::/32' }]]);
    // Cached: the same object for the same node.
    expect(ctx('10.1.2.3')).toBe(ctx('10.1.2.4'));
  });

  it('splitDepth: how deep the compiler must split for an address', () => {
    const d = (a: string) => {
      const x = p(a);
      return o.splitDepth(x.family, x.bytes);
    };
    expect(d('10.1.2.3')).toBe(24);
    expect(d('10.1.9.9')).toBe(21); // leaves the /24's path at bit 20
    expect(d('10.200.0.1')).toBe(9);
    expect(d('11.0.0.1')).toBe(8); // 11 and 10 differ in bit 7
    expect(d('192.0.2.1')).toBe(1);
    expect(d('2001:db8::1')).toBe(32);
  });

  it('child/hasChildren/isMarked accept -1 (below the overlay)', () => {
    expect(o.child(-1, 0)).toBe(-1);
    expect(o.hasChildren(-1)).toBe(false);
    expect(o.isMarked(-1)).toBe(false);
    expect(o.hasChildren(o.root4)).toBe(true);
    expect(o.isMarked(o.root4)).toBe(false);
    expect(new PrefixOverlay().hasChildren(0)).toBe(false);
  });

  it('a /0 rule marks the root', () => {
    const z = new PrefixOverlay();
    z.insert(p('0.0.0.0/0'), '0.0.0.0/0', { kind: 'cidr', step: 0, pops: [0] });
    expect(z.isMarked(z.root4)).toBe(true);
    expect(z.isMarked(z.root6)).toBe(false);
    expect(z.markFor(4, Uint8Array.from([1, 2, 3, 4]))).toBe(z.root4);
  });
});

describe('spill', () => {
  it('0 % never spills, 100 % always does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }), (bytes, len) => {
        expect(spills(4, bytes, len, 'fra', 0)).toBe(false);
        expect(spills(4, bytes, len, 'fra', 100)).toBe(true);
      }),
    );
  });

  it('the hash depends only on the prefix bits (host bits ignored), the family, the length and the PoP', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 128 }),
        (a, b, len) => {
          const mixed = Uint8Array.from(a);
          for (let i = len; i < 128; i++) {
            const bit = (b[i >> 3] >> (7 - (i & 7))) & 1;
            mixed[i >> 3] = (mixed[i >> 3] & ~(0x80 >> (i & 7))) | (bit << (7 - (i & 7)));
          }
          expect(spillHash(6, mixed, len, 'fra')).toBe(spillHash(6, a, len, 'fra'));
        },
      ),
    );
    const x = Uint8Array.from([10, 1, 2, 3]);
    expect(spillHash(4, x, 24, 'fra')).not.toBe(spillHash(4, x, 24, 'lon'));
    expect(spillHash(4, x, 24, 'fra')).not.toBe(spillHash(4, x, 23, 'fra'));
    expect(spillHash(4, x, 24, 'fra')).not.toBe(spillHash(6, x, 24, 'fra'));
  });

  it('spills about the configured share of blocks', () => {
    let n = 0;
    const total = 20_000;
    for (let i = 0; i < total; i++) {
      const bytes = Uint8Array.from([i >> 12, (i >> 4) & 0xff, (i & 0xf) << 4, 0]);
      if (spills(4, bytes, 20, 'fra', 30)) n++;
    }
    expect(n / total).toBeGreaterThan(0.27);
    expect(n / total).toBeLessThan(0.33);
  });

  it('spilledRanking swaps the first two', () => {
    expect(spilledRanking([3, 1, 2])).toEqual([1, 3, 2]);
    expect(spilledRanking([3])).toEqual([3]);
    expect(spilledRanking([])).toEqual([]);
  });
});

describe('GeoAnswers: health filters the ranking', () => {
  // Decision 0: [0, 1, 2]; decision 1: [2] (K = 3). PoP 1 has no IPv6.
  const policy = {
    candidates: 3,
    decisions: Int16Array.from([0, 1, 2, 2, -1, -1]),
    decisionCount: 2,
  } as unknown as CompiledPolicy;
  const rec: GeoRecordRuntime = { name: 'cdn', policy, ttl: 30, ttlDegraded: 10, maxAnswers: 1 };
  const pops = [
    { v4: [Uint8Array.from([192, 0, 2, 1])], v6: [new Uint8Array(16).fill(1)] },
    { v4: [Uint8Array.from([192, 0, 2, 2])], v6: [] },
    { v4: [Uint8Array.from([192, 0, 2, 3])], v6: [new Uint8Array(16).fill(3)] },
  ];
  const slotA: GeoSlot = { id: 0, record: 0, qtype: 1, owner: Uint8Array.from([0xc0, 0x0c]) };
  const slotAAAA: GeoSlot = { id: 1, record: 0, qtype: 28, owner: Uint8Array.from([0xc0, 0x0c]) };
  const answers = new GeoAnswers([slotA, slotAAAA], [rec], pops);
  const health = (serving: number[], epoch: number) => ({ epoch, serving: Uint8Array.from(serving) });

  it('all serving: the first PoP, full TTL', () => {
    expect(answers.choose(slotA, 0, allServing(3))).toEqual({ pops: [0], degraded: false, failOpen: false });
    const a = answers.get(slotA, 0, allServing(3));
    expect(a).toMatchObject({ count: 1, pop: 0, degraded: false, failOpen: false });
    // owner(2) type(2) class(2) ttl(4) rdlen(2) rdata(4)
    expect([...a.bytes]).toEqual([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 1]);
  });

  it('the first PoP down: the next one, degraded TTL', () => {
    const h = health([0, 1, 1], 5);
    expect(answers.choose(slotA, 0, h)).toEqual({ pops: [1], degraded: true, failOpen: false });
    const a = answers.get(slotA, 0, h);
    expect(a.pop).toBe(1);
    expect(a.bytes[9]).toBe(10);
  });

  it('PoPs without an address of the family are skipped (AAAA)', () => {
    expect(answers.choose(slotAAAA, 0, health([0, 1, 1], 6))).toEqual({ pops: [2], degraded: true, failOpen: false });
  });

  it('every candidate down: fail open with the unfiltered ranking', () => {
    expect(answers.choose(slotA, 1, health([1, 1, 0], 7))).toEqual({ pops: [2], degraded: true, failOpen: true });
  });

  it('answers are cached per health epoch', () => {
    const a = answers.get(slotA, 0, health([1, 1, 1], 8));
    expect(answers.get(slotA, 0, health([1, 1, 1], 8))).toBe(a);
    expect(answers.get(slotA, 0, health([0, 1, 1], 9)).pop).toBe(1);
  });
});
