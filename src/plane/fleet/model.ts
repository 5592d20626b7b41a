/**
 * What this instance knows of the fleet: members (heartbeats), observations
 * per PoP and prober, fleet-wide overrides and the current config pointer, as
 * read from the buckets' watches. `apply` takes one KV entry (key, operation,
 * value, server timestamp); values that do not decode are counted and
 * ignored. No I/O: FleetLink feeds it, tests feed it by hand.
 */
import type { Override } from '../../health/state-machine.js';
import {
  bundlePointerValue,
  decodeValue,
  heartbeatValue,
  observationValue,
  overrideValue,
  parseKey,
  type BundlePointer,
  type ParsedKey,
} from './keys.js';
import type { Member } from './membership.js';
import type { Observation } from './verdict.js';

export interface FleetOverride {
  override: Override;
  by: string;
  /** Server time (ms) it was set. */
  setAt: number;
}

export type EntryOperation = 'PUT' | 'DEL' | 'PURGE';

export class FleetModel {
  readonly members = new Map<string, Member>();
  /** pop -> prober -> its observation. */
  readonly observations = new Map<string, Map<string, Observation>>();
  readonly overrides = new Map<string, FleetOverride>();
  bundle: BundlePointer | null = null;
  /** Values in the buckets that did not decode (another version's writer, or damage). */
  rejected = 0;

  /** Apply one entry of either bucket. Returns what the key named (null: not ours, or rejected). */
  apply(key: string, operation: EntryOperation, value: Uint8Array, serverTime: number): ParsedKey | null {
    const k = parseKey(key);
    if (!k) return null;
    const removed = operation !== 'PUT';
    switch (k.kind) {
      case 'member': {
        if (removed) return (this.members.delete(k.instance), k);
        const hb = decodeValue(heartbeatValue, value);
        if (!hb || hb.instance !== k.instance) return this.reject();
        this.members.set(k.instance, {
          instance: k.instance,
          seenAt: serverTime,
          interval: hb.interval,
          startedAt: hb.started_at,
          configVersion: hb.config_version,
          configSha256: hb.config_sha256,
          configError: hb.config_error,
          software: hb.software,
        });
        return k;
      }
      case 'observation': {
        if (removed) return (this.observations.get(k.pop)?.delete(k.instance), k);
        const o = decodeValue(observationValue, value);
        if (!o || o.instance !== k.instance || o.pop !== k.pop) return this.reject();
        let byProber = this.observations.get(k.pop);
        if (!byProber) this.observations.set(k.pop, (byProber = new Map()));
        byProber.set(k.instance, {
          instance: o.instance,
          pop: o.pop,
          up: o.up,
          reason: o.reason,
          rttMs: o.rtt_ms,
          interval: o.interval,
          seenAt: serverTime,
        });
        return k;
      }
      case 'override': {
        if (removed) return (this.overrides.delete(k.pop), k);
        const o = decodeValue(overrideValue, value);
        if (!o) return this.reject();
        this.overrides.set(k.pop, { override: o.override, by: o.by, setAt: serverTime });
        return k;
      }
      case 'config': {
        if (removed) return ((this.bundle = null), k);
        const p = decodeValue(bundlePointerValue, value);
        if (!p) return this.reject();
        this.bundle = p;
        return k;
      }
    }
  }

  private reject(): null {
    this.rejected++;
    return null;
  }

  /** The observations of one PoP. */
  observationsOf(pop: string): Iterable<Observation> {
    return this.observations.get(pop)?.values() ?? [];
  }
}
