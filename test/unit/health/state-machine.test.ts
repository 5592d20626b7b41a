/**
 * Rise/fall hysteresis (src/health/state-machine.ts): tables of probe
 * sequences -> the up/down verdict after each probe and whether it flipped.
 */
import { describe, expect, it } from 'vitest';
import { initialState, isServing, observe, type CheckState, type Override } from '../../../src/health/state-machine.js';

/** 'S' = probe succeeded, 'F' = probe failed. */
type Seq = string;

interface Case {
  name: string;
  start: 'up' | 'down';
  rise: number;
  fall: number;
  seq: Seq;
  /** Verdict after each probe: 'U' up, 'D' down. */
  states: string;
  /** Indices (0-based) of the probes that flipped the verdict. */
  changedAt: number[];
}

const CASES: Case[] = [
  { name: 'healthy stays up', start: 'up', rise: 2, fall: 3, seq: 'SSSS', states: 'UUUU', changedAt: [] },
  {
    name: 'fall 3: three failures take it down on the third',
    start: 'up',
    rise: 2,
    fall: 3,
    seq: 'FFF',
    states: 'UUD',
    changedAt: [2],
  },
  {
    name: 'fall 3: one failure does not flip (hysteresis)',
    start: 'up',
    rise: 2,
    fall: 3,
    seq: 'SFSS',
    states: 'UUUU',
    changedAt: [],
  },
  {
    name: 'fall 3: two failures do not flip',
    start: 'up',
    rise: 2,
    fall: 3,
    seq: 'FFSS',
    states: 'UUUU',
    changedAt: [],
  },
  {
    name: 'fall 3: a success resets the failure streak',
    start: 'up',
    rise: 2,
    fall: 3,
    seq: 'FFSFFSFF',
    states: 'UUUUUUUU',
    changedAt: [],
  },
  {
    name: 'fall 3: streak after a reset still counts to three',
    start: 'up',
    rise: 2,
    fall: 3,
    seq: 'FFSFFF',
    states: 'UUUUUD',
    changedAt: [5],
  },
  {
    name: 'fall 1: a single failure flips',
    start: 'up',
    rise: 1,
    fall: 1,
    seq: 'FSFS',
    states: 'DUDU',
    changedAt: [0, 1, 2, 3],
  },
  {
    name: 'rise 2: down needs two successes',
    start: 'down',
    rise: 2,
    fall: 3,
    seq: 'SS',
    states: 'DU',
    changedAt: [1],
  },
  {
    name: 'rise 2: one success does not flip',
    start: 'down',
    rise: 2,
    fall: 3,
    seq: 'SFSF',
    states: 'DDDD',
    changedAt: [],
  },
  {
    name: 'rise 3: failure resets the success streak',
    start: 'down',
    rise: 3,
    fall: 2,
    seq: 'SSFSSS',
    states: 'DDDDDU',
    changedAt: [5],
  },
  { name: 'down stays down on failures', start: 'down', rise: 2, fall: 3, seq: 'FFFF', states: 'DDDD', changedAt: [] },
  {
    name: 'full cycle fall 2 rise 2',
    start: 'up',
    rise: 2,
    fall: 2,
    seq: 'FFSSFFSS',
    states: 'UDDUUDDU',
    changedAt: [1, 3, 5, 7],
  },
  {
    name: 'streak does not carry across a flip (down then immediate fail/succeed)',
    start: 'up',
    rise: 2,
    fall: 2,
    seq: 'FFSFSS',
    states: 'UDDDDU',
    changedAt: [1, 5],
  },
  {
    name: 'fall 100: 99 failures are not enough',
    start: 'up',
    rise: 1,
    fall: 100,
    seq: 'F'.repeat(99),
    states: 'U'.repeat(99),
    changedAt: [],
  },
  {
    name: 'fall 100: the 100th failure flips',
    start: 'up',
    rise: 1,
    fall: 100,
    seq: 'F'.repeat(100),
    states: `${'U'.repeat(99)}D`,
    changedAt: [99],
  },
];

function run(c: Case): { states: string; changedAt: number[]; final: CheckState } {
  let s = initialState(c.start === 'up', 1000);
  let states = '';
  const changedAt: number[] = [];
  [...c.seq].forEach((p, i) => {
    const r = observe(s, p === 'S', p === 'S' ? null : 'timeout', c.rise, c.fall, 2000 + i);
    s = r.state;
    states += s.up ? 'U' : 'D';
    if (r.changed) changedAt.push(i);
  });
  return { states, changedAt, final: s };
}

describe('health state machine: rise/fall hysteresis', () => {
  it.each(CASES)('$name ($start, rise $rise, fall $fall: $seq)', (c) => {
    const r = run(c);
    expect(r.states).toBe(c.states);
    expect(r.changedAt).toEqual(c.changedAt);
    expect(r.final.probes).toBe(c.seq.length);
  });

  it('initialState: up or down, no streak, no failure, since = now', () => {
    expect(initialState(true, 42)).toEqual({ up: true, streak: 0, lastFailure: null, since: 42, probes: 0 });
    expect(initialState(false)).toEqual({ up: false, streak: 0, lastFailure: null, since: 0, probes: 0 });
  });

  it('`since` moves only when the verdict flips', () => {
    let s = initialState(true, 100);
    s = observe(s, false, 'refused', 2, 2, 200).state;
    expect(s.since).toBe(100);
    const flip = observe(s, false, 'refused', 2, 2, 300);
    expect(flip.changed).toBe(true);
    expect(flip.state.since).toBe(300);
    s = observe(flip.state, true, null, 2, 2, 400).state;
    expect(s.since).toBe(300);
    s = observe(s, true, null, 2, 2, 500).state;
    expect(s.up).toBe(true);
    expect(s.since).toBe(500);
  });

  it('lastFailure keeps the reason of the latest failed probe and clears on success', () => {
    let s = initialState(true);
    s = observe(s, false, 'timeout', 2, 3, 1).state;
    expect(s.lastFailure).toBe('timeout');
    s = observe(s, false, 'status 500', 2, 3, 2).state;
    expect(s.lastFailure).toBe('status 500');
    s = observe(s, true, null, 2, 3, 3).state;
    expect(s.lastFailure).toBeNull();
    // A failure without a reason still records one.
    s = observe(s, false, null, 2, 3, 4).state;
    expect(s.lastFailure).toBe('failed');
  });

  it('the down transition records the reason that took the PoP down', () => {
    let s = initialState(true);
    s = observe(s, false, 'timeout', 2, 2, 1).state;
    const r = observe(s, false, 'body mismatch', 2, 2, 2);
    expect(r.changed).toBe(true);
    expect(r.state).toMatchObject({ up: false, lastFailure: 'body mismatch', streak: 0 });
  });

  it('observe does not mutate its input', () => {
    const s = initialState(true, 5);
    const copy = { ...s };
    observe(s, false, 'timeout', 1, 1, 10);
    expect(s).toEqual(copy);
  });
});

describe('isServing: probe verdict combined with operator overrides', () => {
  const table: Array<[boolean, Override | null, boolean]> = [
    [true, null, true],
    [false, null, false],
    [true, 'force-up', true],
    [false, 'force-up', true],
    [true, 'force-down', false],
    [false, 'force-down', false],
    [true, 'drain', false],
    [false, 'drain', false],
  ];
  it.each(table)('up=%s override=%s -> serving %s', (up, override, serving) => {
    expect(isServing(up, override)).toBe(serving);
  });
});
