/**
 * Where each PoP's health comes from when the fleet cannot say. Per PoP:
 *
 *   fleet  connected to NATS and the verdict rule has fresh votes: the fleet's verdict
 *   held   NATS lost, or no fresh vote: the last fleet verdict, for `graceMs`
 *          after it was last known (a NATS blip or a prober hand-over flips nothing)
 *   local  no fleet verdict for longer than the grace period, or never one: this
 *          instance probes the PoP itself and its own rise/fall decides, as
 *          without a fleet
 *
 * A PoP that never had a fleet verdict goes local at once: answers rest on a
 * real probe rather than on an assumption. Answers never stop and never go
 * empty in any of the three (fail-open still applies downstream). Pure, with
 * the time passed in.
 */
import type { VerdictState } from './verdict.js';

export type VerdictSource = 'fleet' | 'held' | 'local';

export interface HeldVerdict {
  source: VerdictSource;
  /** The fleet's (or held) verdict; null when `local` (the instance's own probes decide). */
  up: boolean | null;
  /** When the fleet verdict was last known (ms; 0 = never). */
  knownAt: number;
}

export class VerdictHold {
  private readonly last = new Map<string, { up: boolean; at: number }>();

  constructor(private readonly graceMs: number) {}

  resolve(pop: string, state: VerdictState, connected: boolean, now: number): HeldVerdict {
    if (connected && state !== 'unknown') {
      const up = state === 'up';
      this.last.set(pop, { up, at: now });
      return { source: 'fleet', up, knownAt: now };
    }
    const last = this.last.get(pop);
    if (last && now - last.at <= this.graceMs) return { source: 'held', up: last.up, knownAt: last.at };
    return { source: 'local', up: null, knownAt: last?.at ?? 0 };
  }

  /** Drop PoPs that left the config. */
  retain(pops: ReadonlySet<string>): void {
    for (const pop of this.last.keys()) if (!pops.has(pop)) this.last.delete(pop);
  }
}
