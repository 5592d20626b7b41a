/**
 * The fleet view this instance acts on, derived from the model at a point in
 * time: live members, who probes which PoP (rendezvous hashing over the live
 * members), each PoP's votes and verdict, where its health comes from (fleet,
 * held, local), fleet-wide overrides, and the PoPs this instance must probe
 * (its share, plus every PoP it has to decide locally). While NATS is lost the
 * last assignment stays (members' heartbeats cannot be seen, which is not
 * their death). Pure but for the hold memory; the time is passed in.
 */
import { ruleFor, type FleetConfig, type VerdictRule } from './config.js';
import { VerdictHold, type VerdictSource } from './hold.js';
import { isAlive, liveMembers, type Member } from './membership.js';
import type { FleetModel, FleetOverride } from './model.js';
import { assignProbers } from './rendezvous.js';
import { decideVerdict, type PopVerdict } from './verdict.js';

export interface DecideInput {
  self: string;
  pops: readonly string[];
  verdict: FleetConfig['verdict'];
  replicas: number;
  staleAfter: number;
  connected: boolean;
  /** Server time, ms. */
  now: number;
}

export interface PopFleetState {
  pop: string;
  rule: VerdictRule;
  probers: string[];
  verdict: PopVerdict;
  source: VerdictSource;
  /** Fleet (or held) verdict; null when this instance's own probes decide. */
  up: boolean | null;
  knownAt: number;
  override: FleetOverride | null;
}

export interface MemberState extends Member {
  alive: boolean;
  self: boolean;
}

export interface FleetView {
  self: string;
  connected: boolean;
  at: number;
  members: MemberState[];
  live: string[];
  pops: PopFleetState[];
  /** The PoPs this instance probes: its rendezvous share plus the ones in `local`. */
  probes: string[];
}

export class FleetDecider {
  private readonly hold: VerdictHold;
  private lastAssignment = new Map<string, string[]>();
  private lastLive: string[] = [];

  constructor(graceMs: number) {
    this.hold = new VerdictHold(graceMs);
  }

  decide(model: FleetModel, input: DecideInput): FleetView {
    const { self, pops, now, connected } = input;
    let live = this.lastLive;
    let assignment = this.lastAssignment;
    if (connected) {
      // This instance is alive whatever its own heartbeat's last round trip said.
      live = [...new Set([...liveMembers(model.members.values(), now), self])].sort();
      assignment = assignProbers(pops, live, input.replicas);
      this.lastLive = live;
      this.lastAssignment = assignment;
    }
    this.hold.retain(new Set(pops));
    const probes = new Set<string>();
    const states = pops.map((pop): PopFleetState => {
      const rule = ruleFor(input.verdict, pop);
      const probers = assignment.get(pop) ?? [];
      const verdict = decideVerdict(pop, rule, model.observationsOf(pop), now, input.staleAfter);
      const held = this.hold.resolve(pop, verdict.state, connected, now);
      if (probers.includes(self) || held.source === 'local') probes.add(pop);
      return {
        pop,
        rule,
        probers,
        verdict,
        source: held.source,
        up: held.up,
        knownAt: held.knownAt,
        override: model.overrides.get(pop) ?? null,
      };
    });
    const members: MemberState[] = [...model.members.values()]
      .map((m) => ({ ...m, alive: isAlive(m, now) || (m.instance === self && connected), self: m.instance === self }))
      .sort((a, b) => (a.instance < b.instance ? -1 : 1));
    return { self, connected, at: now, members, live, pops: states, probes: pops.filter((p) => probes.has(p)) };
  }
}
