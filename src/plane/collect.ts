/**
 * The one metrics collector for the data plane, in both modes: each data
 * plane reports its counters as plain values (planeCounters: in the single
 * process directly, from a cluster worker over IPC), and sumPlanes folds any
 * number of reports into what a scrape reads (Collected). Counters are
 * summed, the scope sketches merged by register maximum, the caught-error
 * counts of the reporting processes (plus the primary's) added up.
 */
import type { Collected, GuardCounts, ProcessMetrics } from '../observability/metrics.js';
import type { BucketView } from '../rrl/busiest.js';
import { addTcpStats, emptyTcpStats, type TcpStats } from '../transport/tcp.js';
import { addGuardCounts, emptyGuardCounts } from './guards.js';
import { type CounterValues, counterValues, QueryCounters } from '../query/counters.js';
import type { DataPlane } from './data-plane.js';
import { uncaughtCounts } from './process-guard.js';
import { hllEstimate, type ScopeSketches } from '../util/hll.js';

/** One data plane's report for a scrape. Plain values only: it crosses IPC in cluster mode. */
export interface PlaneCounters {
  counters: CounterValues;
  popAnswers: Array<[string, number]>;
  /** Per geo record name: both sketch windows merged into one register array. */
  sketches: Array<[string, Uint8Array]>;
  tcp: TcpStats;
  /** Rate limiting and cookie counters (plane/guards.ts). */
  guards: GuardCounts;
  /** The busiest RRL buckets, when the scrape asked for them (GET /admin/rrl). */
  rrlBusiest?: BucketView[];
  udpSendErrors: number;
  oversized: number;
  uncaught: { exception: number; rejection: number };
  udpMode: string;
  /** A worker's own process_* / nodejs_* metrics (aggregated by the primary). */
  process?: ProcessMetrics;
}

/** What this process's data plane reports (with its `rrlLimit` busiest RRL buckets when given). */
export function planeCounters(plane: DataPlane, rrlLimit?: number): PlaneCounters {
  const rt = plane.runtime;
  const values = counterValues(plane.counters);
  values.tcpConnectionsOpen = plane.tcpStats.open;
  const udp = plane.udpCounters();
  // Datagrams whose handler threw past its own guard count as dropped with an error.
  (values.dropped as Float64Array)[1] += udp.handlerErrors;
  return {
    counters: values,
    popAnswers: [...plane.popAnswerTotals()],
    sketches: rt.records.map((r, i) => [r.name, mergeWindows(rt.sketches, i)] as [string, Uint8Array]),
    tcp: structuredClone(plane.tcpStats),
    guards: plane.protection.stats(),
    rrlBusiest: rrlLimit === undefined ? undefined : plane.protection.busiest(rrlLimit),
    udpSendErrors: udp.sendErrors,
    oversized: udp.oversized,
    uncaught: uncaughtCounts(),
    udpMode: plane.udpMode,
  };
}

/**
 * Fold the reports of every data plane into one scrape. `records` are the
 * running geo records (a record nobody reported estimates 0); `ownUncaught`
 * are the caught errors of a process that reported no plane (the primary).
 */
export function sumPlanes(
  planes: readonly PlaneCounters[],
  records: readonly { name: string }[],
  ownUncaught: { exception: number; rejection: number } = { exception: 0, rejection: 0 },
): Collected {
  const counters = new QueryCounters();
  const popAnswers = new Map<string, number>();
  const sketches = new Map<string, Uint8Array[]>();
  const tcp = emptyTcpStats();
  const guards = emptyGuardCounts();
  const uncaught = { ...ownUncaught };
  let sendErrors = 0;
  let oversized = 0;
  const processes: ProcessMetrics[] = [];
  for (const p of planes) {
    if (p.process) processes.push(p.process);
    counters.add(p.counters);
    counters.tcpConnectionsOpen += Number(p.counters.tcpConnectionsOpen ?? 0);
    for (const [k, v] of p.popAnswers) popAnswers.set(k, (popAnswers.get(k) ?? 0) + v);
    for (const [name, regs] of p.sketches) (sketches.get(name) ?? sketches.set(name, []).get(name)!).push(regs);
    addTcpStats(tcp, p.tcp);
    addGuardCounts(guards, p.guards);
    sendErrors += p.udpSendErrors;
    oversized += p.oversized;
    uncaught.exception += p.uncaught.exception;
    uncaught.rejection += p.uncaught.rejection;
  }
  const scopeEstimates = new Map<string, number>();
  for (const { name } of records) {
    const all = sketches.get(name) ?? [];
    scopeEstimates.set(name, all.length ? hllEstimate(all) : 0);
  }
  return {
    counters,
    popAnswers,
    scopeEstimates,
    tcp,
    guards,
    udpSendErrors: sendErrors,
    oversized,
    uncaught,
    workers: planes.length,
    udpMode: [...new Set(planes.map((p) => p.udpMode))].join('+') || 'none',
    processes: processes.length > 0 ? processes : undefined,
  };
}

/** Both windows of a record's sketch as one register array (max per register: the union). */
function mergeWindows(s: ScopeSketches, record: number): Uint8Array {
  const [a, b] = s.sketchesOf(record);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] > b[i] ? a[i] : b[i];
  return out;
}

/**
 * One list of the busiest RRL buckets from each process's: a bucket several
 * workers saw (datagrams are spread at random; known by network, kind, qtype
 * and name hash, since a worker records the name only once it limits) is summed (responses,
 * limited, rate), limited when any worker limits it, with the lowest balance
 * and the shortest idle time; then the usual order (limited first).
 */
export function mergeBusiest(lists: readonly BucketView[][], limit: number): BucketView[] {
  const byKey = new Map<string, BucketView>();
  for (const list of lists)
    for (const b of list) {
      const key = `${b.network}|${b.kind}|${b.nameHash}|${b.qtype ?? ''}`;
      const m = byKey.get(key);
      if (!m) {
        byKey.set(key, { ...b });
        continue;
      }
      m.name ??= b.name;
      m.responses += b.responses;
      m.limited += b.limited;
      m.limitedNow ||= b.limitedNow;
      m.balance = Math.min(m.balance, b.balance);
      m.ratePerSecond = Math.round((m.ratePerSecond + b.ratePerSecond) * 10) / 10;
      m.idleMs = Math.min(m.idleMs, b.idleMs);
    }
  return [...byKey.values()]
    .sort((x, y) => Number(y.limitedNow) - Number(x.limitedNow) || y.limited - x.limited || y.responses - x.responses)
    .slice(0, limit);
}
