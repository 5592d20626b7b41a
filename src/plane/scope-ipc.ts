/**
 * Merged scope tries from the cluster primary to its workers (issue 15): the
 * primary merges once (scope-keeper.ts) and ships the tries over IPC (V8
 * serialisation: typed arrays travel as bytes), sending each worker only the
 * tries it does not hold yet. A flap back to a state whose tries a worker
 * kept costs a message of a few hundred bytes.
 *
 * The primary's ScopeShipper (one per worker) decides what the worker holds
 * and says so in every message (`keep`): the current entries plus, most
 * recently used first, others up to KEEP_BYTES, the same bound as the
 * primary's own. The worker's ScopeStore obeys; nothing is inferred on
 * either side, and a restarted worker starts from an empty store.
 */
import type { MergedScopes, ScopeSet } from '../policy/current-scopes.js';
import { mergedBytes, reshapeMerged } from '../policy/current-scopes.js';
import { KEEP_BYTES } from './scope-keeper.js';

/** A ScopeSet as it crosses IPC. */
export interface WireScopes {
  epoch: number;
  /** Per entry (ScopeSet.entries order): the key of its merged tries, or null (the compiled tries). */
  entries: Array<string | null>;
  /** Merged tries the worker does not hold yet. */
  tries: MergedScopes[];
  /** Every key the worker holds after this message; it drops the rest. */
  keep: string[];
}

/** The primary's record of what one worker holds. */
export class ScopeShipper {
  /** Keys the worker holds with their sizes, least recently used first. */
  private readonly held = new Map<string, number>();

  constructor(private readonly keepBytes = KEEP_BYTES) {}

  pack(set: ScopeSet): WireScopes {
    const tries: MergedScopes[] = [];
    const current = new Set<string>();
    for (const e of set.entries) {
      if (e === null || current.has(e.key)) continue;
      current.add(e.key);
      if (!this.held.has(e.key)) tries.push(e);
      this.held.delete(e.key);
      this.held.set(e.key, mergedBytes(e));
    }
    let spare = this.keepBytes;
    for (const [key, size] of [...this.held].reverse()) {
      if (current.has(key)) continue;
      if (size <= spare) spare -= size;
      else this.held.delete(key);
    }
    return { epoch: set.epoch, entries: set.entries.map((e) => e?.key ?? null), tries, keep: [...this.held.keys()] };
  }
}

/** A worker's merged tries, as the primary's shipper says it holds them. */
export class ScopeStore {
  private readonly tries = new Map<string, MergedScopes>();

  /** Take a message's tries, drop what it does not keep, and return the set it describes. */
  unpack(wire: WireScopes): ScopeSet {
    for (const t of wire.tries) this.tries.set(t.key, reshapeMerged(t));
    const entries = wire.entries.map((k) => (k === null ? null : (this.tries.get(k) ?? null)));
    const keep = new Set(wire.keep);
    for (const k of [...this.tries.keys()]) if (!keep.has(k)) this.tries.delete(k);
    return { epoch: wire.epoch, entries };
  }

  /** Keys held (tests). */
  keys(): string[] {
    return [...this.tries.keys()];
  }
}
