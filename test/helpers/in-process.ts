/**
 * The query path without sockets: a listener's QueryContext and the real
 * handleQuery, for tests and benchmarks. `answer` copies the response out of
 * the context's buffer (the next query overwrites it).
 */
import type { Runtime } from '../../src/build/runtime.js';
import { QueryContext, type RuntimeSource } from '../../src/query/context.js';
import { QueryCounters } from '../../src/query/counters.js';
import { handleQuery } from '../../src/query/handle-query.js';
import { type Transport, UDP } from '../../src/wire/constants.js';

export class InProcessListener {
  readonly ctx: QueryContext;

  constructor(source: RuntimeSource | Runtime, counters = new QueryCounters(), transport: Transport = UDP) {
    const plane: RuntimeSource = 'runtime' in source ? source : { runtime: source };
    this.ctx = new QueryContext(plane, counters, transport);
  }

  /** Answer `msg` as if it came from `client` (a socket address string): a copy of the response, or null. */
  answer(msg: Buffer, client = '127.0.0.1'): Buffer | null {
    this.ctx.tick();
    this.ctx.source.setText(client);
    const n = handleQuery(this.ctx, msg, msg.length);
    return n === 0 ? null : Buffer.from(this.ctx.out.subarray(this.ctx.outOffset, this.ctx.outOffset + n));
  }
}

/** One query through a fresh listener context. */
export function answerOnce(rt: Runtime, msg: Buffer, client = '127.0.0.1', transport: Transport = UDP): Buffer | null {
  return new InProcessListener(rt, new QueryCounters(), transport).answer(msg, client);
}
