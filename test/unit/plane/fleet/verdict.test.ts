/**
 * Verdict rules (src/plane/fleet/verdict.ts) as a table: fresh votes up/down ->
 * state under each rule; stale votes never count; no fresh vote = unknown.
 */
import { describe, expect, it } from 'vitest';
import type { VerdictRule } from '../../../../src/plane/fleet/config.js';
import { decideVerdict, isFresh, ruleSaysDown, type Observation } from '../../../../src/plane/fleet/verdict.js';

const NOW = 1_000_000;
function obs(instance: string, up: boolean, ageS = 1, interval = 5): Observation {
  return {
    instance,
    pop: 'fra',
    up,
    reason: up ? null : 'timeout',
    rttMs: up ? 12 : null,
    interval,
    seenAt: NOW - ageS * 1000,
  };
}

/** [rule, downs, fresh votes, down?] */
const TABLE: Array<[VerdictRule, number, number, boolean]> = [
  ['quorum', 0, 3, false],
  ['quorum', 1, 3, false], // one dissenting observer out of three changes nothing
  ['quorum', 2, 3, true],
  ['quorum', 3, 3, true],
  ['quorum', 1, 2, false], // a tie is not a strict majority
  ['quorum', 2, 2, true],
  ['quorum', 1, 1, true],
  ['quorum', 2, 4, false],
  ['quorum', 3, 5, true],
  ['any', 0, 3, false],
  ['any', 1, 3, true],
  ['any', 1, 1, true],
  ['all', 2, 3, false],
  ['all', 3, 3, true],
  ['all', 1, 1, true],
  [2, 1, 3, false],
  [2, 2, 3, true],
  [2, 1, 1, false], // fewer fresh observers than N can never say down
  [1, 1, 5, true],
];

describe('verdict rules', () => {
  it.each(TABLE)('%s with %i down of %i fresh -> down=%s', (rule, down, fresh, expected) => {
    expect(ruleSaysDown(rule, down, fresh)).toBe(expected);
    const votes = Array.from({ length: fresh }, (_, i) => obs(`i${i}`, i >= down));
    const v = decideVerdict('fra', rule, votes, NOW, 3);
    expect(v.state).toBe(expected ? 'down' : 'up');
    expect([v.up, v.down]).toEqual([fresh - down, down]);
  });

  it('an observation older than staleAfter of its own probe intervals does not vote', () => {
    expect(isFresh(obs('a', true, 15, 5), NOW, 3)).toBe(true);
    expect(isFresh(obs('a', true, 15.001, 5), NOW, 3)).toBe(false);
    expect(isFresh(obs('a', true, 25, 10), NOW, 3)).toBe(true);
    // Two stale "down" votes and one fresh "up": the fresh one decides.
    const v = decideVerdict('fra', 'quorum', [obs('a', false, 60), obs('b', false, 60), obs('c', true, 2)], NOW, 3);
    expect(v.state).toBe('up');
    expect([v.up, v.down]).toEqual([1, 0]);
    expect(v.votes.map((x) => [x.instance, x.fresh])).toEqual([
      ['c', true],
      ['a', false],
      ['b', false],
    ]);
  });

  it('no fresh observation is unknown under every rule, never up or down by default', () => {
    for (const rule of ['quorum', 'any', 'all', 2] as VerdictRule[]) {
      expect(decideVerdict('fra', rule, [], NOW, 3).state).toBe('unknown');
      expect(decideVerdict('fra', rule, [obs('a', false, 120)], NOW, 3).state).toBe('unknown');
    }
  });

  it('shows every vote with its age, reason and RTT, freshest first', () => {
    const v = decideVerdict('fra', 'quorum', [obs('b', false, 4), obs('a', true, 2)], NOW, 3);
    expect(v.votes).toEqual([
      { instance: 'a', up: true, reason: null, rttMs: 12, ageMs: 2000, fresh: true },
      { instance: 'b', up: false, reason: 'timeout', rttMs: null, ageMs: 4000, fresh: true },
    ]);
  });
});
