/**
 * QueryContext: everything one listener's query path keeps between packets,
 * in one object owned by that listener (one per UDP socket, batched or not,
 * one per TCP listener). Nothing of it is module-level: two listeners, or
 * explain next to a serving socket, never see each other's state.
 *
 * Holds the parsed query (reused), the client's source address, where the
 * answer is written (the transport's output buffer and offset), the
 * one-entry plan cache with the answer's rate-limiting class, DNAME scratch,
 * the cookie verdict, the clock read once per received batch, and the
 * 1-in-64 timing sample. The runtime and the guards (rate limiter, cookie
 * checker) are read through `plane` on every query, so a reload (one
 * reference swap in the data plane) is seen by the next packet.
 */
import type { Runtime } from '../build/runtime.js';
import { CookieVerdict } from '../cookie/evaluate.js';
import { ClientSubnet, SourceAddress } from '../ecs/subnet.js';
import type { ResponseRateLimiter } from '../rrl/limiter.js';
import { ResponseKind, type ResponseKindCode } from '../rrl/kinds.js';
import { MAX_MESSAGE, type Transport } from '../wire/constants.js';
import { ParsedQuery } from '../wire/query.js';
import type { Plan } from '../zone/answers.js';
import { DnameSynthesizer } from '../zone/dname.js';
import { LookupTrace } from '../zone/lookup.js';
import type { QueryCounters } from './counters.js';
import type { QueryGuards } from './guards.js';

/**
 * Where the current runtime is: the data plane (swapped whole on reload), or a fixed one (explain, tests).
 * `guards` are the process's rate limiter and cookie checker; absent: neither runs.
 */
export interface RuntimeSource {
  readonly runtime: Runtime;
  readonly guards?: QueryGuards;
}

export class QueryContext {
  /** The decoded query; valid until the next packet. */
  readonly q = new ParsedQuery();
  /** The packet's source address (set by the transport for each packet). */
  readonly source = new SourceAddress();
  /** The network the geo lookup used (ecs/subnet.ts), written per geo query. */
  readonly subnet = new ClientSubnet();
  /** Scratch for DNAME substitution (the one answer assembled per query). */
  readonly dname = new DnameSynthesizer();

  /** The answer is written into `out` at `outOffset`; the transport sets both (a batch slot, a socket buffer). */
  out: Buffer;
  outOffset = 0;

  /** One-entry cache of (runtime, qname bytes, qtype) -> plan: floods of one name skip the suffix walk. */
  readonly cachedName = new Uint8Array(256);
  cachedLength = 0;
  cachedQtype = -1;
  cachedRuntime: Runtime | null = null;
  cachedPlan: Plan | null = null;
  /** The cached plan's rate-limiting class: kind, and hash and offset of its name in the qname. */
  cachedKind: ResponseKindCode = ResponseKind.ERROR;
  cachedHash = 0;
  cachedOffset = 12;
  /** Where the lookup notes the class name (zone/lookup.ts). */
  readonly trace = new LookupTrace();

  /** The cookie check's verdict for the current query (its response COOKIE is in `q`). */
  readonly cookie = new CookieVerdict();
  /** The limiter that decides this query's response, or null: TCP, RRL off, or a valid server cookie. */
  rrl: ResponseRateLimiter | null = null;

  /** Monotonic milliseconds and Unix seconds, read once per received batch (tick()). */
  nowMs = 0;
  nowSec = 0;

  /** Counts packets; one in 64 is timed for meridian_query_duration_seconds. */
  sample = 0;

  // Room for the next features' per-query state (issues 15, 16 wire it in; see their READMEs):
  // the DO bit choosing a signed answer variant, and one read of the runtime's health reference
  // ({ view, merged scope tries }) shared by the answer and its scope. They belong here,
  // beside `q`, never in module state.

  constructor(
    readonly plane: RuntimeSource,
    readonly counters: QueryCounters,
    readonly transport: Transport,
    out: Buffer = Buffer.allocUnsafe(MAX_MESSAGE),
  ) {
    this.out = out;
  }

  /**
   * Read the clock: once per received batch (the batched listener), once per
   * datagram or TCP message otherwise. RRL buckets count in `nowMs`, cookie
   * timestamps in `nowSec`; neither is read per query.
   */
  tick(): void {
    const ms = performance.now();
    this.nowMs = ms;
    this.nowSec = Math.floor((performance.timeOrigin + ms) / 1000);
  }
}
