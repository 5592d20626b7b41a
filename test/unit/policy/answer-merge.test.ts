/**
 * Merging a decision trie by current answer (src/policy/answer-merge.ts) on
 * hand-made tries, and the per-snapshot driver (src/policy/current-scopes.ts)
 * on a real compiled config: what is shared between records and answer
 * types, what a new health epoch reuses, and that the result is sound and
 * maximal (test/helpers/scope-check.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { allServing } from '../../../src/health/view.js';
import { classifyDecisions } from '../../../src/policy/answer-key.js';
import { AnswerMerger, countLeaves } from '../../../src/policy/answer-merge.js';
import { buildCurrentScopes, familyMask } from '../../../src/policy/current-scopes.js';
import { decisionOf, depthOf, indexTrie, lookup, TrieBuilder } from '../../../src/policy/trie.js';
import { buildSnapshotFromFile, type Snapshot } from '../../../src/build/snapshot.js';
import { table } from '../../helpers/answer-scenarios.js';
import { popsYaml, TEST_POPS, testConfig } from '../../helpers/configs.js';
import { checkMergedTrie, queryPathAnswer } from '../../helpers/scope-check.js';

describe('AnswerMerger on hand-made tries', () => {
  // 00 -> [0, 1], 01 -> [0, 2], 10 -> [1, 0], 11 -> [1, 2]: four /2 scopes by full ranking.
  const rankings = [
    [0, 1],
    [0, 2],
    [1, 0],
    [1, 2],
  ];
  const t = table(rankings);
  const b = new TrieBuilder();
  const left = b.push(~0, ~1);
  const right = b.push(~2, ~3);
  const trie = b.finish(b.push(left, right));
  const all = new Uint8Array(3).fill(1);
  const merge = (serving: number[]) =>
    new AnswerMerger().merge(
      trie,
      classifyDecisions(t, { serving: Uint8Array.from(serving), hasFamily: all, maxAnswers: 1 }, 3),
    );
  /** [decision, scope] for the four /2 blocks. */
  const scopes = (m: ReturnType<typeof merge>) =>
    [0x00, 0x40, 0x80, 0xc0].map((byte) => {
      const p = lookup(m.trie, Uint8Array.of(byte), 0, 1);
      return [decisionOf(p), depthOf(p)];
    });

  it('all up, one answer: the first PoP decides, /1 each, represented by the first decision of its class', () => {
    const m = merge([1, 1, 1]);
    expect(scopes(m)).toEqual([
      [0, 1],
      [0, 1],
      [2, 1],
      [2, 1],
    ]);
    expect(m.leaves).toBe(2);
  });

  it('PoP 0 down: 00 and 01 fail over to different PoPs (degraded), 10 and 11 still answer 1', () => {
    const m = merge([0, 1, 1]);
    expect(scopes(m)).toEqual([
      [0, 2],
      [1, 2],
      [2, 1],
      [2, 1],
    ]);
    expect(m.leaves).toBe(3);
  });

  it('PoPs 0 and 1 down: 01 and 11 both answer 2 degraded, but they are no siblings; nothing merges', () => {
    const m = merge([0, 0, 1]);
    expect(scopes(m)).toEqual([
      [0, 2],
      [1, 2],
      [2, 2],
      [1, 2],
    ]);
    expect(m.leaves).toBe(4);
  });

  it('a trie that is one leaf stays one leaf; a uniform trie collapses to its root', () => {
    const one = new TrieBuilder().finish(~3);
    expect(
      new AnswerMerger().merge(one, classifyDecisions(t, { serving: all, hasFamily: all, maxAnswers: 1 }, 3)),
    ).toEqual({ trie: { nodes: new Int32Array(0), root: ~2 }, leaves: 1 });
    const m = new AnswerMerger().merge(
      trie,
      classifyDecisions(table([[0], [0], [0], [0]]), { serving: all, hasFamily: all, maxAnswers: 1 }, 3),
    );
    expect(m.trie.root).toBe(~0);
    expect(m.trie.nodes.length).toBe(0);
  });

  it('one merger serves tries of any size in turn (its scratch grows, results never share it)', () => {
    const merger = new AnswerMerger();
    const classes = classifyDecisions(t, { serving: all, hasFamily: all, maxAnswers: 1 }, 3);
    const small = merger.merge(trie, classes);
    const big = new TrieBuilder();
    let ref = big.push(~0, ~2);
    for (let i = 0; i < 100; i++) ref = big.push(ref, ~(i % 4));
    const large = merger.merge(big.finish(ref), classes);
    expect(countLeaves(large.trie)).toBe(large.leaves);
    expect(scopes(small)).toEqual([
      [0, 1],
      [0, 1],
      [2, 1],
      [2, 1],
    ]);
  });

  it('refuses a node array that is not in post-order (children after their parent)', () => {
    const bad = { nodes: Int32Array.of(1, ~0, ~1, ~2), root: 0 };
    expect(() =>
      new AnswerMerger().merge(bad, classifyDecisions(t, { serving: all, hasFamily: all, maxAnswers: 1 }, 3)),
    ).toThrow(/post-order/);
  });
});

describe('buildCurrentScopes on a compiled config', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-current-scopes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const build = (yaml: string): Snapshot => {
    const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    return buildSnapshotFromFile(file);
  };
  const zones = (geo: string) => `
  - origin: example.net.
    soa: { mname: ns1, rname: hostmaster@example.net, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [198.51.100.53] }
    geo:
${geo}`;

  it('records with the same policy and max_answers, and A next to AAAA, share one pair of tries', () => {
    const s = build(
      testConfig({ zones: zones('      cdn: { policy: nearest }\n      "@": { policy: nearest, ttl: 60 }') }),
    );
    const r = buildCurrentScopes(s, allServing(s.pops.length, 3));
    expect(r.epoch).toBe(3);
    expect(r.stats.merged).toBe(1);
    expect(r.stats.shared).toBe(3);
    const [a, aaaa] = r.records[0];
    expect(aaaa!.v4).toBe(a!.v4);
    expect(aaaa!.v6).toBe(a!.v6);
    expect(r.records[1][0]!.v4).toBe(a!.v4);
    // The same merged tries are one entry of the set a runtime installs.
    expect(new Set(r.set.entries).size).toBe(1);
    expect(a!.leaves4).toBeLessThan(s.policies[0].stats.leaves4);
  });

  it('a PoP without IPv6 gives AAAA its own tries; max_answers and types are per record', () => {
    const pops = { ...TEST_POPS };
    const s = build(
      testConfig({
        pops: popsYaml(pops).replace(/(jnb: \{[^}]*ipv6: )\["[^"]*"\]/, '$1[]'),
        zones: zones('      cdn: { policy: nearest }\n      two: { policy: nearest, max_answers: 2, types: [A] }'),
      }),
    );
    expect([...familyMask(s, 'AAAA')]).toEqual(s.pops.map((p) => (p.id === 'jnb' ? 0 : 1)));
    const r = buildCurrentScopes(s, allServing(s.pops.length, 1));
    const [a, aaaa] = r.records[0];
    expect(aaaa).not.toBe(a);
    expect(r.records[1][1]).toBeNull();
    expect(r.records[1][0]!.maxAnswers).toBe(2);
    expect(r.stats.merged).toBe(3);
    // Every (record, type) is sound and maximal for its own answers.
    const families = s.pops.map((p) => ({ v4: p.ipv4.length > 0, v6: p.ipv6.length > 0 }));
    for (const [tries, qtype] of [
      [a!, 'A'],
      [aaaa!, 'AAAA'],
      [r.records[1][0]!, 'A'],
    ] as const) {
      const answer = queryPathAnswer(
        s.policies[0],
        families,
        tries.maxAnswers,
        qtype,
        allServing(s.pops.length).serving,
      );
      expect(checkMergedTrie(s.policies[0].v4, tries.v4, 4, answer).violations).toEqual([]);
      expect(checkMergedTrie(s.policies[0].v6, tries.v6, 6, answer).violations).toEqual([]);
    }
  });

  it('a new epoch with the same partition reuses the previous tries; a PoP going down merges anew', () => {
    const s = build(testConfig({ zones: zones('      cdn: { policy: nearest }') }));
    const first = buildCurrentScopes(s, allServing(s.pops.length, 1));
    const again = buildCurrentScopes(s, allServing(s.pops.length, 2), first);
    expect(again.stats).toMatchObject({ merged: 0, reused: 1 });
    expect(again.records[0][0]!.v4).toBe(first.records[0][0]!.v4);
    const serving = new Uint8Array(s.pops.length).fill(1);
    serving[s.pops.findIndex((p) => p.id === 'fra')] = 0;
    const down = buildCurrentScopes(s, { epoch: 3, serving }, again);
    expect(down.stats).toMatchObject({ merged: 1, reused: 0 });
    expect(down.records[0][0]!.v4).not.toBe(first.records[0][0]!.v4);
    const families = s.pops.map(() => ({ v4: true, v6: true }));
    const answer = queryPathAnswer(s.policies[0], families, 1, 'A', serving);
    expect(checkMergedTrie(s.policies[0].v4, down.records[0][0]!.v4, 4, answer).violations).toEqual([]);
  });

  it('when every decision is its own answer (one candidate) the compiled tries are used as they are', () => {
    const s = build(
      testConfig({
        policies: '  nearest:\n    candidates: 1\n    steps: [ nearest: {} ]',
        zones: zones('      cdn: { policy: nearest }'),
      }),
    );
    const r = buildCurrentScopes(s, allServing(s.pops.length, 1));
    const t = r.records[0][0]!;
    expect(t.v4).toBe(s.policies[0].v4);
    expect(t.v6).toBe(s.policies[0].v6);
    expect([t.leaves4, t.leaves6]).toEqual([s.policies[0].stats.leaves4, s.policies[0].stats.leaves6]);
  });

  it('merged tries take the per-process 16-bit jump index like compiled ones (lookups agree, truncated or not)', () => {
    const s = build(testConfig({ zones: zones('      cdn: { policy: nearest }') }));
    const serving = new Uint8Array(s.pops.length).fill(1);
    serving[1] = 0;
    const t = buildCurrentScopes(s, { epoch: 1, serving }).records[0][0]!;
    for (const trie of [t.v4, t.v6]) {
      const indexed = indexTrie(trie);
      const size = trie === t.v4 ? 4 : 16;
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: size, maxLength: size }),
          fc.integer({ min: 0, max: size }),
          (bytes, len) => {
            expect(lookup(indexed, bytes, 0, len)).toBe(lookup(trie, bytes, 0, len));
          },
        ),
        { numRuns: 2000 },
      );
    }
  });
});
