/**
 * The fleet's verdict on one PoP from its probers' observations. Only fresh
 * observations vote: one older than `staleAfter` of its prober's probe
 * intervals (on the server's clock) is a prober that stopped talking, not a
 * vote. Over the n fresh votes with d of them down:
 *
 *   quorum  down when d > n/2 (a strict majority; a tie stays up)
 *   any     down when d >= 1
 *   all     down when d == n
 *   N       down when d >= N (fewer than N fresh observers can never say down)
 *
 * With no fresh vote the verdict is `unknown`: the caller holds the last
 * fleet verdict for the grace period and then probes locally (hold.ts).
 * Under `quorum`, one dissenting observer out of three changes nothing. Pure.
 */
import type { FleetVote } from '../../health/monitor.js';
import type { VerdictRule } from './config.js';

export interface Observation {
  instance: string;
  pop: string;
  /** The prober's debounced verdict (after its own rise/fall). */
  up: boolean;
  reason: string | null;
  rttMs: number | null;
  /** The prober's probe interval for this PoP, seconds. */
  interval: number;
  /** Server time (ms) of the observation. */
  seenAt: number;
}

/** One prober's vote: the shape the monitor shows in /admin/pops and explain. */
export type Vote = FleetVote;

export type VerdictState = 'up' | 'down' | 'unknown';

export interface PopVerdict {
  pop: string;
  rule: VerdictRule;
  state: VerdictState;
  /** Fresh votes up / down. */
  up: number;
  down: number;
  /** Every known observation, fresh or not, freshest first: what explain and /admin/fleet show. */
  votes: Vote[];
}

export function isFresh(o: Pick<Observation, 'seenAt' | 'interval'>, now: number, staleAfter: number): boolean {
  return now - o.seenAt <= staleAfter * o.interval * 1000;
}

/** Whether `down` of `fresh` fresh votes make the PoP down under `rule` (fresh > 0). */
export function ruleSaysDown(rule: VerdictRule, down: number, fresh: number): boolean {
  if (rule === 'quorum') return 2 * down > fresh;
  if (rule === 'any') return down >= 1;
  if (rule === 'all') return down === fresh;
  return down >= rule;
}

export function decideVerdict(
  pop: string,
  rule: VerdictRule,
  observations: Iterable<Observation>,
  now: number,
  staleAfter: number,
): PopVerdict {
  const votes: Vote[] = [];
  let up = 0;
  let down = 0;
  for (const o of observations) {
    const fresh = isFresh(o, now, staleAfter);
    votes.push({
      instance: o.instance,
      up: o.up,
      reason: o.reason,
      rttMs: o.rttMs,
      ageMs: Math.max(0, now - o.seenAt),
      fresh,
    });
    if (fresh) {
      if (o.up) up++;
      else down++;
    }
  }
  votes.sort((a, b) => a.ageMs - b.ageMs || (a.instance < b.instance ? -1 : 1));
  const fresh = up + down;
  const state: VerdictState = fresh === 0 ? 'unknown' : ruleSaysDown(rule, down, fresh) ? 'down' : 'up';
  return { pop, rule, state, up, down, votes };
}
