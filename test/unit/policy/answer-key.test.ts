/**
 * The answer key (src/policy/answer-key.ts): the answer a decision gives now
 * is exactly what the query path's GeoAnswers.choose() picks (PoPs in order,
 * degraded, fail-open), for any decisions, health, families and max_answers;
 * decisions are partitioned by that answer, classes numbered by first
 * decision; and the hand-checked cases the merge relies on (spill blocks,
 * the degraded TTL, fail-open, PoPs without the family).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  answerCount,
  answerFlags,
  classifyDecisions,
  currentAnswer,
  DEGRADED,
  FAIL_OPEN,
  samePartition,
  type DecisionTable,
} from '../../../src/policy/answer-key.js';
import { familyFlags, scenarioArb, table } from '../../helpers/answer-scenarios.js';
import { queryPathAnswer } from '../../helpers/scope-check.js';

function answerText(
  t: DecisionTable,
  d: number,
  serving: Uint8Array,
  hasFamily: Uint8Array,
  maxAnswers: number,
): string {
  const out = new Int16Array(maxAnswers);
  const packed = currentAnswer(t, d, { serving, hasFamily, maxAnswers }, out);
  const flags = answerFlags(packed);
  return `${[...out.subarray(0, answerCount(packed))].join(',')}${flags & DEGRADED ? ' degraded' : ''}${flags & FAIL_OPEN ? ' fail-open' : ''}`;
}

describe("currentAnswer is the query path's choice", () => {
  it('for any decisions, health, families and max_answers it equals GeoAnswers.choose()', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const t = table(s.rankings, s.k);
        const choose = queryPathAnswer(t, s.families, s.maxAnswers, s.qtype, s.serving);
        const hasFamily = familyFlags(s.families, s.qtype);
        for (let d = 0; d < t.decisionCount; d++)
          expect(answerText(t, d, s.serving, hasFamily, s.maxAnswers), `decision ${s.rankings[d]}`).toBe(choose(d));
      }),
      { numRuns: 2000 },
    );
  });

  it('classes group exactly the decisions with equal answers, numbered by first decision, each represented by its first', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const t = table(s.rankings, s.k);
        const choose = queryPathAnswer(t, s.families, s.maxAnswers, s.qtype, s.serving);
        const c = classifyDecisions(
          t,
          { serving: s.serving, hasFamily: familyFlags(s.families, s.qtype), maxAnswers: s.maxAnswers },
          s.popCount,
        );
        const firstOf = new Map<string, number>();
        for (let d = 0; d < t.decisionCount; d++) if (!firstOf.has(choose(d))) firstOf.set(choose(d), d);
        expect(c.count).toBe(firstOf.size);
        expect([...c.representative]).toEqual([...firstOf.values()]);
        for (let d = 0; d < t.decisionCount; d++) expect(c.representative[c.classOf[d]]).toBe(firstOf.get(choose(d)));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('answer keys, by hand', () => {
  const all = (n: number) => new Uint8Array(n).fill(1);
  const serving = (...flags: number[]) => Uint8Array.from(flags);

  it('all up, max_answers 1: rankings that share a first PoP share a class; the failover order does not matter', () => {
    const t = table([
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
    ]);
    const c = classifyDecisions(t, { serving: all(3), hasFamily: all(3), maxAnswers: 1 }, 3);
    expect([...c.classOf]).toEqual([0, 0, 1]);
  });

  it('max_answers 2: the order of the answered PoPs is part of the answer', () => {
    const t = table([
      [0, 1, 2],
      [1, 0, 2],
      [0, 1, 3],
    ]);
    const c = classifyDecisions(t, { serving: all(4), hasFamily: all(4), maxAnswers: 2 }, 4);
    expect([...c.classOf]).toEqual([0, 1, 0]);
  });

  it('spill: a spilled block [1, 0] and an unspilled one [0, 1] differ while 0 serves, and still differ with 0 down (only one is degraded)', () => {
    const t = table([
      [0, 1, 2],
      [1, 0, 2],
    ]); // spilledRanking swaps the first two
    expect([...classifyDecisions(t, { serving: all(3), hasFamily: all(3), maxAnswers: 1 }, 3).classOf]).toEqual([0, 1]);
    expect(answerText(t, 0, serving(0, 1, 1), all(3), 1)).toBe('1 degraded');
    expect(answerText(t, 1, serving(0, 1, 1), all(3), 1)).toBe('1');
    expect([
      ...classifyDecisions(t, { serving: serving(0, 1, 1), hasFamily: all(3), maxAnswers: 1 }, 3).classOf,
    ]).toEqual([0, 1]);
    // With 1 down instead, both answer 0, and only the spilled block is degraded.
    expect([
      ...classifyDecisions(t, { serving: serving(1, 0, 1), hasFamily: all(3), maxAnswers: 1 }, 3).classOf,
    ]).toEqual([0, 1]);
  });

  it('two degraded answers with the same PoP merge: [0, 2] and [1, 2] with 0 and 1 down', () => {
    const t = table([
      [0, 2],
      [1, 2],
      [2, 0],
    ]);
    const c = classifyDecisions(t, { serving: serving(0, 0, 1), hasFamily: all(3), maxAnswers: 1 }, 3);
    expect([...c.classOf]).toEqual([0, 0, 1]);
  });

  it('fail-open: the unfiltered ranking, degraded; it never shares a class with a normal answer (those name serving PoPs only)', () => {
    const t = table([
      [0, 2],
      [2, 0],
      [1, 0],
    ]);
    expect(answerText(t, 0, serving(0, 1, 0), all(3), 1)).toBe('0 degraded fail-open');
    expect(answerText(t, 1, serving(0, 1, 0), all(3), 1)).toBe('2 degraded fail-open');
    expect(answerText(t, 2, serving(0, 1, 0), all(3), 1)).toBe('1');
    expect(answerText(t, 0, serving(0, 1, 0), all(3), 2)).toBe('0,2 degraded fail-open');
    expect(classifyDecisions(t, { serving: serving(0, 1, 0), hasFamily: all(3), maxAnswers: 1 }, 3).count).toBe(3);
  });

  it('PoPs without the family are skipped, and a decision with none of them answers empty (never degraded)', () => {
    const t = table([[0, 1], [1, 0], [1]]);
    const v4only = serving(1, 0); // hasFamily for AAAA: PoP 1 has no IPv6
    expect(answerText(t, 0, all(2), v4only, 1)).toBe('0');
    expect(answerText(t, 1, all(2), v4only, 1)).toBe('0'); // ranking[0] is 0 for AAAA: not degraded
    expect(answerText(t, 2, all(2), v4only, 1)).toBe('');
    expect([...classifyDecisions(t, { serving: all(2), hasFamily: v4only, maxAnswers: 1 }, 2).classOf]).toEqual([
      0, 0, 1,
    ]);
  });

  it('number keys give way to string keys when they would not be exact (many PoPs, max_answers 8)', () => {
    const pops = 300;
    const r1 = [299, 298, 297, 296, 295, 294, 293, 292];
    const r2 = [299, 298, 297, 296, 295, 294, 293, 291];
    const t = table([r1, r2, r1]);
    const c = classifyDecisions(t, { serving: all(pops), hasFamily: all(pops), maxAnswers: 8 }, pops);
    expect([...c.classOf]).toEqual([0, 1, 0]);
  });

  it('samePartition compares the numbering, not only the count', () => {
    const t = table([[0, 1], [1], [2, 0]]);
    const a = classifyDecisions(t, { serving: all(3), hasFamily: serving(1, 1, 0), maxAnswers: 1 }, 3);
    const b = classifyDecisions(t, { serving: all(3), hasFamily: serving(0, 1, 1), maxAnswers: 1 }, 3);
    expect([...a.classOf]).toEqual([0, 1, 0]);
    expect([...b.classOf]).toEqual([0, 0, 1]);
    expect(samePartition(a, b)).toBe(false);
    expect(
      samePartition(a, classifyDecisions(t, { serving: all(3), hasFamily: serving(1, 1, 0), maxAnswers: 1 }, 3)),
    ).toBe(true);
  });
});
