/**
 * Hot-path counters: plain numbers in typed arrays, incremented per query and
 * folded into prom-client metrics only when /metrics is scraped (metrics.ts).
 * No imports of I/O or prom-client: workers ship these arrays to the primary.
 */

/** Query types counted by name; everything else is "other". */
export const COUNTED_QTYPES = [
  'A',
  'AAAA',
  'CNAME',
  'MX',
  'TXT',
  'NS',
  'SOA',
  'SRV',
  'CAA',
  'PTR',
  'ANY',
  'DS',
  'HTTPS',
  'SVCB',
  'other',
] as const;
const QTYPE_CODES = [1, 28, 5, 15, 16, 2, 6, 33, 257, 12, 255, 43, 65, 64];
/** Response codes counted (YXDOMAIN: DNAME substitution too long, RFC 6672); BADVERS is 16, BADCOOKIE 23 (RFC 7873). */
export const COUNTED_RCODES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'BADVERS',
  'BADCOOKIE',
] as const;
export const TRANSPORTS = ['udp', 'tcp'] as const;

const QTYPE_SLOT = new Uint8Array(65536).fill(COUNTED_QTYPES.length - 1);
QTYPE_CODES.forEach((code, i) => (QTYPE_SLOT[code] = i));

export function rcodeSlot(rcode: number): number {
  return rcode === 16 ? 7 : rcode === 23 ? 8 : rcode <= 6 ? rcode : 2;
}

/** Where the IPv6 half of QueryCounters.scopes starts (the IPv4 half holds /0../32). */
export const SCOPE_V6_BASE = 33;

/** Process-wide query counters (every field a plain number or typed array). */
export class QueryCounters {
  /** [transport][qtype][rcode] answered queries. */
  readonly queries = new Float64Array(TRANSPORTS.length * COUNTED_QTYPES.length * COUNTED_RCODES.length);
  /** Packets dropped without an answer: [runt/QR=1, handler error]. */
  readonly dropped = new Float64Array(2);
  /** Malformed queries answered with FORMERR. */
  malformed = 0;
  truncated = 0;
  /** ECS presence: [none, IPv4, IPv6]. */
  readonly ecs = new Float64Array(3);
  /**
   * Returned ECS SCOPE PREFIX-LENGTH of answers to ECS queries, per family of
   * the option (RFC 7871 6: the scope counts bits of that family's address):
   * [0..32] IPv4 at index scope, [0..128] IPv6 at SCOPE_V6_BASE + scope.
   */
  readonly scopes = new Float64Array(SCOPE_V6_BASE + 129);
  failOpen = 0;
  degraded = 0;
  /** Handler exceptions turned into SERVFAIL. */
  internalErrors = 0;
  /** Sampled processing times in seconds (every 64th query): sum, count and histogram buckets. */
  readonly timing = new Float64Array(2 + TIMING_BUCKETS.length);
  tcpConnectionsOpen = 0;
  tcpConnectionsRejected = 0;
  tcpConnectionsTotal = 0;

  countQuery(transport: number, qtype: number, rcode: number): void {
    this.queries[(transport * COUNTED_QTYPES.length + QTYPE_SLOT[qtype]) * COUNTED_RCODES.length + rcodeSlot(rcode)]++;
  }

  observeTiming(seconds: number): void {
    const t = this.timing;
    t[0] += seconds;
    t[1]++;
    for (let i = 0; i < TIMING_BUCKETS.length; i++) if (seconds <= TIMING_BUCKETS[i]) t[2 + i]++;
  }

  /** Add another process's counters (cluster aggregation). */
  add(other: CounterValues): void {
    for (const [key, value] of Object.entries(other)) {
      const mine = (this as unknown as Record<string, unknown>)[key];
      if (mine instanceof Float64Array && value instanceof Float64Array)
        for (let i = 0; i < value.length; i++) mine[i] += value[i];
      else if (typeof mine === 'number' && typeof value === 'number' && key !== 'tcpConnectionsOpen') {
        (this as unknown as Record<string, number>)[key] = mine + value;
      }
    }
  }
}

/** Cumulative histogram bucket bounds (seconds) for query processing time. */
export const TIMING_BUCKETS = [0.000002, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005];

export type CounterValues = Record<string, number | Float64Array>;

/** A plain copy of the counters (for IPC). */
export function counterValues(c: QueryCounters): CounterValues {
  const out: CounterValues = {};
  for (const [k, v] of Object.entries(c))
    if (typeof v === 'number' || v instanceof Float64Array) out[k] = v instanceof Float64Array ? v.slice() : v;
  return out;
}
