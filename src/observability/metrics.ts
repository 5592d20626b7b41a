/**
 * Prometheus metrics (prom-client) on an injected Registry, declared as
 * tables of specs (metric-spec.ts). Hot-path numbers live in plain counters
 * (query/counters.ts) and are read at scrape time; probe events are recorded
 * as they happen (HealthMetrics). Names are meridian_*, in base units, with low-cardinality
 * labels only (never a client address or a qname). Every metric is listed in
 * docs/metrics.md (checked by test/conventions.test.ts).
 *
 * The Node.js process metrics keep prom-client's standard names (process_*,
 * nodejs_*) so stock Node.js dashboards and alerts work unchanged; with
 * --workers they are aggregated over the primary and every worker the way
 * prom-client's AggregatorRegistry does for node:cluster.
 */
import path from 'node:path';
import client, {
  AggregatorRegistry,
  Counter,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import type { Snapshot } from '../build/snapshot.js';
import type { PopHealth } from '../health/monitor.js';
import type { CompiledPolicy } from '../policy/compile.js';
import {
  COUNTED_QTYPES,
  COUNTED_RCODES,
  type QueryCounters,
  SCOPE_V6_BASE,
  TIMING_BUCKETS,
  TRANSPORTS,
} from '../query/counters.js';
import { meridianVersion } from '../util/version.js';
import { histogramSamples, type Labels, type MetricSpec, registerSpecs, type Sample } from './metric-spec.js';

/** Process metrics as prom-client serialises them (getMetricsAsJSON), one array per process. */
export type ProcessMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** TCP listener counts (transport/tcp.ts TcpStats), summed over processes. */
export interface TcpCounts {
  open: number;
  accepted: number;
  rejected: number;
  /** New connections refused, by reason. */
  refused: Record<string, number>;
  /** Connections the server closed, by reason. */
  closed: Record<string, number>;
}

/** Rate limiting and cookie counts as the data planes report them (plane/guards.ts), summed over processes. */
export interface GuardCounts {
  /** RRL decisions (pass, drop, slip: in log-only mode what would have been done), exemptions, table events and size. */
  rrl: {
    pass: number;
    drop: number;
    slip: number;
    exemptPrefix: number;
    exemptCookie: number;
    inserted: number;
    reused: number;
    evicted: number;
    buckets: number;
    capacity: number;
    logOnly: number;
    enabled: number;
  };
  /** Queries by what their COOKIE option held (none, client-only, valid, invalid, malformed), and what was sent back. */
  cookies: {
    results: Record<string, number>;
    fresh: number;
    echoed: number;
    badcookie: number;
    enabled: number;
  };
}

/** What a scrape needs from the data plane(s), summed over workers. */
export interface Collected {
  counters: QueryCounters;
  popAnswers: Map<string, number>;
  /** Estimated distinct scope prefixes per geo record name. */
  scopeEstimates: Map<string, number>;
  tcp: TcpCounts;
  guards: GuardCounts;
  udpSendErrors: number;
  /** Datagrams larger than a batched-UDP slot (4 KiB): no DNS query is; dropped and counted. */
  oversized: number;
  /** Errors the process policy caught (process-guard.ts), summed over processes. */
  uncaught: { exception: number; rejection: number };
  workers: number;
  /** How UDP is served: "batched" (recvmmsg/sendmmsg addon) or "dgram". */
  udpMode: string;
  /** Cluster mode: each worker's process metrics, aggregated with the primary's at scrape time. */
  processes?: ProcessMetrics[];
}

export interface MetricsSources {
  collect(): Promise<Collected>;
  snapshot(): Snapshot;
  health(): PopHealth[];
  failOpenDecisions(): Map<string, number>;
  reloads(): { ok: number; failed: number; lastError: unknown };
  /** The /readyz verdict: listeners bound and answering. */
  ready(): boolean;
  workerRestarts(): number;
}

/**
 * ECS scope buckets per family: IPv4 scopes live in /0../32 (ISP blocks are
 * /8../24, ECS sources /24), IPv6 ones in /0../128 (RIR and ISP blocks /19../32,
 * sites /48../56; an IPv4-mapped subnet answers 96 + n). One bucket set for
 * both would put /24 (IPv4, narrow) and /24 (IPv6, very wide) together.
 */
const SCOPE_BUCKETS: Record<'ipv4' | 'ipv6', number[]> = {
  ipv4: [0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 32],
  ipv6: [0, 16, 20, 24, 28, 32, 36, 40, 44, 48, 56, 64, 128],
};

/** prom-client's default Node.js metrics in a registry of their own (standard names, no prefix). */
export function processRegistry(): Registry {
  const register = new Registry();
  client.collectDefaultMetrics({ register });
  // prom-client also names three gauges *_total, which Prometheus' lint rejects for
  // non-counters; the same numbers stay available by type in nodejs_active_handles etc.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    register.removeSingleMetric(name);
  return register;
}

/** Labels of the queries counter, in the order of the counters' flat array. */
function* queriesByLabel(c: QueryCounters): Iterable<readonly [Labels, number]> {
  const nq = COUNTED_QTYPES.length;
  const nr = COUNTED_RCODES.length;
  for (let t = 0; t < TRANSPORTS.length; t++)
    for (let q = 0; q < nq; q++)
      for (let r = 0; r < nr; r++) {
        const v = c.queries[(t * nq + q) * nr + r];
        if (v > 0) yield [{ transport: TRANSPORTS[t], qtype: COUNTED_QTYPES[q], rcode: COUNTED_RCODES[r] }, v];
      }
}

/** The ECS scope histogram of one family, from the per-scope counts. */
function scopeSamples(s: Float64Array, family: 'ipv4' | 'ipv6'): Sample[] {
  const base = family === 'ipv4' ? 0 : SCOPE_V6_BASE;
  const max = family === 'ipv4' ? 32 : 128;
  let count = 0;
  let sum = 0;
  for (let i = 0; i <= max; i++) {
    count += s[base + i];
    sum += i * s[base + i];
  }
  const bounds = SCOPE_BUCKETS[family];
  const cumulative = bounds.map((ub) => {
    let n = 0;
    for (let i = 0; i <= ub; i++) n += s[base + i];
    return n;
  });
  return histogramSamples('meridian_ecs_scope_prefix_length', { family }, bounds, cumulative, sum, count);
}

/** A geo record's name as a label value (the apex record is '.'). */
const recordLabel = (record: string) => record || '.';

/** Metrics read from the data plane(s): one collection per scrape feeds them all. */
const PLANE_METRICS: MetricSpec<Collected>[] = [
  {
    name: 'meridian_queries_total',
    help: 'DNS queries answered, by transport, query type and response code.',
    type: 'counter',
    labels: ['transport', 'qtype', 'rcode'],
    read: (c) => queriesByLabel(c.counters),
  },
  {
    name: 'meridian_responses_total',
    help: 'Geo answers, by geo record and the PoP answered first.',
    type: 'counter',
    labels: ['record', 'pop'],
    read: (c) =>
      [...c.popAnswers].map(([key, v]) => {
        const [record, pop] = key.split('|');
        return [{ record: recordLabel(record), pop }, v] as const;
      }),
  },
  {
    name: 'meridian_ecs_queries_total',
    help: 'Queries by EDNS Client Subnet presence and family (none, ipv4, ipv6).',
    type: 'counter',
    labels: ['family'],
    read: (c) => ['none', 'ipv4', 'ipv6'].map((family, i) => [{ family }, c.counters.ecs[i]] as const),
  },
  {
    name: 'meridian_ecs_scope_prefix_length',
    help: 'ECS SCOPE PREFIX-LENGTH returned on geo answers to ECS queries, by the family of the ECS option (wider scopes mean fewer resolver cache entries).',
    type: 'histogram',
    samples: (c) => [...scopeSamples(c.counters.scopes, 'ipv4'), ...scopeSamples(c.counters.scopes, 'ipv6')],
  },
  {
    name: 'meridian_scope_prefixes_estimate',
    help: 'Estimated distinct (scope, prefix) pairs answered per geo record over the last 5-10 minutes (HyperLogLog): roughly the resolver cache entries the record costs.',
    type: 'gauge',
    labels: ['record'],
    read: (c) => [...c.scopeEstimates].map(([record, v]) => [{ record: recordLabel(record) }, Math.round(v)] as const),
  },
  {
    name: 'meridian_truncated_responses_total',
    help: 'Responses sent with TC=1 (the answer did not fit the UDP size).',
    type: 'counter',
    read: (c) => c.counters.truncated,
  },
  {
    name: 'meridian_malformed_queries_total',
    help: 'Malformed queries answered with FORMERR.',
    type: 'counter',
    read: (c) => c.counters.malformed,
  },
  {
    name: 'meridian_internal_errors_total',
    help: 'Queries that hit an internal error and got SERVFAIL.',
    type: 'counter',
    read: (c) => c.counters.internalErrors,
  },
  {
    name: 'meridian_fail_open_answers_total',
    help: 'Geo answers given from the unfiltered ranking because every candidate was down.',
    type: 'counter',
    read: (c) => c.counters.failOpen,
  },
  {
    name: 'meridian_degraded_answers_total',
    help: 'Geo answers that skipped the preferred PoP (down or drained) and used the degraded TTL.',
    type: 'counter',
    read: (c) => c.counters.degraded,
  },
  {
    name: 'meridian_udp_send_errors_total',
    help: 'UDP responses the kernel refused to send.',
    type: 'counter',
    read: (c) => c.udpSendErrors,
  },
  {
    name: 'meridian_dropped_packets_total',
    help: 'Packets dropped without an answer: malformed (runt, or a response with QR=1), error (handler failures), oversized (a datagram over 4 KiB on the batched path).',
    type: 'counter',
    labels: ['reason'],
    read: (c) => [
      [{ reason: 'malformed' }, c.counters.dropped[0]],
      [{ reason: 'error' }, c.counters.dropped[1]],
      [{ reason: 'oversized' }, c.oversized],
    ],
  },
  {
    name: 'meridian_tcp_connections_open',
    help: 'TCP connections currently open.',
    type: 'gauge',
    read: (c) => c.tcp.open,
  },
  {
    name: 'meridian_tcp_connections_total',
    help: 'TCP connections accepted, and rejected (refused: see meridian_tcp_connections_refused_total for why).',
    type: 'counter',
    labels: ['result'],
    read: (c) => [
      [{ result: 'accepted' }, c.tcp.accepted],
      [{ result: 'rejected' }, c.tcp.rejected],
    ],
  },
  {
    name: 'meridian_tcp_connections_refused_total',
    help: 'New TCP connections refused, by reason: per_address and per_prefix (the source already holds its share of connections), shutdown.',
    type: 'counter',
    labels: ['reason'],
    read: (c) => Object.entries(c.tcp.refused).map(([reason, v]) => [{ reason }, v] as const),
  },
  {
    name: 'meridian_tcp_connections_closed_total',
    help: 'TCP connections the server closed, by reason: idle, idle_under_pressure (the shorter timeout of a busy table), lifetime, evicted (a new client took the slot of the longest idle one), unread (answers piled up unread), max_queries, bad_frame.',
    type: 'counter',
    labels: ['reason'],
    read: (c) => Object.entries(c.tcp.closed).map(([reason, v]) => [{ reason }, v] as const),
  },
  {
    name: 'meridian_rrl_responses_total',
    help: 'UDP responses considered by response rate limiting, by action: pass, drop, slip (sent truncated, or BADCOOKIE to a cookie client). In log-only mode, what would have been done (everything is sent).',
    type: 'counter',
    labels: ['action'],
    read: (c) => [
      [{ action: 'pass' }, c.guards.rrl.pass],
      [{ action: 'drop' }, c.guards.rrl.drop],
      [{ action: 'slip' }, c.guards.rrl.slip],
    ],
  },
  {
    name: 'meridian_rrl_exempt_total',
    help: 'UDP responses not rate limited, by reason: prefix (source in rrl.exempt), cookie (the query carried a valid server cookie).',
    type: 'counter',
    labels: ['reason'],
    read: (c) => [
      [{ reason: 'prefix' }, c.guards.rrl.exemptPrefix],
      [{ reason: 'cookie' }, c.guards.rrl.exemptCookie],
    ],
  },
  {
    name: 'meridian_rrl_bucket_evictions_total',
    help: 'RRL buckets that took the slot of a live bucket: the table (rrl.table_size) is too small for the load.',
    type: 'counter',
    read: (c) => c.guards.rrl.evicted,
  },
  {
    name: 'meridian_rrl_table_buckets',
    help: 'RRL table slots in use (live or recovered buckets), summed over workers.',
    type: 'gauge',
    read: (c) => c.guards.rrl.buckets,
  },
  {
    name: 'meridian_rrl_table_capacity_buckets',
    help: 'RRL table slots (rrl.table_size rounded up to a power of two, per worker), summed over workers; 0 when RRL is off.',
    type: 'gauge',
    read: (c) => c.guards.rrl.capacity,
  },
  {
    name: 'meridian_rrl_log_only',
    help: 'Whether response rate limiting only counts (1, rrl.log_only) or enforces (0).',
    type: 'gauge',
    read: (c) => c.guards.rrl.logOnly,
  },
  {
    name: 'meridian_cookies_total',
    help: 'Queries by their DNS COOKIE option: none, client-only, valid (a server cookie we made), invalid (expired, another secret, another client), malformed (FORMERR).',
    type: 'counter',
    labels: ['result'],
    read: (c) => Object.entries(c.guards.cookies.results).map(([result, v]) => [{ result }, v] as const),
  },
  {
    name: 'meridian_cookie_responses_total',
    help: "Server cookies sent, by whether the client's was echoed or a fresh one was made (new client, older than half an hour, previous secret).",
    type: 'counter',
    labels: ['cookie'],
    read: (c) => [
      [{ cookie: 'echoed' }, c.guards.cookies.echoed],
      [{ cookie: 'fresh' }, c.guards.cookies.fresh],
    ],
  },
  {
    name: 'meridian_query_duration_seconds',
    help: 'Time to handle a query, packet in to answer bytes (one query in 64 is timed).',
    type: 'histogram',
    samples: (c) => {
      const t = c.counters.timing;
      const cumulative = TIMING_BUCKETS.map((_, i) => t[2 + i]);
      return histogramSamples('meridian_query_duration_seconds', {}, TIMING_BUCKETS, cumulative, t[0], t[1]);
    },
  },
  {
    name: 'meridian_workers',
    help: 'Data-plane processes answering queries.',
    type: 'gauge',
    read: (c) => c.workers,
  },
  {
    name: 'meridian_build_info',
    help: 'The running build (value 1): Meridian version, Node.js version, UDP mode (batched or dgram).',
    type: 'gauge',
    labels: ['version', 'node', 'udp'],
    read: (c) => [[{ version: meridianVersion(), node: process.versions.node, udp: c.udpMode }, 1]],
  },
];

/** Per-policy gauges of the running snapshot, one value per family. */
const perFamily = (s: Snapshot, v4: (p: CompiledPolicy) => number, v6: (p: CompiledPolicy) => number) =>
  s.policies.flatMap((p) => [
    [{ policy: p.name, family: 'ipv4' }, v4(p)] as const,
    [{ policy: p.name, family: 'ipv6' }, v6(p)] as const,
  ]);

/** Metrics read from the control plane: health, the running configuration, reloads, readiness. */
const CONTROL_METRICS: MetricSpec<MetricsSources>[] = [
  {
    name: 'meridian_pop_up',
    help: 'Probe verdict per PoP (1 up, 0 down), before overrides.',
    type: 'gauge',
    labels: ['pop'],
    read: (src) => src.health().map((p) => [{ pop: p.id }, p.up ? 1 : 0] as const),
  },
  {
    name: 'meridian_pop_serving',
    help: 'Whether a PoP is given out in answers (1) after probes and overrides (drain, force-down, force-up).',
    type: 'gauge',
    labels: ['pop'],
    read: (src) => src.health().map((p) => [{ pop: p.id }, p.serving ? 1 : 0] as const),
  },
  {
    name: 'meridian_pop_override',
    help: 'Operator override in force per PoP (1 for the active one: drain, force-up, force-down).',
    type: 'gauge',
    labels: ['pop', 'override'],
    read: (src) =>
      src
        .health()
        .filter((p) => p.override)
        .map((p) => [{ pop: p.id, override: p.override! }, 1] as const),
  },
  {
    name: 'meridian_fail_open_decisions',
    help: 'Decisions of a geo record whose every candidate is out of service (answered fail-open).',
    type: 'gauge',
    labels: ['record'],
    read: (src) => [...src.failOpenDecisions()].map(([record, n]) => [{ record: recordLabel(record) }, n] as const),
  },
  {
    name: 'meridian_config_reloads_total',
    help: 'Config reloads by result (failed reloads keep the running config).',
    type: 'counter',
    labels: ['result'],
    read: (src) => [
      [{ result: 'success' }, src.reloads().ok],
      [{ result: 'failure' }, src.reloads().failed],
    ],
  },
  {
    name: 'meridian_config_last_reload_success',
    help: 'Whether the last config load succeeded (1) or failed and the previous config keeps serving (0).',
    type: 'gauge',
    read: (src) => (src.reloads().lastError ? 0 : 1),
  },
  {
    name: 'meridian_config_last_reload_success_timestamp_seconds',
    help: 'When the running config was loaded (Unix time): at start, or by the last successful reload.',
    type: 'gauge',
    read: (src) => src.snapshot().builtAt / 1000,
  },
  {
    name: 'meridian_config_info',
    help: 'The running config: file and sha256 (value 1).',
    type: 'gauge',
    labels: ['file', 'sha256'],
    read: (src) => [[{ file: path.basename(src.snapshot().file), sha256: src.snapshot().hash.slice(0, 16) }, 1]],
  },
  {
    name: 'meridian_geo_database_info',
    help: 'Geo databases in use (value 1): file, database type, families taken from it.',
    type: 'gauge',
    labels: ['file', 'type', 'used_for'],
    read: (src) =>
      src
        .snapshot()
        .databases.map(
          (d) =>
            [
              { file: path.basename(d.file), type: d.databaseType, used_for: d.usedFor.join('+') || 'none' },
              1,
            ] as const,
        ),
  },
  {
    name: 'meridian_geo_database_build_timestamp_seconds',
    help: 'Build time of each geo database (Unix time, from its metadata).',
    type: 'gauge',
    labels: ['file'],
    read: (src) => src.snapshot().databases.map((d) => [{ file: path.basename(d.file) }, d.buildEpoch] as const),
  },
  {
    name: 'meridian_policy_networks',
    help: 'Geo database networks each compiled policy walked, by family.',
    type: 'gauge',
    labels: ['policy', 'family'],
    read: (src) =>
      perFamily(
        src.snapshot(),
        (p) => p.stats.networks4,
        (p) => p.stats.networks6,
      ),
  },
  {
    name: 'meridian_policy_trie_leaves',
    help: 'Leaves of each compiled decision trie after merging, by family (distinct scopes a resolver can see).',
    type: 'gauge',
    labels: ['policy', 'family'],
    read: (src) =>
      perFamily(
        src.snapshot(),
        (p) => p.stats.leaves4,
        (p) => p.stats.leaves6,
      ),
  },
  {
    name: 'meridian_policy_decisions',
    help: 'Distinct decisions (ranked PoP lists) of each compiled policy.',
    type: 'gauge',
    labels: ['policy'],
    read: (src) => src.snapshot().policies.map((p) => [{ policy: p.name }, p.stats.decisions] as const),
  },
  {
    name: 'meridian_policy_compile_duration_seconds',
    help: 'How long compiling each policy against the geo databases took.',
    type: 'gauge',
    labels: ['policy'],
    read: (src) => src.snapshot().policies.map((p) => [{ policy: p.name }, p.stats.compileMs / 1000] as const),
  },
  {
    name: 'meridian_config_compile_duration_seconds',
    help: 'How long building the running snapshot took (zones, databases, policies).',
    type: 'gauge',
    read: (src) => src.snapshot().compileMs / 1000,
  },
  {
    name: 'meridian_worker_restarts_total',
    help: 'Worker processes restarted after a crash.',
    type: 'counter',
    read: (src) => src.workerRestarts(),
  },
  {
    name: 'meridian_ready',
    help: 'Whether this instance is ready (1): its DNS listeners are bound and answering, as /readyz says.',
    type: 'gauge',
    read: (src) => (src.ready() ? 1 : 0),
  },
];

export function createMetrics(src: MetricsSources, register = new Registry()): Registry {
  // One data-plane collection per scrape, shared by every metric that reads it.
  let pending: Promise<Collected> | null = null;
  const collected = (): Promise<Collected> => {
    pending ??= src.collect().finally(() => setTimeout(() => (pending = null), 0));
    return pending;
  };
  registerSpecs(register, PLANE_METRICS, collected);
  registerSpecs(register, CONTROL_METRICS, () => src);
  registerProcessMetrics(register, async () => (await collected()).processes);
  return register;
}

/**
 * The standard process_* and nodejs_* metrics. In one process they are the
 * process's own; with workers, each scrape aggregates the primary's and the
 * workers' with each metric's prom-client aggregator (sum for CPU, memory,
 * handles and GC; average/min/max for event-loop lag); the start time and
 * the version are the primary's, the service's own.
 */
function registerProcessMetrics(register: Registry, workers: () => Promise<ProcessMetrics[] | undefined>): void {
  const own = processRegistry();
  let memo: { from: ProcessMetrics[]; registry: Promise<Registry> } | null = null;
  const aggregated = (from: ProcessMetrics[]): Promise<Registry> => {
    if (memo?.from !== from)
      memo = { from, registry: own.getMetricsAsJSON().then((mine) => AggregatorRegistry.aggregate([mine, ...from])) };
    return memo.registry;
  };
  for (const metric of own.getMetricsAsArray()) {
    const { name, help, type, aggregator } = metric as unknown as {
      name: string;
      help: string;
      type: string;
      aggregator: string;
    };
    const proxy = {
      name,
      help,
      type,
      aggregator,
      async get() {
        const from = await workers();
        const merged =
          from && from.length > 0 && aggregator !== 'omit' ? (await aggregated(from)).getSingleMetric(name) : undefined;
        return ((merged ?? metric) as { get(): Promise<unknown> }).get();
      },
    };
    register.registerMetric(proxy as unknown as Parameters<Registry['registerMetric']>[0]);
  }
}

/** Metrics recorded as events happen (health probes and transitions). */
export class HealthMetrics {
  readonly probeDuration: Histogram;
  readonly probeFailures: Counter;
  readonly transitions: Counter;

  constructor(register: Registry) {
    this.probeDuration = new Histogram({
      name: 'meridian_probe_duration_seconds',
      help: 'Health probe duration per PoP.',
      labelNames: ['pop'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [register],
    });
    this.probeFailures = new Counter({
      name: 'meridian_probe_failures_total',
      help: 'Failed health probes per PoP and reason (timeout, refused, reset, status N, body mismatch, tls error, ...).',
      labelNames: ['pop', 'reason'],
      registers: [register],
    });
    this.transitions = new Counter({
      name: 'meridian_pop_transitions_total',
      help: 'PoP state changes decided by probes, by new state (up, down).',
      labelNames: ['pop', 'to'],
      registers: [register],
    });
  }
}
