/**
 * Geo answers for the hot path: decision -> health filter -> pre-encoded
 * address records. Per answer slot (geo record x qtype x owner) and decision
 * the encoded records are cached for the current health epoch, so a query
 * costs one trie walk and one array read. Health filters the ranking and never
 * changes the trie, so scopes stay sound while PoPs come and go.
 */
import type { HealthView } from '../health/view.js';
import type { GeoSlot } from '../zone/answers.js';
import type { CompiledPolicy } from './compile.js';

/** A geo record as the query path needs it. */
export interface GeoRecordRuntime {
  name: string;
  policy: CompiledPolicy;
  ttl: number;
  ttlDegraded: number;
  maxAnswers: number;
}

/** A PoP's addresses as RDATA bytes. */
export interface PopAddresses {
  v4: Uint8Array[];
  v6: Uint8Array[];
}

/** The encoded tail for one (slot, decision) under one health epoch. */
export interface GeoAnswer {
  bytes: Uint8Array;
  count: number;
  /** PoP index answered first (for per-PoP metrics), -1 when none. */
  pop: number;
  /** The preferred PoP was skipped (down or drained): shorter TTL. */
  degraded: boolean;
  /** Every candidate was down: the unfiltered ranking was served. */
  failOpen: boolean;
  /** DNSSEC: the tail with its RRSIGs, memoised by the runtime on first DO=1 use (build/answer-signing.ts). */
  signed: unknown;
}

const EMPTY: GeoAnswer = {
  bytes: new Uint8Array(0),
  count: 0,
  pop: -1,
  degraded: false,
  failOpen: false,
  signed: null,
};

/** RRs of one type and TTL with the given owner bytes (0xC00C or a full name), class IN. */
export function encodeRecords(owner: Uint8Array, qtype: number, ttl: number, rdatas: Uint8Array[]): Uint8Array {
  const size = rdatas.reduce((n, r) => n + owner.length + 10 + r.length, 0);
  const out = new Uint8Array(size);
  let off = 0;
  for (const r of rdatas) {
    out.set(owner, off);
    off += owner.length;
    out[off] = qtype >> 8;
    out[off + 1] = qtype & 0xff;
    out[off + 2] = 0;
    out[off + 3] = 1; // class IN
    out[off + 4] = (ttl >>> 24) & 0xff;
    out[off + 5] = (ttl >>> 16) & 0xff;
    out[off + 6] = (ttl >>> 8) & 0xff;
    out[off + 7] = ttl & 0xff;
    out[off + 8] = r.length >> 8;
    out[off + 9] = r.length & 0xff;
    out.set(r, off + 10);
    off += 10 + r.length;
  }
  return out;
}

export class GeoAnswers {
  private epochs: Int32Array;
  private caches: Array<Array<GeoAnswer | undefined>>;

  constructor(
    slots: readonly GeoSlot[],
    private readonly records: readonly GeoRecordRuntime[],
    private readonly pops: readonly PopAddresses[],
  ) {
    this.epochs = new Int32Array(slots.length).fill(-1);
    this.caches = slots.map(() => []);
  }

  /** The answer for `slot` and decision `decision` under `health`. */
  get(slot: GeoSlot, decision: number, health: HealthView): GeoAnswer {
    const id = slot.id;
    let cache = this.caches[id];
    if (this.epochs[id] !== health.epoch) {
      cache = this.caches[id] = [];
      this.epochs[id] = health.epoch;
    }
    return cache[decision] ?? (cache[decision] = this.build(slot, decision, health));
  }

  /** Which PoPs an answer uses: the first max_answers serving candidates that have the family. */
  choose(
    slot: GeoSlot,
    decision: number,
    health: HealthView,
  ): { pops: number[]; degraded: boolean; failOpen: boolean } {
    const rec = this.records[slot.record];
    const p = rec.policy;
    const k = p.candidates;
    const v6 = slot.qtype === 28;
    const ranking: number[] = [];
    for (let i = 0; i < k; i++) {
      const pop = p.decisions[decision * k + i];
      if (pop < 0) break;
      if ((v6 ? this.pops[pop].v6 : this.pops[pop].v4).length > 0) ranking.push(pop);
    }
    const serving = ranking.filter((pop) => health.serving[pop] === 1);
    // Fail open: with every candidate down, answering is better than not (gdnsd does the same).
    const failOpen = serving.length === 0 && ranking.length > 0;
    const chosen = (failOpen ? ranking : serving).slice(0, rec.maxAnswers);
    return { pops: chosen, degraded: failOpen || (chosen.length > 0 && chosen[0] !== ranking[0]), failOpen };
  }

  private build(slot: GeoSlot, decision: number, health: HealthView): GeoAnswer {
    const { pops, degraded, failOpen } = this.choose(slot, decision, health);
    if (pops.length === 0) return EMPTY;
    const rec = this.records[slot.record];
    const rdatas = pops.flatMap((pop) => (slot.qtype === 28 ? this.pops[pop].v6 : this.pops[pop].v4));
    const ttl = degraded ? rec.ttlDegraded : rec.ttl;
    return {
      bytes: encodeRecords(slot.owner, slot.qtype, ttl, rdatas),
      count: rdatas.length,
      pop: pops[0],
      degraded,
      failOpen,
      signed: null,
    };
  }
}
