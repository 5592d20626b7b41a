/**
 * Generated policies for the answer-key and merge properties: decision
 * tables (rankings of distinct PoPs, possibly empty), which PoPs have IPv4
 * and IPv6 addresses, a health state, max_answers and the answer type.
 */
import fc from 'fast-check';
import type { DecisionTable } from '../../src/policy/answer-key.js';
import type { PopFamilies } from './scope-check.js';

/** A decision table from rankings (K = the longest, -1 padded). */
export function table(rankings: number[][], k = Math.max(1, ...rankings.map((r) => r.length))): DecisionTable {
  const decisions = new Int16Array(rankings.length * k).fill(-1);
  rankings.forEach((r, d) => r.forEach((pop, i) => (decisions[d * k + i] = pop)));
  return { decisions, candidates: k, decisionCount: rankings.length };
}

/** Random policies: up to 7 PoPs (with or without each family), rankings of distinct PoPs (possibly empty), a health state. */
export const scenarioArb = fc
  .record({ popCount: fc.integer({ min: 1, max: 7 }), k: fc.integer({ min: 1, max: 4 }) })
  .chain(({ popCount, k }) =>
    fc.record({
      popCount: fc.constant(popCount),
      k: fc.constant(k),
      rankings: fc.array(
        fc.shuffledSubarray([...Array(popCount).keys()], { minLength: 0, maxLength: Math.min(k, popCount) }),
        { minLength: 1, maxLength: 12 },
      ),
      families: fc.array(fc.record({ v4: fc.boolean(), v6: fc.boolean() }), {
        minLength: popCount,
        maxLength: popCount,
      }),
      serving: fc
        .array(fc.constantFrom(0, 1), { minLength: popCount, maxLength: popCount })
        .map((a) => Uint8Array.from(a)),
      maxAnswers: fc.integer({ min: 1, max: 4 }),
      qtype: fc.constantFrom<'A' | 'AAAA'>('A', 'AAAA'),
    }),
  );

export function familyFlags(families: readonly PopFamilies[], qtype: 'A' | 'AAAA'): Uint8Array {
  return Uint8Array.from(families, (f) => ((qtype === 'A' ? f.v4 : f.v6) ? 1 : 0));
}
