/**
 * QueryContext: everything one listener's query path keeps between packets,
 * in one object owned by that listener (one per UDP socket, batched or not,
 * one per TCP listener). Nothing of it is module-level: two listeners, or
 * explain next to a serving socket, never see each other's state.
 *
 * Holds the parsed query (reused), the client's source address, where the
 * answer is written (the transport's output buffer and offset), the
 * one-entry plan cache, DNAME scratch, and the 1-in-64 timing sample. The
 * runtime is read through `plane.runtime` on every query, so a reload (one
 * reference swap in the data plane) is seen by the next packet.
 */
import type { Runtime } from '../build/runtime.js';
import { ClientSubnet, SourceAddress } from '../ecs/subnet.js';
import { MAX_MESSAGE, type Transport } from '../wire/constants.js';
import { ParsedQuery } from '../wire/query.js';
import type { Plan } from '../zone/answers.js';
import { DnameSynthesizer } from '../zone/dname.js';
import type { QueryCounters } from './counters.js';

/** Where the current runtime is: the data plane (swapped whole on reload), or a fixed one (explain, tests). */
export interface RuntimeSource {
  readonly runtime: Runtime;
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

  /** Counts packets; one in 64 is timed for meridian_query_duration_seconds. */
  sample = 0;

  // Room for the next features' per-query state (issues 13, 15, 16 wire it in; see their READMEs):
  // a monotonic clock and Unix seconds read once per received batch (RRL buckets, cookie
  // timestamps), the COOKIE option's offset in `q` and its verdict plus 24 bytes of server
  // cookie, the response class known after the lookup (RRL's kind and name hash), the DO
  // bit choosing a signed answer variant, and one read of the runtime's health reference
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
}
