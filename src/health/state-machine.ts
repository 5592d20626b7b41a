/**
 * Rise/fall hysteresis for one PoP (gdnsd's up/down thresholds, Route 53's
 * failure threshold): `fall` consecutive failures take an up PoP down, `rise`
 * consecutive successes bring a down PoP back. A single failure or success
 * never flips the state on its own unless the threshold is 1. Pure.
 */

export interface CheckState {
  up: boolean;
  /** Consecutive successes while down / failures while up. */
  streak: number;
  /** Why the last probe failed (timeout, refused, status 503, ...), null after a success. */
  lastFailure: string | null;
  /** When (ms since epoch) the state last changed; 0 = never. */
  since: number;
  probes: number;
}

export function initialState(up: boolean, now = 0): CheckState {
  return { up, streak: 0, lastFailure: null, since: now, probes: 0 };
}

/** Apply one probe result; returns the new state and whether up/down flipped. */
export function observe(
  s: CheckState,
  ok: boolean,
  reason: string | null,
  rise: number,
  fall: number,
  now: number,
): { state: CheckState; changed: boolean } {
  const probes = s.probes + 1;
  const lastFailure = ok ? null : (reason ?? 'failed');
  if (s.up) {
    if (ok) return { state: { ...s, streak: 0, lastFailure, probes }, changed: false };
    const streak = s.streak + 1;
    if (streak >= fall) return { state: { up: false, streak: 0, lastFailure, since: now, probes }, changed: true };
    return { state: { ...s, streak, lastFailure, probes }, changed: false };
  }
  if (!ok) return { state: { ...s, streak: 0, lastFailure, probes }, changed: false };
  const streak = s.streak + 1;
  if (streak >= rise) return { state: { up: true, streak: 0, lastFailure: null, since: now, probes }, changed: true };
  return { state: { ...s, streak, lastFailure: null, probes }, changed: false };
}

/** Operator overrides: force-up ignores probes, force-down and drain take the PoP out of answers. */
export type Override = 'force-up' | 'force-down' | 'drain';

export function isServing(up: boolean, override: Override | null): boolean {
  if (override === 'force-up') return true;
  if (override === 'force-down' || override === 'drain') return false;
  return up;
}
