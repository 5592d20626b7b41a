/**
 * Prometheus metrics (prom-client) on an injected Registry. Hot-path numbers
 * live in plain counters (counters.ts) and are folded in at scrape time by
 * `collect` callbacks; side-channel events (probes, transitions, reloads) are
 * recorded directly. Names are meridian_*, in base units, with low-cardinality
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
  Gauge,
  Histogram,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import type { PopHealth } from '../health/monitor.js';
import type { Snapshot } from '../build/snapshot.js';
import { meridianVersion } from '../util/version.js';
import {
  COUNTED_QTYPES,
  COUNTED_RCODES,
  SCOPE_V6_BASE,
  TIMING_BUCKETS,
  TRANSPORTS,
  type QueryCounters,
} from '../query/counters.js';

/** Process metrics as prom-client serialises them (getMetricsAsJSON), one array per process. */
export type ProcessMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** What a scrape needs from the data plane(s), summed over workers. */
export interface Collected {
  counters: QueryCounters;
  popAnswers: Map<string, number>;
  /** Estimated distinct scope prefixes per geo record name. */
  scopeEstimates: Map<string, number>;
  tcp: { open: number; accepted: number; rejected: number };
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

type Sample = MetricValue<string> & { metricName?: string };

/** Samples of one histogram series from cumulative bucket counts (Prometheus text format order). */
function histogramSamples(
  name: string,
  labels: Record<string, string>,
  bounds: readonly number[],
  cumulative: readonly number[],
  sum: number,
  count: number,
): Sample[] {
  return [
    ...bounds.map((le, i) => ({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: String(le) },
      value: cumulative[i],
    })),
    { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count },
    { metricName: `${name}_sum`, labels, value: sum },
    { metricName: `${name}_count`, labels, value: count },
  ];
}

/**
 * A metric computed whole at scrape time: prom-client formats whatever get()
 * returns. Used for histograms folded from the hot-path arrays (prom-client's
 * Histogram has no way to set buckets, nor per-label bucket sets).
 */
function scrapeTimeMetric(
  register: Registry,
  name: string,
  help: string,
  type: 'histogram' | 'gauge' | 'counter',
  values: () => Promise<Sample[]> | Sample[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      return { name, help, type, aggregator: 'sum', values: await values() };
    },
  };
  register.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

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

export function createMetrics(src: MetricsSources, register = new Registry()): Registry {
  const reg = [register];
  let latest: Collected | null = null;
  // One data-plane collection per scrape, shared by every metric's collect().
  let pending: Promise<Collected> | null = null;
  const collected = async (): Promise<Collected> => {
    pending ??= src.collect().finally(() => setTimeout(() => (pending = null), 0));
    latest = await pending;
    return latest;
  };

  new Counter({
    name: 'meridian_queries_total',
    help: 'DNS queries answered, by transport, query type and response code.',
    labelNames: ['transport', 'qtype', 'rcode'],
    registers: reg,
    async collect() {
      const c = (await collected()).counters;
      this.reset();
      const nq = COUNTED_QTYPES.length;
      const nr = COUNTED_RCODES.length;
      TRANSPORTS.forEach((transport, t) =>
        COUNTED_QTYPES.forEach((qtype, q) =>
          COUNTED_RCODES.forEach((rcode, r) => {
            const v = c.queries[(t * nq + q) * nr + r];
            if (v > 0) this.inc({ transport, qtype, rcode }, v);
          }),
        ),
      );
    },
  });
  new Counter({
    name: 'meridian_responses_total',
    help: 'Geo answers, by geo record and the PoP answered first.',
    labelNames: ['record', 'pop'],
    registers: reg,
    async collect() {
      const c = await collected();
      this.reset();
      for (const [key, v] of c.popAnswers) {
        const [record, pop] = key.split('|');
        this.inc({ record: record || '.', pop }, v);
      }
    },
  });
  new Counter({
    name: 'meridian_ecs_queries_total',
    help: 'Queries by EDNS Client Subnet presence and family (none, ipv4, ipv6).',
    labelNames: ['family'],
    registers: reg,
    async collect() {
      const e = (await collected()).counters.ecs;
      this.reset();
      ['none', 'ipv4', 'ipv6'].forEach((family, i) => this.inc({ family }, e[i]));
    },
  });
  scrapeTimeMetric(
    register,
    'meridian_ecs_scope_prefix_length',
    'ECS SCOPE PREFIX-LENGTH returned on geo answers to ECS queries, by the family of the ECS option (wider scopes mean fewer resolver cache entries).',
    'histogram',
    async () => {
      const s = (await collected()).counters.scopes;
      return (['ipv4', 'ipv6'] as const).flatMap((family) => {
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
      });
    },
  );
  new Gauge({
    name: 'meridian_scope_prefixes_estimate',
    help: 'Estimated distinct (scope, prefix) pairs answered per geo record over the last 5-10 minutes (HyperLogLog): roughly the resolver cache entries the record costs.',
    labelNames: ['record'],
    registers: reg,
    async collect() {
      const c = await collected();
      this.reset();
      for (const [record, v] of c.scopeEstimates) this.set({ record: record || '.' }, Math.round(v));
    },
  });
  const simpleCounter = (name: string, help: string, read: (c: Collected) => number) =>
    new Counter({
      name,
      help,
      registers: reg,
      async collect() {
        this.reset();
        this.inc(read(await collected()));
      },
    });
  simpleCounter(
    'meridian_truncated_responses_total',
    'Responses sent with TC=1 (the answer did not fit the UDP size).',
    (c) => c.counters.truncated,
  );
  simpleCounter(
    'meridian_malformed_queries_total',
    'Malformed queries answered with FORMERR.',
    (c) => c.counters.malformed,
  );
  simpleCounter(
    'meridian_internal_errors_total',
    'Queries that hit an internal error and got SERVFAIL.',
    (c) => c.counters.internalErrors,
  );
  simpleCounter(
    'meridian_fail_open_answers_total',
    'Geo answers given from the unfiltered ranking because every candidate was down.',
    (c) => c.counters.failOpen,
  );
  simpleCounter(
    'meridian_degraded_answers_total',
    'Geo answers that skipped the preferred PoP (down or drained) and used the degraded TTL.',
    (c) => c.counters.degraded,
  );
  simpleCounter('meridian_udp_send_errors_total', 'UDP responses the kernel refused to send.', (c) => c.udpSendErrors);
  new Counter({
    name: 'meridian_dropped_packets_total',
    help: 'Packets dropped without an answer: malformed (runt, or a response with QR=1), error (handler failures), oversized (a datagram over 4 KiB on the batched path).',
    labelNames: ['reason'],
    registers: reg,
    async collect() {
      const d = (await collected()).counters.dropped;
      this.reset();
      this.inc({ reason: 'malformed' }, d[0]);
      this.inc({ reason: 'error' }, d[1]);
      this.inc({ reason: 'oversized' }, (await collected()).oversized);
    },
  });
  new Gauge({
    name: 'meridian_tcp_connections_open',
    help: 'TCP connections currently open.',
    registers: reg,
    async collect() {
      this.set((await collected()).tcp.open);
    },
  });
  new Counter({
    name: 'meridian_tcp_connections_total',
    help: 'TCP connections accepted, and rejected at the max_connections limit.',
    labelNames: ['result'],
    registers: reg,
    async collect() {
      const t = (await collected()).tcp;
      this.reset();
      this.inc({ result: 'accepted' }, t.accepted);
      this.inc({ result: 'rejected' }, t.rejected);
    },
  });
  scrapeTimeMetric(
    register,
    'meridian_query_duration_seconds',
    'Time to handle a query, packet in to answer bytes (one query in 64 is timed).',
    'histogram',
    async () => {
      const t = (await collected()).counters.timing;
      return histogramSamples(
        'meridian_query_duration_seconds',
        {},
        TIMING_BUCKETS,
        TIMING_BUCKETS.map((_, i) => t[2 + i]),
        t[0],
        t[1],
      );
    },
  );
  new Gauge({
    name: 'meridian_pop_up',
    help: 'Probe verdict per PoP (1 up, 0 down), before overrides.',
    labelNames: ['pop'],
    registers: reg,
    collect() {
      this.reset();
      for (const p of src.health()) this.set({ pop: p.id }, p.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'meridian_pop_serving',
    help: 'Whether a PoP is given out in answers (1) after probes and overrides (drain, force-down, force-up).',
    labelNames: ['pop'],
    registers: reg,
    collect() {
      this.reset();
      for (const p of src.health()) this.set({ pop: p.id }, p.serving ? 1 : 0);
    },
  });
  new Gauge({
    name: 'meridian_pop_override',
    help: 'Operator override in force per PoP (1 for the active one: drain, force-up, force-down).',
    labelNames: ['pop', 'override'],
    registers: reg,
    collect() {
      this.reset();
      for (const p of src.health()) if (p.override) this.set({ pop: p.id, override: p.override }, 1);
    },
  });
  new Gauge({
    name: 'meridian_fail_open_decisions',
    help: 'Decisions of a geo record whose every candidate is out of service (answered fail-open).',
    labelNames: ['record'],
    registers: reg,
    collect() {
      this.reset();
      for (const [record, n] of src.failOpenDecisions()) this.set({ record: record || '.' }, n);
    },
  });
  new Counter({
    name: 'meridian_config_reloads_total',
    help: 'Config reloads by result (failed reloads keep the running config).',
    labelNames: ['result'],
    registers: reg,
    collect() {
      const r = src.reloads();
      this.reset();
      this.inc({ result: 'success' }, r.ok);
      this.inc({ result: 'failure' }, r.failed);
    },
  });
  new Gauge({
    name: 'meridian_config_last_reload_success',
    help: 'Whether the last config load succeeded (1) or failed and the previous config keeps serving (0).',
    registers: reg,
    collect() {
      this.set(src.reloads().lastError ? 0 : 1);
    },
  });
  new Gauge({
    name: 'meridian_config_last_reload_success_timestamp_seconds',
    help: 'When the running config was loaded (Unix time): at start, or by the last successful reload.',
    registers: reg,
    collect() {
      this.set(src.snapshot().builtAt / 1000);
    },
  });
  new Gauge({
    name: 'meridian_config_info',
    help: 'The running config: file and sha256 (value 1).',
    labelNames: ['file', 'sha256'],
    registers: reg,
    collect() {
      const s = src.snapshot();
      this.reset();
      this.set({ file: path.basename(s.file), sha256: s.hash.slice(0, 16) }, 1);
    },
  });
  new Gauge({
    name: 'meridian_geo_database_info',
    help: 'Geo databases in use (value 1): file, database type, families taken from it.',
    labelNames: ['file', 'type', 'used_for'],
    registers: reg,
    collect() {
      this.reset();
      for (const d of src.snapshot().databases)
        this.set({ file: path.basename(d.file), type: d.databaseType, used_for: d.usedFor.join('+') || 'none' }, 1);
    },
  });
  new Gauge({
    name: 'meridian_geo_database_build_timestamp_seconds',
    help: 'Build time of each geo database (Unix time, from its metadata).',
    labelNames: ['file'],
    registers: reg,
    collect() {
      this.reset();
      for (const d of src.snapshot().databases) this.set({ file: path.basename(d.file) }, d.buildEpoch);
    },
  });
  new Gauge({
    name: 'meridian_policy_networks',
    help: 'Geo database networks each compiled policy walked, by family.',
    labelNames: ['policy', 'family'],
    registers: reg,
    collect() {
      this.reset();
      for (const p of src.snapshot().policies) {
        this.set({ policy: p.name, family: 'ipv4' }, p.stats.networks4);
        this.set({ policy: p.name, family: 'ipv6' }, p.stats.networks6);
      }
    },
  });
  new Gauge({
    name: 'meridian_policy_trie_leaves',
    help: 'Leaves of each compiled decision trie after merging, by family (distinct scopes a resolver can see).',
    labelNames: ['policy', 'family'],
    registers: reg,
    collect() {
      this.reset();
      for (const p of src.snapshot().policies) {
        this.set({ policy: p.name, family: 'ipv4' }, p.stats.leaves4);
        this.set({ policy: p.name, family: 'ipv6' }, p.stats.leaves6);
      }
    },
  });
  new Gauge({
    name: 'meridian_policy_decisions',
    help: 'Distinct decisions (ranked PoP lists) of each compiled policy.',
    labelNames: ['policy'],
    registers: reg,
    collect() {
      this.reset();
      for (const p of src.snapshot().policies) this.set({ policy: p.name }, p.stats.decisions);
    },
  });
  new Gauge({
    name: 'meridian_policy_compile_duration_seconds',
    help: 'How long compiling each policy against the geo databases took.',
    labelNames: ['policy'],
    registers: reg,
    collect() {
      this.reset();
      for (const p of src.snapshot().policies) this.set({ policy: p.name }, p.stats.compileMs / 1000);
    },
  });
  new Gauge({
    name: 'meridian_config_compile_duration_seconds',
    help: 'How long building the running snapshot took (zones, databases, policies).',
    registers: reg,
    collect() {
      this.set(src.snapshot().compileMs / 1000);
    },
  });
  new Gauge({
    name: 'meridian_workers',
    help: 'Data-plane processes answering queries.',
    registers: reg,
    async collect() {
      this.set((await collected()).workers);
    },
  });
  new Counter({
    name: 'meridian_worker_restarts_total',
    help: 'Worker processes restarted after a crash.',
    registers: reg,
    collect() {
      this.reset();
      this.inc(src.workerRestarts());
    },
  });
  new Gauge({
    name: 'meridian_ready',
    help: 'Whether this instance is ready (1): its DNS listeners are bound and answering, as /readyz says.',
    registers: reg,
    collect() {
      this.set(src.ready() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'meridian_build_info',
    help: 'The running build (value 1): Meridian version, Node.js version, UDP mode (batched or dgram).',
    labelNames: ['version', 'node', 'udp'],
    registers: reg,
    async collect() {
      const c = await collected();
      this.reset();
      this.set({ version: meridianVersion(), node: process.versions.node, udp: c.udpMode }, 1);
    },
  });
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
